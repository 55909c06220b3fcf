// Transcript tests of "never send what the peer refuses": SIZE (RFC 1870 §6, 5.3.4), 8-bit data
// without 8BITMIME (RFC 6152, 5.6.3), SMTPUTF8 (RFC 6531 §3.4, 5.6.7); lines over 998 octets
// (RFC 5321 §4.5.3.1.6) are not refused but broken. Nothing of a refused message may reach the wire.
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

// `n` lines of 100 octets each, CRLF included.
std::string lines(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += std::string(98, 'x') + "\r\n";
    return s;
}

Transcript refused(Message m, const std::string& ehlo, Options o = make_options()) {
    return converse_all_splits(o, {std::move(m)}, {kGreeting, ehlo, "221 bye\r\n"});
}

TEST(ClientRefusal, LargerThanPeerSize) {
    auto run = refused(make_message(1, "a@example.net", {"b@example.org"}, lines(100) + "x"), kEhloPipelining);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).code, 552);
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.3.4");
    EXPECT_TRUE(status_of(run, 0, 0).permanent());
    EXPECT_FALSE(status_of(run, 0, 0).from_server);
}

TEST(ClientRefusal, AtPeerSizeIsSent) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, lines(100))},
                        {kGreeting, kEhloPipelining}, 1000);
    EXPECT_NE(run.sent.find("MAIL FROM:<a@example.net> SIZE=10000"), std::string::npos);
}

TEST(ClientRefusal, EightBitWithout8BitMime) {
    auto run = refused(make_message(1, "a@example.net", {"b@example.org"}, "Subject: caf\xc3\xa9\r\n\r\nx\r\n"), kEhloBasic);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.6.3");
    EXPECT_TRUE(status_of(run, 0, 0).permanent());
}

TEST(ClientRefusal, SevenBitWithout8BitMimeIsSent) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "plain\r\n")},
                        {kGreeting, kEhloBasic}, 1000);
    EXPECT_TRUE(run.sent.ends_with("MAIL FROM:<a@example.net>\r\n"));
}

TEST(ClientRefusal, Utf8AddressWithoutSmtpUtf8) {
    auto run = refused(make_message(1, "a@example.net", {"jos\xc3\xa9@example.org"}, "x\r\n"), kEhloPipelining);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.6.7");
}

TEST(ClientRefusal, MessageMarkedSmtpUtf8WithoutIt) {
    Message m = make_message(1, "a@example.net", {"b@example.org"}, "x\r\n");
    m.smtputf8 = true;
    auto run = refused(m, kEhloPipelining);
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.6.7");
}

TEST(ClientRefusal, LineOver998OctetsIsSentBroken) {
    // Not refused: broken at 998 octets with CRLF SP, wherever the chunks split.
    for (std::size_t chunk : {7u, 500u, 998u, 999u, 65536u}) {
        Options o = make_options();
        o.chunk_size = chunk;
        auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "h\n" + std::string(999, 'x'))},
                            {kGreeting, kEhloBasic, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n"}, 1000);
        EXPECT_NE(run.sent.find("\r\nDATA\r\nh\r\n" + std::string(998, 'x') + "\r\n x\r\n.\r\n"), std::string::npos)
            << chunk << ": " << run.sent.substr(0, 120);
        ASSERT_EQ(run.outcomes.size(), 1u);
        EXPECT_TRUE(status_of(run, 0, 0).accepted()) << chunk;
    }
}

TEST(ClientRefusal, LongLinesWhenAllowed) {
    Options o = make_options();
    o.allow_long_lines = true;
    auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, std::string(2000, 'x'))}, {kGreeting, kEhloBasic},
                        1000);
    EXPECT_TRUE(run.sent.ends_with("MAIL FROM:<a@example.net>\r\n"));
}

TEST(ClientRefusal, RefusedMessageDoesNotStopTheNext) {
    auto run = converse_all_splits(make_options(),
                                   {make_message(1, "a@example.net", {"b@example.org"}, std::string(10001, 'x')),
                                    make_message(2, "a@example.net", {"c@example.org"}, "ok\r\n")},
                                   {kGreeting, kEhloPipelining, "250 ok\r\n250 ok\r\n354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.3.4");
    EXPECT_TRUE(status_of(run, 1, 0).accepted());
    EXPECT_EQ(run.sent.find("RSET"), std::string::npos);
}

}  // namespace
}  // namespace tern::client::smtp::testing
