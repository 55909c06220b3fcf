// Tests specific to the SQLite MailStore: persistence across reopen, on-disk settings, body cleanup,
// a second connection (admin CLI) on the same file. Must never touch files outside its temp dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "store/store.hpp"
#include "../common/temp_dir.hpp"

namespace tern::store {
namespace {

constexpr const char* kUser = "alice@example.org";

NewMessage msg(std::string data, std::string key = "") {
    NewMessage m;
    m.account = kUser;
    m.data = std::move(data);
    m.internal_date = 1700000000;
    m.dedupe_key = std::move(key);
    return m;
}

// Runs a one-value query against store.db through a separate raw connection.
std::string query(const std::filesystem::path& dir, const char* sql) {
    sqlite3* db = nullptr;
    std::string out = "<error>";
    if (sqlite3_open((dir / "store.db").c_str(), &db) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            auto* t = sqlite3_column_text(st, 0);
            out = t ? reinterpret_cast<const char*>(t) : "";
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

TEST(SqliteStore, StatePersistsAcrossReopen) {
    tern::testing::TempDir dir;
    std::uint32_t validity = 0;
    {
        auto s = open_sqlite_store(dir.path());
        ASSERT_TRUE(s) << s.error().message;
        ASSERT_TRUE((*s)->create_account(kUser));
        ASSERT_TRUE((*s)->append(std::vector{msg("one", "k1"), msg("two"), msg("three")}));
        ASSERT_TRUE((*s)->set_flags(kUser, "INBOX", 2, {"\\Seen"}));
        const std::uint32_t gone[] = {3};
        ASSERT_TRUE((*s)->expunge(kUser, "INBOX", gone));
        validity = (*s)->mailbox(kUser, "INBOX")->uidvalidity;
    }
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    auto box = (*s)->mailbox(kUser, "INBOX");
    ASSERT_TRUE(box);
    EXPECT_EQ(box->uidvalidity, validity);
    EXPECT_EQ(box->uidnext, 4u);
    EXPECT_EQ(box->messages, 2u);
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 1), "one");
    EXPECT_THAT((*s)->list_messages(kUser, "INBOX")->at(1).flags, ::testing::ElementsAre("\\Seen"));
    auto r = (*s)->append(std::vector{msg("one", "k1"), msg("four")});
    ASSERT_TRUE(r);
    EXPECT_TRUE((*r)[0].duplicate) << "dedupe keys survive a restart";
    EXPECT_EQ((*r)[1].uid, 4u) << "expunged UID 3 is not reused after reopen";
    // A mailbox created after reopening still gets a UIDVALIDITY above all earlier ones.
    ASSERT_TRUE((*s)->create_mailbox(kUser, "Later", SpecialUse::None));
    auto boxes = (*s)->list_mailboxes(kUser);
    ASSERT_TRUE(boxes);
    for (const auto& b : *boxes) {
        if (b.name != "Later") {
            EXPECT_LT(b.uidvalidity, (*s)->mailbox(kUser, "Later")->uidvalidity);
        }
    }
}

TEST(SqliteStore, UsesWalSchemaVersionAndDropsBodiesWithMessages) {
    tern::testing::TempDir dir;
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->create_account(kUser));
    ASSERT_TRUE((*s)->append(std::vector{msg("a"), msg("b"), msg("c")}));
    EXPECT_EQ(query(dir.path(), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "5");
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "3");
    EXPECT_EQ(query(dir.path(), "SELECT flags FROM messages WHERE uid = 1"), "");
    const std::uint32_t one[] = {1};
    ASSERT_TRUE((*s)->expunge(kUser, "INBOX", one));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "2");
    ASSERT_TRUE((*s)->delete_account(kUser));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "0") << "cascade must not leak bodies";
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM mailboxes"), "0");
}

