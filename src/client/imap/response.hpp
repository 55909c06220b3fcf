// Reader for IMAP responses as a client receives them (RFC 9051 §7, RFC 3501 §7, RFC 7162
// CONDSTORE/QRESYNC, RFC 4315 UIDPLUS, RFC 4731 ESEARCH, RFC 3516 BINARY, RFC 6154 SPECIAL-USE):
// bytes in (any split point) -> typed responses out, FETCH body literals handed out in chunks as
// they arrive. Pure and bounded: must never hold a whole message body, never expand a UID set, and
// never grow without limit (line, literal, nesting, entries) on a hostile server: that is an Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/sequence.hpp"

namespace tern::client::imap {

using tern::imap::SequenceSet;

struct ReaderLimits {
    std::size_t max_line = 16u << 20;      // one response held: its text and kept literals (SEARCH of 1M UIDs)
    std::size_t max_literal = 1u << 20;    // a literal that is not a FETCH body (names, ENVELOPE strings)
    std::size_t max_literals = 100000;     // literals per response
    std::size_t max_depth = 100;           // parenthesis nesting (BODYSTRUCTURE)
    std::size_t max_entries = 2'000'000;   // numbers, flags, attributes, fetch items per response
    std::uint64_t max_body = 1ull << 40;   // a FETCH body literal (streamed, never held)
    std::size_t chunk_size = 64u << 10;    // at most this many body octets per chunk
};

// A resp-text-code (RFC 9051 §7.1): the name upper-cased, typed fields filled for those we use.
struct Code {
    std::string name;                         // "UIDVALIDITY", "APPENDUID", ... ("" for none)
    std::string raw;                          // the arguments as sent
    std::uint64_t number = 0;                 // UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, UNSEEN
    std::vector<std::string> list;            // PERMANENTFLAGS, CAPABILITY, BADCHARSET
    std::uint32_t uidvalidity = 0;            // APPENDUID, COPYUID (RFC 4315 §3)
    SequenceSet set, set2;                    // APPENDUID uids; COPYUID source, dest; MODIFIED (RFC 7162 §3.1.3)
};

struct Status {
    enum class Kind { Ok, No, Bad, Bye, Preauth } kind = Kind::Ok;
    std::string tag;  // "" for untagged
    Code code;
    std::string text;
};

// A LIST/LSUB reply (RFC 9051 §7.3.1): attributes as sent ("\HasNoChildren", "\Sent"), the
// delimiter (0 for NIL) and the name decoded to UTF-8 (modified UTF-7 unless UTF8=ACCEPT).
struct ListEntry {
    std::vector<std::string> attributes;
    char delimiter = 0;
    std::string name;
    std::string raw_name;  // as sent
    bool has_attribute(std::string_view a) const;  // case-insensitive
};

// STATUS reply (RFC 9051 §7.3.4); absent items stay nullopt.
struct MailboxStatus {
    std::string name;
    std::optional<std::uint64_t> messages, uidnext, uidvalidity, unseen, deleted, size, highestmodseq, recent;
};

// One body section of a FETCH reply: the item name as sent ("BODY[]", "BINARY[1]<0>"), its
// size, and whether the octets went to the chunk sink (they always do unless NIL).
struct BodyItem {
    std::string section;
    std::uint64_t size = 0;
    bool nil = false;
    bool streamed = false;  // a literal handed out as BodyChunks (else a quoted string in body_data)
};

// One "* n FETCH (...)" reply (RFC 9051 §7.5.2). ENVELOPE and BODYSTRUCTURE are kept as raw text.
struct FetchData {
    std::uint32_t seq = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::vector<std::string>> flags;
    std::optional<std::uint64_t> modseq;        // RFC 7162 §3.1.4.1
    std::optional<std::string> internal_date;
    std::optional<std::uint64_t> size;          // RFC822.SIZE
    std::optional<std::string> envelope, bodystructure, body;  // raw
    std::vector<BodyItem> bodies;
    std::vector<std::string> body_data;         // bodies' octets when sent as quoted strings (rare)
};

// ESEARCH (RFC 4731 §3.1); also what a rev2 server returns for UID SEARCH.
struct ESearch {
    std::string tag;                    // the correlator's tag, "" without one
    bool uid = false;
    std::optional<std::uint32_t> min, max, count;
    std::optional<SequenceSet> all;
    std::optional<std::uint64_t> modseq;
};

struct Response {
    enum class Kind {
        Status,        // tagged or untagged OK/NO/BAD/BYE/PREAUTH (`status`)
        Continuation,  // "+ text" (`text`)
        Capability,    // `atoms`
        Enabled,       // `atoms`
        Flags,         // `atoms`
        List,          // LIST or LSUB (`list`)
        MailboxStatus, // `mailbox_status`
        Exists,        // `number`
        Recent,        // `number` (rev1)
        Expunge,       // `number`
        Vanished,      // `set`, `earlier`
        Search,        // `numbers`, `modseq`
        ESearch,       // `esearch`
        Fetch,         // `fetch`
        Other,         // an untagged reply we do not use (NAMESPACE, ID, ...), `text` = its name
    } kind = Kind::Other;
    Status status;
    std::string text;
    std::vector<std::string> atoms;
    ListEntry list;
    MailboxStatus mailbox_status;
    std::uint32_t number = 0;
    SequenceSet set;
    bool earlier = false;
    std::vector<std::uint32_t> numbers;
    std::optional<std::uint64_t> modseq;
    ESearch esearch;
    FetchData fetch;
};

// Octets of a FETCH body literal, in order; `offset` is where `data` starts within it. `uid` is
// the UID if it came before the literal in the reply (else 0: the full reply follows with it).
struct BodyChunk {
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    std::string section;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string_view data;
};

class ResponseReader {
public:
    explicit ResponseReader(ReaderLimits limits = {}) : limits_(limits) {}

