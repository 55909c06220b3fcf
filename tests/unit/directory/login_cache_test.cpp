// Tests for the cache of successful password logins (directory/login_cache.hpp) on its own and
// inside the SQLite directory: only the exact password that last verified against the exact stored
// hash is answered from it, never longer than its TTL, never beyond its capacity.
// Must never touch files outside the temp dirs it creates.
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include "directory/directory.hpp"
#include "directory/login_cache.hpp"

namespace tern::directory {
namespace {

using namespace std::chrono_literals;
using Clock = LoginCache::Clock;

TEST(LoginCache, HitsOnlyTheSamePasswordAndStoredHash) {
    LoginCache c(60s, 10);
    auto t = Clock::now();
    EXPECT_FALSE(c.hit("a@x.org", "$y$hash1", "pw", t)) << "empty cache";
    c.remember("a@x.org", "$y$hash1", "pw", t);
    EXPECT_TRUE(c.hit("a@x.org", "$y$hash1", "pw", t + 1s));
    EXPECT_FALSE(c.hit("a@x.org", "$y$hash1", "pW", t + 1s)) << "another password";
    EXPECT_FALSE(c.hit("a@x.org", "$y$hash1", std::string_view("pw\0x", 4), t + 1s)) << "a longer password";
    EXPECT_FALSE(c.hit("a@x.org", "$y$hash2", "pw", t + 1s)) << "the password was changed";
    EXPECT_FALSE(c.hit("b@x.org", "$y$hash1", "pw", t + 1s)) << "another user";
    EXPECT_TRUE(c.hit("a@x.org", "$y$hash1", "pw", t + 2s)) << "a mismatch does not evict";
}

TEST(LoginCache, ExpiresAfterTtl) {
    LoginCache c(60s, 10);
    auto t = Clock::now();
    c.remember("a@x.org", "h", "pw", t);
    EXPECT_TRUE(c.hit("a@x.org", "h", "pw", t + 59s));
    EXPECT_FALSE(c.hit("a@x.org", "h", "pw", t + 60s));
    EXPECT_EQ(c.size(), 0u) << "an expired entry is dropped when seen";
}

TEST(LoginCache, ZeroTtlKeepsNothing) {
    LoginCache c(0s, 10);
    c.remember("a@x.org", "h", "pw");
    EXPECT_FALSE(c.hit("a@x.org", "h", "pw"));
    EXPECT_EQ(c.size(), 0u);
}

TEST(LoginCache, BoundedByCapacity) {
    LoginCache c(60s, 3);
    auto t = Clock::now();
    for (int i = 0; i < 10; ++i) {
        c.remember("u" + std::to_string(i) + "@x.org", "h", "pw", t);
        EXPECT_LE(c.size(), 3u);
    }
    EXPECT_TRUE(c.hit("u9@x.org", "h", "pw", t)) << "the newest entry is kept";
    c.forget("u9@x.org");
    EXPECT_FALSE(c.hit("u9@x.org", "h", "pw", t));
}

TEST(LoginCache, InTheDirectoryAPasswordChangeEndsIt) {
    tern::testing::TempDir tmp;
    DirectoryOptions options;
    options.login_cache_ttl = 600s;
    auto d = open_sqlite_directory(tmp.path(), options);
    ASSERT_TRUE(d) << d.error().message;
    auto& dir = **d;
    ASSERT_TRUE(dir.add_domain("x.org"));
    ASSERT_TRUE(dir.add_user("a@x.org", "first-pw"));
    EXPECT_TRUE(*dir.verify_password("a@x.org", "first-pw"));
    EXPECT_TRUE(*dir.verify_password("A@X.org", "first-pw")) << "cached under the canonical address";
    EXPECT_FALSE(*dir.verify_password("a@x.org", "wrong-pw"));
    // Another process (the admin CLI) changes the password: the stored hash changes with it.
    auto admin = open_sqlite_directory(tmp.path());
    ASSERT_TRUE(admin);
    ASSERT_TRUE((*admin)->set_password("a@x.org", "second-pw"));
    EXPECT_FALSE(*dir.verify_password("a@x.org", "first-pw")) << "the cached login must not outlive the password";
    EXPECT_TRUE(*dir.verify_password("a@x.org", "second-pw"));
    ASSERT_TRUE((*admin)->remove_user("a@x.org"));
    EXPECT_FALSE(*dir.verify_password("a@x.org", "second-pw")) << "nor the user";
}

}  // namespace
}  // namespace tern::directory