// Executes `sql` on store.db through a separate raw connection; false on any error.
bool exec(const std::filesystem::path& dir, const char* sql) {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open((dir / "store.db").c_str(), &db) == SQLITE_OK &&
              sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

// One message for N accounts in one batch: one row in `bodies`; deleting N-1 copies keeps it,
// the last one removes it.
TEST(SqliteStore, AliasFanOutStoresOneBodyRow) {
    tern::testing::TempDir dir;
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    constexpr int kAccounts = 40;
    const std::string body(100000, 'x');
    std::vector<NewMessage> batch;
    for (int i = 0; i < kAccounts; ++i) {
        std::string account = "m" + std::to_string(i) + "@example.org";
        ASSERT_TRUE((*s)->create_account(account));
        NewMessage m = msg("");
        m.account = account;
        m.body = &body;
        m.prefix = "Return-Path: <a@b.example>\r\n";
        m.dedupe_key = "q:1:" + account;
        batch.push_back(std::move(m));
    }
    ASSERT_TRUE((*s)->append(batch));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "1");
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM messages"), "40");
    EXPECT_LT(std::stoll(query(dir.path(), "SELECT SUM(length(data)) FROM bodies")), 2 * 100000);
    // A redelivery of the same batch (every key known) adds no body.
    ASSERT_TRUE((*s)->append(batch));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "1");
    const std::uint32_t one[] = {1};
    for (int i = 0; i < kAccounts - 1; ++i)
        ASSERT_TRUE((*s)->expunge("m" + std::to_string(i) + "@example.org", "INBOX", one));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "1");
    EXPECT_EQ(*(*s)->read_message("m39@example.org", "INBOX", 1), "Return-Path: <a@b.example>\r\n" + body);
    ASSERT_TRUE((*s)->expunge("m39@example.org", "INBOX", one));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "0");
}

// A store.db written by schema version 1 (one body per message, no prefix) is migrated in place (1 -> 2 -> 3 -> 4).
TEST(SqliteStore, MigratesVersion1InPlace) {
    tern::testing::TempDir dir;
    ASSERT_TRUE(exec(dir.path(), R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE mailboxes(
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL, special_use INTEGER NOT NULL, uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL, highest_modseq INTEGER NOT NULL, message_count INTEGER NOT NULL,
    UNIQUE(account_id, name));
CREATE TABLE bodies(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE messages(
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE, uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL, flags TEXT NOT NULL, internal_date INTEGER NOT NULL, size INTEGER NOT NULL,
    envelope_from TEXT NOT NULL, body_id INTEGER NOT NULL, PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE TRIGGER messages_drop_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies WHERE id = OLD.body_id;
END;
CREATE TABLE delivered(key TEXT PRIMARY KEY, at INTEGER NOT NULL, uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('last_uidvalidity', 1000);
INSERT INTO accounts(id, name) VALUES(1, 'alice@example.org');
INSERT INTO mailboxes VALUES(1, 1, 'INBOX', 0, 1000, 3, 5, 2);
INSERT INTO bodies(id, data) VALUES(1, CAST('Return-Path: <x@y>' || char(13,10) || 'old one' AS BLOB));
INSERT INTO bodies(id, data) VALUES(2, CAST('old two' AS BLOB));
INSERT INTO messages VALUES(1, 1, 2, '\Seen', 1600000000, 27, 'x@y', 1);
INSERT INTO messages VALUES(1, 2, 3, '', 1600000001, 7, '', 2);
INSERT INTO delivered VALUES('q:7:alice@example.org', 1600000000, 1000, 1);
PRAGMA user_version = 1;
)sql"));
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "5");
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 1), "Return-Path: <x@y>\r\nold one");
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 2), "old two");
    auto list = (*s)->list_messages(kUser, "INBOX");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_THAT((*list)[0].flags, ::testing::ElementsAre("\\Seen"));
    EXPECT_EQ((*list)[0].size, 27u);
    // Through 2 to 3: the IMAP calls work on the old rows.
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox) << inbox.error().message;
    auto changed = (*s)->list_messages(*inbox, 1, 2);
    ASSERT_TRUE(changed) << changed.error().message;
    ASSERT_EQ(changed->size(), 1u);
    EXPECT_EQ((*changed)[0].uid, 2u);
    // Old dedupe keys still count; new appends share bodies; old bodies still go with their message.
    auto again = msg("old one", "q:7:alice@example.org");
    auto r = (*s)->append(std::vector{again});
    ASSERT_TRUE(r);
    EXPECT_TRUE((*r)[0].duplicate);
    const std::string body = "shared";
    NewMessage a = msg(""), b = msg("");
    a.body = b.body = &body;
    b.mailbox = "Sent";
    ASSERT_TRUE((*s)->create_mailbox(kUser, "Sent", SpecialUse::Sent));
    ASSERT_TRUE((*s)->append(std::vector{a, b}));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "3");
    const std::uint32_t one[] = {1};
    ASSERT_TRUE((*s)->expunge(kUser, "INBOX", one));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "2");
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 3), "shared");
    s->reset();
    auto reopened = open_sqlite_store(dir.path());
    ASSERT_TRUE(reopened) << "a migrated store opens again as version 5";
    EXPECT_EQ(*(*reopened)->read_message(kUser, "Sent", 1), "shared");
}

