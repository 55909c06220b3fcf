// Tests for the SQLite Directory: domain/user/alias administration, yescrypt passwords, recipient
// resolution precedence and limits, and visibility of changes made through a second connection.
// Must never touch files outside the temp dir it creates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include <sqlite3.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "directory/directory.hpp"

namespace tern::directory {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tern::testing::TempDir;
using Kind = Resolution::Kind;


class DirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto d = open_sqlite_directory(tmp_.path());
        ASSERT_TRUE(d) << d.error().message;
        dir_ = std::move(*d);
        ASSERT_TRUE(dir_->add_domain("example.org"));
    }

    Resolution resolve(std::string_view address) {
        auto r = dir_->resolve(address);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : Resolution{};
    }

    void alias(std::string_view source, std::vector<std::string> targets) {
        auto r = dir_->add_alias(source, targets);
        ASSERT_TRUE(r) << r.error().message;
    }

    TempDir tmp_;
    std::unique_ptr<Directory> dir_;
};

TEST(CanonicalAddress, LowerCasesAsciiOnly) {
    EXPECT_EQ(canonical_address("Alice.Smith@Example.ORG"), "alice.smith@example.org");
    EXPECT_EQ(canonical_address("J\xC3\x96rg@EXAMPLE.org"), "j\xC3\x96rg@example.org");
}

TEST_F(DirectoryTest, DomainsCrud) {
    ASSERT_TRUE(dir_->add_domain("Mail.Example.NET"));
    EXPECT_THAT(*dir_->list_domains(), ElementsAre("example.org", "mail.example.net"));
    EXPECT_EQ(dir_->is_local_domain("EXAMPLE.org"), true);
    EXPECT_EQ(dir_->is_local_domain("example.com"), false);
    auto dup = dir_->add_domain("example.ORG");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    EXPECT_THAT(dup.error().message, HasSubstr("already exists"));
    for (std::string bad :
         std::vector<std::string>{"", "-bad.org", "bad-.org", "a..b", "x_y.org", "ex ample.org",
                                  "example.org.", std::string(64, 'a') + ".org",
                                  "b\xC3\xBC"
                                  "cher.de"}) {
        auto r = dir_->add_domain(bad);
        ASSERT_FALSE(r) << "accepted domain " << bad;
        EXPECT_EQ(r.error().code, EINVAL);
    }
    EXPECT_EQ(dir_->remove_domain("nowhere.org").error().code, ENOENT);
    ASSERT_TRUE(dir_->remove_domain("mail.example.net"));
    EXPECT_THAT(*dir_->list_domains(), ElementsAre("example.org"));
}

TEST_F(DirectoryTest, RemoveDomainRefusesWhileInUse) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    alias("@example.org", {"alice@example.org"});
    auto r = dir_->remove_domain("example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOTEMPTY);
    EXPECT_THAT(r.error().message, HasSubstr("1 user(s) and 1 alias(es)"));
    ASSERT_TRUE(dir_->remove_user("alice@example.org"));
    EXPECT_EQ(dir_->remove_domain("example.org").error().code, ENOTEMPTY);
    ASSERT_TRUE(dir_->remove_alias("@example.org", {}));
    ASSERT_TRUE(dir_->remove_domain("example.org"));
    EXPECT_EQ(dir_->is_local_domain("example.org"), false);
}

