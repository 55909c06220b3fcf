// Embedded MailStore backend: one SQLite database <dir>/store.db in WAL mode with synchronous=FULL;
// message bodies are BLOBs in the same file so a batch of deliveries is one transaction, one fsync,
// and one message delivered to many accounts is one body referenced by every copy.
// Must never report an append before COMMIT returned, never reuse a UID or a mailbox id, never
// call the change listener before COMMIT or with the lock held, and never scan a mailbox on the
// append path (uidnext, message_count and highest_modseq live in the mailbox row).
#include <cerrno>
#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
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

constexpr int kSchemaVersion = 5;

// Version 2: a body is shared by every message row that names it (one delivery to a 1,000-member
// alias stores the body once); the last message row to go deletes it (also when the rows go by
// ON DELETE CASCADE). The references are counted by the index messages_body, not by a counter
// in the body row: updating a counter beside a 50 MB blob rewrites the whole record. So a copy
// to another mailbox (IMAP COPY, MOVE) inserts its row before any row is deleted. `prefix`
// holds the per-copy header lines (Return-Path) that are read back before the body.
// Version 3 (IMAP): `expunged` keeps every expunged UID with the modseq of its expunge (RFC 7162
// §3.2.5 VANISHED (EARLIER)); `subscriptions` are names, not mailbox ids (RFC 9051 §6.3.7: they
// outlive DELETE and RENAME); `noselect` marks a deleted mailbox kept as the superior of others;
// messages_modseq makes "changed since modseq N" a range read; mailbox ids come from the meta
// counter last_mailbox_id, never reused, so that a stale IMAP handle cannot reach another mailbox.
// Version 4 (issue 9): `summaries` keeps one opaque blob per body (the IMAP layer's per-message
// summary). A side table, not a column of `bodies`: a column stored after a large `data` value
// lives at the end of its overflow chain, and reading it would walk the whole chain. A body's
// summary goes with it (trigger), so a body id reused later never finds a stale one.
// Version 5 (issue 9): `first_recent_uid` per mailbox, the RFC 3501 §2.3.2 \Recent mark: UIDs at
// or above it have not been claimed by any session (claim_recent moves it to uidnext).
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
    noselect       INTEGER NOT NULL DEFAULT 0,
    first_recent_uid INTEGER NOT NULL DEFAULT 1,
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
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE TRIGGER messages_drop_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies WHERE id = OLD.body_id
        AND NOT EXISTS (SELECT 1 FROM messages WHERE body_id = OLD.body_id);
END;
CREATE TABLE expunged(
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY(mailbox_id, uid)
) WITHOUT ROWID;
CREATE TABLE subscriptions(
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY(account_id, name)
) WITHOUT ROWID;
CREATE TABLE delivered(
    key         TEXT PRIMARY KEY,
    at          INTEGER NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE summaries(
    body_id INTEGER PRIMARY KEY,
    data    BLOB NOT NULL
);
CREATE TRIGGER bodies_drop_summary AFTER DELETE ON bodies BEGIN
    DELETE FROM summaries WHERE body_id = OLD.id;
END;
INSERT INTO meta(key, value) VALUES('last_uidvalidity', 0);
INSERT INTO meta(key, value) VALUES('last_mailbox_id', 0);
PRAGMA user_version = 5;
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

// Version 2 -> 3, in place: new tables and column (nothing expunged or subscribed yet, every
// mailbox selectable); the id counter starts above every id in use (an id a version-2 store
// reused is harmless: no handle predates the upgrade).
constexpr const char* kMigrate2To3 = R"sql(
ALTER TABLE mailboxes ADD COLUMN noselect INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE TABLE expunged(
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY(mailbox_id, uid)
) WITHOUT ROWID;
CREATE TABLE subscriptions(
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY(account_id, name)
) WITHOUT ROWID;
INSERT INTO meta(key, value) SELECT 'last_mailbox_id', COALESCE(MAX(id), 0) FROM mailboxes;
PRAGMA user_version = 3;
)sql";

// Version 3 -> 4, in place: the summaries table starts empty (every existing message "not
// computed yet": the IMAP layer fills it on first use).
constexpr const char* kMigrate3To4 = R"sql(
CREATE TABLE summaries(
    body_id INTEGER PRIMARY KEY,
    data    BLOB NOT NULL
);
CREATE TRIGGER bodies_drop_summary AFTER DELETE ON bodies BEGIN
    DELETE FROM summaries WHERE body_id = OLD.id;
END;
PRAGMA user_version = 4;
)sql";

// Version 4 -> 5, in place: the \Recent mark starts at uidnext, so the messages stored before
// the upgrade are old (no client is shown a whole mailbox as \Recent after an upgrade).
constexpr const char* kMigrate4To5 = R"sql(
ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
UPDATE mailboxes SET first_recent_uid = uidnext;
PRAGMA user_version = 5;
)sql";

// The mailbox columns every lookup reads, in box_info()'s order (`m` is the mailboxes row).
#define TERN_BOX_COLUMNS                                                                          \
    "m.id, m.name, m.special_use, m.uidvalidity, m.uidnext, m.highest_modseq, m.message_count, " \
    "m.noselect, EXISTS(SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name), " \
    "m.account_id, m.first_recent_uid"

