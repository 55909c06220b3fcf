// Tests for the credentials the SQLite Directory keeps besides the yescrypt hash: SCRAM-SHA-256 keys
// (RFC 5802/5803), the APOP shared secret (RFC 1939 §7), and the schema 1 -> 2 migration that added them.
// Must never touch files outside the temp dirs it creates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include <sqlite3.h>
#include <stdlib.h>

#include <cerrno>

#include "directory/directory.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::directory {
namespace {

using ::testing::HasSubstr;
using tern::testing::TempDir;


// Runs `sql` on <dir>/directory.db with the plain C API; returns the first column of each row.
std::vector<std::string> raw_sql(const std::filesystem::path& dir, const std::string& sql) {
    sqlite3* db = nullptr;
    std::vector<std::string> out;
    EXPECT_EQ(sqlite3_open((dir / "directory.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    const char* tail = sql.c_str();
    while (*tail) {
        EXPECT_EQ(sqlite3_prepare_v2(db, tail, -1, &st, &tail), SQLITE_OK) << sqlite3_errmsg(db);
        if (!st) break;
        while (sqlite3_step(st) == SQLITE_ROW) {
            auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            out.emplace_back(t ? t : "<NULL>");
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

class CredentialsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto d = open_sqlite_directory(tmp_.path());
        ASSERT_TRUE(d) << d.error().message;
        dir_ = std::move(*d);
        ASSERT_TRUE(dir_->add_domain("example.org"));
    }

    sasl::ScramCredentials scram(std::string_view address) {
        auto c = dir_->scram_credentials(address);
        EXPECT_TRUE(c) << c.error().message;
        EXPECT_TRUE(c && *c) << "no SCRAM credentials for " << address;
        return c && *c ? **c : sasl::ScramCredentials{};
    }

    TempDir tmp_;
    std::unique_ptr<Directory> dir_;
};

TEST_F(CredentialsTest, ScramStoredWithEveryPassword) {
    ASSERT_TRUE(dir_->add_user("Alice@example.org", "pencil"));
    ASSERT_TRUE(dir_->add_user("bob@example.org", "pencil"));
    const auto alice = scram("ALICE@Example.org");
    EXPECT_EQ(alice.iterations, sasl::kScramIterations);
    EXPECT_EQ(alice.salt.size(), sasl::kScramSaltBytes);
    // The keys are those of the password, with the stored salt (RFC 5802 §3).
    EXPECT_EQ(*sasl::derive_scram("pencil", alice.salt, alice.iterations), alice);
    EXPECT_NE(*sasl::derive_scram("pencil!", alice.salt, alice.iterations), alice);
    // Same password, different salt: nothing to compare across users.
    EXPECT_NE(scram("bob@example.org").salt, alice.salt);
    EXPECT_NE(scram("bob@example.org").stored_key, alice.stored_key);

    // set_password replaces both the yescrypt hash and the SCRAM keys.
    ASSERT_TRUE(dir_->set_password("alice@example.org", "battery staple"));
    const auto changed = scram("alice@example.org");
    EXPECT_NE(changed.salt, alice.salt);
    EXPECT_EQ(*sasl::derive_scram("battery staple", changed.salt, changed.iterations), changed);
    EXPECT_EQ(dir_->verify_password("alice@example.org", "battery staple"), true);

    auto none = dir_->scram_credentials("nobody@example.org");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    ASSERT_TRUE(dir_->remove_user("bob@example.org"));
    EXPECT_FALSE(*dir_->scram_credentials("bob@example.org"));

    // On disk: the RFC 5803 form, never the password.
    auto rows = raw_sql(tmp_.path(), "SELECT scram FROM users WHERE address = 'alice@example.org'");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0].starts_with("SCRAM-SHA-256$10000:")) << rows[0];
    EXPECT_EQ(rows[0].find("battery"), std::string::npos);
    EXPECT_EQ(*sasl::parse_scram(rows[0]), changed);
}

TEST_F(CredentialsTest, StoredScramFeedsTheServerFirstMessage) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pencil"));
    auto creds = dir_->scram_credentials("alice@example.org");
    ASSERT_TRUE(creds && *creds);
    // The server-first message advertises the stored salt and count, as a client needs to derive the keys.
    auto m = sasl::make_scram_for_test("srv");
    ASSERT_EQ(m->start("n,,n=alice@example.org,r=cli").kind, sasl::Step::Kind::NeedScram);
    auto first = m->credentials(*creds);
    ASSERT_EQ(first.kind, sasl::Step::Kind::Challenge);
    EXPECT_EQ(first.data, "r=clisrv,s=" + sasl::base64_encode((*creds)->salt) + ",i=10000");
}

TEST_F(CredentialsTest, CorruptStoredScramIsAnError) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pencil"));
    raw_sql(tmp_.path(), "UPDATE users SET scram = 'SCRAM-SHA-256$x' WHERE address = 'alice@example.org'");
    auto c = dir_->scram_credentials("alice@example.org");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, EIO);
    EXPECT_THAT(c.error().message, HasSubstr("malformed"));
    EXPECT_EQ(c.error().message.find("SCRAM-SHA-256$x"), std::string::npos);  // the value stays out
}

