// `tern search`: the query language (words, "phrases", from:/to:/subject:/body:), its translation
// to an FTS5 MATCH expression and to IMAP UID SEARCH keys, and the local full-text index of one
// account's cache (<account>/search.db, brought up to date lazily at search time). Must never put
// user text into MATCH or SEARCH syntax unquoted, and never miss a cached message whose decoded
// text holds every word asked for (the index is derived data: damaged, it is rebuilt).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mua/account.hpp"
#include "mua/cache.hpp"
#include "mua/connection.hpp"

namespace tern::mua {

enum class SearchField { Any, From, To, Subject, Body };

struct SearchTerm {
    SearchField field = SearchField::Any;
    std::string text;     // as typed (a phrase without its quotes)
    bool phrase = false;  // "quoted"
    bool prefix = false;  // word* : any word starting with it (local index only)
};

struct SearchQuery {
    std::vector<SearchTerm> terms;  // all must match
};

// Splits on white space; `"..."` is one phrase (an unclosed quote runs to the end); `field:word`
// and `field:"a phrase"` for from/to/cc/subject/body (any case); any other `x:y` is a plain word.
SearchQuery parse_search_query(std::string_view query);

// The folding both the index and the queries get before FTS5's unicode61 tokenizer (which folds
// case and, with remove_diacritics, accents): ß and ẞ become "ss", as full case folding does
// (Unicode CaseFolding.txt: 00DF; F; 0073 0073), so "grüße" is found by "GRÜSSE" and "grusse".
std::string search_fold(std::string_view text);

// The MATCH expression: every term a double-quoted FTS5 string ('"' doubled), column-filtered
// for fields, joined by AND; terms without a letter or digit are left out. "" when none is left.
std::string fts_match(const SearchQuery& q);

// UID SEARCH criteria (RFC 9051 §6.4.4): "CHARSET UTF-8 TEXT "a" FROM "b" ..." with each string
// quoted ('\' and '"' escaped). Error when there is no term, a term holds CR/LF/NUL, or it has
// non-ASCII text and `utf8_quoted` is false (IMAP4rev1 quoted strings are 7-bit: RFC 3501 §9;
// with UTF8=ACCEPT they may hold UTF-8, RFC 6855 §3 / RFC 9051 §4.3).
Result<std::string> imap_search_criteria(const SearchQuery& q, bool utf8_quoted);

struct SearchFilter {
    std::int64_t folder_id = 0;  // 0: every folder
    bool unread_only = false;
    std::size_t limit = 0;       // the newest N (0: all)
};

struct IndexStats {
    std::size_t added = 0, removed = 0;
    double seconds = 0;
};

// The full-text index of one cache. Text indexed per message (rowid = the cache's message id):
// subject, sender (names and addresses), recipients (To and Cc), and body (the text `tern read`
// shows: text/plain preferred, HTML as text, charsets and transfer encodings decoded; forwarded
// messages' headers; attachment names).
class SearchIndex {
public:
    // Opens <cache root>/search.db (created, or rebuilt if damaged or of another version) with the
    // cache's index.db attached (only read) for joins.
    static Result<std::unique_ptr<SearchIndex>> open(Cache& cache);
    ~SearchIndex();
    SearchIndex(const SearchIndex&) = delete;
    SearchIndex& operator=(const SearchIndex&) = delete;

    // Indexes the messages added to the cache since the last call (ids above the mark), `batch`
    // per transaction, and drops the rows of messages the cache no longer has.
    Result<IndexStats> catch_up(std::size_t batch = 256,
                                const std::function<void(std::size_t done, std::size_t total)>& progress = {});

    // Messages holding every term (newest first). Does not catch up by itself.
    Result<std::vector<MessageRow>> search(const SearchQuery& q, const SearchFilter& f);

    // The cached messages of a folder with these server UIDs, newest first, filtered like search();
    // `missing` gets how many UIDs the cache does not have.
    Result<std::vector<MessageRow>> by_uids(std::int64_t folder_id, const std::vector<std::uint32_t>& uids,
                                            const SearchFilter& f, std::size_t& missing);

private:
    struct Impl;
    explicit SearchIndex(Cache& cache);
    Cache& cache_;
    std::unique_ptr<Impl> impl_;
};

// The text the index holds for one message, each field folded (exposed for tests).
struct IndexedText {
    std::string subject, sender, recipients, body;
};
IndexedText index_text(std::string_view message);

// UID SEARCH on the account's IMAP server in `folder` (EXAMINE: read-only); the UIDs that match.
Result<std::vector<std::uint32_t>> server_search(const Account& account, std::string_view folder,
                                                 const SearchQuery& q, const TraceSink& trace);

}  // namespace tern::mua
