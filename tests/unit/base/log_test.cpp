// Tests for log::cat, which builds every log line (the same text operator<< would give), and for
// log::write, which must put every line out whole, whoever else is logging at the same time.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/log.hpp"

namespace tern::log {
namespace {

struct Custom {};
std::ostream& operator<<(std::ostream& o, const Custom&) { return o << "custom!"; }

TEST(LogCat, StringsNumbersCharsAndStreamables) {
    std::string s = "str";
    std::string_view v = "view";
    const char* p = "ptr";
    char id[4] = "A1B";
    EXPECT_EQ(cat("lit ", s, ' ', v, ' ', p, ' ', id), "lit str view ptr A1B");
    EXPECT_EQ(cat(42, " ", -7, " ", 18446744073709551615ull, " ", std::size_t{3}), "42 -7 18446744073709551615 3");
    EXPECT_EQ(cat('x', Custom{}), "xcustom!");
    EXPECT_EQ(cat(), "");
}

// Four threads log at once, short lines (written without the lock) and lines longer than
// PIPE_BUF (written under it) mixed: every line comes out whole, none twice, none lost.
TEST(LogWrite, ConcurrentLinesStayWhole) {
    char path[] = "/tmp/tern-log-test-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    std::fflush(stderr);
    int saved = ::dup(STDERR_FILENO);
    ASSERT_GE(saved, 0);
    ASSERT_GE(::dup2(fd, STDERR_FILENO), 0);
    constexpr int kThreads = 4, kLines = 500;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([t] {
            for (int i = 0; i < kLines; ++i) {
                std::size_t len = i % 10 == 0 ? PIPE_BUF + 100 : 40 + i % 50;
                write(Level::Info, cat("T", t, "-", i, " ", std::string(len, static_cast<char>('a' + t))));
            }
        });
    for (auto& th : threads) th.join();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);

    std::string text;
    char buf[65536];
    for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    ::unlink(path);

    std::map<std::string, int> seen;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        // "<timestamp> info T<t>-<i> <payload>": the payload is one letter, as long as T/i say.
        auto tag = line.find(" info T");
        ASSERT_NE(tag, std::string::npos) << line.substr(0, 80);
        int t = -1, i = -1;
        ASSERT_EQ(std::sscanf(line.c_str() + tag, " info T%d-%d ", &t, &i), 2) << line.substr(0, 80);
        auto payload = line.substr(line.find(' ', tag + 7) + 1);
        std::size_t want = i % 10 == 0 ? PIPE_BUF + 100 : 40 + i % 50;
        ASSERT_EQ(payload, std::string(want, static_cast<char>('a' + t))) << "line T" << t << "-" << i;
        ++seen[cat(t, "-", i)];
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kLines));
    for (const auto& [key, count] : seen) EXPECT_EQ(count, 1) << key;
}

}  // namespace
}  // namespace tern::log
