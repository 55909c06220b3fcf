// The local cache (see cache.hpp): Maildir files plus an SQLite index. Order of a new message:
// file written in tmp/, fsynced, renamed into cur/, directory fsynced, then the index row; a crash
// between the two leaves a file the index does not list, never an index row without its file.
// (In a batch the row is inserted first but committed only after the batch's files went through
// those steps: finish_pending.)
// Must never build a path from a folder name without folder_dir_name().
#include "mua/cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "base/ascii.hpp"
#include "base/durable.hpp"
#include "mime/address.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "mua/paths.hpp"
#include "proto/message/date.hpp"
#include "sqlite/db.hpp"

namespace tern::mua {

namespace fs = std::filesystem;

// Threads fsyncing a batch's files at once (finish_pending).
constexpr std::size_t kSyncThreads = 8;

namespace {

constexpr std::size_t kHeadBytes = 64 * 1024;  // header fields for the list are taken from this much

// Maildir info letters (https://cr.yp.to/proto/maildir.html) for IMAP system flags.
constexpr std::pair<char, std::string_view> kInfo[] = {
    {'D', "\\Draft"}, {'F', "\\Flagged"}, {'P', "$Forwarded"}, {'R', "\\Answered"}, {'S', "\\Seen"}, {'T', "\\Deleted"}};

std::vector<std::string> split_flags(std::string_view flags) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < flags.size()) {
        while (i < flags.size() && (flags[i] == ' ' || flags[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < flags.size() && flags[j] != ' ' && flags[j] != '\t') ++j;
        if (j > i) out.emplace_back(flags.substr(i, j - i));
        i = j;
    }
    return out;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

// Collapses runs of white space (folded subjects) to one space.
std::string one_line(std::string_view s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

std::string unique_name() {
    static std::atomic<unsigned> counter{0};
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(now).count();
    auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string h;
    for (char* p = host; *p; ++p) h += (*p == '/' || *p == ':') ? '_' : *p;  // Maildir: no '/' or ':'
    return std::to_string(sec) + ".M" + std::to_string(usec) + "P" + std::to_string(::getpid()) + "Q" +
           std::to_string(counter++) + "." + (h.empty() ? "localhost" : h);
}

struct Fields {
    std::int64_t date = 0;
    std::string from_name, from_addr, to, subject, message_id, in_reply_to, references;
    bool attachments = false;
};

Fields header_fields(std::string_view head) {
    Fields f;
    auto section = mime::parse_header_section(head);
    if (!section) return f;
    if (auto* d = section->find("Date")) {
        if (auto parsed = message::parse_date(d->value())) f.date = parsed->unix_seconds();
    }
    if (auto* from = section->find("From")) {
        auto v = from->value();
        if (auto list = mime::parse_mailbox_list(v); list && !list->empty()) {
            f.from_name = one_line(mime::decode_words((*list)[0].display_name));
            f.from_addr = (*list)[0].addr_spec();
        } else {
            f.from_name = one_line(mime::decode_words(v));
        }
    }
    if (auto* to = section->find("To")) f.to = one_line(mime::decode_words(to->value()));
    if (auto* s = section->find("Subject")) f.subject = one_line(mime::decode_words(s->value()));
    if (auto* m = section->find("Message-ID")) f.message_id = trimmed(one_line(m->value()));
    if (auto* m = section->find("In-Reply-To")) f.in_reply_to = trimmed(one_line(m->value()));
    if (auto* m = section->find("References")) f.references = trimmed(one_line(m->value()));
    if (auto* ct = section->find("Content-Type"))
        f.attachments = ascii::istarts_with(trimmed(ct->value()), "multipart/mixed");
    return f;
}

Result<void> make_maildir(const fs::path& dir) {
    for (const char* sub : {"tmp", "new", "cur"})
        if (auto r = make_private_dir(dir / sub); !r) return r;
    return {};
}

}  // namespace

bool MessageRow::has(std::string_view flag) const {
    for (auto& f : split_flags(flags))
        if (ascii::iequals(f, flag)) return true;
    return false;
}

std::string normalize_flags(std::string_view flags) {
    static constexpr std::string_view kSystem[] = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"};
    std::set<std::string> out;
    for (auto& f : split_flags(flags)) {
        std::string v = f;
        for (auto s : kSystem)
            if (ascii::iequals(v, s)) v = s;
        if (v == "\\Recent") continue;  // a session's view, not a stored flag (RFC 3501 §2.3.2)
        out.insert(v);
    }
    std::string s;
    for (auto& f : out) {
        if (!s.empty()) s += ' ';
        s += f;
    }
    return s;
}

std::string maildir_info(std::string_view flags) {
    std::string letters;
    auto list = split_flags(flags);
    for (auto& [letter, flag] : kInfo)
        if (std::any_of(list.begin(), list.end(), [&](const std::string& f) { return ascii::iequals(f, flag); }))
            letters += letter;
    return "2," + letters;
}

std::string folder_dir_name(std::string_view folder) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : folder) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
                    c == ' ' || c == '+' || c == ',' || c == '-' || c == '=' || c == '@' || c == '_';
        if (c == '/') out += '.';
        else if (keep) out += static_cast<char>(c);
        else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    if (out.empty() || out.front() == '.') out.insert(0, "%");  // never "", "." or ".."-like names
    if (out.size() > 200) {
        std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the full name keeps long names distinct
        for (unsigned char c : folder) h = (h ^ c) * 1099511628211ULL;
        out.resize(180);
        out += "%~" + std::to_string(h);
    }
    return out;
}

struct Cache::Impl {
    sqlite::Db db;
    int batch = 0;  // begin_batch() depth: an open transaction the single writes join
    // Messages committed in a batch (commit(meta, false)) whose file is still in tmp/, not yet
    // fsynced: finish_pending() fsyncs them together, then renames them into cur/, before the
    // batch's transaction (holding their index rows) is committed.
    struct Pending {
        std::int64_t id;
        int fd;
        fs::path tmp, target;
    };
    std::vector<Pending> pending;
    bool rollback = false;  // a pending row could not be removed: end_batch rolls back
};

namespace {
// A write transaction, or nothing when a batch already holds one.
struct MaybeTx {
    std::optional<sqlite::Tx> tx;
    Result<void> commit() { return tx ? tx->commit() : Result<void>{}; }
};
Result<MaybeTx> write_tx(sqlite::Db& db, int batch) {
    MaybeTx m;
    if (batch > 0) return m;
    auto tx = sqlite::Tx::begin(db, true);
    if (!tx) return std::unexpected(tx.error());
    m.tx.emplace(std::move(*tx));
    return m;
}
}  // namespace

Cache::Cache(fs::path root) : root_(std::move(root)), impl_(std::make_unique<Impl>()) {}
Cache::~Cache() {
    // A batch never finished: its transaction is rolled back when the index closes, and the
    // messages' files never left tmp/.
    for (auto& p : impl_->pending) {
        ::close(p.fd);
        ::unlink(p.tmp.c_str());
    }
    if (lock_fd_ >= 0) {
        ::unlink((root_ / "writing").c_str());  // a clean end: the next writer needs no clean-up
        ::close(lock_fd_);                      // releases the flock
    }
}

Result<void> Cache::lock_for_writing() {
    if (lock_fd_ >= 0) return {};
    auto path = root_ / "lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail("cannot open " + path.string() + ": " + std::strerror(errno), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ::close(fd);
        return fail("another tern is syncing this account (" + path.string() + " is locked)", e);
    }
    lock_fd_ = fd;
    // "writing" exists while a writer runs: finding it means the last one died (kill -9, a crash)
    // and may have left files its index never listed. Only then are the Maildirs checked.
    auto marker = root_ / "writing";
    std::error_code ec;
    if (fs::exists(marker, ec)) {
        auto all = folders();
        if (!all) return std::unexpected(all.error());
        for (auto& f : *all)
            if (auto r = remove_orphans(f); !r) return std::unexpected(r.error());
    } else {
        int m = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (m < 0) return fail("cannot create " + marker.string() + ": " + std::strerror(errno), errno);
        ::close(m);
        if (auto r = base::fsync_directory(root_); !r) return r;
    }
    return {};
}

