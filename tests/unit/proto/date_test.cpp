// Tests for the RFC 5322 §3.3 date-time that Date: and Received: headers carry.
#include <gtest/gtest.h>

#include "proto/message/date.hpp"

namespace tern::message {
namespace {

TEST(Rfc5322Date, UtcWithDayNameAndZeroOffset) {
    EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(1795269323), "Sat, 21 Nov 2026 13:55:23 +0000");
}

}  // namespace
}  // namespace tern::message
