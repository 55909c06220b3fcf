// Embedded MailStore backend: one SQLite database <dir>/store.db in WAL mode with synchronous=FULL;
// message bodies are BLOBs in the same file so a batch of deliveries is one transaction, one fsync,
// and one message delivered to many accounts is one body referenced by every copy.
// Must never report an append before COMMIT returned, never reuse a UID, and never scan a mailbox
// on the append path (uidnext, message_count and highest_modseq live in the mailbox row).
#include <cerrno>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "store/common.hpp"
#include "sqlite/db.hpp"
#include "store/store.hpp"

namespace tern::store {
namespace {

using namespace detail;
using namespace tern::sqlite;

constexpr int kSchemaVersion = 2;

// Version 2: a body is shared by every message row that names it (one delivery to a 1,000-member
// alias stores the body once); the last message row to go deletes it (also when the rows go by
// ON DELETE CASCADE). The references are counted by the index messages_body, not by a counter
// in the body row: updating a counter beside a 50 MB blob rewrites the whole record. So a copy
// to another mailbox (IMAP COPY, MOVE) inserts its row before any row is deleted. `prefix`
// holds the per-copy header lines (Return-Path) that are read back before the body.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta(
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts(
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE mailboxes(
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    special_use    INTEGER NOT NULL,
    uidvalidity    INTEGER NOT NULL,
    uidnext        INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    message_count  INTEGER NOT NULL,
    UNIQUE(account_id, name)
);
CREATE TABLE bodies(
    id   INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE messages(
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    modseq        INTEGER NOT NULL,
    flags         TEXT NOT NULL,
    internal_date INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    envelope_from TEXT NOT NULL,
    body_id       INTEGER NOT NULL,
    prefix        BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY(mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_body ON messages(body_id);
CREATE TRIGGER messages_drop_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies WHERE id = OLD.body_id
        AND NOT EXISTS (SELECT 1 FROM messages WHERE body_id = OLD.body_id);
END;
CREATE TABLE delivered(
    key         TEXT PRIMARY KEY,
    at          INTEGER NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('last_uidvalidity', 0);
PRAGMA user_version = 2;
)sql";

// Version 1 -> 2, in place: every version-1 body has exactly one message, so the rows stay as
// they are; only the prefix column, the reference index and the trigger change.
constexpr const char* kMigrate1To2 = R"sql(
ALTER TABLE messages ADD COLUMN prefix BLOB NOT NULL DEFAULT x'';
CREATE INDEX messages_body ON messages(body_id);
DROP TRIGGER messages_drop_body;
CREATE TRIGGER messages_drop_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies WHERE id = OLD.body_id
        AND NOT EXISTS (SELECT 1 FROM messages WHERE body_id = OLD.body_id);
END;
PRAGMA user_version = 2;
)sql";

struct BoxRow {
    std::int64_t id = 0;
    MailboxInfo info;
};

#define TRY(expr)                                                                     \
    do {                                                                              \
        if (auto tern_r_ = (expr); !tern_r_) return std::unexpected(tern_r_.error()); \
    } while (0)

// Append path: fills the body row `rowid` (inserted as zeroblob(size)) from `source` in 1 MiB
// chunks through SQLite's incremental blob I/O, so that neither this process nor SQLite ever holds
// the whole body (binding it as one blob would cost the body plus SQLite's copy of the record).
// Runs inside the caller's write transaction: a failure leaves the rollback to it.
Result<void> fill_body(Db& db, std::int64_t rowid, const base::ByteSource& source) {
    constexpr std::size_t kChunk = 1u << 20;
    const std::uint64_t size = source.size();
    if (size == 0) return {};
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(db.raw(), "main", "bodies", "data", rowid, 1, &blob) != SQLITE_OK) {
        sqlite3_blob_close(blob);  // NULL-safe; a handle returned with an error must be closed too
        return std::unexpected(db.error("store: cannot open the body for writing"));
    }
    struct Close {
        sqlite3_blob* b;
        ~Close() { sqlite3_blob_close(b); }
    } close{blob};
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size)), '\0');
    for (std::uint64_t done = 0; done < size;) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        auto n = source.read(done, std::span<char>(buf.data(), want));
        if (!n) return fail("store: cannot read the message to store: " + n.error().message, n.error().code ? n.error().code : EIO);
        if (*n == 0)
            return fail("store: the message ended after " + std::to_string(done) + " of " + std::to_string(size) + " octets", EIO);
        if (sqlite3_blob_write(blob, buf.data(), static_cast<int>(*n), static_cast<int>(done)) != SQLITE_OK)
            return std::unexpected(db.error("store: cannot write the body"));
        done += *n;
    }
    return {};
}

