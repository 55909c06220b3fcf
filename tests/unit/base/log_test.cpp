// Tests for log::cat, which builds every log line: the same text operator<< would give.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

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

}  // namespace
}  // namespace tern::log
