// Spool record codec: the on-disk framing of spool segments (docs/ARCHITECTURE.md "Spool format")
// and CRC-32C. Pure functions only — no file or thread access — so the decoder can be fuzzed.
// The decoder must never read outside its input, allocate beyond the caps below, or return a record
// from bytes that are incomplete or fail their checksum.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "queue/envelope.hpp"
#include "queue/spool.hpp"

namespace tern::queue::record {

// Frame: "TQ" | u8 version | u8 type | u32 LE payload length | payload | u32 LE CRC-32C.
// The CRC covers type, length and payload (bytes 3 .. 8+length).
inline constexpr std::uint8_t kFormatVersion = 1;
inline constexpr std::size_t kFrameHeader = 8;    // magic + version + type + length
inline constexpr std::size_t kFrameTrailer = 4;   // CRC-32C
inline constexpr std::size_t kFrameOverhead = kFrameHeader + kFrameTrailer;

// Caps enforced by both encoder and decoder.
inline constexpr std::uint64_t kMaxMessageBytes = 1ull << 30;     // 1 GiB body
inline constexpr std::uint32_t kMaxStringBytes = 64u * 1024;      // any length-prefixed string
inline constexpr std::uint32_t kMaxRecipients = 100000;
inline constexpr std::uint32_t kMaxPayload = (1u << 30) + (256u << 20);  // body + envelope headroom

enum class Type : std::uint8_t { SegmentHeader = 1, Message = 2, State = 3 };

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). Chainable:
// crc32c(b, crc32c(a)) == crc32c(a + b). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);
// The same by table lookup, whatever the CPU offers (crc32c uses SSE 4.2 where there is one).
std::uint32_t crc32c_portable(std::string_view data, std::uint32_t crc = 0);

// First record of every segment file.
struct SegmentHeader {
    std::uint8_t version = kFormatVersion;
    std::uint64_t sequence = 0;     // matches the file name seg-<sequence>.log
    std::int64_t created_us = 0;    // unix microseconds
    bool operator==(const SegmentHeader&) const = default;
};

// An accepted message. Compaction rewrites live messages as new Message records with the same id
// and their current states, so on replay a later Message record for an id replaces the earlier one.
struct MessageRecord {
    QueueId id = 0;
    Envelope envelope;
    std::vector<RecipientState> states;  // one per envelope recipient
    std::string body;                    // message octets (left empty by decode with copy_body=false)
    // Set by decode: where the body octets start, relative to the first byte of the record.
    std::uint64_t body_offset = 0;
    std::uint64_t body_size = 0;
    bool operator==(const MessageRecord&) const = default;
};

// A recipient's new delivery state; the last one for (id, recipient) wins.
struct StateRecord {
    QueueId id = 0;
    std::uint32_t recipient = 0;
    RecipientState state;
    bool operator==(const StateRecord&) const = default;
};

using Record = std::variant<SegmentHeader, MessageRecord, StateRecord>;

// An encoded record split so a large body can go to writev() without a copy:
// the record's bytes are head + body + tail. `body` views the MessageRecord's body.
struct EncodedParts {
    std::string head;
    std::string_view body;
    std::string tail;
    std::size_t size() const { return head.size() + body.size() + tail.size(); }
};

// Fails (never truncates) when a field exceeds its cap or states/recipients counts differ.
// Overloads per type so no temporary Record is built: `body` must view the caller's object.
Result<EncodedParts> encode_parts(const SegmentHeader& record);
Result<EncodedParts> encode_parts(const MessageRecord& record);
Result<EncodedParts> encode_parts(const StateRecord& record);
Result<EncodedParts> encode_parts(const Record& record);
Result<EncodedParts> encode_parts(MessageRecord&&) = delete;  // the body view would dangle
Result<EncodedParts> encode_parts(Record&&) = delete;
Result<std::string> encode(const Record& record);

// The bytes of a Message record before its body, for a body of `body_size` octets that the caller
// writes itself (compaction copies large bodies in chunks): head + body + u32 LE CRC-32C(head from
// byte 3, then body) is exactly encode() of the record with that body. `record.body` is ignored.
Result<std::string> encode_message_head(const MessageRecord& record, std::uint64_t body_size);

struct Complete {
    Record record;
    std::size_t bytes = 0;  // size of the whole record in the input
};
struct NeedMore {
    std::size_t at_least = 0;  // the input must be at least this long to make progress
};
struct Corrupt {
    std::string reason;
};
using DecodeResult = std::variant<Complete, NeedMore, Corrupt>;

struct DecodeOptions {
    bool copy_body = true;  // false: MessageRecord.body stays empty (replay reads it later by offset)
};

// Decodes the record at the start of `in`. Anything that is not a complete, checksummed, canonical
// record of a known type and version is NeedMore (a valid prefix) or Corrupt.
DecodeResult decode(std::string_view in, DecodeOptions options = {});

// ---- segment scanning (replay) ----------------------------------------------------------------
//
// Walks a whole segment and says, record by record, what replay may trust. Damage costs the damaged
// record alone: the scanner resynchronises on the next offset where a complete, checksummed record
// starts ("TQ" magic) and from which records follow one another to the end of the data. A record
// embedded in a message body is followed by the rest of that body and the enclosing record's
// checksum, not by a chain reaching the end, so it is not taken for a real one. When a second damage
// further on breaks every chain, an intact-looking length field of the damaged record is trusted
// before the first record found by searching. Bytes after the last record that are all zero
// (preallocation) or that form an unfinished final write are a tail, not damage.

// A span of bytes that are not valid records.
struct Bad {
    std::size_t from = 0, to = 0;     // [from, to) in the scanned data
    std::string reason;               // what decode said at `from`
    std::optional<Type> type;         // the damaged record's type, when its header is readable
    std::optional<QueueId> id;        // its queue id, when readable (Message and State records)
    bool operator==(const Bad&) const = default;
};
struct Found {
    Complete record;                  // decoded with copy_body = false
    std::size_t at = 0;               // offset of the record in the data
};
struct Tail {
    enum class Kind {
        None,      // the data ends right after the last record
        Zeros,     // only zero bytes follow (preallocated space, or a crash before the data landed)
        Torn,      // an unfinished final write: a record running past the end, or one whose end is zeros
        Damaged,   // bad bytes up to the end that are neither: lost data, not a torn write
    } kind = Kind::None;
    std::size_t at = 0;               // where the valid records end
    Bad bad;                          // for Torn and Damaged: what was there
};
using ScanEvent = std::variant<Found, Bad, Tail>;

class SegmentScanner {
public:
    explicit SegmentScanner(std::string_view data) : data_(data) {}
    // Found and Bad events in file order, then exactly one Tail; after the Tail, Tail again.
    ScanEvent next();

private:
    bool all_zero(std::size_t from) const;
    bool complete_at(std::size_t at) const;
    bool chain_reaches_end(std::size_t at);
    // The first offset at or after `from` where a complete record starts from which records chain
    // to the end (second: true), else the first complete record (second: false), else npos.
    std::pair<std::size_t, bool> resync(std::size_t from);
    Bad describe(std::size_t from, std::size_t to, std::string reason) const;

    std::string_view data_;
    std::size_t pos_ = 0;
    bool done_ = false;
    Tail tail_;
    std::uint64_t budget_ = 0;  // bytes resync may still checksum (bounds the cost of hostile bodies)
    bool budget_set_ = false;
};

}  // namespace tern::queue::record