TEST_F(CredentialsTest, ApopSecretIsSeparateFromThePassword) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "login password"));
    auto none = dir_->apop_secret("alice@example.org");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);  // never defaults to the login password

    ASSERT_TRUE(dir_->set_apop_secret("Alice@Example.org", "tanstaaf"));  // RFC 1939 §7 example secret
    EXPECT_EQ(*dir_->apop_secret("alice@example.org"), std::optional<std::string>("tanstaaf"));
    ASSERT_TRUE(dir_->set_password("alice@example.org", "new password"));  // leaves the secret alone
    EXPECT_EQ(*dir_->apop_secret("ALICE@example.org"), std::optional<std::string>("tanstaaf"));
    EXPECT_EQ(dir_->verify_password("alice@example.org", "tanstaaf"), false);

    // Its own column; the password column still holds only a yescrypt hash.
    auto rows = raw_sql(tmp_.path(), "SELECT apop_secret FROM users; SELECT password_hash FROM users");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], "tanstaaf");
    EXPECT_TRUE(rows[1].starts_with("$y$"));

    ASSERT_TRUE(dir_->set_apop_secret("alice@example.org", ""));  // removes it
    EXPECT_FALSE(*dir_->apop_secret("alice@example.org"));
    EXPECT_EQ(raw_sql(tmp_.path(), "SELECT apop_secret FROM users"), std::vector<std::string>{"<NULL>"});

    EXPECT_EQ(dir_->set_apop_secret("nobody@example.org", "x").error().code, ENOENT);
    EXPECT_FALSE(*dir_->apop_secret("nobody@example.org"));
    for (std::string bad :
         {std::string(256, 's'), std::string("a\0b", 3), std::string("a\nb"), std::string("\x7f")}) {
        auto r = dir_->set_apop_secret("alice@example.org", bad);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_EQ(r.error().message.find(bad), std::string::npos);
    }
    EXPECT_TRUE(dir_->set_apop_secret("alice@example.org", std::string(255, 's')));
    EXPECT_TRUE(dir_->set_apop_secret("alice@example.org", "p\xc3\xa4ss phrase"));

    ASSERT_TRUE(dir_->remove_user("alice@example.org"));  // the secret goes with the user
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    EXPECT_FALSE(*dir_->apop_secret("alice@example.org"));
}

// A data dir written by a schema-1 build keeps working: migrated in place on open, users and passwords
// intact, SCRAM available once the password is set again.
TEST(DirectoryMigration, Schema1To2) {
    TempDir tmp;
    std::string hash;
    {
        TempDir scratch;  // borrow a genuine yescrypt hash of "old password"
        auto d = open_sqlite_directory(scratch.path());
        ASSERT_TRUE(d);
        ASSERT_TRUE((*d)->add_domain("example.org"));
        ASSERT_TRUE((*d)->add_user("x@example.org", "old password"));
        hash = raw_sql(scratch.path(), "SELECT password_hash FROM users").at(0);
    }
    raw_sql(tmp.path(), R"sql(
CREATE TABLE domains(name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE users(address TEXT PRIMARY KEY, domain TEXT NOT NULL REFERENCES domains(name),
                   password_hash TEXT NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX users_domain ON users(domain);
CREATE TABLE aliases(source TEXT NOT NULL, target TEXT NOT NULL, domain TEXT NOT NULL REFERENCES domains(name),
                     PRIMARY KEY(source, target)) WITHOUT ROWID;
CREATE INDEX aliases_domain ON aliases(domain);
INSERT INTO domains VALUES('example.org');
INSERT INTO users VALUES('old@example.org', 'example.org', ')sql" +
                            hash + R"sql(', 1700000000);
INSERT INTO aliases VALUES('team@example.org', 'old@example.org', 'example.org');
PRAGMA user_version = 1;
)sql");
    auto d = open_sqlite_directory(tmp.path());
    ASSERT_TRUE(d) << d.error().message;
    auto& dir = **d;
    EXPECT_EQ(raw_sql(tmp.path(), "PRAGMA user_version"), std::vector<std::string>{"2"});
    EXPECT_EQ(dir.verify_password("old@example.org", "old password"), true);
    EXPECT_EQ(dir.resolve("team@example.org")->accounts, std::vector<std::string>{"old@example.org"});
    EXPECT_FALSE(*dir.scram_credentials("old@example.org"));  // nothing to derive them from yet
    EXPECT_FALSE(*dir.apop_secret("old@example.org"));
    ASSERT_TRUE(dir.set_password("old@example.org", "new password"));
    auto c = dir.scram_credentials("old@example.org");
    ASSERT_TRUE(c && *c);
    EXPECT_EQ(*sasl::derive_scram("new password", (*c)->salt, (*c)->iterations), **c);
    ASSERT_TRUE(dir.set_apop_secret("old@example.org", "s"));
    ASSERT_TRUE(dir.add_user("new@example.org", "pw"));
    EXPECT_TRUE(*dir.scram_credentials("new@example.org"));

    // Opening again is a no-op: already at version 2.
    d->reset();
    auto again = open_sqlite_directory(tmp.path());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*(*again)->apop_secret("old@example.org"), std::optional<std::string>("s"));
}

}  // namespace
}  // namespace tern::directory