// The message columns read_info() reads.
#define TERN_MESSAGE_COLUMNS "uid, modseq, flags, internal_date, size, envelope_from"

struct BoxRow {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
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
            TRY(db_.exec(kMigrate2To3));
            TRY(db_.exec(kMigrate3To4));
            TRY(db_.exec(kMigrate4To5));
        } else if (version == 2) {
            TRY(db_.exec(kMigrate2To3));
            TRY(db_.exec(kMigrate3To4));
            TRY(db_.exec(kMigrate4To5));
        } else if (version == 3) {
            TRY(db_.exec(kMigrate3To4));
            TRY(db_.exec(kMigrate4To5));
        } else if (version == 4) {
            TRY(db_.exec(kMigrate4To5));
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
        bool created = false;
        TRY(create_account_locked(account, created));
        if (created) changed(account);
        return {};
    }

    Result<void> create_account_locked(std::string_view account, bool& created) {
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
        TRY(tx->commit());
        created = true;
        return {};
    }

    Result<void> delete_account(std::string_view account) override {
        TRY(delete_account_locked(account));
        changed(account);
        return {};
    }

    Result<void> delete_account_locked(std::string_view account) {
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
            auto q = Query::make(r.db, "SELECT " TERN_BOX_COLUMNS " FROM mailboxes m WHERE m.account_id = ?1 ORDER BY m.id");
            if (!q) return std::unexpected(q.error());
            q->bind(1, *id);
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                out.push_back(box_info(*q));
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
        TRY(create_mailbox_locked(account, *norm, use));
        changed(account);
        return {};
    }

    Result<void> create_mailbox_locked(std::string_view account, const std::string& norm, SpecialUse use) {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto id = existing_account_id(db_, account);
        if (!id) return std::unexpected(id.error());
        auto existing = any_box(*id, norm);
        if (!existing) return std::unexpected(existing.error());
        if (*existing) {
            if (!(*existing)->info.noselect) return fail("mailbox already exists: " + norm, EEXIST);
            TRY(drop_box((*existing)->id));  // a \Noselect name made a mailbox again: a new one
        }
        TRY(create_superiors(*id, norm));
        TRY(insert_box(*id, norm, use));
        return tx->commit();
    }

    Result<std::vector<Appended>> append(std::span<const NewMessage> batch) override {
        auto normalized = normalize_batch_flags(batch);  // pure checks first, outside the lock
        if (!normalized) return std::unexpected(normalized.error());
        std::set<std::string_view> touched;  // accounts that got a message (views into `batch`)
        auto out = append_locked(batch, *normalized, touched);
        if (out)
            for (auto account : touched) changed(account);
        return out;
    }

    Result<std::vector<Appended>> append_locked(std::span<const NewMessage> batch,
                                                const std::vector<std::vector<std::string>>& flags,
                                                std::set<std::string_view>& touched) {
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
            if (!m.summary.empty()) {
                // The first summary given for a body is kept (entries sharing it carry the same).
                auto q = Query::make(db_, "INSERT OR IGNORE INTO summaries(body_id, data) VALUES(?1, ?2)");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, body_id).bind_blob_ref(2, m.summary).run());
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
            touched.insert(m.account);
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
            auto q = Query::make(r.db, "SELECT " TERN_MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ?1 ORDER BY uid");
            if (!q) return std::unexpected(q.error());
            q->bind(1, box->id);
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                out.push_back(read_info(*q));
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
        TRY(set_flags_locked(account, mailbox, uid, *norm));
        changed(account);
        return {};
    }

    Result<void> set_flags_locked(std::string_view account, std::string_view mailbox, std::uint32_t uid,
                                  const std::vector<std::string>& norm) {
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
                    .bind(3, join_flags(norm))
                    .bind(4, modseq)
                    .run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return not_found("no such message: UID " + std::to_string(uid));
        TRY(set_highest_modseq(box->id, modseq));
        return tx->commit();
    }

    Result<void> expunge(std::string_view account, std::string_view mailbox,
                         std::span<const std::uint32_t> uids) override {
        const auto wanted = sorted_uids(uids);
        auto removed = [&]() -> Result<bool> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            auto box = find_box(db_, account, mailbox);
            if (!box) return std::unexpected(box.error());
            auto gone = remove_messages(box->id, wanted, box->info.highest_modseq + 1);
            if (!gone) return std::unexpected(gone.error());
            TRY(tx->commit());
            return !gone->empty();
        }();
        if (!removed) return std::unexpected(removed.error());
        if (*removed) changed(account);
        return {};
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

    // ---- IMAP

    Result<MailboxHandle> open_mailbox(std::string_view account, std::string_view name) override {
        auto r = reader();
        auto box = find_box(r.db, account, name);
        if (!box) return std::unexpected(box.error());
        return MailboxHandle{std::string(account), box->id, box->info.uidvalidity};
    }

    Result<MailboxInfo> mailbox_info(const MailboxHandle& handle) override {
        auto r = reader();
        auto box = handle_box(r.db, handle);
        if (!box) return std::unexpected(box.error());
        return box->info;
    }

    Result<std::vector<MessageInfo>> list_messages(const MailboxHandle& handle, std::uint32_t from_uid,
                                                   std::uint64_t changed_since) override {
        auto r = reader();
        auto tx = Tx::begin(r.db, false);  // one snapshot for the handle check and the listing
        if (!tx) return std::unexpected(tx.error());
        auto box = handle_box(r.db, handle);
        if (!box) return std::unexpected(box.error());
        std::vector<MessageInfo> out;
        // Two statements, so each has its own plan: all from a UID is a range of the primary
        // key; CHANGEDSINCE (RFC 7162 §3.1.4) a range of messages_modseq, sorted afterwards.
        auto q = changed_since == 0
                     ? Query::make(r.db, "SELECT " TERN_MESSAGE_COLUMNS " FROM messages "
                                         "WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid")
                     : Query::make(r.db, "SELECT " TERN_MESSAGE_COLUMNS " FROM messages INDEXED BY messages_modseq "
                                         "WHERE mailbox_id = ?1 AND modseq > ?3 AND uid >= ?2");
        if (!q) return std::unexpected(q.error());
        q->bind(1, box->id).bind(2, std::int64_t{from_uid});
        if (changed_since != 0) q->bind(3, static_cast<std::int64_t>(changed_since));
        else out.reserve(box->info.messages);
        for (;;) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(read_info(*q));
        }
        if (changed_since != 0)
            std::sort(out.begin(), out.end(), [](const MessageInfo& a, const MessageInfo& b) { return a.uid < b.uid; });
        TRY(tx->commit());
        return out;
    }

    Result<std::vector<std::uint32_t>> expunged_since(const MailboxHandle& handle, std::uint64_t since) override {
        auto r = reader();
        auto tx = Tx::begin(r.db, false);
        if (!tx) return std::unexpected(tx.error());
        auto box = handle_box(r.db, handle);
        if (!box) return std::unexpected(box.error());
        std::vector<std::uint32_t> out;
        {
            auto q = Query::make(r.db, "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid");
            if (!q) return std::unexpected(q.error());
            q->bind(1, box->id).bind(2, static_cast<std::int64_t>(since));
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                out.push_back(static_cast<std::uint32_t>(q->int64(0)));
            }
        }
        TRY(tx->commit());
        return out;
    }

    Result<base::ByteSourceRef> open_message(const MailboxHandle& handle, std::uint32_t uid) override {
        auto r = reader();
        {
            auto q = Query::make(r.db,
                                 "SELECT m.body_id, m.prefix, length(b.data) FROM accounts a "
                                 "JOIN mailboxes x ON x.account_id = a.id JOIN messages m ON m.mailbox_id = x.id "
                                 "JOIN bodies b ON b.id = m.body_id WHERE x.id = ?1 AND a.name = ?2 "
                                 "AND x.uidvalidity = ?3 AND m.uid = ?4");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, handle.id).bind(2, handle.account).bind(3, std::int64_t{handle.uidvalidity})
                           .bind(4, std::int64_t{uid}).step();
            if (!row) return std::unexpected(row.error());
            if (*row)
                return std::make_shared<const StoredMessage>(*this, handle.id, handle.uidvalidity, uid, q->int64(0),
                                                             q->blob(1), static_cast<std::uint64_t>(q->int64(2)));
        }
        auto box = handle_box(r.db, handle);  // only to name the error
        if (!box) return std::unexpected(box.error());
        return not_found("no such message: UID " + std::to_string(uid));
    }

    Result<std::optional<std::string>> summary(const MailboxHandle& handle, std::uint32_t uid) override {
        auto r = reader();
        {
            // One statement (its own snapshot); a LEFT JOIN tells "no summary" from "no message".
            auto q = Query::make(r.db,
                                 "SELECT s.data IS NOT NULL, s.data FROM accounts a "
                                 "JOIN mailboxes x ON x.account_id = a.id JOIN messages m ON m.mailbox_id = x.id "
                                 "LEFT JOIN summaries s ON s.body_id = m.body_id WHERE x.id = ?1 AND a.name = ?2 "
                                 "AND x.uidvalidity = ?3 AND m.uid = ?4 AND x.noselect = 0");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, handle.id).bind(2, handle.account).bind(3, std::int64_t{handle.uidvalidity})
                           .bind(4, std::int64_t{uid}).step();
            if (!row) return std::unexpected(row.error());
            if (*row) {
                if (q->int64(0) == 0) return std::optional<std::string>{};
                return std::optional<std::string>{q->blob(1)};
            }
        }
        auto box = handle_box(r.db, handle);  // only to name the error
        if (!box) return std::unexpected(box.error());
        return not_found("no such message: UID " + std::to_string(uid));
    }

    Result<std::pair<std::uint32_t, std::uint32_t>> claim_recent(const MailboxHandle& handle,
                                                                 std::uint32_t upto) override {
        {
            // Most SELECTs find nothing to claim: answer those with a read, no write lock.
            auto r = reader();
            auto box = handle_box(r.db, handle);
            if (!box) return std::unexpected(box.error());
            const std::uint32_t first = box->info.first_recent_uid;
            if (std::min(upto, box->info.uidnext) <= first) return std::pair{first, first};
        }
        std::lock_guard lock(mu_);
        // Read and move the mark in one write transaction (IMMEDIATE: the write lock is held from
        // the read on), so two sessions, in this process or another, never claim the same UID.
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto box = handle_box(db_, handle);
        if (!box) return std::unexpected(box.error());
        const std::uint32_t first = box->info.first_recent_uid;
        const std::uint32_t last = std::max(first, std::min(upto, box->info.uidnext));
        if (last == first) return std::pair{first, last};  // nothing to claim: no write
        {
            auto q = Query::make(db_, "UPDATE mailboxes SET first_recent_uid = ?2 WHERE id = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box->id).bind(2, std::int64_t{last}).run());
        }
        TRY(tx->commit());
        return std::pair{first, last};
    }

    Result<void> set_summaries(const MailboxHandle& handle,
                               std::span<const std::pair<std::uint32_t, std::string>> items) override {
        if (items.empty()) return {};
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto box = handle_box(db_, handle);
        if (!box) return std::unexpected(box.error());
        for (const auto& [uid, blob] : items) {
            // The message's body as it is now, inside this transaction: one expunged meanwhile
            // (its body gone, the id perhaps reused) is skipped.
            auto q = Query::make(db_,
                                 "INSERT OR REPLACE INTO summaries(body_id, data) SELECT body_id, ?3 FROM messages "
                                 "WHERE mailbox_id = ?1 AND uid = ?2");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box->id).bind(2, std::int64_t{uid}).bind_blob_ref(3, blob).run());
        }
        return tx->commit();
    }

    Result<StoreFlagsResult> store_flags(const MailboxHandle& handle, std::span<const std::uint32_t> uids,
                                         FlagMode mode, std::span<const std::string> flags,
                                         std::optional<std::uint64_t> unchanged_since) override {
        auto norm = normalize_flags(std::vector<std::string>(flags.begin(), flags.end()));
        if (!norm) return std::unexpected(norm.error());
        const auto wanted = sorted_uids(uids);
        bool touched = false;
        auto out = [&]() -> Result<StoreFlagsResult> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            auto box = handle_box(db_, handle);
            if (!box) return std::unexpected(box.error());
            auto msgs = messages_of(db_, box->id, wanted);
            if (!msgs) return std::unexpected(msgs.error());
            StoreFlagsResult result;
            // RFC 7162 §3.1.3: every message changed by this command gets the same new modseq.
            const auto modseq = static_cast<std::int64_t>(box->info.highest_modseq + 1);
            for (auto& m : *msgs) {
                if (unchanged_since && m.modseq > *unchanged_since) {  // RFC 7162 §3.1.3 MODIFIED
                    result.modified.push_back(m.uid);
                    continue;
                }
                if (auto next = apply_flags(m.flags, mode, *norm); next != m.flags) {
                    auto q = Query::make(db_, "UPDATE messages SET flags = ?3, modseq = ?4 WHERE mailbox_id = ?1 AND uid = ?2");
                    if (!q) return std::unexpected(q.error());
                    TRY(q->bind(1, box->id).bind(2, std::int64_t{m.uid}).bind(3, join_flags(next)).bind(4, modseq).run());
                    m.flags = std::move(next);
                    m.modseq = static_cast<std::uint64_t>(modseq);
                    touched = true;
                }
                result.updated.push_back(std::move(m));
            }
            if (!touched) return result;  // nothing written: the transaction rolls back, no fsync
            TRY(set_highest_modseq(box->id, modseq));
            TRY(tx->commit());
            return result;
        }();
        if (out && touched) changed(handle.account);
        return out;
    }

    Result<ExpungeResult> expunge(const MailboxHandle& handle, std::span<const std::uint32_t> uids) override {
        return expunge_handle(handle, uids, false);
    }

    Result<ExpungeResult> expunge_deleted(const MailboxHandle& handle, std::span<const std::uint32_t> uids) override {
        return expunge_handle(handle, uids, true);
    }

    Result<ExpungeResult> expunge_handle(const MailboxHandle& handle, std::span<const std::uint32_t> uids,
                                         bool only_deleted) {
        const auto wanted = sorted_uids(uids);
        auto out = [&]() -> Result<ExpungeResult> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            auto box = handle_box(db_, handle);
            if (!box) return std::unexpected(box.error());
            ExpungeResult result;
            const std::uint64_t modseq = box->info.highest_modseq + 1;
            auto gone = remove_messages(box->id, wanted, modseq, only_deleted);
            if (!gone) return std::unexpected(gone.error());
            if (gone->empty()) return result;
            TRY(tx->commit());
            result.uids = std::move(*gone);
            result.modseq = modseq;
            return result;
        }();
        if (out && !out->uids.empty()) changed(handle.account);
        return out;
    }

    Result<CopyResult> copy_messages(const MailboxHandle& from, std::span<const std::uint32_t> uids,
                                     std::string_view to) override {
        const auto wanted = sorted_uids(uids);
        auto out = [&]() -> Result<CopyResult> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            auto copied = copy_in_tx(from, wanted, to);
            if (!copied) return std::unexpected(copied.error());
            if (!copied->result.source_uids.empty()) TRY(tx->commit());
            return std::move(copied->result);
        }();
        if (out && !out->source_uids.empty()) changed(from.account);
        return out;
    }

    Result<std::pair<CopyResult, ExpungeResult>> move_messages(const MailboxHandle& from,
                                                               std::span<const std::uint32_t> uids,
                                                               std::string_view to) override {
        const auto wanted = sorted_uids(uids);
        auto out = [&]() -> Result<std::pair<CopyResult, ExpungeResult>> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            // RFC 6851 §3.3: the copies are inserted before the originals are deleted, so the
            // trigger keeps every body; both in this one transaction.
            auto copied = copy_in_tx(from, wanted, to);
            if (!copied) return std::unexpected(copied.error());
            std::pair<CopyResult, ExpungeResult> result{std::move(copied->result), {}};
            if (result.first.source_uids.empty()) return result;
            // A move within one mailbox shares the copy's modseq (one bump per operation).
            const std::uint64_t modseq = copied->dst.id == copied->src.id ? copied->dst.info.highest_modseq
                                                                          : copied->src.info.highest_modseq + 1;
            auto gone = remove_messages(from.id, result.first.source_uids, modseq);
            if (!gone) return std::unexpected(gone.error());
            TRY(tx->commit());
            result.second.uids = std::move(*gone);
            result.second.modseq = modseq;
            return result;
        }();
        if (out && !out->first.source_uids.empty()) changed(from.account);
        return out;
    }

    Result<void> rename_mailbox(std::string_view account, std::string_view from, std::string_view to) override {
        auto nf = normalize_mailbox_name(from);
        if (!nf) return std::unexpected(nf.error());
        auto nt = normalize_mailbox_name(to);
        if (!nt) return std::unexpected(nt.error());
        TRY(rename_locked(account, *nf, *nt));
        changed(account);
        return {};
    }

    Result<void> delete_mailbox(std::string_view account, std::string_view name) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        if (*norm == "INBOX") return invalid("INBOX cannot be deleted");  // RFC 9051 §6.3.5
        TRY(delete_mailbox_locked(account, *norm));
        changed(account);
        return {};
    }

    Result<void> set_subscribed(std::string_view account, std::string_view name, bool subscribed) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        auto did = [&]() -> Result<bool> {
            std::lock_guard lock(mu_);
            auto tx = Tx::begin(db_, true);
            if (!tx) return std::unexpected(tx.error());
            auto id = existing_account_id(db_, account);
            if (!id) return std::unexpected(id.error());
            auto q = subscribed ? Query::make(db_, "INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?1, ?2)")
                                : Query::make(db_, "DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, *id).bind(2, *norm).run());
            if (sqlite3_changes(db_.raw()) == 0) return false;
            TRY(tx->commit());
            return true;
        }();
        if (!did) return std::unexpected(did.error());
        if (*did) changed(account);
        return {};
    }

    Result<std::vector<std::string>> subscriptions(std::string_view account) override {
        auto r = reader();
        auto tx = Tx::begin(r.db, false);
        if (!tx) return std::unexpected(tx.error());
        auto id = existing_account_id(r.db, account);
        if (!id) return std::unexpected(id.error());
        std::vector<std::string> out;
        {
            auto q = Query::make(r.db, "SELECT name FROM subscriptions WHERE account_id = ?1 ORDER BY name");
            if (!q) return std::unexpected(q.error());
            q->bind(1, *id);
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                out.push_back(q->text(0));
            }
        }
        TRY(tx->commit());
        return out;
    }