TEST_F(DirectoryTest, UsersCrud) {
    auto foreign = dir_->add_user("bob@elsewhere.net", "pw");
    ASSERT_FALSE(foreign);
    EXPECT_THAT(foreign.error().message, HasSubstr("not a local domain"));
    ASSERT_TRUE(dir_->add_user("Alice@Example.ORG", "pw"));
    EXPECT_EQ(dir_->user_exists("alice@example.org"), true);
    EXPECT_EQ(dir_->user_exists("ALICE@example.org"), true);
    EXPECT_EQ(dir_->user_exists("bob@example.org"), false);
    auto dup = dir_->add_user("alice@EXAMPLE.org", "other");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    EXPECT_THAT(dup.error().message, HasSubstr("user already exists"));
    EXPECT_EQ(dir_->add_user("carol@example.org", "").error().code, EINVAL);
    EXPECT_EQ(dir_->add_user("carol@example.org", std::string("a\0b", 3)).error().code, EINVAL);
    for (const char* bad : {"carol", "ca rol@example.org", "@example.org", "a<b@example.org", "carol@"}) {
        EXPECT_EQ(dir_->add_user(bad, "pw").error().code, EINVAL) << bad;
    }
    ASSERT_TRUE(dir_->add_user("bob@example.org", "pw"));
    EXPECT_THAT(*dir_->list_users(), ElementsAre("alice@example.org", "bob@example.org"));
    ASSERT_TRUE(dir_->remove_user("ALICE@example.org"));
    EXPECT_EQ(dir_->user_exists("alice@example.org"), false);
    EXPECT_EQ(dir_->remove_user("alice@example.org").error().code, ENOENT);
}

TEST_F(DirectoryTest, PasswordsAreYescryptAndVerifyConstantWork) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "correct horse"));
    ASSERT_TRUE(dir_->add_user("bob@example.org", "correct horse"));
    EXPECT_EQ(dir_->verify_password("alice@example.org", "correct horse"), true);
    EXPECT_EQ(dir_->verify_password("Alice@Example.org", "correct horse"), true);
    EXPECT_EQ(dir_->verify_password("alice@example.org", "correct horsE"), false);
    EXPECT_EQ(dir_->verify_password("alice@example.org", "correct horse "), false);
    EXPECT_EQ(dir_->verify_password("alice@example.org", ""), false);
    EXPECT_EQ(dir_->verify_password("alice@example.org", std::string("correct horse\0x", 15)), false);
    EXPECT_EQ(dir_->verify_password("nobody@example.org", "correct horse"), false);
    EXPECT_EQ(dir_->verify_password("nobody@elsewhere.net", ""), false);

    // What is on disk: yescrypt, salted (same password, different hashes), never the password.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((tmp_.path() / "directory.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT password_hash FROM users ORDER BY address", -1, &st, nullptr),
              SQLITE_OK);
    std::vector<std::string> hashes;
    while (sqlite3_step(st) == SQLITE_ROW)
        hashes.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    ASSERT_EQ(hashes.size(), 2u);
    for (const auto& h : hashes) {
        EXPECT_TRUE(h.starts_with("$y$")) << h;
        EXPECT_EQ(h.find("correct"), std::string::npos);
        EXPECT_GT(h.size(), 40u);
    }
    EXPECT_NE(hashes[0], hashes[1]);

    ASSERT_TRUE(dir_->set_password("alice@example.org", "battery staple"));
    EXPECT_EQ(dir_->verify_password("alice@example.org", "battery staple"), true);
    EXPECT_EQ(dir_->verify_password("alice@example.org", "correct horse"), false);
    EXPECT_EQ(dir_->set_password("nobody@example.org", "x").error().code, ENOENT);
    EXPECT_EQ(dir_->set_password("alice@example.org", "").error().code, EINVAL);
}

