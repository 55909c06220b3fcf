// The search index's storage (see index.hpp): schema, writes of the indexer, candidate queries.
// Must never answer for a UID the indexer has not reached, and never throw.
#include "search/index.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "base/log.hpp"

namespace tern::search {
namespace {

constexpr std::int64_t kSchemaVersion = 2;

// The length of the valid UTF-8 character at s[i] (RFC 3629 §4: no overlong forms, no surrogates,
// nothing above U+10FFFF), or 0.
std::size_t utf8_char(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
    unsigned char c = b(i);
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(i + 1) || !cont(i + 2)) return 0;
        if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
        if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
        if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

void remove_files(const std::filesystem::path& file) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix, ec);
}

Result<void> create_schema(sqlite::Db& db) {
    auto tx = sqlite::Tx::begin(db, true);
    if (!tx) return std::unexpected(tx.error());
    for (const char* sql : {
             "CREATE TABLE IF NOT EXISTS marks(account TEXT NOT NULL, mailbox INTEGER NOT NULL, "
             "uidvalidity INTEGER NOT NULL, indexed_through INTEGER NOT NULL, swept_modseq INTEGER NOT NULL, "
             "PRIMARY KEY(account, mailbox)) WITHOUT ROWID",
             // AUTOINCREMENT: a doc id is never reused, so the trigrams a removed doc left in the
             // contentless table (see remove()) never attach to another message.
             "CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, "
             "mailbox INTEGER NOT NULL, uid INTEGER NOT NULL, complete INTEGER NOT NULL, "
             "UNIQUE(account, mailbox, uid))",
             "CREATE TABLE IF NOT EXISTS garbage(n INTEGER NOT NULL)",
             "INSERT INTO garbage(n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM garbage)",
             // Contentless (content=''), detail=none: only which rows hold each trigram of the
             // folded text, not the text nor positions -- the smallest FTS5 index. A needle is
             // looked up as the AND of its trigrams: a superset of the rows holding it, which the
             // session's exact matcher then confirms (https://sqlite.org/fts5.html#contentless_tables).
             "CREATE VIRTUAL TABLE IF NOT EXISTS text USING fts5(t, content='', "
             "tokenize='trigram case_sensitive 0', detail=none)",
             "PRAGMA user_version=2",
         }) {
        if (auto r = db.exec(sql); !r) return r;
    }
    return tx->commit();
}

// An FTS5 query for the rows that hold every trigram of `needle` (valid UTF-8, >= 3 characters):
// each trigram an FTS5 string ("..." with '"' doubled, so that no character is query syntax),
// ANDed. Non-overlapping trigrams cover every character; at most kMaxTrigrams of them (any subset
// still finds every row that holds the needle).
constexpr std::size_t kMaxTrigrams = 12;
std::string match_query(std::string_view needle) {
    std::vector<std::size_t> starts;  // octet offset of each character
    for (std::size_t i = 0; i < needle.size(); i += utf8_char(needle, i)) starts.push_back(i);
    starts.push_back(needle.size());
    const std::size_t chars = starts.size() - 1;
    std::vector<std::size_t> picks;
    for (std::size_t c = 0; c + 3 <= chars; c += 3) picks.push_back(c);
    if (picks.empty() || picks.back() + 3 != chars) picks.push_back(chars - 3);  // the tail
    if (picks.size() > kMaxTrigrams) picks.resize(kMaxTrigrams);
    std::string q;
    for (auto c : picks) {
        if (!q.empty()) q += " AND ";
        q += '"';
        for (char ch : needle.substr(starts[c], starts[c + 3] - starts[c])) {
            if (ch == '"') q += '"';
            q += ch;
        }
        q += '"';
    }
    return q;
}

}  // namespace

bool Candidates::may_match(std::uint32_t uid) const {
    return uid > indexed_through || std::binary_search(uids.begin(), uids.end(), uid);
}

bool usable_needle(std::string_view folded) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < folded.size(); ++chars) {
        std::size_t n = utf8_char(folded, i);
        if (n == 0) return false;
        i += n;
    }
    return chars >= 3;
}