private:
    // COPY inside the caller's write transaction: checks the handle and the destination, inserts
    // the copies (same body_id: no body is copied) and advances the destination's counters.
    // Returns the COPYUID data, the source and the destination as it is afterwards.
    struct Copied {
        CopyResult result;
        BoxRow src, dst;
    };
    Result<Copied> copy_in_tx(const MailboxHandle& from, const std::vector<std::uint32_t>& uids,
                                                     std::string_view to) {
        auto src = handle_box(db_, from);
        if (!src) return std::unexpected(src.error());
        auto norm = normalize_mailbox_name(to);
        if (!norm) return std::unexpected(norm.error());
        auto dst = any_box(src->account_id, *norm);
        if (!dst) return std::unexpected(dst.error());
        // RFC 9051 §6.4.7: a missing destination is NO [TRYCREATE].
        if (!*dst || (*dst)->info.noselect) return fail("[TRYCREATE] no such mailbox: " + *norm, ENOENT);
        BoxRow d = **dst;
        CopyResult out;
        out.uidvalidity = d.info.uidvalidity;
        auto present = messages_of(db_, src->id, uids);
        if (!present) return std::unexpected(present.error());
        if (present->empty()) return Copied{std::move(out), std::move(*src), std::move(d)};
        if (std::uint64_t{d.info.uidnext} + present->size() - 1 > kMaxUid)
            return fail("mailbox UID space exhausted: " + *norm, ENOSPC);
        const auto modseq = static_cast<std::int64_t>(d.info.highest_modseq + 1);
        for (const auto& m : *present) {
            const std::uint32_t uid = d.info.uidnext++;
            auto q = Query::make(db_,
                                 "INSERT INTO messages(mailbox_id, uid, modseq, flags, internal_date, size, "
                                 "envelope_from, body_id, prefix) SELECT ?1, ?2, ?3, flags, internal_date, size, "
                                 "envelope_from, body_id, prefix FROM messages WHERE mailbox_id = ?4 AND uid = ?5");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, d.id).bind(2, std::int64_t{uid}).bind(3, modseq).bind(4, src->id).bind(5, std::int64_t{m.uid}).run());
            out.source_uids.push_back(m.uid);
            out.dest_uids.push_back(uid);
        }
        d.info.highest_modseq = static_cast<std::uint64_t>(modseq);
        d.info.messages += static_cast<std::uint32_t>(present->size());
        auto q = Query::make(db_, "UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?3, "
                                  "message_count = message_count + ?4 WHERE id = ?1");
        if (!q) return std::unexpected(q.error());
        TRY(q->bind(1, d.id)
                .bind(2, std::int64_t{d.info.uidnext})
                .bind(3, modseq)
                .bind(4, static_cast<std::int64_t>(present->size()))
                .run());
        return Copied{std::move(out), std::move(*src), std::move(d)};
    }

    Result<void> rename_locked(std::string_view account, const std::string& from, const std::string& to) {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto account_id = existing_account_id(db_, account);
        if (!account_id) return std::unexpected(account_id.error());
        auto src = any_box(*account_id, from);
        if (!src) return std::unexpected(src.error());
        if (!*src) return not_found("no such mailbox: " + from);
        auto dst = any_box(*account_id, to);
        if (!dst) return std::unexpected(dst.error());
        if (*dst) return fail("mailbox already exists: " + to, EEXIST);
        if (from == "INBOX") {
            // RFC 9051 §6.3.6: INBOX's messages move to a new mailbox `to`; INBOX stays, empty, and
            // its inferiors are not renamed. The rows move (UPDATE, so the body trigger does not
            // fire) with their UIDs: the new mailbox has a UIDVALIDITY of its own.
            const BoxRow& inbox = **src;
            TRY(create_superiors(*account_id, to));
            auto id = insert_box(*account_id, to, SpecialUse::None);
            if (!id) return std::unexpected(id.error());
            const auto modseq = static_cast<std::int64_t>(inbox.info.highest_modseq + 1);
            {
                auto q = Query::make(db_, "INSERT INTO expunged(mailbox_id, uid, modseq) "
                                          "SELECT mailbox_id, uid, ?2 FROM messages WHERE mailbox_id = ?1");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, inbox.id).bind(2, modseq).run());
            }
            {
                auto q = Query::make(db_, "UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, inbox.id).bind(2, *id).run());
            }
            {
                // \Recent goes with the messages: the new mailbox keeps INBOX's mark.
                auto q = Query::make(db_, "UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?3, message_count = ?4, "
                                          "first_recent_uid = ?5 WHERE id = ?1");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, *id)
                        .bind(2, std::int64_t{inbox.info.uidnext})
                        .bind(3, static_cast<std::int64_t>(inbox.info.highest_modseq))
                        .bind(4, std::int64_t{inbox.info.messages})
                        .bind(5, std::int64_t{inbox.info.first_recent_uid})
                        .run());
            }
            if (inbox.info.messages > 0) {
                auto q = Query::make(db_, "UPDATE mailboxes SET highest_modseq = ?2, message_count = 0 WHERE id = ?1");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, inbox.id).bind(2, modseq).run());
            }
            return tx->commit();
        }
        if (is_inferior(to, from)) return invalid("cannot rename " + from + " to its own inferior " + to);
        auto below = inferiors(*account_id, from);
        if (!below) return std::unexpected(below.error());
        std::vector<std::pair<std::int64_t, std::string>> renamed{{(*src)->id, to}};
        for (const auto& [id, name] : *below) {
            std::string now = to + name.substr(from.size());
            auto e = any_box(*account_id, now);
            if (!e) return std::unexpected(e.error());
            if (*e) return fail("mailbox already exists: " + now, EEXIST);
            renamed.emplace_back(id, std::move(now));
        }
        TRY(create_superiors(*account_id, to));
        for (const auto& [id, name] : renamed) {
            auto q = Query::make(db_, "UPDATE mailboxes SET name = ?2 WHERE id = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, id).bind(2, name).run());
        }
        return tx->commit();
    }

    Result<void> delete_mailbox_locked(std::string_view account, const std::string& name) {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto account_id = existing_account_id(db_, account);
        if (!account_id) return std::unexpected(account_id.error());
        auto box = any_box(*account_id, name);
        if (!box) return std::unexpected(box.error());
        if (!*box) return not_found("no such mailbox: " + name);
        auto below = inferiors(*account_id, name);
        if (!below) return std::unexpected(below.error());
        if (below->empty()) {
            TRY(drop_box((*box)->id));
            return tx->commit();
        }
        // RFC 9051 §6.3.5: the messages go, the name stays as its inferiors' superior.
        if ((*box)->info.noselect)
            return fail("[HASCHILDREN] mailbox has inferiors and is \\Noselect: " + name, EEXIST);
        for (const char* sql : {"DELETE FROM messages WHERE mailbox_id = ?1", "DELETE FROM expunged WHERE mailbox_id = ?1",
                                "UPDATE mailboxes SET noselect = 1, message_count = 0, "
                                "highest_modseq = highest_modseq + 1 WHERE id = ?1"}) {
            auto q = Query::make(db_, sql);
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, (*box)->id).run());
        }
        return tx->commit();
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

    // A row of TERN_BOX_COLUMNS.
    static MailboxInfo box_info(const Query& q) {
        MailboxInfo mi;
        mi.id = q.int64(0);
        mi.name = q.text(1);
        mi.special_use = static_cast<SpecialUse>(q.int64(2));
        mi.uidvalidity = static_cast<std::uint32_t>(q.int64(3));
        mi.uidnext = static_cast<std::uint32_t>(q.int64(4));
        mi.highest_modseq = static_cast<std::uint64_t>(q.int64(5));
        mi.messages = static_cast<std::uint32_t>(q.int64(6));
        mi.noselect = q.int64(7) != 0;
        mi.subscribed = q.int64(8) != 0;
        mi.first_recent_uid = static_cast<std::uint32_t>(q.int64(10));
        return mi;
    }
    static BoxRow box_row(const Query& q) { return BoxRow{q.int64(0), q.int64(9), box_info(q)}; }

    // A row of TERN_MESSAGE_COLUMNS.
    static MessageInfo read_info(const Query& q) {
        MessageInfo mi;
        mi.uid = static_cast<std::uint32_t>(q.int64(0));
        mi.modseq = static_cast<std::uint64_t>(q.int64(1));
        mi.flags = split_flags(q.text(2));
        mi.internal_date = q.int64(3);
        mi.size = static_cast<std::uint64_t>(q.int64(4));
        mi.envelope_from = q.text(5);
        return mi;
    }

    // A selectable mailbox by name (a \Noselect one is "no such mailbox").
    static Result<BoxRow> find_box(Db& db, std::string_view account, std::string_view name) {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        {
            auto q = Query::make(db, "SELECT " TERN_BOX_COLUMNS " FROM mailboxes m JOIN accounts a ON a.id = m.account_id "
                                     "WHERE a.name = ?1 AND m.name = ?2 AND m.noselect = 0");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, account).bind(2, *norm).step();
            if (!row) return std::unexpected(row.error());
            if (*row) return box_row(*q);
        }
        auto id = existing_account_id(db, account);  // only on the error path: which error is it?
        if (!id) return std::unexpected(id.error());
        return not_found("no such mailbox: " + *norm);
    }

    // The mailbox a handle names, if it still exists with that UIDVALIDITY and is selectable
    // (ids are never reused; the UIDVALIDITY check is the second lock on the door).
    static Result<BoxRow> handle_box(Db& db, const MailboxHandle& h) {
        auto q = Query::make(db, "SELECT " TERN_BOX_COLUMNS " FROM mailboxes m JOIN accounts a ON a.id = m.account_id "
                                 "WHERE m.id = ?1 AND a.name = ?2 AND m.uidvalidity = ?3 AND m.noselect = 0");
        if (!q) return std::unexpected(q.error());
        auto row = q->bind(1, h.id).bind(2, h.account).bind(3, std::int64_t{h.uidvalidity}).step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return not_found("the mailbox was deleted or re-created");
        return box_row(*q);
    }

    // Any mailbox of the account by its normalized name, \Noselect ones too; nullopt if none.
    Result<std::optional<BoxRow>> any_box(std::int64_t account_id, const std::string& name) {
        auto q = Query::make(db_, "SELECT " TERN_BOX_COLUMNS " FROM mailboxes m WHERE m.account_id = ?1 AND m.name = ?2");
        if (!q) return std::unexpected(q.error());
        auto row = q->bind(1, account_id).bind(2, name).step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return std::optional<BoxRow>();
        return std::optional<BoxRow>(box_row(*q));
    }

    // The names strictly below `parent` (RFC 9051 §6.3.5/§6.3.6 inferiors), with their ids.
    Result<std::vector<std::pair<std::int64_t, std::string>>> inferiors(std::int64_t account_id, const std::string& parent) {
        auto q = Query::make(db_, "SELECT id, name FROM mailboxes WHERE account_id = ?1 AND name >= ?2 AND name < ?3 "
                                  "ORDER BY name");
        if (!q) return std::unexpected(q.error());
        q->bind(1, account_id).bind(2, inferiors_first(parent)).bind(3, inferiors_end(parent));
        std::vector<std::pair<std::int64_t, std::string>> out;
        for (;;) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.emplace_back(q->int64(0), q->text(1));
        }
        return out;
    }

    // Inside a write transaction: RFC 9051 §6.3.4, the missing superiors of `name` (selectable).
    Result<void> create_superiors(std::int64_t account_id, const std::string& name) {
        for (const auto& sup : superior_names(name)) {
            auto e = any_box(account_id, sup);
            if (!e) return std::unexpected(e.error());
            if (!*e) {
                auto id = insert_box(account_id, sup, SpecialUse::None);
                if (!id) return std::unexpected(id.error());
            }
        }
        return {};
    }

    // Inside a write transaction: the mailbox row goes, and by cascade its messages (the trigger
    // drops bodies no other row names) and its expunged UIDs.
    Result<void> drop_box(std::int64_t box_id) {
        auto q = Query::make(db_, "DELETE FROM mailboxes WHERE id = ?1");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, box_id).run();
    }

    Result<std::int64_t> meta_value(const char* sql) {
        auto q = Query::make(db_, sql);
        if (!q) return std::unexpected(q.error());
        auto row = q->step();
        if (!row) return std::unexpected(row.error());
        return *row ? q->int64(0) : 0;
    }

    // Inside a write transaction. Returns the new mailbox's id: one above every id ever handed
    // out (meta last_mailbox_id), so a deleted mailbox's id never names another one.
    Result<std::int64_t> insert_box(std::int64_t account_id, const std::string& name, SpecialUse use) {
        auto last = meta_value("SELECT value FROM meta WHERE key = 'last_uidvalidity'");
        if (!last) return std::unexpected(last.error());
        auto last_id = meta_value("SELECT value FROM meta WHERE key = 'last_mailbox_id'");
        if (!last_id) return std::unexpected(last_id.error());
        const std::uint32_t uidvalidity = next_uidvalidity(static_cast<std::uint32_t>(*last), now_seconds());
        const std::int64_t id = *last_id + 1;
        {
            auto q = Query::make(db_, "UPDATE meta SET value = ?1 WHERE key = 'last_uidvalidity'");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, std::int64_t{uidvalidity}).run());
        }
        {
            auto q = Query::make(db_, "UPDATE meta SET value = ?1 WHERE key = 'last_mailbox_id'");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, id).run());
        }
        auto q = Query::make(db_,
                             "INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, "
                             "highest_modseq, message_count) VALUES(?6, ?1, ?2, ?3, ?4, 1, ?5, 0)");
        if (!q) return std::unexpected(q.error());
        TRY(q->bind(1, account_id)
                .bind(2, name)
                .bind(3, static_cast<std::int64_t>(use))
                .bind(4, std::int64_t{uidvalidity})
                .bind(5, static_cast<std::int64_t>(kInitialModseq))
                .bind(6, id)
                .run());
        return id;
    }

    // The messages among `uids` (ascending, unique) that exist, in UID order. A dense set (1:*,
    // a range) is read as one range of the primary key; a sparse one UID by UID, so that
    // "1,900000" does not read the 899,998 rows between.
    static Result<std::vector<MessageInfo>> messages_of(Db& db, std::int64_t box_id, const std::vector<std::uint32_t>& uids) {
        std::vector<MessageInfo> out;
        if (uids.empty()) return out;
        const std::uint64_t width = std::uint64_t{uids.back()} - uids.front() + 1;
        if (width <= 4 * std::uint64_t{uids.size()}) {
            auto q = Query::make(db, "SELECT " TERN_MESSAGE_COLUMNS " FROM messages "
                                     "WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
            if (!q) return std::unexpected(q.error());
            q->bind(1, box_id).bind(2, std::int64_t{uids.front()}).bind(3, std::int64_t{uids.back()});
            auto want = uids.begin();
            for (;;) {
                auto row = q->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                const auto uid = static_cast<std::uint32_t>(q->int64(0));
                want = std::lower_bound(want, uids.end(), uid);
                if (want != uids.end() && *want == uid) out.push_back(read_info(*q));
            }
            return out;
        }
        for (auto uid : uids) {
            auto q = Query::make(db, "SELECT " TERN_MESSAGE_COLUMNS " FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, box_id).bind(2, std::int64_t{uid}).step();
            if (!row) return std::unexpected(row.error());
            if (*row) out.push_back(read_info(*q));
        }
        return out;
    }

    // Inside a write transaction: removes the present UIDs of `uids` (ascending), records them as
    // expunged at `modseq` and makes that the mailbox's highest modseq if anything went (RFC
    // 7162 §3.2: an expunge is a change). uidnext is untouched: expunged UIDs are never handed
    // out again (RFC 9051 §2.3.1.1). Returns the UIDs removed.
    // `only_deleted`: only rows whose flags (space-joined, canonical case: join_flags) hold \Deleted.
    Result<std::vector<std::uint32_t>> remove_messages(std::int64_t box_id, const std::vector<std::uint32_t>& uids,
                                                       std::uint64_t modseq, bool only_deleted = false) {
        std::vector<std::uint32_t> removed;
        for (auto uid : uids) {
            {
                auto q = Query::make(db_, only_deleted
                                              ? "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2 "
                                                "AND instr(' ' || flags || ' ', ' \\Deleted ') > 0"
                                              : "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
                if (!q) return std::unexpected(q.error());
                TRY(q->bind(1, box_id).bind(2, std::int64_t{uid}).run());
            }
            if (sqlite3_changes(db_.raw()) == 0) continue;
            auto q = Query::make(db_, "INSERT INTO expunged(mailbox_id, uid, modseq) VALUES(?1, ?2, ?3)");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box_id).bind(2, std::int64_t{uid}).bind(3, static_cast<std::int64_t>(modseq)).run());
            removed.push_back(uid);
        }
        if (!removed.empty()) {
            auto q = Query::make(db_,
                                 "UPDATE mailboxes SET message_count = message_count - ?2, "
                                 "highest_modseq = ?3 WHERE id = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, box_id)
                    .bind(2, static_cast<std::int64_t>(removed.size()))
                    .bind(3, static_cast<std::int64_t>(modseq))
                    .run());
        }
        return removed;
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