// A store.db written by schema version 2 (the schema as that code created it, by hand) is migrated
// to version 3 in place: data intact, the IMAP tables and index usable, mailbox ids above every id
// the old store used (ids 7 and 8 were used and deleted, so 10 is next, never 7).
TEST(SqliteStore, MigratesVersion2InPlace) {
    tern::testing::TempDir dir;
    ASSERT_TRUE(exec(dir.path(), R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE mailboxes(
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL, special_use INTEGER NOT NULL, uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL, highest_modseq INTEGER NOT NULL, message_count INTEGER NOT NULL,
    UNIQUE(account_id, name));
CREATE TABLE bodies(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE messages(
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE, uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL, flags TEXT NOT NULL, internal_date INTEGER NOT NULL, size INTEGER NOT NULL,
    envelope_from TEXT NOT NULL, body_id INTEGER NOT NULL, prefix BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX messages_body ON messages(body_id);
CREATE TRIGGER messages_drop_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies WHERE id = OLD.body_id
        AND NOT EXISTS (SELECT 1 FROM messages WHERE body_id = OLD.body_id);
END;
CREATE TABLE delivered(key TEXT PRIMARY KEY, at INTEGER NOT NULL, uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('last_uidvalidity', 1009);
INSERT INTO accounts(id, name) VALUES(1, 'alice@example.org');
INSERT INTO mailboxes VALUES(1, 1, 'INBOX', 0, 1000, 4, 6, 3);
INSERT INTO mailboxes VALUES(2, 1, 'Sent', 1, 1001, 1, 1, 0);
INSERT INTO mailboxes VALUES(3, 1, 'Drafts', 2, 1002, 1, 1, 0);
INSERT INTO mailboxes VALUES(4, 1, 'Trash', 3, 1003, 1, 1, 0);
INSERT INTO mailboxes VALUES(5, 1, 'Junk', 4, 1004, 1, 1, 0);
INSERT INTO mailboxes VALUES(6, 1, 'Archive', 5, 1005, 1, 1, 0);
INSERT INTO mailboxes VALUES(9, 1, 'Work', 0, 1009, 2, 2, 1);
INSERT INTO bodies(id, data) VALUES(1, CAST('shared body' AS BLOB));
INSERT INTO bodies(id, data) VALUES(2, CAST('own body' AS BLOB));
INSERT INTO messages VALUES(1, 1, 2, '\Seen', 1600000000, 29, 'x@y', 1, CAST('Return-Path: <x@y>' || char(13,10) AS BLOB));
INSERT INTO messages VALUES(1, 2, 3, '', 1600000001, 8, '', 2, x'');
INSERT INTO messages VALUES(1, 3, 5, 'work', 1600000002, 11, '', 1, x'');
INSERT INTO messages VALUES(9, 1, 2, '', 1600000003, 11, '', 1, x'');
INSERT INTO delivered VALUES('q:7:alice@example.org', 1600000000, 1000, 1);
PRAGMA user_version = 2;
)sql"));
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "5");
    EXPECT_EQ(query(dir.path(), "SELECT value FROM meta WHERE key = 'last_mailbox_id'"), "9");
    // Version 5: the messages stored before the upgrade are not \Recent for anyone.
    EXPECT_EQ((*s)->mailbox(kUser, "INBOX")->first_recent_uid, 4u);
    EXPECT_EQ((*s)->mailbox(kUser, "Work")->first_recent_uid, 2u);
    EXPECT_EQ(query(dir.path(), "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'messages_modseq'"),
              "messages_modseq");
    // Data intact.
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 1), "Return-Path: <x@y>\r\nshared body");
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 2), "own body");
    EXPECT_EQ(*(*s)->read_message(kUser, "Work", 1), "shared body");
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox) << inbox.error().message;
    EXPECT_EQ(inbox->id, 1);
    EXPECT_EQ(inbox->uidvalidity, 1000u);
    auto info = (*s)->mailbox_info(*inbox);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->messages, 3u);
    EXPECT_EQ(info->uidnext, 4u);
    EXPECT_EQ(info->highest_modseq, 6u);
    EXPECT_FALSE(info->noselect);
    EXPECT_FALSE(info->subscribed);
    auto list = (*s)->list_messages(*inbox, 1, 0);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 3u);
    EXPECT_THAT((*list)[0].flags, ::testing::ElementsAre("\\Seen"));
    EXPECT_EQ((*list)[0].size, 29u);
    EXPECT_EQ((*list)[0].envelope_from, "x@y");
    // The new calls work on the old rows: CHANGEDSINCE (through messages_modseq), expunge + VANISHED.
    auto changed = (*s)->list_messages(*inbox, 1, 2);
    ASSERT_TRUE(changed) << changed.error().message;
    ASSERT_EQ(changed->size(), 2u);
    EXPECT_EQ((*changed)[0].uid, 2u);
    EXPECT_EQ((*changed)[1].uid, 3u);
    EXPECT_TRUE((*(*s)->expunged_since(*inbox, 0)).empty());
    const std::uint32_t three[] = {3};
    auto gone = (*s)->expunge(*inbox, three);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->modseq, 7u);
    EXPECT_THAT(*(*s)->expunged_since(*inbox, 6), ::testing::ElementsAre(3u));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "2") << "body 1 is still named by two rows";
    auto moved = (*s)->move_messages(*inbox, std::vector<std::uint32_t>{1}, "Work");
    ASSERT_TRUE(moved) << moved.error().message;
    EXPECT_THAT(moved->first.dest_uids, ::testing::ElementsAre(2u));
    EXPECT_EQ(*(*s)->read_message(kUser, "Work", 2), "Return-Path: <x@y>\r\nshared body");
    EXPECT_TRUE((*(*s)->append(std::vector{msg("again", "q:7:alice@example.org")}))[0].duplicate);
    ASSERT_TRUE((*s)->set_subscribed(kUser, "Work", true));
    // Mailbox ids continue above the old ones and are not reused after a delete.
    ASSERT_TRUE((*s)->create_mailbox(kUser, "New", SpecialUse::None));
    EXPECT_EQ((*s)->mailbox(kUser, "New")->id, 10);
    EXPECT_GT((*s)->mailbox(kUser, "New")->uidvalidity, 1009u);
    ASSERT_TRUE((*s)->delete_mailbox(kUser, "New"));
    ASSERT_TRUE((*s)->create_mailbox(kUser, "Newer", SpecialUse::None));
    EXPECT_EQ((*s)->mailbox(kUser, "Newer")->id, 11);
    s->reset();
    auto reopened = open_sqlite_store(dir.path());
    ASSERT_TRUE(reopened) << "a migrated store opens again as version 5";
    EXPECT_TRUE((*reopened)->mailbox(kUser, "Work")->subscribed);
    EXPECT_EQ((*reopened)->mailbox(kUser, "Work")->messages, 2u);
}

