// Unit tests for POP3 responses, multi-line byte-stuffing (RFC 1939 §3), TOP extraction (§7), UIDL
// syntax (§7) and the APOP digest with RFC 1939's own example. Must assert exact wire bytes.
#include <gtest/gtest.h>

#include "proto/pop3/apop.hpp"
#include "proto/pop3/response.hpp"

namespace tern::pop3 {
namespace {

std::string stuffed(std::string_view data) {
    std::string out = "X";
    append_multiline(out, data);
    EXPECT_EQ(out.size(), 1 + multiline_size(data)) << data;
    return out.substr(1);
}

TEST(Pop3Response, OkAndErr) {
    EXPECT_EQ(ok(), "+OK\r\n");
    EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
    EXPECT_EQ(err("No such message"), "-ERR No such message\r\n");
    EXPECT_EQ(err(code::kInUse, "Maildrop already locked"), "-ERR [IN-USE] Maildrop already locked\r\n");
    EXPECT_EQ(err(code::kSysTemp, "x"), "-ERR [SYS/TEMP] x\r\n");
    EXPECT_EQ(err(code::kAuth, ""), "-ERR [AUTH]\r\n");
    // Caller text never smuggles a line end.
    EXPECT_EQ(ok("a\r\n+OK b"), "+OK a+OK b\r\n");
    EXPECT_EQ(err("x\r\n.\r\n"), "-ERR x.\r\n");
}

TEST(Pop3Response, ByteStuffing) {
    EXPECT_EQ(stuffed(""), ".\r\n");
    EXPECT_EQ(stuffed("a\r\n"), "a\r\n.\r\n");
    EXPECT_EQ(stuffed(".a\r\n"), "..a\r\n.\r\n");
    EXPECT_EQ(stuffed("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
    EXPECT_EQ(stuffed("a\r\n..b\r\n.\r\n"), "a\r\n...b\r\n..\r\n.\r\n");
    EXPECT_EQ(stuffed("a.b\r\n"), "a.b\r\n.\r\n") << "only at line starts";
    // A message without a final CRLF gets one before the terminator.
    EXPECT_EQ(stuffed("no newline"), "no newline\r\n.\r\n");
    EXPECT_EQ(stuffed("x\r\n."), "x\r\n..\r\n.\r\n");
    EXPECT_EQ(stuffed("x\r"), "x\r\r\n.\r\n");
    // A bare LF counts as a line start too, so no client can see an early terminator.
    EXPECT_EQ(stuffed("a\n.\nb\r\n"), "a\n..\nb\r\n.\r\n");
}

TEST(Pop3Response, StuffedBodyNeverContainsTerminatorEarly) {
    std::string msg = "Subject: t\r\n\r\n.\r\n..\r\n.x\r\n\r\n.";
    std::string out = stuffed(msg);
    EXPECT_EQ(out.find("\r\n.\r\n"), out.size() - 5);
}

TEST(Pop3Response, TopLines) {
    std::string m = "From: a\r\nSubject: b\r\n\r\nl1\r\nl2\r\nl3\r\n";
    EXPECT_EQ(top_of(m, 0), "From: a\r\nSubject: b\r\n\r\n");
    EXPECT_EQ(top_of(m, 1), "From: a\r\nSubject: b\r\n\r\nl1\r\n");
    EXPECT_EQ(top_of(m, 3), m);
    EXPECT_EQ(top_of(m, 100), m);
    EXPECT_EQ(top_of("H: 1\r\n", 5), "H: 1\r\n") << "no body";
    EXPECT_EQ(top_of("H: 1\r\n\r\nno end", 5), "H: 1\r\n\r\nno end");
    EXPECT_EQ(top_of("\r\nbody\r\n", 0), "\r\n") << "empty header";
    // The result is a view into the message: no copy.
    EXPECT_EQ(top_of(m, 1).data(), m.data());
}

TEST(Pop3Response, UidlSyntax) {
    EXPECT_TRUE(valid_uidl("1700000000.1"));
    EXPECT_TRUE(valid_uidl(std::string(70, '~')));
    EXPECT_FALSE(valid_uidl(std::string(71, 'a')));
    EXPECT_FALSE(valid_uidl(""));
    EXPECT_FALSE(valid_uidl("a b"));
    EXPECT_FALSE(valid_uidl("a\x7f"));
}

TEST(Pop3Apop, Rfc1939Example) {
    // RFC 1939 §7 example.
    EXPECT_EQ(apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"), "c4c9334bac560ecc979e58001b3e22fb");
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Pop3Apop, Verify) {
    const char* ts = "<1896.697170952@dbc.mtview.ca.us>";
    EXPECT_TRUE(apop_verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_TRUE(apop_verify(ts, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaF", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_FALSE(apop_verify("<other@x>", "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22f"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaf", ""));
}

}  // namespace
}  // namespace tern::pop3