TEST_F(DirectoryTest, AliasesCrud) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    alias("Team@Example.org", {"ALICE@example.org", "Carol@Remote.NET"});
    auto list = dir_->list_aliases();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].source, "team@example.org");
    // Local targets are canonical; a remote local part keeps its case (RFC 5321 §2.4).
    EXPECT_THAT((*list)[0].targets, ElementsAre("Carol@remote.net", "alice@example.org"));

    auto dup = dir_->add_alias("team@example.org", {"alice@Example.org"});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    EXPECT_THAT(dup.error().message, HasSubstr("already exists"));
    EXPECT_EQ(dir_->add_alias("x@example.org", {"a@remote.net", "a@remote.net"}).error().code, EEXIST);
    EXPECT_EQ(dir_->add_alias("alice@example.org", {"a@remote.net"}).error().code, EEXIST) << "user exists";
    EXPECT_EQ(dir_->add_user("team@example.org", "pw").error().code, EEXIST) << "alias exists";
    EXPECT_EQ(dir_->add_alias("x@elsewhere.net", {"alice@example.org"}).error().code, ENOENT);
    EXPECT_EQ(dir_->add_alias("x@example.org", {}).error().code, EINVAL);
    EXPECT_EQ(dir_->add_alias("x@example.org", {"@example.org"}).error().code, EINVAL);
    EXPECT_EQ(dir_->add_alias("x@example.org", {"X@example.org"}).error().code, EINVAL) << "self";
    EXPECT_EQ(dir_->list_aliases()->size(), 1u) << "failed adds leave nothing behind";

    alias("team@example.org", {"dave@remote.net"});
    ASSERT_TRUE(dir_->remove_alias("TEAM@example.org", {"Carol@remote.net"}));
    EXPECT_THAT(dir_->list_aliases()->at(0).targets, ElementsAre("alice@example.org", "dave@remote.net"));
    EXPECT_EQ(dir_->remove_alias("team@example.org", {"carol@remote.net"}).error().code, ENOENT);
    ASSERT_TRUE(dir_->remove_alias("team@example.org", {}));
    EXPECT_TRUE(dir_->list_aliases()->empty());
    EXPECT_EQ(dir_->remove_alias("team@example.org", {}).error().code, ENOENT);
}

TEST_F(DirectoryTest, ResolveExactUserAliasAndNotLocal) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("bob@example.org", "pw"));
    alias("team@example.org", {"alice@example.org", "bob@example.org", "Carol@remote.net"});

    auto user = resolve("ALICE@Example.org");
    EXPECT_EQ(user.kind, Kind::Ok);
    EXPECT_THAT(user.accounts, ElementsAre("alice@example.org"));
    EXPECT_TRUE(user.remote.empty());

    auto team = resolve("team@example.org");
    EXPECT_EQ(team.kind, Kind::Ok);
    EXPECT_THAT(team.accounts, ElementsAre("alice@example.org", "bob@example.org"));
    EXPECT_THAT(team.remote, ElementsAre("Carol@remote.net"));

    EXPECT_EQ(resolve("alice@elsewhere.net").kind, Kind::NotLocal);
    EXPECT_EQ(resolve("nobody@example.org").kind, Kind::Unknown);
    EXPECT_EQ(resolve("no-at-sign").kind, Kind::Unknown);
}

TEST_F(DirectoryTest, ResolvePlusAddressingAndCatchAllPrecedence) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("bob@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("a+b@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("postmaster@example.org", "pw"));
    alias("team@example.org", {"bob@example.org"});

    EXPECT_THAT(resolve("Alice+Lists@example.org").accounts, ElementsAre("alice@example.org"));
    EXPECT_THAT(resolve("team+x@example.org").accounts, ElementsAre("bob@example.org"));
    EXPECT_THAT(resolve("a+b@example.org").accounts, ElementsAre("a+b@example.org")) << "exact beats plus";
    EXPECT_EQ(resolve("+tag@example.org").kind, Kind::Unknown);
    EXPECT_EQ(resolve("carol+x@example.org").kind, Kind::Unknown);

    alias("@example.org", {"postmaster@example.org"});
    EXPECT_THAT(resolve("carol+x@example.org").accounts, ElementsAre("postmaster@example.org"));
    EXPECT_THAT(resolve("whoever@example.org").accounts, ElementsAre("postmaster@example.org"));
    EXPECT_THAT(resolve("alice+x@example.org").accounts, ElementsAre("alice@example.org"))
        << "plus beats catch-all";
    EXPECT_THAT(resolve("team@example.org").accounts, ElementsAre("bob@example.org"))
        << "alias beats catch-all";
    EXPECT_THAT(resolve("alice@example.org").accounts, ElementsAre("alice@example.org"));
}

TEST_F(DirectoryTest, ResolveSkipsUnknownLocalTargetsAndNeverUsesCatchAllForTargets) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("postmaster@example.org", "pw"));
    alias("@example.org", {"postmaster@example.org"});
    alias("mixed@example.org", {"alice@example.org", "gone@example.org"});
    alias("ghost@example.org", {"gone@example.org", "typo@example.org"});
    EXPECT_THAT(resolve("mixed@example.org").accounts, ElementsAre("alice@example.org"));
    auto ghost = resolve("ghost@example.org");
    EXPECT_EQ(ghost.kind, Kind::Unknown)
        << "an alias whose targets all vanished does not fall to the catch-all";
    EXPECT_TRUE(ghost.accounts.empty());
}