// A version-3 store.db (this schema without the summaries table and its trigger: made by
// downgrading a fresh one) is migrated to version 4 in place: every old message has no summary yet
// ("not computed"), one can be kept and read back, and it goes with its body.
TEST(SqliteStore, MigratesVersion3InPlace) {
    tern::testing::TempDir dir;
    {
        auto s = open_sqlite_store(dir.path());
        ASSERT_TRUE(s) << s.error().message;
        ASSERT_TRUE((*s)->create_account(kUser));
        ASSERT_TRUE((*s)->append(std::vector{msg("Subject: one\r\n\r\n1\r\n"), msg("Subject: two\r\n\r\n2\r\n")}));
    }
    ASSERT_TRUE(exec(dir.path(), R"sql(
DROP TRIGGER bodies_drop_summary;
DROP TABLE summaries;
ALTER TABLE mailboxes DROP COLUMN first_recent_uid;
PRAGMA user_version = 3;
)sql"));
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "5");
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM summaries"), "0");
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox) << inbox.error().message;
    auto none = (*s)->summary(*inbox, 1);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(none->has_value()) << "old rows: not computed yet";
    const std::pair<std::uint32_t, std::string> one[] = {{1, std::string("S\0one", 5)}};
    ASSERT_TRUE((*s)->set_summaries(*inbox, one));
    EXPECT_EQ((*s)->summary(*inbox, 1)->value_or("-"), std::string("S\0one", 5));
    EXPECT_FALSE((*s)->summary(*inbox, 2)->has_value());
    EXPECT_EQ((*s)->read_message(kUser, "INBOX", 1).value_or(""), "Subject: one\r\n\r\n1\r\n");
    const std::uint32_t first[] = {1};
    ASSERT_TRUE((*s)->expunge(*inbox, first));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM summaries"), "0") << "the summary goes with its body";
    s->reset();
    auto reopened = open_sqlite_store(dir.path());
    ASSERT_TRUE(reopened) << "a migrated store opens again as version 5";
}

