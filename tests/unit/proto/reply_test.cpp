// Unit tests for SMTP reply formatting (smtp/reply.hpp, RFC 5321 §4.2, RFC 2034).
// Must never let a CR or LF from reply text reach the wire except as the CRLF line terminator.
#include "proto/smtp/reply.hpp"

#include <gtest/gtest.h>

namespace tern::smtp {
namespace {

TEST(Reply, SingleLine) {
    EXPECT_EQ(reply(250, "2.1.0", "Ok"), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(reply(220, "", "mx.example ESMTP Tern"), "220 mx.example ESMTP Tern\r\n");
    EXPECT_EQ(reply(354, "", "End data with <CR><LF>.<CR><LF>"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(reply(250, "2.0.0", ""), "250 2.0.0\r\n");
    EXPECT_EQ(reply(250, "", ""), "250\r\n");
}

TEST(Reply, MultiLineRepeatsCodeAndEnhancedStatus) {
    EXPECT_EQ(reply(550, "5.7.1", "Rejected\nSee https://example.org/why"),
              "550-5.7.1 Rejected\r\n"
              "550 5.7.1 See https://example.org/why\r\n");
    EXPECT_EQ(reply(214, "", "a\nb\nc"), "214-a\r\n214-b\r\n214 c\r\n");
}

TEST(Reply, CrAndLfNeverLeak) {
    EXPECT_EQ(reply(250, "2.0.0", "a\r\nb"), "250-2.0.0 a\r\n250 2.0.0 b\r\n");
    EXPECT_EQ(reply(250, "2.0.0", "a\rb"), "250 2.0.0 ab\r\n");
    EXPECT_EQ(reply(250, "2.0.0", "Ok\n"), "250 2.0.0 Ok\r\n");  // a trailing LF adds no line
    EXPECT_EQ(reply(250, "2.0.0\r\n", "Ok"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(reply(250, "", "\n"), "250\r\n");
    std::string injected = reply(250, "2.0.0", "Ok\r\n250 2.0.0 forged");
    EXPECT_EQ(injected, "250-2.0.0 Ok\r\n250 2.0.0 250 2.0.0 forged\r\n");
}

TEST(Reply, EhloKeywordList) {
    EXPECT_EQ(reply_lines(250, {"mx.example", "PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8"}),
              "250-mx.example\r\n"
              "250-PIPELINING\r\n"
              "250-SIZE 10240000\r\n"
              "250-8BITMIME\r\n"
              "250 SMTPUTF8\r\n");
    EXPECT_EQ(reply_lines(250, {"only"}), "250 only\r\n");
    EXPECT_EQ(reply_lines(250, {}), "250\r\n");
    EXPECT_EQ(reply_lines(250, {"a\r\nb", "c"}), "250-a\r\n250-b\r\n250 c\r\n");
}

}  // namespace
}  // namespace tern::smtp
