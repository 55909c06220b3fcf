// Transcript tests of connections that end early: 421 mid-session (RFC 5321 §3.8), a dropped
// connection mid-transaction, an unsolicited 421 while idle. Every recipient without a final
// answer becomes temporary; answers already given are kept.
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

TEST(ClientClosing, Service421AfterRcpt) {
    auto run = converse_all_splits(make_options(),
                                   {make_message(1, "a@example.net", {"b@example.org", "c@example.org"}, "x\r\n"),
                                    make_message(2, "a@example.net", {"d@example.org"}, "y\r\n")},
                                   {kGreeting, kEhloBasic, "250 ok\r\n", "550 5.1.1 no b\r\n", "421 4.3.2 shutting down\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::ServerClosing);
    EXPECT_EQ(run.last, Session::Next::Close);
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_EQ(status_of(run, 0, 0).code, 550);  // its answer stands
    EXPECT_EQ(status_of(run, 0, 1).code, 421);
    EXPECT_TRUE(status_of(run, 0, 1).temporary());
    EXPECT_EQ(status_of(run, 1, 0).text, "shutting down");  // never started: temporary too
}

TEST(ClientClosing, Service421AfterData) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, kEhloBasic, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "421 4.4.2 timeout\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::ServerClosing);
    EXPECT_TRUE(status_of(run, 0, 0).temporary());
}

TEST(ClientClosing, DroppedMidData) {
    Options o = make_options();
    o.chunk_size = 2;
    Session s(o);
    s.add(make_message(1, "a@example.net", {"b@example.org"}, "0123456789"));
    s.finish();
    for (const char* t : {"220 hi\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) {
        s.receive(t);
        s.advance();
    }
    s.connection_lost("reset by peer");
    EXPECT_EQ(s.advance().next, Session::Next::Close);
    EXPECT_EQ(s.end(), ConnectionEnd::Dropped);
    auto o2 = s.take_outcomes();
    ASSERT_EQ(o2.size(), 1u);
    EXPECT_TRUE(o2[0].recipients[0].status.temporary());
    EXPECT_EQ(o2[0].recipients[0].status.enhanced, "4.4.2");
}

TEST(ClientClosing, DroppedAfterQuitIsNotAFailure) {
    Session s(make_options());
    s.finish();
    for (const char* t : {"220 hi\r\n", "250 mx\r\n"}) {
        s.receive(t);
        s.advance();
    }
    s.connection_lost("eof");
    EXPECT_EQ(s.end(), ConnectionEnd::Quit);
}

TEST(ClientClosing, Unsolicited421WhileIdle) {
    auto run = converse(make_options(), {}, {kGreeting, kEhloBasic, "421 4.4.2 idle too long\r\n"}, 1, false);
    EXPECT_EQ(run.end, ConnectionEnd::ServerClosing);
    EXPECT_EQ(run.last, Session::Next::Close);
}

TEST(ClientClosing, BytesAfterTheEndAreIgnored) {
    Session s(make_options());
    s.receive("554 no\r\n");
    EXPECT_EQ(s.advance().next, Session::Next::Close);
    s.receive("250 more\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.next, Session::Next::Close);
    EXPECT_EQ(a.output, "");
}

}  // namespace
}  // namespace tern::client::smtp::testing