// A version-4 store.db (this schema without the \Recent mark: made by downgrading a fresh one)
// is migrated to version 5 in place: what it held is old (the mark at uidnext), what arrives
// afterwards is \Recent and claimed once; a new mailbox starts with its mark at 1.
TEST(SqliteStore, MigratesVersion4InPlace) {
    tern::testing::TempDir dir;
    {
        auto s = open_sqlite_store(dir.path());
        ASSERT_TRUE(s) << s.error().message;
        ASSERT_TRUE((*s)->create_account(kUser));
        ASSERT_TRUE((*s)->append(std::vector{msg("one"), msg("two")}));
    }
    ASSERT_TRUE(exec(dir.path(), R"sql(
ALTER TABLE mailboxes DROP COLUMN first_recent_uid;
PRAGMA user_version = 4;
)sql"));
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "5");
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox) << inbox.error().message;
    EXPECT_EQ((*s)->mailbox_info(*inbox)->first_recent_uid, 3u) << "old messages are not \\Recent";
    EXPECT_EQ((*s)->mailbox(kUser, "Sent")->first_recent_uid, 1u) << "empty: uidnext 1";
    ASSERT_TRUE((*s)->append(std::vector{msg("three")}));
    auto claimed = (*s)->claim_recent(*inbox, 100);
    ASSERT_TRUE(claimed) << claimed.error().message;
    EXPECT_EQ(*claimed, (std::pair<std::uint32_t, std::uint32_t>{3, 4}));
    ASSERT_TRUE((*s)->create_mailbox(kUser, "New", SpecialUse::None));
    EXPECT_EQ((*s)->mailbox(kUser, "New")->first_recent_uid, 1u);
    s->reset();
    auto reopened = open_sqlite_store(dir.path());
    ASSERT_TRUE(reopened) << "a migrated store opens again as version 5";
    EXPECT_EQ((*reopened)->mailbox(kUser, "INBOX")->first_recent_uid, 4u) << "the claim is durable";
}