    enum class Result {
        Incomplete,  // feed more bytes
        Response,    // `out` holds the next complete response
        Chunk,       // `chunk` holds body octets of the FETCH reply being read
        Error,       // malformed or over a limit; error() says why; the connection is not usable
    };
    void feed(std::string_view bytes);
    Result next(Response& out, BodyChunk& chunk);

    // Mailbox names in LIST/STATUS are UTF-8 on the wire once UTF8=ACCEPT is enabled (RFC 6855 §3).
    void set_utf8(bool on) { utf8_ = on; }
    std::size_t buffered() const { return buf_.size() - pos_; }
    // RFC 9051 §6.2.1: bytes received before a TLS handshake are never used after it.
    void discard();
    const std::string& error() const { return error_; }

    struct Piece {
        std::string text;     // text up to a literal marker or the line end, CRLF and marker removed
        bool literal = false; // a literal's octets follow this text piece (in `data`, unless streamed)
        bool streamed = false;
        std::string data;     // a kept literal
        std::uint64_t size = 0;
    };

private:
    Result fail(std::string why);
    bool parse(std::vector<Piece>& pieces, Response& out, std::string& err) const;
    bool fetch_context(std::string_view text);  // feeds the scan; true: literal after it is a body
    void reset_response();
    void compact();

    ReaderLimits limits_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::vector<Piece> pieces_;
    std::size_t text_total_ = 0;
    bool in_literal_ = false;     // reading a literal's octets
    std::uint64_t literal_left_ = 0;
    std::uint64_t literal_size_ = 0;
    bool literal_streamed_ = false;
    // The incremental scan of "* n FETCH (" replies: which item a literal is the value of.
    struct Scan {
        int state = 0;             // 0 prefix unknown, 1 in the item list, 2 not a FETCH reply
        int mode = 0;              // 0 expecting an item name, 1 expecting its value, 2 in a nested value
        std::size_t depth = 0, bracket = 0;
        bool quoted = false, escape = false;
        std::string name, value;
        std::uint32_t seq = 0, uid = 0;
    } scan_;
    std::string error_;
    bool utf8_ = false;
};

// ASCII upper-casing, shared with the session.
std::string upper(std::string_view s);

}  // namespace tern::client::imap