TEST_F(DirectoryTest, ResolveNestedAliasesDeduplicateAndSurviveCycles) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    ASSERT_TRUE(dir_->add_user("bob@example.org", "pw"));
    // Diamond: all -> {devs, ops}; both contain alice.
    alias("devs@example.org", {"alice@example.org", "bob+devs@example.org"});
    alias("ops@example.org", {"alice@example.org", "x@remote.net"});
    alias("all@example.org", {"devs@example.org", "ops@example.org", "x@remote.net"});
    auto all = resolve("all@example.org");
    EXPECT_EQ(all.kind, Kind::Ok);
    EXPECT_THAT(all.accounts, ElementsAre("alice@example.org", "bob@example.org"));
    EXPECT_THAT(all.remote, ElementsAre("x@remote.net"));

    // Cycle with a way out: loop1 -> loop2 -> loop1, loop2 also -> bob.
    alias("loop1@example.org", {"loop2@example.org"});
    alias("loop2@example.org", {"loop1@example.org", "bob@example.org"});
    auto loop = resolve("loop1@example.org");
    EXPECT_EQ(loop.kind, Kind::Ok);
    EXPECT_THAT(loop.accounts, ElementsAre("bob@example.org"));
    // A pure cycle delivers nowhere.
    alias("ping@example.org", {"pong@example.org"});
    alias("pong@example.org", {"ping@example.org"});
    EXPECT_EQ(resolve("ping@example.org").kind, Kind::Unknown);
}

TEST_F(DirectoryTest, ResolveBoundsDepth) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    // a1 -> a2 -> ... -> aN -> alice
    auto chain = [&](const std::string& prefix, int n) {
        for (int i = 1; i < n; ++i) {
            alias(prefix + std::to_string(i) + "@example.org",
                  {prefix + std::to_string(i + 1) + "@example.org"});
        }
        alias(prefix + std::to_string(n) + "@example.org", {"alice@example.org"});
    };
    chain("ok", 8);
    EXPECT_THAT(resolve("ok1@example.org").accounts, ElementsAre("alice@example.org"));
    chain("deep", 9);
    auto deep = dir_->resolve("deep1@example.org");
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error().code, ELOOP);
    EXPECT_THAT(resolve("deep2@example.org").accounts, ElementsAre("alice@example.org"));
}

TEST_F(DirectoryTest, ResolveBoundsFanOut) {
    std::vector<std::string> targets;
    for (int i = 0; i < 1000; ++i) targets.push_back("r" + std::to_string(i) + "@remote.net");
    alias("big@example.org", targets);
    auto big = resolve("big@example.org");
    EXPECT_EQ(big.kind, Kind::Ok);
    EXPECT_EQ(big.remote.size(), 1000u);
    // One level up, the same 1000 plus the nested alias itself: 1001 targets visited.
    alias("bigger@example.org", {"big@example.org"});
    auto bigger = dir_->resolve("bigger@example.org");
    ASSERT_FALSE(bigger);
    EXPECT_EQ(bigger.error().code, E2BIG);
}

TEST_F(DirectoryTest, SecondConnectionSeesChangesAtOnce) {
    auto admin = open_sqlite_directory(tmp_.path());  // e.g. `ternd user add` while the server runs
    ASSERT_TRUE(admin) << admin.error().message;
    ASSERT_TRUE((*admin)->add_domain("new.example"));
    EXPECT_EQ(dir_->is_local_domain("new.example"), true);
    EXPECT_EQ(resolve("zoe@new.example").kind, Kind::Unknown);
    ASSERT_TRUE((*admin)->add_user("zoe@new.example", "secret"));
    EXPECT_THAT(resolve("zoe@new.example").accounts, ElementsAre("zoe@new.example"));
    EXPECT_EQ(dir_->verify_password("zoe@new.example", "secret"), true);
    ASSERT_TRUE((*admin)->set_password("zoe@new.example", "changed"));
    EXPECT_EQ(dir_->verify_password("zoe@new.example", "secret"), false);
    ASSERT_TRUE((*admin)->add_alias("z@new.example", {"zoe@new.example"}));
    EXPECT_THAT(resolve("z@new.example").accounts, ElementsAre("zoe@new.example"));
    ASSERT_TRUE((*admin)->remove_user("zoe@new.example"));
    EXPECT_EQ(resolve("zoe@new.example").kind, Kind::Unknown);
    EXPECT_EQ(resolve("z@new.example").kind, Kind::Unknown);
}

