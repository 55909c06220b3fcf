// The local search index (see search_index.hpp). Why a separate file, <account>/search.db, rather
// than tables in index.db: it is derived data that can be deleted and rebuilt at any time (a
// damaged or foreign file is), its size (the decoded text of every message) must not slow the
// header list or the sync's transactions on index.db, and index.db's schema version stays the
// cache's alone. index.db is attached read-only so that a search joins the cache's messages table
// (removed messages never show up, folder/unread filters and date order come from the cache).
// Must never write to index.db, nor pass user text into MATCH unquoted.
#include "mua/search_index.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "client/imap/session.hpp"
#include "mua/drive.hpp"
#include "mua/render.hpp"
#include "sqlite/db.hpp"

namespace tern::mua {

namespace fs = std::filesystem;

// ---- the query language

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::optional<SearchField> field_named(std::string_view name) {
    std::string n;
    for (char c : name) n += lower(c);
    if (n == "from") return SearchField::From;
    if (n == "to" || n == "cc") return SearchField::To;
    if (n == "subject") return SearchField::Subject;
    if (n == "body") return SearchField::Body;
    return std::nullopt;
}

// A letter or digit to index: ASCII alphanumerics, or any non-ASCII text (unicode61 decides).
bool has_token(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'z')) return true;
    }
    return false;
}

}  // namespace

SearchQuery parse_search_query(std::string_view s) {
    SearchQuery q;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        if (i >= s.size()) break;
        SearchTerm t;
        // field:...  (the name is letters only; anything else is part of a word, e.g. "http://x")
        std::size_t j = i;
        while (j < s.size() && ((lower(s[j]) >= 'a' && lower(s[j]) <= 'z'))) ++j;
        if (j > i && j < s.size() && s[j] == ':' && j + 1 < s.size() && !is_space(s[j + 1])) {
            if (auto f = field_named(s.substr(i, j - i))) {
                t.field = *f;
                i = j + 1;
            }
        }
        if (s[i] == '"') {
            std::size_t end = s.find('"', i + 1);
            if (end == std::string_view::npos) end = s.size();
            t.text = std::string(s.substr(i + 1, end - i - 1));
            t.phrase = true;
            i = end < s.size() ? end + 1 : end;
        } else {
            std::size_t end = i;
            while (end < s.size() && !is_space(s[end])) ++end;
            t.text = std::string(s.substr(i, end - i));
            i = end;
            if (t.text.size() > 1 && t.text.back() == '*') {
                t.text.pop_back();
                t.prefix = true;
            }
        }
        if (!t.text.empty()) q.terms.push_back(std::move(t));
    }
    return q;
}

