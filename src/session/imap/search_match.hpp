// IMAP SEARCH evaluation (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 5182 "$"):
// whether one message matches a parsed SearchKey, for SEARCH and later SORT and THREAD. Pure: the
// message's content comes from a ByteSource, read only when a key needs it, decoded and matched
// in bounded chunks. Must never touch the store, never hold a whole decoded body of a large
// message in memory, and never match a text key on encoded (base64, QP, RFC 2047) octets.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "proto/imap/datetime.hpp"
#include "proto/imap/search.hpp"

namespace tern::imap {

// What the mailbox knows about one message.
struct SearchMessage {
    std::uint32_t seq = 0, uid = 0;
    std::uint64_t modseq = 0, size = 0;      // size: RFC822.SIZE (LARGER, SMALLER)
    std::int64_t internal_date = 0;          // unix seconds (BEFORE, ON, SINCE)
    std::span<const std::string> flags = {};  // "\\Seen", "$Forwarded", ... (never \Recent: see `recent`)
    bool recent = false;                      // RFC 3501 §2.3.2: \Recent in the searching session
    const base::ByteSource* source = nullptr;  // the message; may be null when !needs_content(key)
};

struct SearchContext {
    std::uint32_t max_seq = 0, max_uid = 0;  // what "*" stands for (RFC 9051 §9 seq-number)
    // RFC 5182 SEARCHRES: the saved result as UIDs, sorted ascending; null or empty: "$" is empty
    // (§2.1: the variable starts empty).
    const std::vector<std::uint32_t>* saved = nullptr;
    // The zone (minutes east of UTC) in which an internal date's day is taken for BEFORE/ON/SINCE
    // (RFC 9051 §6.4.4 compares dates "disregarding time and timezone"; we store unix seconds, so
    // some zone has to be chosen: Dovecot uses the server's local zone; 0 = UTC is ours).
    int tz_offset_minutes = 0;
};

// What was read and decoded for one message, so that several keys read it once: the top header
// fields (decoded), the Date:, the MIME part tree and, for messages whose searchable text is
// small, the decoded text. Bound to one message at a time: matches() clears it when the UID or
// the source changes. Flags, sizes, UIDs and dates of the store never fill it. Keep one for one
// SEARCH command (or clear() it between commands): a source freed and another one allocated at
// the same address for a message with the same UID in another mailbox would look the same.
class MatchCache {
public:
    // Decoded text is kept for the next key only when the raw octets it comes from are at most
    // `keep_text_bytes` (decoding can triple them: windows-1252 to UTF-8); larger bodies are
    // streamed again, chunk by chunk, for every key that needs them.
    static constexpr std::uint64_t kDefaultKeepTextBytes = 512 * 1024;
    explicit MatchCache(std::uint64_t keep_text_bytes = kDefaultKeepTextBytes);
    ~MatchCache();
    MatchCache(MatchCache&&) noexcept;
    MatchCache& operator=(MatchCache&&) noexcept;
    void clear();
    struct State;

private:
    friend struct MatchCacheAccess;
    std::unique_ptr<State> state_;
    std::uint64_t keep_text_bytes_;
};

// True when the key (or any key nested in it) needs the message content: a text, HEADER or SENT*
// key. The session passes a null source otherwise.
bool needs_content(const SearchKey& key);

// Whether `msg` matches `key`. Errors: a key needs the content and the source is null, the source
// fails to read, or the key nests deeper than 64 levels.
Result<bool> matches(const SearchKey& key, const SearchContext& ctx, const SearchMessage& msg, MatchCache& cache);

// The text a search index keeps for one message so that it can pass over messages that cannot
// match (src/search): every string a BODY, TEXT or header key matches in the message (as matches()
// decodes and folds it; TEXT and header needles with their white space compressed) is a substring
// of `text`. The segments (top header fields as "name: text", the MIME header fields of the parts,
// the decoded bodies) are joined with '\n', so the text may hold a few strings more: a superset,
// never less. At most `max_bytes`: a longer text stops there with complete = false (the index must
// then treat the message as a candidate for every needle).
struct IndexText {
    std::string text;
    bool complete = true;
};
Result<IndexText> index_text(const base::ByteSource& message, std::size_t max_bytes);

// The needles an index must look for in index_text() so that it finds every message `key`
// matches, for a BODY, TEXT or header key (BCC, CC, FROM, SUBJECT, TO, HEADER): the folded string
// (TEXT: also with its white space compressed, as header fields are matched). A message that
// contains none of them does not match `key`. Empty for other keys and for "" (matched by all).
std::vector<std::string> index_needles(const SearchKey& key);

// ---- building blocks, exposed for SORT/THREAD and tests

// Unicode simple case folding (CaseFolding.txt C + S) of UTF-8 text for Latin (incl. Latin-1,
// Extended-A/B, Extended Additional), Greek, Cyrillic and Armenian; other characters and invalid
// octets are copied unchanged. "É" -> "é", "Σ"/"ς" -> "σ", "Д" -> "д", "K" (Kelvin) -> "k".
std::string fold_case(std::string_view utf8);

// Incremental fold_case() for text arriving in pieces: a character split across two pieces is
// folded whole.
class CaseFolder {
public:
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out);  // flushes an incomplete trailing sequence unchanged

private:
    std::string carry_;
};

// Case-insensitive substring search over text fed in pieces (already folded): a match may cross
// piece boundaries but never a segment boundary (next_segment()). Linear time (memmem's two-way
// algorithm), memory of one piece plus the needle.
class SubstringMatcher {
public:
    explicit SubstringMatcher(std::string folded_needle);
    bool feed(std::string_view folded);  // true once the needle was seen
    void next_segment();                 // what follows is unrelated text: no match across
    bool found() const { return found_; }

private:
    std::string needle_, window_;
    bool found_ = false;
};

// Header text as the header keys see it: every run of SP, HTAB, CR, LF made one SP, leading and
// trailing ones removed (Dovecot's SUBJECT search compresses LWSP the same way).
std::string compress_space(std::string_view text, bool trim = true);

// RFC 5322 §3.3 date-time of a Date: field, with the obsolete forms of §4.3 (2- and 3-digit years,
// alphabetic zones, comments) and a missing day of week, time or zone tolerated.
struct SentDate {
    Date date;              // as written, in the sender's zone (SENTON compares this)
    bool has_time = false;  // a time-of-day was there
    int hour = 0, minute = 0, second = 0;
    int zone_minutes = 0;   // east of UTC; obsolete and unknown zones are 0 (RFC 5322 §4.3: -0000)
    std::int64_t unix_seconds() const;  // the instant in UTC (midnight of `date` when !has_time)
};
std::optional<SentDate> parse_sent_date(std::string_view value);

}  // namespace tern::imap
