// Thin RAII layer over the SQLite C API shared by the embedded store and directory: connection,
// per-connection cache of prepared statements, transactions. Must never let a statement outlive its connection, nor leave a
// statement un-reset after use (an un-reset statement pins a read snapshot and blocks WAL checkpoints).
// Not thread-safe by itself: the owner serialises access (one mutex per connection).
#pragma once
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace tern::sqlite {

// How a connection waits for another connection's lock (the server's delivery, an admin command).
struct OpenOptions {
    // Give up with SQLITE_BUSY after waiting this long for one lock.
    std::chrono::milliseconds busy_timeout{5000};
    // Called once per connection when a wait for a lock passes one second: an interactive command
    // can say why nothing happens. Runs on the waiting thread, inside SQLite's busy handler.
    std::function<void()> on_slow_lock;
};

class Db {
public:
    Db() = default;
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    Db(Db&& other) noexcept;
    Db& operator=(Db&& other) noexcept;
    ~Db();

    // Opens (creating if missing) `file` with WAL, synchronous=FULL, foreign keys and a busy timeout.
    static Result<Db> open(const std::filesystem::path& file, OpenOptions options = {});

    Result<void> exec(const char* sql);
    // The first column of the first row of a cached statement without parameters, as an integer
    // (0 when there is no row), e.g. "PRAGMA user_version".
    Result<std::int64_t> integer(const char* sql);
    // The prepared statement for `sql`, prepared on first use and kept for the connection's life.
    // `sql` must have static storage (a string literal): the cache is keyed by its address, so a
    // lookup costs a pointer hash, not a hash of the statement's text.
    Result<sqlite3_stmt*> prepare(const char* sql);
    // "what: <sqlite message>", code EIO; a lock wait that timed out says how long it waited
    // (code EBUSY), so that the caller can tell "try again later" from a broken database.
    Error error(std::string_view what) const;
    sqlite3* raw() const { return db_; }

    // The busy handler's state; on the heap so that its address survives a move.
    struct Busy {
        OpenOptions options;
        std::chrono::steady_clock::time_point wait_started;
        bool told = false;  // on_slow_lock has been called
    };

private:
    void close();
    sqlite3* db_ = nullptr;
    std::unique_ptr<Busy> busy_;
    std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// One use of a cached statement; resets it and clears its bindings when destroyed.
class Query {
public:
    static Result<Query> make(Db& db, const char* sql);
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    Query(Query&& other) noexcept;
    Query& operator=(Query&&) = delete;
    ~Query();

    Query& bind(int idx, std::int64_t value);
    Query& bind(int idx, std::string_view text);  // copied
    // Not copied: `bytes` must stay alive until this Query is destroyed.
    Query& bind_blob_ref(int idx, std::string_view bytes);

    Result<bool> step();  // true: a row is ready
    Result<void> run();   // steps to completion, ignoring rows

    std::int64_t int64(int col) const;
    bool is_null(int col) const;
    std::string text(int col) const;
    std::string blob(int col) const;
    // Columns `first` and `second` (blobs) joined in one allocation: a message read back as its
    // per-copy prefix and its shared body without an intermediate copy of the body.
    std::string blobs(int first, int second) const;

private:
    Query(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    Db* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    int bind_rc_ = SQLITE_OK;
};

// BEGIN IMMEDIATE (write) or BEGIN DEFERRED (read); rolls back unless commit() succeeded.
class Tx {
public:
    static Result<Tx> begin(Db& db, bool write);
    Tx(const Tx&) = delete;
    Tx& operator=(const Tx&) = delete;
    Tx(Tx&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Tx& operator=(Tx&&) = delete;
    ~Tx();
    Result<void> commit();

private:
    explicit Tx(Db* db) : db_(db) {}
    Db* db_ = nullptr;
};

}  // namespace tern::sqlite