std::string search_fold(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        // U+00DF ß = C3 9F; U+1E9E ẞ = E1 BA 9E
        if (text[i] == '\xC3' && i + 1 < text.size() && text[i + 1] == '\x9F') {
            out += "ss";
            ++i;
        } else if (text[i] == '\xE1' && i + 2 < text.size() && text[i + 1] == '\xBA' && text[i + 2] == '\x9E') {
            out += "ss";
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string fts_match(const SearchQuery& q) {
    std::string out;
    for (auto& t : q.terms) {
        std::string folded = search_fold(t.text);
        if (!has_token(folded)) continue;
        if (!out.empty()) out += " AND ";
        switch (t.field) {  // FTS5 column filter: "{col} : phrase"
            case SearchField::From: out += "{sender} : "; break;
            case SearchField::To: out += "{recipients} : "; break;
            case SearchField::Subject: out += "{subject} : "; break;
            case SearchField::Body: out += "{body} : "; break;
            case SearchField::Any: break;
        }
        out += '"';
        for (char c : folded) {
            if (c == '"') out += '"';  // FTS5 strings: a double quote is written twice
            out += c == '\0' ? ' ' : c;
        }
        out += '"';
        if (t.prefix) out += " *";
    }
    return out;
}

Result<std::string> imap_search_criteria(const SearchQuery& q, bool utf8_quoted) {
    std::string out = "CHARSET UTF-8";  // RFC 9051 §6.4.4
    std::size_t n = 0;
    for (auto& t : q.terms) {
        if (t.text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            return fail("a search term holds a line break");
        bool eight = std::any_of(t.text.begin(), t.text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
        if (eight && !utf8_quoted)
            return fail("the server does not accept UTF-8 in quoted strings (no UTF8=ACCEPT): search for '" + t.text +
                        "' locally");
        switch (t.field) {
            case SearchField::Any: out += " TEXT "; break;
            case SearchField::From: out += " FROM "; break;
            case SearchField::To: out += " OR TO "; break;  // to:/cc: locally means To or Cc
            case SearchField::Subject: out += " SUBJECT "; break;
            case SearchField::Body: out += " BODY "; break;
        }
        std::string quoted = "\"";
        for (char c : t.text) {
            if (c == '"' || c == '\\') quoted += '\\';  // RFC 9051 §4.3 quoted-specials
            quoted += c;
        }
        quoted += '"';
        out += quoted;
        if (t.field == SearchField::To) out += " CC " + quoted;
        ++n;
    }
    if (n == 0) return fail("nothing to search for");
    return out;
}

// ---- the text of a message

namespace {

void add_line(std::string& out, std::string_view s) {
    if (s.empty()) return;
    if (!out.empty()) out += '\n';
    out += s;
}

std::string addresses(const std::vector<RenderedAddress>& list, std::string_view fallback) {
    std::string out;
    for (auto& a : list) {
        add_line(out, a.name);
        add_line(out, a.address);
    }
    if (out.empty()) out = fallback;
    return out;
}

}  // namespace

IndexedText index_text(std::string_view message) {
    RenderOptions o;
    o.width = 0;                   // no wrapping: words stay whole either way, this is cheaper
    o.max_part_text = 1u << 20;    // as the server's index: the first MiB of each part
    o.sniff_types = false;         // no libmagic: names are what is indexed
    Rendered r = render_message(message, o);
    IndexedText t;
    t.subject = search_fold(r.header.subject);
    t.sender = search_fold(addresses(r.header.from_list, r.header.from));
    t.recipients = search_fold(addresses(r.header.to_list, r.header.to) + "\n" + addresses(r.header.cc_list, r.header.cc));
    std::string body;
    for (auto& b : r.blocks) {
        if (b.kind == BodyBlock::Kind::Forwarded) {
            add_line(body, b.header.from);
            add_line(body, b.header.to);
            add_line(body, b.header.cc);
            add_line(body, b.header.subject);
        } else {
            add_line(body, b.text);
        }
    }
    for (auto& a : r.attachments) add_line(body, a.name);
    t.body = search_fold(body);
    return t;
}

// ---- the index

namespace {

constexpr std::int64_t kVersion = 1;  // search.db's user_version

constexpr const char* kSchema = R"(
BEGIN;
CREATE VIRTUAL TABLE fts USING fts5(subject, sender, recipients, body,
  tokenize = "unicode61 remove_diacritics 2");
CREATE TABLE marks(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO marks VALUES('indexed', 0);
PRAGMA user_version = 1;
COMMIT;)";

Result<sqlite::Db> open_db(const fs::path& file) {
    auto db = sqlite::Db::open(file);
    if (!db) return db;
    // Derived data: a commit lost in a power cut is indexed again (the mark is in the same
    // transaction), so no fsync per batch is needed, only WAL's at checkpoints.
    if (auto r = db->exec("PRAGMA synchronous = NORMAL"); !r) return std::unexpected(r.error());
    auto v = db->integer("PRAGMA user_version");
    if (!v) return std::unexpected(v.error());
    if (*v == 0) {
        if (auto r = db->exec(kSchema); !r) return std::unexpected(r.error());
    } else if (*v != kVersion) {
        return fail("search index of another version", EINVAL);
    }
    // A quick check that the tables are there (a foreign file with our version number fails here).
    if (auto r = db->integer("SELECT value FROM marks WHERE name = 'indexed'"); !r) return std::unexpected(r.error());
    return db;
}

}  // namespace

struct SearchIndex::Impl {
    sqlite::Db db;
};

SearchIndex::SearchIndex(Cache& cache) : cache_(cache), impl_(std::make_unique<Impl>()) {}
SearchIndex::~SearchIndex() = default;

Result<std::unique_ptr<SearchIndex>> SearchIndex::open(Cache& cache) {
    std::unique_ptr<SearchIndex> s(new SearchIndex(cache));
    fs::path file = cache.root() / "search.db";
    auto db = open_db(file);
    if (!db) {
        // Derived data: a damaged or foreign index is thrown away and built again.
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix, ec);
        db = open_db(file);
        if (!db) return std::unexpected(db.error());
    }
    s->impl_->db = std::move(*db);
    // Attached by its plain name (the connection has no URI filenames, so no "mode=ro"): this
    // file never writes to c.* (see the top of the file).
    auto attach = sqlite::Query::make(s->impl_->db, "ATTACH DATABASE ?1 AS c");
    if (!attach) return std::unexpected(attach.error());
    attach->bind(1, (cache.root() / "index.db").string());
    if (auto r = attach->run(); !r) return std::unexpected(r.error());
    return s;
}

Result<IndexStats> SearchIndex::catch_up(std::size_t batch,
                                         const std::function<void(std::size_t, std::size_t)>& progress) {
    auto start = std::chrono::steady_clock::now();
    auto& db = impl_->db;
    IndexStats stats;
    if (batch == 0) batch = 1;
    auto mark = db.integer("SELECT value FROM marks WHERE name = 'indexed'");
    if (!mark) return std::unexpected(mark.error());

    // Removed messages: cheap counts first (ids are never reused: AUTOINCREMENT), then the rows.
    auto have = db.integer("SELECT count(*) FROM fts_docsize");
    if (!have) return std::unexpected(have.error());
    std::int64_t still = 0;
    {
        auto q = sqlite::Query::make(db, "SELECT count(*) FROM c.messages WHERE id <= ?1");
        if (!q) return std::unexpected(q.error());
        q->bind(1, *mark);
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        still = *row ? q->int64(0) : 0;
    }
    if (*have != still) {
        auto tx = sqlite::Tx::begin(db, false);
        if (!tx) return std::unexpected(tx.error());
        auto del = sqlite::Query::make(db, "DELETE FROM fts WHERE rowid IN (SELECT id FROM fts_docsize "
                                           "WHERE id NOT IN (SELECT id FROM c.messages))");
        if (!del) return std::unexpected(del.error());
        if (auto r = del->run(); !r) return std::unexpected(r.error());
        stats.removed = static_cast<std::size_t>(sqlite3_changes(db.raw()));
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    }

    // New messages: ids above the mark, in batches of `batch` per transaction.
    std::vector<std::int64_t> ids;
    {
        auto q = sqlite::Query::make(db, "SELECT id FROM c.messages WHERE id > ?1 ORDER BY id");
        if (!q) return std::unexpected(q.error());
        q->bind(1, *mark);
        while (true) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            ids.push_back(q->int64(0));
        }
    }
    for (std::size_t at = 0; at < ids.size(); at += batch) {
        std::size_t end = std::min(ids.size(), at + batch);
        // Read and render outside the transaction; write the batch and the mark in one.
        std::vector<std::pair<std::int64_t, IndexedText>> texts;
        for (std::size_t k = at; k < end; ++k) {
            auto bytes = cache_.read(ids[k]);
            // A message removed since the listing, or whose file is gone, is indexed empty (its
            // row is dropped with it; an unreadable file has no text to find).
            texts.emplace_back(ids[k], bytes ? index_text(*bytes) : IndexedText{});
        }
        auto tx = sqlite::Tx::begin(db, false);  // deferred: writes take search.db's lock only
        if (!tx) return std::unexpected(tx.error());
        for (auto& [id, t] : texts) {
            auto ins = sqlite::Query::make(
                db, "INSERT OR REPLACE INTO fts(rowid, subject, sender, recipients, body) VALUES(?1, ?2, ?3, ?4, ?5)");
            if (!ins) return std::unexpected(ins.error());
            ins->bind(1, id).bind(2, t.subject).bind(3, t.sender).bind(4, t.recipients).bind(5, t.body);
            if (auto r = ins->run(); !r) return std::unexpected(r.error());
        }
        auto m = sqlite::Query::make(db, "UPDATE marks SET value = ?1 WHERE name = 'indexed'");
        if (!m) return std::unexpected(m.error());
        m->bind(1, ids[end - 1]);
        if (auto r = m->run(); !r) return std::unexpected(r.error());
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
        stats.added += texts.size();
        if (progress) progress(end, ids.size());
    }
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
}

namespace {

Result<std::vector<MessageRow>> rows_for(Cache& cache, sqlite::Query& q) {
    std::vector<std::int64_t> ids;
    while (true) {
        auto row = q.step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        ids.push_back(q.int64(0));
    }
    std::vector<MessageRow> out;
    out.reserve(ids.size());
    for (auto id : ids) {
        auto m = cache.get(id);
        if (m) out.push_back(std::move(*m));  // removed meanwhile: left out
    }
    return out;
}

}  // namespace

Result<std::vector<MessageRow>> SearchIndex::search(const SearchQuery& query, const SearchFilter& f) {
    std::string match = fts_match(query);
    if (match.empty()) return fail("nothing to search for (no word with a letter or digit)", EINVAL);
    auto q = sqlite::Query::make(impl_->db,
                                 "SELECT m.id FROM fts JOIN c.messages m ON m.id = fts.rowid "
                                 "WHERE fts MATCH ?1 AND (?2 = 0 OR m.folder_id = ?2) "
                                 "AND (?3 = 0 OR ' ' || m.flags || ' ' NOT LIKE '% \\Seen %') "
                                 "ORDER BY m.date DESC, m.id DESC LIMIT ?4");
    if (!q) return std::unexpected(q.error());
    q->bind(1, match).bind(2, f.folder_id).bind(3, std::int64_t{f.unread_only});
    q->bind(4, f.limit ? static_cast<std::int64_t>(f.limit) : std::int64_t{-1});
    return rows_for(cache_, *q);
}

Result<std::vector<MessageRow>> SearchIndex::by_uids(std::int64_t folder_id, const std::vector<std::uint32_t>& uids,
                                                     const SearchFilter& f, std::size_t& missing) {
    auto& db = impl_->db;
    missing = 0;
    if (auto r = db.exec("CREATE TEMP TABLE IF NOT EXISTS wanted(uid INTEGER PRIMARY KEY); DELETE FROM wanted;"); !r)
        return std::unexpected(r.error());
    {
        auto tx = sqlite::Tx::begin(db, false);  // the temp table only: one commit for all UIDs
        if (!tx) return std::unexpected(tx.error());
        for (auto uid : uids) {
            auto ins = sqlite::Query::make(db, "INSERT OR IGNORE INTO wanted VALUES(?1)");
            if (!ins) return std::unexpected(ins.error());
            ins->bind(1, std::int64_t{uid});
            if (auto r = ins->run(); !r) return std::unexpected(r.error());
        }
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    }
    {
        auto q = sqlite::Query::make(db, "SELECT count(*) FROM wanted w WHERE NOT EXISTS "
                                         "(SELECT 1 FROM c.messages m WHERE m.folder_id = ?1 AND m.uid = w.uid)");
        if (!q) return std::unexpected(q.error());
        q->bind(1, folder_id);
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        missing = *row ? static_cast<std::size_t>(q->int64(0)) : 0;
    }
    auto q = sqlite::Query::make(db,
                                 "SELECT m.id FROM c.messages m JOIN wanted w ON w.uid = m.uid "
                                 "WHERE m.folder_id = ?1 AND m.uid != 0 "
                                 "AND (?2 = 0 OR ' ' || m.flags || ' ' NOT LIKE '% \\Seen %') "
                                 "ORDER BY m.date DESC, m.id DESC LIMIT ?3");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id).bind(2, std::int64_t{f.unread_only});
    q->bind(3, f.limit ? static_cast<std::int64_t>(f.limit) : std::int64_t{-1});
    return rows_for(cache_, *q);
}

// ---- IMAP SEARCH on the server

namespace {

std::string end_reason(const client::imap::Session& s) {
    std::string why = s.end_status().text;
    switch (s.end()) {
        case client::imap::ConnectionEnd::TlsUnavailable: return "the server offers no TLS (STARTTLS): " + why;
        case client::imap::ConnectionEnd::TlsFailed: return "TLS failed: " + why;
        case client::imap::ConnectionEnd::AuthFailed: return "login failed: " + why;
        case client::imap::ConnectionEnd::ProtocolError: return "the server's answer made no sense: " + why;
        default: return why.empty() ? "the connection ended" : "the connection ended: " + why;
    }
}

}  // namespace

Result<std::vector<std::uint32_t>> server_search(const Account& account, std::string_view folder,
                                                 const SearchQuery& query, const TraceSink& trace) {
    namespace imap = client::imap;
    if (!account.imap)
        return fail("account '" + account.name + "' has no IMAP server (tern account add --imap HOST:PORT)");
    const Endpoint& ep = *account.imap;
    auto password = account_password(account);
    if (!password) return std::unexpected(password.error());
    imap::Options so;  // as the sync connects (sync.cpp)
    so.user = account.user();
    so.password = *password;
    so.implicit_tls = ep.tls == Tls::Implicit;
    so.tls_possible = ep.tls != Tls::None;
    so.require_tls = ep.tls == Tls::StartTls;
    so.allow_plaintext_password = account.allow_plaintext;
    so.enable_condstore = so.enable_qresync = false;  // one read-only search: nothing to resync
    so.enable_utf8 = true;                            // RFC 6855 §3: UTF-8 in quoted strings
    imap::Session s(so);
    auto conn = Connection::open(ep, TlsTrust{account.ca_file, account.fingerprint});
    if (!conn) return std::unexpected(conn.error());
    auto mask = [](std::string_view out) { return imap::mask_secrets(out); };
    if (drive(s, **conn, trace, mask) == imap::Session::Next::Close) return fail(end_reason(s));

    auto criteria = imap_search_criteria(query, s.enabled("UTF8=ACCEPT"));
    if (!criteria) return std::unexpected(criteria.error());
    // RFC 9051 §6.3.3 EXAMINE: read-only, so searching never changes \Recent or \Seen.
    auto examine_id = s.examine(folder);
    auto search_id = s.search(*criteria);
    auto next = drive(s, **conn, trace, mask);
    std::optional<imap::Outcome> examined, searched;
    for (auto& o : s.take_outcomes()) {
        if (o.id == examine_id) examined = std::move(o);
        else if (o.id == search_id) searched = std::move(o);
    }
    if (!examined || !searched) return fail(next == imap::Session::Next::Close ? end_reason(s) : "no answer to SEARCH");
    if (!examined->ok) return fail("the server cannot open '" + std::string(folder) + "': " + examined->text);
    if (!searched->ok) return fail("the server refused the search: " + searched->text);
    std::vector<std::uint32_t> uids = searched->uids;
    if (searched->uid_set) {
        for (auto& r : searched->uid_set->ranges) {
            if (r.first == 0 || r.last == 0) continue;  // "*" has no meaning in an answer
            std::uint64_t lo = std::min(r.first, r.last), hi = std::max(r.first, r.last);
            for (std::uint64_t u = lo; u <= hi && uids.size() < so.max_results; ++u)
                uids.push_back(static_cast<std::uint32_t>(u));
        }
    }
    s.logout();
    drive(s, **conn, trace, mask);
    return uids;
}

}  // namespace tern::mua