class SqliteStore final : public MailStore {
public:
    explicit SqliteStore(Db db) : db_(std::move(db)) {}

    Result<void> init_schema() {
        std::lock_guard lock(mu_);
        // The common case, a store of this version, is a read: opening the store (an admin
        // export while the server delivers a large batch) must not wait for the write lock.
        auto current = db_.integer("PRAGMA user_version");
        if (!current) return std::unexpected(current.error());
        if (*current == kSchemaVersion) return {};
        if (*current > kSchemaVersion) return newer_schema(*current);
        auto tx = Tx::begin(db_, true);  // IMMEDIATE: two processes opening a fresh file do not race
        if (!tx) return std::unexpected(tx.error());
        auto schema = db_.integer("PRAGMA user_version");  // again, under the lock
        if (!schema) return std::unexpected(schema.error());
        const std::int64_t version = *schema;
        if (version == 0) {
            TRY(db_.exec(kSchema));
        } else if (version == 1) {
            TRY(db_.exec(kMigrate1To2));
        } else if (version != kSchemaVersion) {
            return newer_schema(version);
        }
        return tx->commit();
    }

    static std::unexpected<Error> newer_schema(std::int64_t version) {
        return fail("store.db has schema version " + std::to_string(version) + ", this build knows " +
                        std::to_string(kSchemaVersion),
                    EPROTO);
    }

    Result<void> create_account(std::string_view account) override {
        TRY(check_account_name(account));
        std::lock_guard lock(mu_);
        // Delivery calls this before every batch: answer "exists" without taking the write lock.
        auto existing = account_id(db_, account);
        if (!existing) return std::unexpected(existing.error());
        if (*existing != 0) return {};
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        {
            auto q = Query::make(db_, "INSERT OR IGNORE INTO accounts(name) VALUES(?1)");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, account).run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return {};  // another process created it meanwhile
        std::int64_t account_id = sqlite3_last_insert_rowid(db_.raw());
        for (const auto& f : kDefaultFolders) TRY(insert_box(account_id, f.name, f.use));
        return tx->commit();
    }

    Result<void> delete_account(std::string_view account) override {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        {
            // Cascades to mailboxes and messages; the trigger removes the bodies no other account shares.
            auto q = Query::make(db_, "DELETE FROM accounts WHERE name = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, account).run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return not_found("no such account: " + std::string(account));
        return tx->commit();
    }

    Result<bool> has_account(std::string_view account) override {
        auto r = reader();
        auto id = account_id(r.db, account);
        if (!id) return std::unexpected(id.error());
        return *id != 0;
    }

    Result<std::vector<MailboxInfo>> list_mailboxes(std::string_view account) override {
        auto r = reader();
        auto tx = Tx::begin(r.db, false);  // one snapshot for the account check and the listing
        if (!tx) return std::unexpected(tx.error());
        auto id = existing_account_id(r.db, account);
        if (!id) return std::unexpected(id.error());
        std::vector<MailboxInfo> out;
        {
            auto q = Query::make(r.db,
                                 "SELECT name, special_use, uidvalidity, uidnext, highest_modseq, "
                                 "message_count FROM mailboxes WHERE account_id = ?1 ORDER BY id");
            if (!q) return std::unexpected(q.error());
            q->bind(1, *id);
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                out.push_back(box_info(*q, 0));
            }
        }
        TRY(tx->commit());
        return out;
    }

    Result<MailboxInfo> mailbox(std::string_view account, std::string_view name) override {
        auto r = reader();
        auto box = find_box(r.db, account, name);
        if (!box) return std::unexpected(box.error());
        return box->info;
    }

    Result<void> create_mailbox(std::string_view account, std::string_view name, SpecialUse use) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto id = existing_account_id(db_, account);
        if (!id) return std::unexpected(id.error());
        auto exists = box_exists(*id, *norm);
        if (!exists) return std::unexpected(exists.error());
        if (*exists) return fail("mailbox already exists: " + *norm, EEXIST);
        for (const auto& sup : superior_names(*norm)) {
            auto e = box_exists(*id, sup);
            if (!e) return std::unexpected(e.error());
            if (!*e) TRY(insert_box(*id, sup, SpecialUse::None));
        }
        TRY(insert_box(*id, *norm, use));
        return tx->commit();
    }