// MOVE is one transaction: a failure after the copies were inserted (here a DELETE refused by an
// injected trigger) leaves the source and the destination as they were. COPY into a mailbox with
// too few UIDs left is refused before anything is written.
TEST(SqliteStore, MoveRollsBackWholeAndCopyChecksUidSpace) {
    tern::testing::TempDir dir;
    auto s = open_sqlite_store(dir.path());
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->create_account(kUser));
    ASSERT_TRUE((*s)->append(std::vector{msg("one"), msg("two"), msg("three")}));
    int notices = 0;
    (*s)->set_change_listener([&](std::string_view) { ++notices; });
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox);
    const auto before = *(*s)->mailbox_info(*inbox);
    ASSERT_TRUE(exec(dir.path(), "CREATE TRIGGER fail_delete BEFORE DELETE ON messages WHEN OLD.uid = 2 "
                                 "BEGIN SELECT RAISE(ABORT, 'injected'); END;"));
    const std::uint32_t all[] = {1, 2, 3};
    auto moved = (*s)->move_messages(*inbox, all, "Archive");
    ASSERT_FALSE(moved);
    EXPECT_THAT(moved.error().message, ::testing::HasSubstr("injected"));
    EXPECT_EQ((*s)->mailbox(kUser, "Archive")->messages, 0u);
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM messages"), "3") << "the copies were rolled back";
    auto after = *(*s)->mailbox_info(*inbox);
    EXPECT_EQ(after.messages, 3u);
    EXPECT_EQ(after.highest_modseq, before.highest_modseq);
    EXPECT_TRUE((*s)->expunged_since(*inbox, 0)->empty());
    EXPECT_EQ(notices, 0);
    ASSERT_TRUE(exec(dir.path(), "DROP TRIGGER fail_delete"));
    ASSERT_TRUE((*s)->move_messages(*inbox, all, "Archive"));
    EXPECT_EQ(notices, 1);
    EXPECT_EQ((*s)->mailbox(kUser, "Archive")->messages, 3u);

    ASSERT_TRUE(exec(dir.path(), "UPDATE mailboxes SET uidnext = 4294967294 WHERE name = 'Trash'"));
    auto archive = (*s)->open_mailbox(kUser, "Archive");
    ASSERT_TRUE(archive);
    auto copied = (*s)->copy_messages(*archive, all, "Trash");
    ASSERT_FALSE(copied);
    EXPECT_EQ(copied.error().code, ENOSPC);
    EXPECT_EQ((*s)->mailbox(kUser, "Trash")->messages, 0u);
    const std::uint32_t one[] = {1};
    copied = (*s)->copy_messages(*archive, one, "Trash");
    ASSERT_TRUE(copied) << "the last UID can still be used";
    EXPECT_THAT(copied->dest_uids, ::testing::ElementsAre(4294967294u));
}

// The listener runs after COMMIT: another connection already sees the change.
TEST(SqliteStore, ChangeListenerRunsAfterCommit) {
    tern::testing::TempDir dir;
    auto s = open_sqlite_store(dir.path());
    auto other = open_sqlite_store(dir.path());
    ASSERT_TRUE(s);
    ASSERT_TRUE(other);
    ASSERT_TRUE((*s)->create_account(kUser));
    std::vector<std::uint32_t> seen;
    (*s)->set_change_listener([&](std::string_view account) {
        auto box = (*other)->mailbox(account, "INBOX");
        seen.push_back(box ? box->messages : 999);
    });
    ASSERT_TRUE((*s)->append(std::vector{msg("a"), msg("b")}));
    auto inbox = (*s)->open_mailbox(kUser, "INBOX");
    ASSERT_TRUE(inbox);
    const std::uint32_t one[] = {1};
    ASSERT_TRUE((*s)->expunge(*inbox, one));
    EXPECT_THAT(seen, ::testing::ElementsAre(2u, 1u));
}