std::string clean_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        std::size_t n = utf8_char(text, i);
        if (n == 0) {
            out += ' ';
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

Result<void> Index::open_connections() {
    for (sqlite::Db* db : {&writer_, &reader_}) {
        auto d = sqlite::Db::open(file_);
        if (!d) return std::unexpected(d.error());
        *db = std::move(*d);
        // Derived data: a commit lost in a power cut is indexed again (the mark moves with it).
        if (auto r = db->exec("PRAGMA synchronous=NORMAL"); !r) return r;
    }
    auto v = writer_.integer("PRAGMA user_version");
    if (!v) return std::unexpected(v.error());
    if (*v == 0) return create_schema(writer_);
    if (*v != kSchemaVersion) return fail("search index schema " + std::to_string(*v), EINVAL);
    // A read of every table: a file that is a database but not ours fails here.
    if (auto r = writer_.integer("SELECT count(*) FROM marks"); !r) return std::unexpected(r.error());
    if (auto r = writer_.integer("SELECT n FROM garbage"); !r) return std::unexpected(r.error());
    return {};
}

Result<std::unique_ptr<Index>> Index::open(const std::filesystem::path& file) {
    std::unique_ptr<Index> ix(new Index(file));
    if (auto r = ix->open_connections(); !r) {
        log::warn("search index ", file.string(), " unusable (", r.error().message, "): building it anew");
        if (auto rb = ix->rebuild(); !rb) return std::unexpected(rb.error());
    }
    return ix;
}

Index::~Index() = default;

Result<void> Index::rebuild() {
    std::scoped_lock lock(write_mu_, read_mu_);
    writer_ = sqlite::Db();
    reader_ = sqlite::Db();
    remove_files(file_);
    return open_connections();
}

bool Index::intact() {
    std::lock_guard lock(write_mu_);
    auto q = sqlite::Query::make(writer_, "PRAGMA quick_check");
    if (!q) return false;
    auto row = q->step();
    if (!row || !*row || q->text(0) != "ok") return false;
    // Our tables are all there (quick_check passes a file whose tables were dropped).
    for (const char* sql : {"SELECT count(*) FROM marks WHERE mailbox = -1", "SELECT count(*) FROM docs WHERE id = -1",
                            "SELECT count(*) FROM text WHERE text MATCH 'abc'", "SELECT n FROM garbage"})
        if (!writer_.integer(sql)) return false;
    return true;
}

Result<MailboxMark> Index::mark(std::string_view account, std::int64_t mailbox) {
    std::lock_guard lock(write_mu_);
    auto q = sqlite::Query::make(writer_,
        "SELECT uidvalidity, indexed_through, swept_modseq FROM marks WHERE account = ?1 AND mailbox = ?2");
    if (!q) return std::unexpected(q.error());
    q->bind(1, account).bind(2, mailbox);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    MailboxMark m;
    if (*row) {
        m.known = true;
        m.uidvalidity = static_cast<std::uint32_t>(q->int64(0));
        m.indexed_through = static_cast<std::uint32_t>(q->int64(1));
        m.swept_modseq = static_cast<std::uint64_t>(q->int64(2));
    }
    return m;
}

namespace {

Result<void> count_garbage(sqlite::Db& db, std::int64_t n) {
    auto g = sqlite::Query::make(db, "UPDATE garbage SET n = n + ?1");
    if (!g) return std::unexpected(g.error());
    return g->bind(1, n).run();
}

// The docs rows go; their trigrams stay in the contentless table, counted as garbage.
Result<void> delete_mailbox_rows(sqlite::Db& db, std::string_view account, std::int64_t mailbox) {
    auto q = sqlite::Query::make(db, "DELETE FROM docs WHERE account = ?1 AND mailbox = ?2");
    if (!q) return std::unexpected(q.error());
    if (auto r = q->bind(1, account).bind(2, mailbox).run(); !r) return r;
    if (auto r = count_garbage(db, sqlite3_changes(db.raw())); !r) return r;
    auto m = sqlite::Query::make(db, "DELETE FROM marks WHERE account = ?1 AND mailbox = ?2");
    if (!m) return std::unexpected(m.error());
    return m->bind(1, account).bind(2, mailbox).run();
}

}  // namespace

Result<void> Index::reset_mailbox(std::string_view account, std::int64_t mailbox, std::uint32_t uidvalidity) {
    std::lock_guard lock(write_mu_);
    auto tx = sqlite::Tx::begin(writer_, true);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = delete_mailbox_rows(writer_, account, mailbox); !r) return r;
    auto q = sqlite::Query::make(writer_,
        "INSERT INTO marks(account, mailbox, uidvalidity, indexed_through, swept_modseq) VALUES (?1, ?2, ?3, 0, 0)");
    if (!q) return std::unexpected(q.error());
    if (auto r = q->bind(1, account).bind(2, mailbox).bind(3, std::int64_t{uidvalidity}).run(); !r) return r;
    return tx->commit();
}

