// Tests for the RFC 5322 §3.3 date-time that Date: and Received: headers carry.
#include <gtest/gtest.h>

#include <ctime>

#include "proto/message/date.hpp"

namespace tern::message {
namespace {

TEST(Rfc5322Date, UtcWithDayNameAndZeroOffset) {
    EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(1795269323), "Sat, 21 Nov 2026 13:55:23 +0000");
}

TEST(Rfc5322Date, LeapDaysAndYearEnds) {
    EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(1709251199), "Thu, 29 Feb 2024 23:59:59 +0000");
    EXPECT_EQ(rfc5322_date(1735689599), "Tue, 31 Dec 2024 23:59:59 +0000");
    EXPECT_EQ(rfc5322_date(1735689600), "Wed, 01 Jan 2025 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
}

// The C library's own calendar (gmtime_r + strftime in the C locale) as the oracle, over a
// century of instants a prime number of seconds apart.
TEST(Rfc5322Date, AgreesWithTheCLibraryCalendar) {
    for (std::int64_t t = -86400LL * 365; t < 4102444800LL; t += 7919LL * 3607) {
        std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
        char want[64];
        std::strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        ASSERT_EQ(rfc5322_date(t), want) << "t=" << t;
    }
}

}  // namespace
}  // namespace tern::message