// Another process's write transaction (the server delivering a large batch), held open.
class HeldWriteLock {
public:
    explicit HeldWriteLock(const std::filesystem::path& dir) {
        if (sqlite3_open((dir / "store.db").c_str(), &db_) == SQLITE_OK)
            held_ = sqlite3_exec(db_, "BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'last_uidvalidity'",
                                 nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    ~HeldWriteLock() { release(); sqlite3_close(db_); }
    bool held() const { return held_; }
    void release() {
        if (held_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
        held_ = false;
    }

private:
    sqlite3* db_ = nullptr;
    bool held_ = false;
};

// Issue 7: `ternd export mbox` during a large delivery failed with "BEGIN IMMEDIATE: database is
// locked": every open took the write lock to check the schema.
TEST(SqliteStore, OpenAndReadsDoNotWaitForAWriter) {
    tern::testing::TempDir dir;
    {
        auto s = open_sqlite_store(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->create_account(kUser));
        ASSERT_TRUE((*s)->append(std::vector{msg("kept")}));
    }
    HeldWriteLock lock(dir.path());
    ASSERT_TRUE(lock.held());
    SqliteOptions options;
    options.busy_timeout = std::chrono::milliseconds(500);  // the old code would have given up here
    auto s = open_sqlite_store(dir.path(), options);
    ASSERT_TRUE(s) << s.error().message;
    auto list = (*s)->list_messages(kUser, "INBOX");
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(list->size(), 1u);
    EXPECT_EQ(*(*s)->read_message(kUser, "INBOX", 1), "kept");
    EXPECT_EQ((*s)->list_mailboxes(kUser)->size(), 6u);
}

// A write waits for the other writer (telling once after a second), and one that waits longer
// than its timeout fails with EBUSY and a message that says so.
TEST(SqliteStore, WriteWaitsForAnotherWriterThenGivesUpClearly) {
    tern::testing::TempDir dir;
    ASSERT_TRUE(open_sqlite_store(dir.path()));
    {
        HeldWriteLock lock(dir.path());
        ASSERT_TRUE(lock.held());
        SqliteOptions options;
        options.busy_timeout = std::chrono::milliseconds(300);
        auto s = open_sqlite_store(dir.path(), options);
        ASSERT_TRUE(s) << s.error().message;
        auto r = (*s)->create_account(kUser);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, EBUSY);
        EXPECT_THAT(r.error().message, ::testing::HasSubstr("gave up after"));
    }
    HeldWriteLock lock(dir.path());
    ASSERT_TRUE(lock.held());
    std::atomic<bool> told{false};
    SqliteOptions options;
    options.busy_timeout = std::chrono::seconds(60);
    options.on_slow_lock = [&] { told = true; };
    auto s = open_sqlite_store(dir.path(), options);
    ASSERT_TRUE(s) << s.error().message;
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        lock.release();
    });
    auto r = (*s)->create_account(kUser);
    releaser.join();
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(told) << "a wait of more than a second is reported once";
    EXPECT_EQ((*s)->has_account(kUser), true);
}

TEST(SqliteStore, SecondConnectionSeesAppendsAtOnce) {
    tern::testing::TempDir dir;
    auto server = open_sqlite_store(dir.path());
    auto admin = open_sqlite_store(dir.path());
    ASSERT_TRUE(server);
    ASSERT_TRUE(admin);
    ASSERT_TRUE((*admin)->create_account(kUser));
    EXPECT_EQ((*server)->has_account(kUser), true);
    ASSERT_TRUE((*server)->append(std::vector{msg("x")}));
    auto r = (*admin)->append(std::vector{msg("y")});
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].uid, 2u) << "UID allocation is shared through the database, not cached";
    EXPECT_EQ((*server)->mailbox(kUser, "INBOX")->messages, 2u);
}

TEST(SqliteStore, RefusesNewerSchema) {
    tern::testing::TempDir dir;
    ASSERT_TRUE(open_sqlite_store(dir.path()));
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version = 99"), "<error>");  // statement returns no row
    auto s = open_sqlite_store(dir.path());
    ASSERT_FALSE(s);
    EXPECT_THAT(s.error().message, ::testing::HasSubstr("schema version 99"));
}

TEST(SqliteStore, CreatesMissingDirectory) {
    tern::testing::TempDir dir;
    auto s = open_sqlite_store(dir.path() / "nested" / "store");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "nested" / "store" / "store.db"));
}

}  // namespace
}  // namespace tern::store