// A write made without this library (here: the sqlite3 API directly) bumps no change counter:
// the cache trusts its answers until recheck_interval has passed, then asks the database.
TEST_F(DirectoryTest, WritesByOtherMeansAreSeenAfterTheRecheckInterval) {
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    auto run_sql = [&](const char* sql) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((tmp_.path() / "directory.db").c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        sqlite3_close(db);
    };
    const char* add = "INSERT INTO aliases(source, target, domain) VALUES('raw@example.org', 'alice@example.org', 'example.org')";
    const char* drop = "DELETE FROM aliases WHERE source = 'raw@example.org'";

    DirectoryOptions slow;
    slow.recheck_interval = std::chrono::hours(1);
    auto cached = open_sqlite_directory(tmp_.path(), slow);
    ASSERT_TRUE(cached) << cached.error().message;
    EXPECT_EQ((*cached)->resolve("raw@example.org")->kind, Kind::Unknown);
    run_sql(add);
    EXPECT_EQ((*cached)->resolve("raw@example.org")->kind, Kind::Unknown) << "no bump, no recheck yet";
    ASSERT_TRUE(dir_->add_domain("bump.example"));  // any write through the library bumps the counter
    EXPECT_THAT((*cached)->resolve("raw@example.org")->accounts, ElementsAre("alice@example.org"));

    DirectoryOptions eager;
    eager.recheck_interval = std::chrono::milliseconds(0);
    auto checking = open_sqlite_directory(tmp_.path(), eager);
    ASSERT_TRUE(checking) << checking.error().message;
    EXPECT_THAT((*checking)->resolve("raw@example.org")->accounts, ElementsAre("alice@example.org"));
    run_sql(drop);
    EXPECT_EQ((*checking)->resolve("raw@example.org")->kind, Kind::Unknown);
}

// The counter lives in a file next to the database, so separate processes share it.
TEST_F(DirectoryTest, ChangeCounterFileSitsBesideTheDatabase) {
    EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "directory.db-gen"));
    EXPECT_EQ(std::filesystem::file_size(tmp_.path() / "directory.db-gen"), 8u);
}

TEST_F(DirectoryTest, OwnChangesAreSeenByTheNextResolve) {
    // Resolutions are cached; this connection's own writes must drop them (they do not change
    // its PRAGMA data_version, which catches other connections' commits).
    ASSERT_TRUE(dir_->add_user("alice@example.org", "pw"));
    EXPECT_EQ(resolve("own@example.org").kind, Kind::Unknown);
    ASSERT_TRUE(dir_->add_alias("own@example.org", {"alice@example.org"}));
    EXPECT_THAT(resolve("own@example.org").accounts, ElementsAre("alice@example.org"));
    ASSERT_TRUE(dir_->remove_alias("own@example.org", {}));
    EXPECT_EQ(resolve("own@example.org").kind, Kind::Unknown);
    ASSERT_TRUE(dir_->add_user("own@example.org", "pw"));
    EXPECT_THAT(resolve("own@example.org").accounts, ElementsAre("own@example.org"));
    ASSERT_TRUE(dir_->remove_user("own@example.org"));
    EXPECT_EQ(resolve("own@example.org").kind, Kind::Unknown);
}

TEST_F(DirectoryTest, RefusesNewerSchema) {
    dir_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((tmp_.path() / "directory.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto d = open_sqlite_directory(tmp_.path());
    ASSERT_FALSE(d);
    EXPECT_THAT(d.error().message, HasSubstr("schema version 7"));
}

}  // namespace
}  // namespace tern::directory
