// Transcript tests of the opening of a client connection: greeting refusals (try the next MX,
// RFC 5321 §3.1, §5.1), EHLO with HELO fallback (§4.1.4), and EHLO capability parsing.
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

TEST(ClientHelo, FallbackToHeloOnEhlo5xx) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, "502 5.5.2 what\r\n", "250 mx.example.org\r\n", "250 ok\r\n", "250 ok\r\n",
                                    "354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nHELO relay.example.net\r\n"
              "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
    EXPECT_FALSE(run.caps.esmtp);
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientHelo, GreetingRefusedMeansNextMx) {
    for (const char* greeting : {"554 5.7.1 go away\r\n", "421 4.3.2 busy\r\n", "450 later\r\n"}) {
        auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                       {greeting});
        EXPECT_EQ(run.end, ConnectionEnd::GreetingRefused) << greeting;
        EXPECT_EQ(run.last, Session::Next::Close);
        EXPECT_EQ(run.sent, std::string_view(greeting).starts_with("421") ? "" : "QUIT\r\n");
        // Not offered anywhere yet: temporary for the recipients, whatever the greeting said.
        EXPECT_TRUE(status_of(run, 0, 0).temporary()) << greeting;
    }
}

TEST(ClientHelo, HeloRefused) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {kGreeting, "500 no\r\n", "550 no\r\n"}, 1000);
    EXPECT_EQ(run.end, ConnectionEnd::GreetingRefused);
}

TEST(ClientHelo, ParseEhloCapabilities) {
    Reply r;
    r.code = 250;
    r.lines = {"mx.example.org hi", "pipelining", "SIZE 35882577", "8BITMIME", "SMTPUTF8", "CHUNKING", "DSN",
               "STARTTLS",          "AUTH PLAIN login", "AUTH=PLAIN", "ENHANCEDSTATUSCODES"};
    auto c = parse_ehlo(r);
    EXPECT_TRUE(c.esmtp && c.pipelining && c.eight_bit_mime && c.smtputf8 && c.chunking && c.dsn && c.starttls &&
                c.enhanced_status);
    EXPECT_EQ(c.size, 35882577u);
    EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
    r.lines = {"mx", "SIZE"};
    EXPECT_EQ(parse_ehlo(r).size, 0u);
    r.lines = {"mx", "SIZE lots"};
    EXPECT_EQ(parse_ehlo(r).size, 0u);
}

TEST(ClientHelo, NothingQueuedJustQuits) {
    auto run = converse(make_options(), {}, {kGreeting, kEhloBasic, "221 bye\r\n"}, 1000);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(run.end, ConnectionEnd::Quit);
    EXPECT_EQ(run.last, Session::Next::Close);
}

TEST(ClientHelo, GarbageReplyIsAProtocolError) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {"HTTP/1.1 400 Bad Request\r\n"}, 1000);
    EXPECT_EQ(run.end, ConnectionEnd::ProtocolError);
    EXPECT_TRUE(status_of(run, 0, 0).temporary());
}

}  // namespace
}  // namespace tern::client::smtp::testing