Result<void> Index::add(std::string_view account, std::int64_t mailbox, std::span<const Doc> docs,
                        std::uint32_t through) {
    std::lock_guard lock(write_mu_);
    auto tx = sqlite::Tx::begin(writer_, true);
    if (!tx) return std::unexpected(tx.error());
    for (const auto& d : docs) {
        auto q = sqlite::Query::make(writer_,
            "INSERT OR IGNORE INTO docs(account, mailbox, uid, complete) VALUES (?1, ?2, ?3, ?4)");
        if (!q) return std::unexpected(q.error());
        if (auto r = q->bind(1, account).bind(2, mailbox).bind(3, std::int64_t{d.uid})
                         .bind(4, std::int64_t{d.complete ? 1 : 0}).run(); !r)
            return r;
        if (sqlite3_changes(writer_.raw()) == 0) continue;  // indexed already
        std::int64_t id = sqlite3_last_insert_rowid(writer_.raw());
        if (!d.complete) continue;  // a candidate for every needle: its text would never be asked
        auto t = sqlite::Query::make(writer_, "INSERT INTO text(rowid, t) VALUES (?1, ?2)");
        if (!t) return std::unexpected(t.error());
        if (auto r = t->bind(1, id).bind(2, clean_text(d.text)).run(); !r) return r;
    }
    auto m = sqlite::Query::make(writer_,
        "UPDATE marks SET indexed_through = max(indexed_through, ?3) WHERE account = ?1 AND mailbox = ?2");
    if (!m) return std::unexpected(m.error());
    if (auto r = m->bind(1, account).bind(2, mailbox).bind(3, std::int64_t{through}).run(); !r) return r;
    return tx->commit();
}

Result<void> Index::remove(std::string_view account, std::int64_t mailbox, std::span<const std::uint32_t> uids,
                           std::uint64_t swept_modseq) {
    std::lock_guard lock(write_mu_);
    auto tx = sqlite::Tx::begin(writer_, true);
    if (!tx) return std::unexpected(tx.error());
    std::int64_t removed = 0;
    for (auto uid : uids) {
        auto q = sqlite::Query::make(writer_, "DELETE FROM docs WHERE account = ?1 AND mailbox = ?2 AND uid = ?3");
        if (!q) return std::unexpected(q.error());
        if (auto r = q->bind(1, account).bind(2, mailbox).bind(3, std::int64_t{uid}).run(); !r) return r;
        removed += sqlite3_changes(writer_.raw());
    }
    // A contentless FTS5 table can delete a row only given its text, which is gone with the
    // message: the trigrams stay, unreachable, and are counted; the indexer rebuilds the file
    // when they outgrow the live rows.
    if (auto r = count_garbage(writer_, removed); !r) return r;
    auto m = sqlite::Query::make(writer_,
        "UPDATE marks SET swept_modseq = max(swept_modseq, ?3) WHERE account = ?1 AND mailbox = ?2");
    if (!m) return std::unexpected(m.error());
    if (auto r = m->bind(1, account).bind(2, mailbox).bind(3, static_cast<std::int64_t>(swept_modseq)).run(); !r)
        return r;
    return tx->commit();
}

