// Unit tests for the client's SMTP reply parser (RFC 5321 §4.2, RFC 2034): multiline replies,
// enhanced codes, every split point, and the bounds that keep a hostile server from growing it.
#include <gtest/gtest.h>

#include "client/smtp/reply.hpp"

namespace tern::client::smtp {
namespace {

using S = ReplyParse::Status;

TEST(ClientReply, SingleLineWithEnhancedCode) {
    auto p = parse_reply("250 2.1.0 Sender ok\r\nextra");
    ASSERT_EQ(p.status, S::Complete);
    EXPECT_EQ(p.reply.code, 250);
    EXPECT_EQ(p.reply.enhanced, "2.1.0");
    EXPECT_EQ(p.reply.text(), "Sender ok");
    EXPECT_EQ(p.consumed, 21u);
}

TEST(ClientReply, MultilineEhlo) {
    const std::string in = "250-mx.example.org hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
    auto p = parse_reply(in);
    ASSERT_EQ(p.status, S::Complete);
    ASSERT_EQ(p.reply.lines.size(), 3u);
    EXPECT_EQ(p.reply.lines[1], "PIPELINING");
    EXPECT_EQ(p.reply.lines[2], "SIZE 1000");
    EXPECT_EQ(p.consumed, in.size());
    EXPECT_TRUE(p.reply.enhanced.empty());
}

TEST(ClientReply, MultilineIncompleteAtEveryByte) {
    const std::string in = "550-5.1.1 No such user\r\n550-5.1.1 here\r\n550 5.1.1 at all\r\n";
    for (std::size_t n = 0; n < in.size(); ++n)
        EXPECT_EQ(parse_reply(std::string_view(in).substr(0, n)).status, S::Incomplete) << n;
    auto p = parse_reply(in);
    ASSERT_EQ(p.status, S::Complete);
    EXPECT_EQ(p.reply.enhanced, "5.1.1");
    EXPECT_EQ(p.reply.text(), "No such user\nhere\nat all");
}

TEST(ClientReply, BareCodeAndBareLf) {
    auto p = parse_reply("250\r\n");
    ASSERT_EQ(p.status, S::Complete);
    EXPECT_EQ(p.reply.code, 250);
    EXPECT_EQ(p.reply.text(), "");
    p = parse_reply("354 go on\n");
    ASSERT_EQ(p.status, S::Complete);
    EXPECT_EQ(p.reply.code, 354);
}

TEST(ClientReply, EnhancedCodeMustMatchClass) {
    auto p = parse_reply("550 4.1.1 odd\r\n");
    ASSERT_EQ(p.status, S::Complete);
    EXPECT_EQ(p.reply.enhanced, "");
    EXPECT_EQ(p.reply.text(), "4.1.1 odd");
}

TEST(ClientReply, Errors) {
    EXPECT_EQ(parse_reply("hello\r\n").status, S::Error);
    EXPECT_EQ(parse_reply("150 no\r\n").status, S::Error);
    EXPECT_EQ(parse_reply("650 no\r\n").status, S::Error);
    EXPECT_EQ(parse_reply("250x\r\n").status, S::Error);
    EXPECT_EQ(parse_reply("250-a\r\n251 b\r\n").status, S::Error);
    EXPECT_EQ(parse_reply(std::string("250 a\0b\r\n", 9)).status, S::Error);
}

TEST(ClientReply, LineLengthBounded) {
    EXPECT_EQ(parse_reply(std::string(kMaxReplyLine - 1, '2')).status, S::Incomplete);
    EXPECT_EQ(parse_reply(std::string(kMaxReplyLine, '2')).status, S::Error);
    EXPECT_EQ(parse_reply("250 " + std::string(kMaxReplyLine, 'a') + "\r\n").status, S::Error);
}

TEST(ClientReply, LineCountBounded) {
    std::string in;
    for (std::size_t i = 0; i + 1 < kMaxReplyLines; ++i) in += "250-x\r\n";
    EXPECT_EQ(parse_reply(in + "250 end\r\n").status, S::Complete);
    EXPECT_EQ(parse_reply(in + "250-x\r\n250 end\r\n").status, S::Error);
}

}  // namespace
}  // namespace tern::client::smtp
