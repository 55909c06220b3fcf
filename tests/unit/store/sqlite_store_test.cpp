// Tests specific to the SQLite MailStore: persistence across reopen, on-disk settings, body cleanup,
// a second connection (admin CLI) on the same file. Must never touch files outside its temp dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cerrno>

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
    EXPECT_EQ(query(dir.path(), "PRAGMA user_version"), "1");
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "3");
    EXPECT_EQ(query(dir.path(), "SELECT flags FROM messages WHERE uid = 1"), "");
    const std::uint32_t one[] = {1};
    ASSERT_TRUE((*s)->expunge(kUser, "INBOX", one));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "2");
    ASSERT_TRUE((*s)->delete_account(kUser));
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM bodies"), "0") << "cascade must not leak bodies";
    EXPECT_EQ(query(dir.path(), "SELECT COUNT(*) FROM mailboxes"), "0");
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