Result<std::size_t> Cache::remove_orphans(const Folder& folder) {
    if (lock_fd_ < 0) return fail("remove_orphans without the account's lock");
    // A batch's messages wait in tmp/ until it ends (finish_pending): never orphans.
    if (!impl_->pending.empty()) return fail("remove_orphans inside an unfinished batch");
    std::set<std::string> listed;
    {
        auto q = sqlite::Query::make(impl_->db, "SELECT file FROM messages WHERE folder_id = ?1");
        if (!q) return std::unexpected(q.error());
        q->bind(1, folder.id);
        while (true) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            listed.insert(q->text(0));
        }
    }
    std::size_t removed = 0;
    fs::path maildir = root_ / "mail" / folder.dir;
    for (const char* sub : {"tmp", "new", "cur"}) {
        std::error_code ec;
        for (auto& e : fs::directory_iterator(maildir / sub, ec)) {
            std::string rel = std::string(sub) + "/" + e.path().filename().string();
            if (!e.is_regular_file(ec) || listed.count(rel)) continue;
            if (::unlink(e.path().c_str()) == 0) ++removed;
        }
    }
    return removed;
}



Result<std::unique_ptr<Cache>> Cache::open(const fs::path& account_dir) {
    if (auto r = make_private_dir(account_dir / "mail"); !r) return std::unexpected(r.error());
    std::unique_ptr<Cache> c(new Cache(account_dir));
    auto db = sqlite::Db::open(account_dir / "index.db");
    if (!db) return std::unexpected(db.error());
    c->impl_->db = std::move(*db);
    auto& d = c->impl_->db;
    auto version = d.integer("PRAGMA user_version");
    if (!version) return std::unexpected(version.error());
    if (*version == 0) {
        auto r = d.exec(R"(
BEGIN;
CREATE TABLE folders(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dir TEXT NOT NULL UNIQUE,
  special TEXT NOT NULL DEFAULT '', uidvalidity INTEGER NOT NULL DEFAULT 0,
  uidnext INTEGER NOT NULL DEFAULT 0, highestmodseq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL DEFAULT 0, modseq INTEGER NOT NULL DEFAULT 0,
  file TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '', server_flags TEXT,
  date INTEGER NOT NULL, arrived INTEGER NOT NULL,
  from_name TEXT NOT NULL DEFAULT '', from_addr TEXT NOT NULL DEFAULT '', to_text TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '', message_id TEXT NOT NULL DEFAULT '',
  in_reply_to TEXT NOT NULL DEFAULT '', refs TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL, attachments INTEGER NOT NULL DEFAULT 0,
  origin_folder_id INTEGER, origin_uid INTEGER);
CREATE INDEX messages_by_date ON messages(folder_id, date);
CREATE INDEX messages_by_uid ON messages(folder_id, uid);
CREATE TABLE server_deletions(folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL, PRIMARY KEY(folder_id, uid));
CREATE TABLE pop_uidls(uidl TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE outbox(
  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  sender TEXT NOT NULL, recipients TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');
PRAGMA user_version = 1;
COMMIT;)");
        if (!r) return std::unexpected(r.error());
    } else if (*version > 1) {
        return fail("the cache in " + account_dir.string() + " was made by a newer tern (index version " +
                    std::to_string(*version) + ")");
    }
    return c;
}

namespace {
Folder folder_from(sqlite::Query& q) {
    Folder f;
    f.id = q.int64(0);
    f.name = q.text(1);
    f.dir = q.text(2);
    f.special = q.text(3);
    f.uidvalidity = static_cast<std::uint32_t>(q.int64(4));
    f.uidnext = static_cast<std::uint32_t>(q.int64(5));
    f.highestmodseq = static_cast<std::uint64_t>(q.int64(6));
    return f;
}
}  // namespace

Result<Folder> Cache::folder(std::string_view name, bool create) {
    auto& db = impl_->db;
    {
        auto q = sqlite::Query::make(db, "SELECT id, name, dir, special, uidvalidity, uidnext, highestmodseq "
                                         "FROM folders WHERE name = ?1");
        if (!q) return std::unexpected(q.error());
        q->bind(1, name);
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (*row) return folder_from(*q);
    }
    if (!create) return fail("no folder '" + std::string(name) + "' in the local cache", ENOENT);
    std::string dir = folder_dir_name(name);
    if (auto r = make_maildir(root_ / "mail" / dir); !r) return std::unexpected(r.error());
    auto q = sqlite::Query::make(db, "INSERT INTO folders(name, dir) VALUES(?1, ?2)");
    if (!q) return std::unexpected(q.error());
    q->bind(1, name).bind(2, dir);
    if (auto r = q->run(); !r) return std::unexpected(r.error());
    return folder(name, false);
}

Result<std::vector<Folder>> Cache::folders() {
    auto q = sqlite::Query::make(impl_->db,
                                 "SELECT f.id, f.name, f.dir, f.special, f.uidvalidity, f.uidnext, f.highestmodseq, "
                                 "(SELECT count(*) FROM messages m WHERE m.folder_id = f.id), "
                                 "(SELECT count(*) FROM messages m WHERE m.folder_id = f.id AND "
                                 " ' ' || m.flags || ' ' NOT LIKE '% \\Seen %') "
                                 "FROM folders f ORDER BY f.name = 'INBOX' DESC, f.name");
    if (!q) return std::unexpected(q.error());
    std::vector<Folder> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        Folder f = folder_from(*q);
        f.messages = q->int64(7);
        f.unread = q->int64(8);
        out.push_back(std::move(f));
    }
    return out;
}

Result<void> Cache::set_special(std::int64_t folder_id, std::string_view special) {
    auto q = sqlite::Query::make(impl_->db, "UPDATE folders SET special = ?2 WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id).bind(2, special);
    return q->run();
}

Result<void> Cache::set_sync_state(std::int64_t folder_id, std::uint32_t uidvalidity, std::uint32_t uidnext,
                                   std::uint64_t highestmodseq) {
    auto q = sqlite::Query::make(impl_->db,
                                 "UPDATE folders SET uidvalidity = ?2, uidnext = ?3, highestmodseq = ?4 WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uidvalidity)).bind(3, static_cast<std::int64_t>(uidnext));
    q->bind(4, static_cast<std::int64_t>(highestmodseq));
    return q->run();
}

// ---------------------------------------------------------------- adding messages

Cache::Writer::Writer(Cache* cache, Folder folder, fs::path tmp, int fd)
    : cache_(cache), folder_(std::move(folder)), tmp_(std::move(tmp)), fd_(fd) {}

Cache::Writer::Writer(Writer&& o) noexcept
    : cache_(o.cache_), folder_(std::move(o.folder_)), tmp_(std::move(o.tmp_)), fd_(o.fd_), size_(o.size_),
      head_(std::move(o.head_)) {
    o.fd_ = -1;
    o.tmp_.clear();
}

Cache::Writer::~Writer() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<void> Cache::Writer::write(std::string_view bytes) {
    if (fd_ < 0) return fail("message already committed");
    if (head_.size() < kHeadBytes) head_.append(bytes.substr(0, kHeadBytes - head_.size()));
    size_ += bytes.size();
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("cannot write " + tmp_.string() + ": " + std::strerror(errno), errno);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::int64_t> Cache::Writer::commit(const NewMessage& meta, bool sync_dir) {
    if (fd_ < 0) return fail("message already committed");
    fs::path maildir = cache_->root_ / "mail" / folder_.dir;
    std::string file = "cur/" + tmp_.filename().string() + ":" + maildir_info(meta.flags);
    if (!sync_dir && cache_->impl_->batch > 0) {
        // In a batch: the index row joins the batch's open transaction now; the file is fsynced
        // and renamed into cur/ by finish_pending() (sync_folder_dir or end_batch), with the
        // rest of the batch, before that transaction commits.
        auto id = cache_->index(folder_, file, head_, size_, meta);
        if (!id) return id;  // the destructor removes the temporary file
        cache_->impl_->pending.push_back({*id, fd_, tmp_, maildir / file});
        fd_ = -1;
        tmp_.clear();
        return id;
    }
    if (::fsync(fd_) != 0) return fail("cannot write " + tmp_.string() + ": " + std::strerror(errno), errno);
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmp_.c_str(), (maildir / file).c_str()) != 0)
        return fail("cannot move " + tmp_.string() + " into " + maildir.string() + ": " + std::strerror(errno), errno);
    tmp_.clear();
    if (sync_dir) {
        if (auto r = base::fsync_directory(maildir / "cur"); !r) return std::unexpected(r.error());
    }
    auto id = cache_->index(folder_, file, head_, size_, meta);
    if (!id) ::unlink((maildir / file).c_str());
    return id;
}

Result<Cache::Writer> Cache::begin(const Folder& folder) {
    fs::path tmp = root_ / "mail" / folder.dir / "tmp" / unique_name();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot create " + tmp.string() + ": " + std::strerror(errno), errno);
    return Writer(this, folder, tmp, fd);
}

Result<std::int64_t> Cache::add(const Folder& folder, std::string_view bytes, const NewMessage& meta) {
    auto w = begin(folder);
    if (!w) return std::unexpected(w.error());
    if (auto r = w->write(bytes); !r) return std::unexpected(r.error());
    return w->commit(meta);
}

Result<std::int64_t> Cache::index(const Folder& folder, const std::string& file, std::string_view head,
                                  std::uint64_t size, const NewMessage& meta) {
    Fields f = header_fields(head);
    std::int64_t arrived = meta.arrived ? meta.arrived : now_seconds();
    auto& db = impl_->db;
    auto tx = write_tx(db, impl_->batch);
    if (!tx) return std::unexpected(tx.error());
    std::string flags = normalize_flags(meta.flags);
    auto q = sqlite::Query::make(
        db,
        "INSERT INTO messages(folder_id, uid, modseq, file, flags, server_flags, date, arrived, from_name, from_addr, "
        "to_text, subject, message_id, in_reply_to, refs, size, attachments) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder.id).bind(2, static_cast<std::int64_t>(meta.uid)).bind(3, static_cast<std::int64_t>(meta.modseq));
    q->bind(4, file).bind(5, flags);
    if (meta.uid) q->bind(6, flags);  // what the server has; NULL: local only
    q->bind(7, f.date ? f.date : arrived).bind(8, arrived).bind(9, f.from_name).bind(10, f.from_addr);
    q->bind(11, f.to).bind(12, f.subject).bind(13, f.message_id).bind(14, f.in_reply_to).bind(15, f.references);
    q->bind(16, static_cast<std::int64_t>(size)).bind(17, std::int64_t{f.attachments});
    if (auto r = q->run(); !r) return std::unexpected(r.error());
    std::int64_t id = sqlite3_last_insert_rowid(db.raw());
    if (!meta.pop_uidl.empty()) {
        auto p = sqlite::Query::make(db, "INSERT OR REPLACE INTO pop_uidls(uidl, at) VALUES(?1, ?2)");
        if (!p) return std::unexpected(p.error());
        p->bind(1, meta.pop_uidl).bind(2, arrived);
        if (auto r = p->run(); !r) return std::unexpected(r.error());
    }
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    return id;
}

// ---------------------------------------------------------------- reading the index

namespace {
constexpr const char* kRowColumns =
    "m.id, m.folder_id, f.name, m.uid, m.flags, m.date, m.from_name, m.from_addr, m.to_text, m.subject, "
    "m.message_id, m.in_reply_to, m.refs, m.size, m.attachments, f.dir, m.file";

MessageRow row_from(sqlite::Query& q, const fs::path& root) {
    MessageRow r;
    r.id = q.int64(0);
    r.folder_id = q.int64(1);
    r.folder = q.text(2);
    r.uid = static_cast<std::uint32_t>(q.int64(3));
    r.flags = q.text(4);
    r.date = q.int64(5);
    r.from_name = q.text(6);
    r.from_addr = q.text(7);
    r.to = q.text(8);
    r.subject = q.text(9);
    r.message_id = q.text(10);
    r.in_reply_to = q.text(11);
    r.references = q.text(12);
    r.size = static_cast<std::uint64_t>(q.int64(13));
    r.attachments = q.int64(14) != 0;
    r.path = root / "mail" / q.text(15) / q.text(16);
    return r;
}
}  // namespace

Result<std::vector<MessageRow>> Cache::list(const ListQuery& lq) {
    // The newest `limit` by date, shown oldest first (like mutt's date order).
    static const std::string sql_all = std::string("SELECT ") + kRowColumns +
                                       " FROM messages m JOIN folders f ON f.id = m.folder_id WHERE m.folder_id = ?1 "
                                       "AND (?2 = 0 OR ' ' || m.flags || ' ' NOT LIKE '% \\Seen %') "
                                       "ORDER BY m.date DESC, m.id DESC LIMIT ?3";
    auto q = sqlite::Query::make(impl_->db, sql_all.c_str());
    if (!q) return std::unexpected(q.error());
    q->bind(1, lq.folder_id).bind(2, std::int64_t{lq.unread_only}).bind(3, lq.limit ? static_cast<std::int64_t>(lq.limit) : -1);
    std::vector<MessageRow> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        out.push_back(row_from(*q, root_));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

Result<MessageRow> Cache::get(std::int64_t id) {
    static const std::string sql = std::string("SELECT ") + kRowColumns +
                                   " FROM messages m JOIN folders f ON f.id = m.folder_id WHERE m.id = ?1";
    auto q = sqlite::Query::make(impl_->db, sql.c_str());
    if (!q) return std::unexpected(q.error());
    q->bind(1, id);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return fail("no message " + std::to_string(id) + " in the local cache (see `tern list`)", ENOENT);
    return row_from(*q, root_);
}

Result<std::string> Cache::read(std::int64_t id) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    int fd = ::open(row->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fail("cannot read " + row->path.string() + ": " + std::strerror(errno), errno);
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return fail("cannot read " + row->path.string() + ": " + std::strerror(e), e);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

Result<void> Cache::set_flags(std::int64_t id, std::string_view flags) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    std::string norm = normalize_flags(flags);
    std::string name = row->path.filename().string();
    auto colon = name.rfind(':');
    std::string base = colon == std::string::npos ? name : name.substr(0, colon);
    std::string file = "cur/" + base + ":" + maildir_info(norm);
    fs::path target = row->path.parent_path().parent_path() / file;
    if (target != row->path && ::rename(row->path.c_str(), target.c_str()) != 0)
        return fail("cannot rename " + row->path.string() + ": " + std::strerror(errno), errno);
    auto q = sqlite::Query::make(impl_->db, "UPDATE messages SET flags = ?2, file = ?3 WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, norm).bind(3, file);
    if (auto r = q->run(); !r) {
        ::rename(target.c_str(), row->path.c_str());
        return r;
    }
    return {};
}

Result<void> Cache::remove(std::int64_t id) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    auto& db = impl_->db;
    auto tx = write_tx(db, impl_->batch);
    if (!tx) return std::unexpected(tx.error());
    {  // the server still has it (here, or where it was moved from): the next sync expunges it there
        auto t = sqlite::Query::make(db, "INSERT OR IGNORE INTO server_deletions(folder_id, uid) "
                                         "SELECT CASE WHEN uid != 0 THEN folder_id ELSE origin_folder_id END, "
                                         "CASE WHEN uid != 0 THEN uid ELSE origin_uid END FROM messages "
                                         "WHERE id = ?1 AND (uid != 0 OR coalesce(origin_uid, 0) != 0)");
        if (!t) return std::unexpected(t.error());
        t->bind(1, id);
        if (auto r = t->run(); !r) return r;
    }
    auto q = sqlite::Query::make(db, "DELETE FROM messages WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id);
    if (auto r = q->run(); !r) return r;
    if (auto r = tx->commit(); !r) return r;
    ::unlink(row->path.c_str());
    return {};
}

Result<void> Cache::move(std::int64_t id, const Folder& to) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    if (row->folder_id == to.id) return {};
    std::string file = "cur/" + row->path.filename().string();
    fs::path target = root_ / "mail" / to.dir / file;
    if (::rename(row->path.c_str(), target.c_str()) != 0)
        return fail("cannot move " + row->path.string() + ": " + std::strerror(errno), errno);
    if (auto r = base::fsync_directory(target.parent_path()); !r) return r;
    auto& db = impl_->db;
    auto tx = write_tx(db, impl_->batch);
    if (!tx) return std::unexpected(tx.error());
    // A message the server has keeps where it came from, so a sync can MOVE it there (RFC 6851)
    // instead of uploading it again; the first origin counts when it moves twice before a sync.
    auto q = sqlite::Query::make(db, "UPDATE messages SET folder_id = ?2, file = ?3, "
                                     "origin_folder_id = CASE WHEN uid != 0 THEN folder_id ELSE origin_folder_id END, "
                                     "origin_uid = CASE WHEN uid != 0 THEN uid ELSE origin_uid END, "
                                     "uid = 0, modseq = 0 WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, to.id).bind(3, file);
    if (auto r = q->run(); !r) return r;
    auto d = sqlite::Query::make(db, "DELETE FROM outbox WHERE message_id = ?1");
    if (!d) return std::unexpected(d.error());
    d->bind(1, id);
    if (auto r = d->run(); !r) return r;
    if (auto r = tx->commit(); !r) {
        ::rename(target.c_str(), row->path.c_str());
        return r;
    }
    return {};
}

namespace {
constexpr const char* kSyncColumns =
    "m.id, m.folder_id, m.uid, m.flags, m.server_flags, coalesce(m.origin_folder_id, 0), coalesce(m.origin_uid, 0), "
    "EXISTS(SELECT 1 FROM outbox o WHERE o.message_id = m.id), m.arrived FROM messages m ";

Result<std::vector<SyncRow>> sync_query(sqlite::Db& db, const char* sql, std::int64_t folder_id) {
    auto q = sqlite::Query::make(db, sql);
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id);
    std::vector<SyncRow> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        SyncRow r;
        r.id = q->int64(0);
        r.folder_id = q->int64(1);
        r.uid = static_cast<std::uint32_t>(q->int64(2));
        r.flags = q->text(3);
        if (!q->is_null(4)) r.server_flags = q->text(4);
        r.origin_folder_id = q->int64(5);
        r.origin_uid = static_cast<std::uint32_t>(q->int64(6));
        r.outbox = q->int64(7) != 0;
        r.arrived = q->int64(8);
        out.push_back(std::move(r));
    }
    return out;
}
}  // namespace

Result<std::vector<SyncRow>> Cache::sync_rows(std::int64_t folder_id) {
    static const std::string sql = std::string("SELECT ") + kSyncColumns + "WHERE m.folder_id = ?1 ORDER BY m.uid, m.id";
    return sync_query(impl_->db, sql.c_str(), folder_id);
}

Result<std::vector<SyncRow>> Cache::moved_out_of(std::int64_t folder_id) {
    static const std::string sql = std::string("SELECT ") + kSyncColumns + "WHERE m.origin_folder_id = ?1 ORDER BY m.id";
    return sync_query(impl_->db, sql.c_str(), folder_id);
}

Result<void> Cache::set_synced(std::int64_t id, std::uint32_t uid, std::string_view flags) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    std::string norm = normalize_flags(flags);
    std::string name = row->path.filename().string();
    auto colon = name.rfind(':');
    std::string file = "cur/" + (colon == std::string::npos ? name : name.substr(0, colon)) + ":" + maildir_info(norm);
    fs::path target = row->path.parent_path().parent_path() / file;
    if (target != row->path && ::rename(row->path.c_str(), target.c_str()) != 0)
        return fail("cannot rename " + row->path.string() + ": " + std::strerror(errno), errno);
    auto q = sqlite::Query::make(impl_->db, "UPDATE messages SET uid = ?2, flags = ?3, server_flags = ?3, file = ?4, "
                                            "origin_folder_id = NULL, origin_uid = NULL WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, static_cast<std::int64_t>(uid)).bind(3, norm).bind(4, file);
    return q->run();
}

Result<void> Cache::set_uid(std::int64_t id, std::uint32_t uid) {
    auto q = sqlite::Query::make(impl_->db, "UPDATE messages SET uid = ?2, origin_folder_id = NULL, origin_uid = NULL, "
                                            "server_flags = CASE WHEN ?2 = 0 THEN NULL ELSE server_flags END WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, static_cast<std::int64_t>(uid));
    return q->run();
}

Result<std::optional<Folder>> Cache::folder_by_special(std::string_view special) {
    auto q = sqlite::Query::make(impl_->db, "SELECT id, name, dir, special, uidvalidity, uidnext, highestmodseq "
                                            "FROM folders WHERE special = ?1 ORDER BY id LIMIT 1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, special);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<Folder>{};
    return std::optional<Folder>{folder_from(*q)};
}

Result<void> Cache::forget(std::int64_t id) {
    auto row = get(id);
    if (!row) return std::unexpected(row.error());
    auto q = sqlite::Query::make(impl_->db, "DELETE FROM messages WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id);
    if (auto r = q->run(); !r) return r;
    ::unlink(row->path.c_str());
    return {};
}

Result<std::vector<std::uint32_t>> Cache::server_deletions(std::int64_t folder_id) {
    auto q = sqlite::Query::make(impl_->db, "SELECT uid FROM server_deletions WHERE folder_id = ?1 ORDER BY uid");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id);
    std::vector<std::uint32_t> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        out.push_back(static_cast<std::uint32_t>(q->int64(0)));
    }
    return out;
}

Result<void> Cache::clear_server_deletions(std::int64_t folder_id) {
    auto q = sqlite::Query::make(impl_->db, "DELETE FROM server_deletions WHERE folder_id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id);
    return q->run();
}

Result<void> Cache::remove_folder(std::int64_t folder_id) {
    auto q = sqlite::Query::make(impl_->db, "SELECT dir FROM folders WHERE id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, folder_id);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return {};
    std::string dir = q->text(0);
    auto d = sqlite::Query::make(impl_->db, "DELETE FROM folders WHERE id = ?1");
    if (!d) return std::unexpected(d.error());
    d->bind(1, folder_id);
    if (auto r = d->run(); !r) return r;
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(root_ / "mail" / dir, ec);  // dir never holds '/' (folder_dir_name)
    return {};
}

Result<void> Cache::finish_pending() {
    auto pending = std::move(impl_->pending);
    impl_->pending.clear();
    if (pending.empty()) return {};
    // Each file is fsynced before it is renamed into cur/, as in commit(); here by a few threads
    // at once, since a file system (ext4's journal) commits concurrent fsyncs together where one
    // after another each waits for a commit of its own.
    std::vector<int> err(pending.size(), 0);
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i; (i = next++) < pending.size();)
            if (::fsync(pending[i].fd) != 0) err[i] = errno;
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < std::min<std::size_t>(kSyncThreads, pending.size()); ++t) {
        try {
            threads.emplace_back(work);
        } catch (const std::system_error&) {
            break;  // no more threads: the ones running (and this one) do the rest
        }
    }
    work();
    for (auto& t : threads) t.join();
    Result<void> result;
    std::set<fs::path> dirs;
    for (std::size_t i = 0; i < pending.size(); ++i) {
        auto& p = pending[i];
        ::close(p.fd);
        if (err[i] == 0 && ::rename(p.tmp.c_str(), p.target.c_str()) != 0) err[i] = errno;
        if (err[i] == 0) {
            dirs.insert(p.target.parent_path());
            continue;
        }
        // Not on disk: neither its file nor its index row stays (the next sync fetches it again).
        ::unlink(p.tmp.c_str());
        if (result) result = fail("cannot write " + p.tmp.string() + ": " + std::strerror(err[i]), err[i]);
        auto q = sqlite::Query::make(impl_->db, "DELETE FROM messages WHERE id = ?1");
        if (q) q->bind(1, p.id);
        if (!q || !q->run()) impl_->rollback = true;  // the row stays: the batch must not commit
    }
    for (auto& d : dirs)
        if (auto r = base::fsync_directory(d); !r && result) result = r;
    return result;
}

Result<void> Cache::sync_folder_dir(const Folder& folder) {
    auto pending = finish_pending();
    auto dir = base::fsync_directory(root_ / "mail" / folder.dir / "cur");
    return !pending ? pending : dir;
}

Result<void> Cache::begin_batch() {
    if (impl_->batch++ > 0) return {};
    if (auto r = impl_->db.exec("BEGIN IMMEDIATE"); !r) {
        impl_->batch = 0;
        return r;
    }
    return {};
}

Result<void> Cache::end_batch() {
    if (impl_->batch == 0) return fail("end_batch without begin_batch");
    if (--impl_->batch > 0) return {};
    // Files still pending are made durable first (a failed one loses its row too), so the
    // commit never holds a row whose file is not in cur/.
    auto pending = finish_pending();
    bool rollback = std::exchange(impl_->rollback, false);
    auto commit = impl_->db.exec(rollback ? "ROLLBACK" : "COMMIT");
    return !pending ? pending : commit;
}

Result<void> Cache::set_outbox(std::int64_t id, const std::string& sender, const std::vector<std::string>& recipients) {
    std::string list;
    for (auto& r : recipients) list += r + "\n";
    auto q = sqlite::Query::make(impl_->db, "INSERT OR REPLACE INTO outbox(message_id, sender, recipients) VALUES(?1, ?2, ?3)");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, sender).bind(3, list);
    return q->run();
}

Result<std::vector<OutboxEntry>> Cache::outbox() {
    auto q = sqlite::Query::make(impl_->db, "SELECT message_id, sender, recipients, attempts, last_error FROM outbox "
                                            "ORDER BY message_id");
    if (!q) return std::unexpected(q.error());
    std::vector<OutboxEntry> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        OutboxEntry e;
        e.id = q->int64(0);
        e.sender = q->text(1);
        std::string list = q->text(2);
        std::size_t start = 0;
        while (start < list.size()) {
            auto nl = list.find('\n', start);
            if (nl == std::string::npos) nl = list.size();
            if (nl > start) e.recipients.push_back(list.substr(start, nl - start));
            start = nl + 1;
        }
        e.attempts = q->int64(3);
        e.last_error = q->text(4);
        out.push_back(std::move(e));
    }
    return out;
}

Result<void> Cache::outbox_attempt(std::int64_t id, std::string_view error) {
    auto q = sqlite::Query::make(impl_->db, "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE message_id = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, id).bind(2, error);
    return q->run();
}

Result<bool> Cache::pop_downloaded(std::string_view uidl) {
    auto q = sqlite::Query::make(impl_->db, "SELECT 1 FROM pop_uidls WHERE uidl = ?1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, uidl);
    return q->step();
}

Result<void> Cache::forget_pop_uidls_except(const std::vector<std::string>& present) {
    auto& db = impl_->db;
    auto tx = sqlite::Tx::begin(db, true);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = db.exec("CREATE TEMP TABLE IF NOT EXISTS present(uidl TEXT PRIMARY KEY); DELETE FROM present;"); !r)
        return r;
    for (auto& u : present) {
        auto q = sqlite::Query::make(db, "INSERT OR IGNORE INTO present(uidl) VALUES(?1)");
        if (!q) return std::unexpected(q.error());
        q->bind(1, u);
        if (auto r = q->run(); !r) return r;
    }
    if (auto r = db.exec("DELETE FROM pop_uidls WHERE uidl NOT IN (SELECT uidl FROM present)"); !r) return r;
    return tx->commit();
}

}  // namespace tern::mua