    Result<std::vector<Appended>> append(std::span<const NewMessage> batch) override {
        auto normalized = normalize_batch_flags(batch);  // pure checks first, outside the lock
        if (!normalized) return std::unexpected(normalized.error());
        const auto& flags = *normalized;
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        std::vector<Appended> out;
        out.reserve(batch.size());
        const std::int64_t now = now_seconds();
        // Each mailbox is looked up once per batch and its counters advanced in memory; its row
        // is written once, before COMMIT (same transaction, so the same result as per message).
        std::map<std::pair<std::string_view, std::string_view>, std::int64_t> box_ids;  // as named
        std::map<std::int64_t, BoxRow> boxes;                                           // by id
        std::map<std::int64_t, std::int64_t> added;                                     // by id
        std::map<const void*, std::int64_t> shared_bodies;  // NewMessage::source or ::body -> bodies.id
        // Any failure returns before COMMIT; the Tx destructor rolls the whole batch back.
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const NewMessage& m = batch[i];
            BoxRow* box = nullptr;
            if (auto known = box_ids.find({m.account, m.mailbox}); known != box_ids.end()) {
                box = &boxes.at(known->second);
            } else {
                auto found = find_box(db_, m.account, m.mailbox);  // validates every entry
                if (!found) return std::unexpected(found.error());
                box_ids.emplace(std::pair<std::string_view, std::string_view>{m.account, m.mailbox}, found->id);
                box = &boxes.try_emplace(found->id, *found).first->second;  // "INBOX" and "inbox": one row
            }
            if (!m.dedupe_key.empty()) {
                auto q = Query::make(db_, "SELECT uidvalidity, uid FROM delivered WHERE key = ?1");
                if (!q) return std::unexpected(q.error());
                auto row = q->bind(1, m.dedupe_key).step();
                if (!row) return std::unexpected(row.error());
                if (*row) {
                    out.push_back(Appended{static_cast<std::uint32_t>(q->int64(0)),
                                           static_cast<std::uint32_t>(q->int64(1)), true});
                    continue;
                }
            }
            if (box->info.uidnext > kMaxUid)
                return fail("mailbox UID space exhausted: " + box->info.name, ENOSPC);
            const std::uint32_t uid = box->info.uidnext;
            const std::uint64_t modseq = box->info.highest_modseq + 1;
            const std::string& data = m.body ? *m.body : m.data;
            const std::uint64_t body_size = m.source ? m.source->size() : data.size();
            const void* shared_key = m.source ? static_cast<const void*>(m.source.get()) : m.body;
            std::int64_t body_id = 0;
            if (auto known = shared_key ? shared_bodies.find(shared_key) : shared_bodies.end(); known != shared_bodies.end()) {
                body_id = known->second;  // another copy of the same message: reference its body
            } else if (m.source) {
                // Streamed: the row is created at its final size, then filled chunk by chunk.
                if (body_size > static_cast<std::uint64_t>(sqlite3_limit(db_.raw(), SQLITE_LIMIT_LENGTH, -1)))
                    return fail("store: message of " + std::to_string(body_size) + " octets is larger than the store allows", EFBIG);
                {
                    auto q = Query::make(db_, "INSERT INTO bodies(data) VALUES(zeroblob(?1))");
                    if (!q) return std::unexpected(q.error());
                    TRY(q->bind(1, static_cast<std::int64_t>(body_size)).run());
                }
                body_id = sqlite3_last_insert_rowid(db_.raw());
                TRY(fill_body(db_, body_id, *m.source));
                shared_bodies.emplace(shared_key, body_id);
            } else {
                {
                    // Bound by reference (SQLITE_STATIC): the row SQLite builds is the only
                    // copy made on the way in, once per body, not once per account.
                    auto q = Query::make(db_, "INSERT INTO bodies(data) VALUES(?1)");
                    if (!q) return std::unexpected(q.error());
                    TRY(q->bind_blob_ref(1, data).run());
                }
                body_id = sqlite3_last_insert_rowid(db_.raw());
                if (m.body) shared_bodies.emplace(shared_key, body_id);
            }
            {
                auto q = Query::make(db_,
                                     "INSERT INTO messages(mailbox_id, uid, modseq, flags, internal_date, "
                                     "size, envelope_from, body_id, prefix) "
                                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
                if (!q) return std::unexpected(q.error());
                q->bind(1, box->id)
                    .bind(2, std::int64_t{uid})
                    .bind(3, static_cast<std::int64_t>(modseq))
                    .bind(4, join_flags(flags[i]))
                    .bind(5, m.internal_date != 0 ? m.internal_date : now)
                    .bind(6, static_cast<std::int64_t>(m.prefix.size() + body_size))
                    .bind(7, m.envelope_from)
                    .bind(8, body_id)
                    .bind_blob_ref(9, m.prefix);
                TRY(q->run());
            }
            box->info.uidnext = uid + 1;
            box->info.highest_modseq = modseq;
            ++added[box->id];
            if (!m.dedupe_key.empty()) {
                auto q = Query::make(
                    db_, "INSERT INTO delivered(key, at, uidvalidity, uid) VALUES(?1, ?2, ?3, ?4)");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, m.dedupe_key)
                        .bind(2, now)
                        .bind(3, std::int64_t{box->info.uidvalidity})
                        .bind(4, std::int64_t{uid})
                        .run());
            }
            out.push_back(Appended{box->info.uidvalidity, uid, false});
        }
        for (const auto& [id, count] : added) {
            const BoxRow& box = boxes.at(id);
            auto q = Query::make(db_,
                                 "UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?3, "
                                 "message_count = message_count + ?4 WHERE id = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, id)
                    .bind(2, std::int64_t{box.info.uidnext})
                    .bind(3, static_cast<std::int64_t>(box.info.highest_modseq))
                    .bind(4, count)
                    .run());
        }
        TRY(tx->commit());  // the one fsync of the batch
        return out;
    }

    Result<std::vector<MessageInfo>> list_messages(std::string_view account,
                                                   std::string_view mailbox) override {
        auto r = reader();
        auto tx = Tx::begin(r.db, false);
        if (!tx) return std::unexpected(tx.error());
        auto box = find_box(r.db, account, mailbox);
        if (!box) return std::unexpected(box.error());
        std::vector<MessageInfo> out;
        out.reserve(box->info.messages);
        {
            auto q = Query::make(r.db,
                                 "SELECT uid, modseq, flags, internal_date, size, envelope_from "
                                 "FROM messages WHERE mailbox_id = ?1 ORDER BY uid");
            if (!q) return std::unexpected(q.error());
            q->bind(1, box->id);
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                MessageInfo mi;
                mi.uid = static_cast<std::uint32_t>(q->int64(0));
                mi.modseq = static_cast<std::uint64_t>(q->int64(1));
                mi.flags = split_flags(q->text(2));
                mi.internal_date = q->int64(3);
                mi.size = static_cast<std::uint64_t>(q->int64(4));
                mi.envelope_from = q->text(5);
                out.push_back(std::move(mi));
            }
        }
        TRY(tx->commit());
        return out;
    }

    Result<std::string> read_message(std::string_view account, std::string_view mailbox,
                                     std::uint32_t uid) override {
        // The hot path of POP3 RETR and IMAP FETCH: one statement (a consistent snapshot on its
        // own, no explicit transaction); the mailbox is looked up separately only to name an error.
        auto norm = normalize_mailbox_name(mailbox);
        if (!norm) return std::unexpected(norm.error());
        auto r = reader();
        {
            auto q = Query::make(r.db,
                                 "SELECT m.prefix, b.data FROM accounts a JOIN mailboxes x ON x.account_id = a.id "
                                 "JOIN messages m ON m.mailbox_id = x.id JOIN bodies b ON b.id = m.body_id "
                                 "WHERE a.name = ?1 AND x.name = ?2 AND m.uid = ?3");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, account).bind(2, *norm).bind(3, std::int64_t{uid}).step();
            if (!row) return std::unexpected(row.error());
            if (*row) return q->blobs(0, 1);
        }
        auto box = find_box(r.db, account, mailbox);
        if (!box) return std::unexpected(box.error());
        return not_found("no such message: UID " + std::to_string(uid));
    }

    // A message read in ranges: the per-copy prefix (small, read at open) and then the shared body,
    // read with SQLite's incremental blob I/O (https://sqlite.org/c3ref/blob_open.html) so that no
    // read holds more of it than the caller's buffer. No blob handle is kept between reads (it
    // would pin a read snapshot, blocking WAL checkpoints, and the reader connection it belongs
    // to): each read opens one on the calling thread's reader connection, inside a read
    // transaction that first checks the message row still names that body, because a body's
    // rowid is reused once the body is gone and the reader must never get another message's bytes.
    class StoredMessage final : public base::ByteSource {
    public:
        StoredMessage(SqliteStore& store, std::int64_t box_id, std::uint32_t uidvalidity, std::uint32_t uid,
                      std::int64_t body_id, std::string prefix, std::uint64_t body_size)
            : store_(store), box_id_(box_id), uidvalidity_(uidvalidity), uid_(uid), body_id_(body_id),
              prefix_(std::move(prefix)), body_size_(body_size) {}
        std::uint64_t size() const override { return prefix_.size() + body_size_; }

        Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
            std::size_t done = 0;
            if (offset < prefix_.size()) {
                done = std::min<std::size_t>(out.size(), prefix_.size() - offset);
                std::copy_n(prefix_.data() + offset, done, out.data());
                offset = prefix_.size();
            }
            offset -= prefix_.size();
            if (done == out.size() || offset >= body_size_) return done;
            std::size_t n = std::min<std::uint64_t>({out.size() - done, body_size_ - offset, std::uint64_t{1} << 30});
            auto r = store_.read_body(*this, offset, out.subspan(done, n));
            if (!r) return std::unexpected(r.error());
            return done + n;
        }

    private:
        friend class SqliteStore;
        SqliteStore& store_;
        std::int64_t box_id_;
        std::uint32_t uidvalidity_;
        std::uint32_t uid_;
        std::int64_t body_id_;
        std::string prefix_;
        std::uint64_t body_size_;
    };

    Result<base::ByteSourceRef> open_message(std::string_view account, std::string_view mailbox,
                                             std::uint32_t uid) override {
        // One statement, like read_message (its own snapshot); length() of a BLOB reads the
        // record header, not the body. The mailbox is looked up separately only to name an error.
        auto norm = normalize_mailbox_name(mailbox);
        if (!norm) return std::unexpected(norm.error());
        auto r = reader();
        {
            auto q = Query::make(r.db,
                                 "SELECT x.id, x.uidvalidity, m.body_id, m.prefix, length(b.data) FROM accounts a "
                                 "JOIN mailboxes x ON x.account_id = a.id JOIN messages m ON m.mailbox_id = x.id "
                                 "JOIN bodies b ON b.id = m.body_id WHERE a.name = ?1 AND x.name = ?2 AND m.uid = ?3");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, account).bind(2, *norm).bind(3, std::int64_t{uid}).step();
            if (!row) return std::unexpected(row.error());
            if (*row)
                return std::make_shared<const StoredMessage>(
                    *this, q->int64(0), static_cast<std::uint32_t>(q->int64(1)), uid, q->int64(2), q->blob(3),
                    static_cast<std::uint64_t>(q->int64(4)));
        }
        auto box = find_box(r.db, account, mailbox);
        if (!box) return std::unexpected(box.error());
        return not_found("no such message: UID " + std::to_string(uid));
    }

    Result<void> read_body(const StoredMessage& m, std::uint64_t offset, std::span<char> out) {
        auto r = reader();
        if (offset == 0 && out.size() == m.body_size_) {
            // The whole body in one read (a small message, the common RETR): one statement checks
            // the row and returns the body, which is no larger than the caller's buffer.
            auto q = Query::make(r.db,
                                 "SELECT b.data FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id "
                                 "JOIN bodies b ON b.id = m.body_id WHERE m.mailbox_id = ?1 AND m.uid = ?2 "
                                 "AND m.body_id = ?3 AND x.uidvalidity = ?4");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, m.box_id_).bind(2, std::int64_t{m.uid_}).bind(3, m.body_id_)
                           .bind(4, std::int64_t{m.uidvalidity_}).step();
            if (!row) return std::unexpected(row.error());
            if (!*row) return not_found("message UID " + std::to_string(m.uid_) + " was expunged while being read");
            const std::string data = q->blob(0);  // no larger than `out`
            if (data.size() != m.body_size_)
                return fail("body of message UID " + std::to_string(m.uid_) + " changed while being read", EIO);
            std::copy(data.begin(), data.end(), out.data());
            return {};
        }
        auto tx = Tx::begin(r.db, false);
        if (!tx) return std::unexpected(tx.error());
        {
            auto q = Query::make(r.db,
                                 "SELECT 1 FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id "
                                 "WHERE m.mailbox_id = ?1 AND m.uid = ?2 AND m.body_id = ?3 AND x.uidvalidity = ?4");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, m.box_id_).bind(2, std::int64_t{m.uid_}).bind(3, m.body_id_)
                           .bind(4, std::int64_t{m.uidvalidity_}).step();
            if (!row) return std::unexpected(row.error());
            if (!*row) return not_found("message UID " + std::to_string(m.uid_) + " was expunged while being read");
        }
        sqlite3_blob* blob = nullptr;
        int rc = sqlite3_blob_open(r.db.raw(), "main", "bodies", "data", m.body_id_, 0, &blob);
        if (rc == SQLITE_OK && static_cast<std::uint64_t>(sqlite3_blob_bytes(blob)) != m.body_size_) {
            sqlite3_blob_close(blob);
            return fail("body of message UID " + std::to_string(m.uid_) + " changed while being read", EIO);
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_blob_read(blob, out.data(), static_cast<int>(out.size()), static_cast<int>(offset));
        auto error = rc == SQLITE_OK ? Error{} : r.db.error("read body of UID " + std::to_string(m.uid_));
        sqlite3_blob_close(blob);
        if (rc != SQLITE_OK) return std::unexpected(error);
        return tx->commit();
    }

    Result<void> set_flags(std::string_view account, std::string_view mailbox, std::uint32_t uid,
                           std::vector<std::string> flags) override {
        auto norm = normalize_flags(std::move(flags));
        if (!norm) return std::unexpected(norm.error());
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto box = find_box(db_, account, mailbox);
        if (!box) return std::unexpected(box.error());
        // RFC 7162 §3.1: every change to a message gets a mod-sequence above all earlier ones.
        const auto modseq = static_cast<std::int64_t>(box->info.highest_modseq + 1);
        {
            auto q = Query::make(
                db_, "UPDATE messages SET flags = ?3, modseq = ?4 WHERE mailbox_id = ?1 AND uid = ?2");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box->id)
                    .bind(2, std::int64_t{uid})
                    .bind(3, join_flags(*norm))
                    .bind(4, modseq)
                    .run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return not_found("no such message: UID " + std::to_string(uid));
        TRY(set_highest_modseq(box->id, modseq));
        return tx->commit();
    }

    Result<void> expunge(std::string_view account, std::string_view mailbox,
                         std::span<const std::uint32_t> uids) override {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto box = find_box(db_, account, mailbox);
        if (!box) return std::unexpected(box.error());
        std::int64_t removed = 0;
        for (auto uid : uids) {
            auto q = Query::make(db_, "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box->id).bind(2, std::int64_t{uid}).run());
            removed += sqlite3_changes(db_.raw());
        }
        if (removed > 0) {
            // uidnext is untouched: expunged UIDs are never handed out again (RFC 9051 §2.3.1.1).
            // RFC 7162 §3.2 (QRESYNC): an expunge is a change, so HIGHESTMODSEQ moves.
            auto q = Query::make(db_,
                                 "UPDATE mailboxes SET message_count = message_count - ?2, "
                                 "highest_modseq = highest_modseq + 1 WHERE id = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box->id).bind(2, removed).run());
        }
        return tx->commit();
    }

    Result<std::uint64_t> count_bodies() override {
        auto r = reader();
        auto n = r.db.integer("SELECT COUNT(*) FROM bodies");
        if (!n) return std::unexpected(n.error());
        return static_cast<std::uint64_t>(*n);
    }

    Result<std::uint64_t> forget_delivered_before(std::int64_t before) override {
        std::lock_guard lock(mu_);
        // A scan of the table (it is keyed by the key, not the time): run hourly, it costs less
        // than an index updated on every delivery.
        auto q = Query::make(db_, "DELETE FROM delivered WHERE at < ?1");
        if (!q) return std::unexpected(q.error());
        TRY(q->bind(1, before).run());
        return static_cast<std::uint64_t>(sqlite3_changes(db_.raw()));
    }

private:
    // 0 when the account does not exist.
    static Result<std::int64_t> account_id(Db& db, std::string_view account) {
        auto q = Query::make(db, "SELECT id FROM accounts WHERE name = ?1");
        if (!q) return std::unexpected(q.error());
        auto row = q->bind(1, account).step();
        if (!row) return std::unexpected(row.error());
        return *row ? q->int64(0) : 0;
    }

    static Result<std::int64_t> existing_account_id(Db& db, std::string_view account) {
        auto id = account_id(db, account);
        if (id && *id == 0) return not_found("no such account: " + std::string(account));
        return id;
    }

    Result<bool> box_exists(std::int64_t account_id, const std::string& name) {
        auto q = Query::make(db_, "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND name = ?2");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, account_id).bind(2, name).step();
    }

    static MailboxInfo box_info(const Query& q, int first) {
        MailboxInfo mi;
        mi.name = q.text(first);
        mi.special_use = static_cast<SpecialUse>(q.int64(first + 1));
        mi.uidvalidity = static_cast<std::uint32_t>(q.int64(first + 2));
        mi.uidnext = static_cast<std::uint32_t>(q.int64(first + 3));
        mi.highest_modseq = static_cast<std::uint64_t>(q.int64(first + 4));
        mi.messages = static_cast<std::uint32_t>(q.int64(first + 5));
        return mi;
    }

    static Result<BoxRow> find_box(Db& db, std::string_view account, std::string_view name) {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        {
            auto q = Query::make(db,
                                 "SELECT m.id, m.name, m.special_use, m.uidvalidity, m.uidnext, "
                                 "m.highest_modseq, m.message_count FROM mailboxes m "
                                 "JOIN accounts a ON a.id = m.account_id WHERE a.name = ?1 AND m.name = ?2");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, account).bind(2, *norm).step();
            if (!row) return std::unexpected(row.error());
            if (*row) return BoxRow{q->int64(0), box_info(*q, 1)};
        }
        auto id = existing_account_id(db, account);  // only on the error path: which error is it?
        if (!id) return std::unexpected(id.error());
        return not_found("no such mailbox: " + *norm);
    }

    // Inside a write transaction.
    Result<void> insert_box(std::int64_t account_id, const std::string& name, SpecialUse use) {
        std::int64_t last = 0;
        {
            auto q = Query::make(db_, "SELECT value FROM meta WHERE key = 'last_uidvalidity'");
            if (!q) return std::unexpected(q.error());
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (*row) last = q->int64(0);
        }
        const std::uint32_t uidvalidity = next_uidvalidity(static_cast<std::uint32_t>(last), now_seconds());
        {
            auto q = Query::make(db_, "UPDATE meta SET value = ?1 WHERE key = 'last_uidvalidity'");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, std::int64_t{uidvalidity}).run());
        }
        auto q = Query::make(db_,
                             "INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, "
                             "highest_modseq, message_count) VALUES(?1, ?2, ?3, ?4, 1, ?5, 0)");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, account_id)
            .bind(2, name)
            .bind(3, static_cast<std::int64_t>(use))
            .bind(4, std::int64_t{uidvalidity})
            .bind(5, static_cast<std::int64_t>(kInitialModseq))
            .run();
    }

    Result<void> set_highest_modseq(std::int64_t box_id, std::int64_t modseq) {
        auto q = Query::make(db_, "UPDATE mailboxes SET highest_modseq = ?2 WHERE id = ?1");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, box_id).bind(2, modseq).run();
    }

    // Readers get connections of their own, so a POP3 RETR or IMAP FETCH on one I/O thread never
    // waits for another thread's read, nor for a delivery batch's COMMIT and fsync: in WAL mode
    // readers see the last committed snapshot while a writer works (https://sqlite.org/wal.html).
    struct Reader {
        std::mutex mu;
        Db db;
    };
    struct ReadLease {
        std::unique_lock<std::mutex> lock;
        Db& db;
    };
    // Each thread keeps to one reader connection (a thread-local slot), so the lock is normally
    // uncontended and that connection's page cache and prepared statements stay warm.
    ReadLease reader() {
        if (readers_.empty()) return {std::unique_lock(mu_), db_};
        static std::atomic<unsigned> next_slot{0};
        thread_local unsigned slot = next_slot++;
        Reader& r = *readers_[slot % readers_.size()];
        return {std::unique_lock(r.mu), r.db};
    }