Result<void> Index::drop_mailboxes_except(std::string_view account, std::span<const std::int64_t> keep) {
    std::lock_guard lock(write_mu_);
    std::vector<std::int64_t> gone;
    {
        auto q = sqlite::Query::make(writer_, "SELECT mailbox FROM marks WHERE account = ?1");
        if (!q) return std::unexpected(q.error());
        q->bind(1, account);
        for (;;) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            auto id = q->int64(0);
            if (std::find(keep.begin(), keep.end(), id) == keep.end()) gone.push_back(id);
        }
    }
    if (gone.empty()) return {};
    auto tx = sqlite::Tx::begin(writer_, true);
    if (!tx) return std::unexpected(tx.error());
    for (auto id : gone)
        if (auto r = delete_mailbox_rows(writer_, account, id); !r) return r;
    return tx->commit();
}

Result<std::vector<std::string>> Index::accounts() {
    std::lock_guard lock(write_mu_);
    auto q = sqlite::Query::make(writer_, "SELECT DISTINCT account FROM marks");
    if (!q) return std::unexpected(q.error());
    std::vector<std::string> out;
    for (;;) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        out.push_back(q->text(0));
    }
    return out;
}

Result<std::optional<Candidates>> Index::candidates(std::string_view account, std::int64_t mailbox,
                                                    std::uint32_t uidvalidity,
                                                    std::span<const std::string> needles) {
    if (needles.empty()) return std::nullopt;
    for (const auto& n : needles)
        if (!usable_needle(n)) return std::nullopt;
    std::lock_guard lock(read_mu_);
    // One read transaction: the mark and the rows it covers come from one snapshot.
    auto tx = sqlite::Tx::begin(reader_, false);
    if (!tx) return std::unexpected(tx.error());
    Candidates c;
    {
        auto q = sqlite::Query::make(reader_,
            "SELECT uidvalidity, indexed_through FROM marks WHERE account = ?1 AND mailbox = ?2");
        if (!q) return std::unexpected(q.error());
        q->bind(1, account).bind(2, mailbox);
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row || static_cast<std::uint32_t>(q->int64(0)) != uidvalidity) return std::nullopt;
        c.indexed_through = static_cast<std::uint32_t>(q->int64(1));
    }
    auto collect = [&](sqlite::Query& q) -> Result<void> {
        for (;;) {
            auto row = q.step();
            if (!row) return std::unexpected(row.error());
            if (!*row) return {};
            c.uids.push_back(static_cast<std::uint32_t>(q.int64(0)));
        }
    };
    for (const auto& n : needles) {
        // CROSS JOIN: the trigram index first, then each hit's docs row by its id (a removed
        // doc's leftover trigrams find no docs row).
        auto q = sqlite::Query::make(reader_,
            "SELECT d.uid FROM text CROSS JOIN docs d ON d.id = text.rowid "
            "WHERE text MATCH ?1 AND d.account = ?2 AND d.mailbox = ?3");
        if (!q) return std::unexpected(q.error());
        q->bind(1, match_query(n)).bind(2, account).bind(3, mailbox);
        if (auto r = collect(*q); !r) return std::unexpected(r.error());
    }
    {
        auto q = sqlite::Query::make(reader_,
            "SELECT uid FROM docs WHERE account = ?1 AND mailbox = ?2 AND complete = 0");
        if (!q) return std::unexpected(q.error());
        q->bind(1, account).bind(2, mailbox);
        if (auto r = collect(*q); !r) return std::unexpected(r.error());
    }
    std::sort(c.uids.begin(), c.uids.end());
    c.uids.erase(std::unique(c.uids.begin(), c.uids.end()), c.uids.end());
    return std::optional<Candidates>(std::move(c));
}

Result<IndexStats> Index::stats() {
    std::lock_guard lock(read_mu_);
    IndexStats s;
    auto n = reader_.integer("SELECT count(*) FROM docs");
    if (!n) return std::unexpected(n.error());
    s.docs = static_cast<std::uint64_t>(*n);
    auto g = reader_.integer("SELECT n FROM garbage");
    if (!g) return std::unexpected(g.error());
    s.garbage = static_cast<std::uint64_t>(*g);
    std::error_code ec;
    for (const char* suffix : {"", "-wal"}) {
        auto size = std::filesystem::file_size(file_.string() + suffix, ec);
        if (!ec) s.file_bytes += size;
    }
    return s;
}

}  // namespace tern::search
