// Implementation of the thin SQLite RAII layer (see sqlite_db.hpp).
// Must never throw and never leave a transaction open on an error path.
#include "sqlite/db.hpp"

#include <cstring>
#include <mutex>
#include <thread>

#include <cerrno>
#include <utility>

namespace tern::sqlite {

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), busy_(std::move(other.busy_)), cache_(std::move(other.cache_)) {}

Db& Db::operator=(Db&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        busy_ = std::move(other.busy_);
        cache_ = std::move(other.cache_);
    }
    return *this;
}

Db::~Db() {
    close();
}

void Db::close() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

namespace {

// The "unix" VFS turns every name into an absolute path and lstat()s each of its components.
// After ternd drops root it runs inside the data directory, whose parents (say /root) it may not
// be allowed to search; relative names must then stay relative. This VFS is "unix" with only
// xFullPathname changed: relative names are kept as they are (the working directory never changes
// after start-up), absolute ones are left to "unix".
sqlite3_vfs* g_unix_vfs = nullptr;  // the "unix" VFS we delegate to (its pAppData is its own)

int relative_full_pathname(sqlite3_vfs* self, const char* name, int n, char* out) {
    (void)self;
    if (name[0] == '/') return g_unix_vfs->xFullPathname(g_unix_vfs, name, n, out);
    if (static_cast<int>(std::strlen(name)) + 1 > n) return SQLITE_CANTOPEN;
    std::strcpy(out, name);
    return SQLITE_OK;
}

sqlite3_vfs* relative_vfs() {
    static sqlite3_vfs vfs;
    static std::once_flag once;
    std::call_once(once, [] {
        g_unix_vfs = sqlite3_vfs_find("unix");
        vfs = *g_unix_vfs;  // pAppData stays: unixOpen finds its I/O methods through it
        vfs.pNext = nullptr;
        vfs.zName = "tern-relative";
        vfs.xFullPathname = relative_full_pathname;
        sqlite3_vfs_register(&vfs, 0);
    });
    return &vfs;
}

// SQLite's own busy timeout, plus a word to the waiting user after a second. SQLite calls this
// with `count` = 0 at the start of each new wait (https://sqlite.org/c3ref/busy_handler.html).
int busy_handler(void* arg, int count) {
    auto& busy = *static_cast<Db::Busy*>(arg);
    const auto now = std::chrono::steady_clock::now();
    if (count == 0) busy.wait_started = now;
    const auto waited = now - busy.wait_started;
    if (waited >= busy.options.busy_timeout) return 0;  // give up: SQLITE_BUSY
    if (!busy.told && busy.options.on_slow_lock && waited >= std::chrono::seconds(1)) {
        busy.told = true;
        busy.options.on_slow_lock();
    }
    // Short sleeps first (most locks are a commit's fsync), then 20 ms steps.
    std::this_thread::sleep_for(std::chrono::milliseconds(count < 10 ? 1 + count : 20));
    return 1;
}

}  // namespace

Result<Db> Db::open(const std::filesystem::path& file, OpenOptions options) {
    Db db;
    int rc = sqlite3_open_v2(file.c_str(), &db.db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, relative_vfs()->zName);
    if (rc != SQLITE_OK) {
        std::string msg = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
        return fail("cannot open " + file.string() + ": " + msg, EIO);
    }
    sqlite3_extended_result_codes(db.db_, 1);
    // Other processes (the admin CLI) open the same file: wait for their locks instead of failing.
    db.busy_ = std::make_unique<Busy>(Busy{std::move(options), {}, false});
    sqlite3_busy_handler(db.db_, busy_handler, db.busy_.get());
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
        if (auto r = db.exec(pragma); !r) return std::unexpected(r.error());
    }
    return db;
}

Result<void> Db::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        return fail(std::string(sql) + ": " + msg, EIO);
    }
    return {};
}

Result<std::int64_t> Db::integer(const char* sql) {
    auto q = Query::make(*this, sql);
    if (!q) return std::unexpected(q.error());
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    return *row ? q->int64(0) : 0;
}

Result<sqlite3_stmt*> Db::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        return std::unexpected(error(std::string("prepare ") + sql));
    }
    cache_.emplace(sql, stmt);
    return stmt;
}

Error Db::error(std::string_view what) const {
    if ((sqlite3_extended_errcode(db_) & 0xff) == SQLITE_BUSY) {
        auto waited = busy_ ? std::chrono::duration_cast<std::chrono::seconds>(busy_->options.busy_timeout).count() : 0;
        return Error{std::string(what) + ": " + sqlite3_errmsg(db_) + " (another connection held the lock; gave up after " +
                         std::to_string(waited) + " s)",
                     EBUSY};
    }
    return Error{std::string(what) + ": " + sqlite3_errmsg(db_), EIO};
}

Result<Query> Query::make(Db& db, const char* sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    return Query(&db, *stmt);
}

Query::Query(Query&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Query::~Query() {
    if (stmt_) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

Query& Query::bind(int idx, std::int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, idx, value);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Query& Query::bind(int idx, std::string_view text) {
    int rc = sqlite3_bind_text64(stmt_, idx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Query& Query::bind_blob_ref(int idx, std::string_view bytes) {
    // A zero-length blob with a null pointer would bind NULL; "" keeps it a blob.
    const char* p = bytes.empty() ? "" : bytes.data();
    int rc = sqlite3_bind_blob64(stmt_, idx, p, bytes.size(), SQLITE_STATIC);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Result<bool> Query::step() {
    if (bind_rc_ != SQLITE_OK) return fail(std::string("bind: ") + sqlite3_errstr(bind_rc_), EIO);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(db_->error(sqlite3_sql(stmt_)));
}

Result<void> Query::run() {
    for (;;) {
        auto r = step();
        if (!r) return std::unexpected(r.error());
        if (!*r) return {};
    }
}

bool Query::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Query::int64(int col) const {
    return sqlite3_column_int64(stmt_, col);
}

std::string Query::text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::string Query::blob(int col) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::string Query::blobs(int first, int second) const {
    // sqlite3_column_blob before sqlite3_column_bytes (https://sqlite.org/c3ref/column_blob.html).
    auto* a = static_cast<const char*>(sqlite3_column_blob(stmt_, first));
    auto na = a ? static_cast<std::size_t>(sqlite3_column_bytes(stmt_, first)) : 0;
    auto* b = static_cast<const char*>(sqlite3_column_blob(stmt_, second));
    auto nb = b ? static_cast<std::size_t>(sqlite3_column_bytes(stmt_, second)) : 0;
    std::string out;
    out.reserve(na + nb);
    out.append(a ? a : "", na);
    out.append(b ? b : "", nb);
    return out;
}

namespace {

// BEGIN/COMMIT/ROLLBACK run as cached prepared statements: sqlite3_exec would parse them anew
// every time, a few thousand instructions per transaction on the delivery and RCPT paths.
Result<void> run_cached(Db& db, const char* sql) {
    auto q = Query::make(db, sql);
    if (!q) return std::unexpected(q.error());
    return q->run();
}

}  // namespace

Result<Tx> Tx::begin(Db& db, bool write) {
    if (auto r = run_cached(db, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"); !r) return std::unexpected(r.error());
    return Tx(&db);
}

Tx::~Tx() {
    if (db_) (void)run_cached(*db_, "ROLLBACK");
}

Result<void> Tx::commit() {
    // COMMIT is where the WAL is fsynced (synchronous=FULL): success here means durable.
    auto r = run_cached(*db_, "COMMIT");
    if (r) db_ = nullptr;
    return r;
}

}  // namespace tern::sqlite