public:
    Result<void> open_readers(const std::filesystem::path& file, unsigned count, const OpenOptions& options) {
        for (unsigned i = 0; i < count; ++i) {
            auto db = Db::open(file, options);
            if (!db) return std::unexpected(db.error());
            // Readers map the database file instead of copying every page with pread(): a RETR
            // of a mailbox larger than the page cache otherwise costs two system calls and a
            // copy per page (https://sqlite.org/mmap.html). query_only: a reader never writes.
            for (const char* pragma : {"PRAGMA mmap_size=1073741824", "PRAGMA query_only=1"})
                if (auto e = db->exec(pragma); !e) return std::unexpected(e.error());
            auto r = std::make_unique<Reader>();
            r->db = std::move(*db);
            readers_.push_back(std::move(r));
        }
        return {};
    }

private:
    std::mutex mu_;  // the writing connection, used by the delivery and network threads in turn
    Db db_;
    std::vector<std::unique_ptr<Reader>> readers_;  // fixed after open
};

}  // namespace

Result<std::unique_ptr<MailStore>> open_sqlite_store(const std::filesystem::path& dir, SqliteOptions options) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create " + dir.string() + ": " + ec.message(), ec.value());
    const OpenOptions db_options{options.busy_timeout, std::move(options.on_slow_lock)};
    auto db = Db::open(dir / "store.db", db_options);
    if (!db) return std::unexpected(db.error());
    auto store = std::make_unique<SqliteStore>(std::move(*db));
    if (auto r = store->init_schema(); !r) return std::unexpected(r.error());
    // One per I/O thread and one for the admin/delivery side; more threads share them.
    if (auto r = store->open_readers(dir / "store.db", std::max(2u, std::thread::hardware_concurrency()) + 1,
                                    db_options);
        !r)
        return std::unexpected(r.error());
    return std::unique_ptr<MailStore>(std::move(store));
}

}  // namespace tern::store
