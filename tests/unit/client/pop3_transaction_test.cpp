// POP3 client TRANSACTION transcripts: STAT, LIST, UIDL, RETR and TOP streamed to the sink, DELE,
// RSET, NOOP, QUIT and what it says about UPDATE (RFC 1939 §6), PIPELINING with a bounded window
// (RFC 2449 §6.6), and failures (lost connection, -ERR, malformed or unasked-for responses).
#include <gtest/gtest.h>

#include "client/pop3/session.hpp"
#include "pop3_harness.hpp"

namespace tern::client::pop3 {
namespace {

using namespace testing;

Options plain_ok() {
    Options o = user_options();
    o.allow_plaintext_password = true;
    return o;
}

const std::vector<std::string> kLogin = {kGreeting, kCapaPlain, "+OK\r\n", "+OK logged in\r\n"};

std::vector<std::string> with_login(std::vector<std::string> turns) {
    std::vector<std::string> all = kLogin;
    all.insert(all.end(), turns.begin(), turns.end());
    return all;
}

TEST(Pop3ClientTransaction, FullSessionOneCommandAtATime) {
    std::uint64_t retr = 0, top = 0;
    auto run = converse_all_splits(
        plain_ok(),
        [&](Session& s) {
            s.stat();
            s.list();
            s.uidl();
            retr = s.retr(1);
            top = s.top(2, 0);
            s.list(2);
            s.uidl(2);
            s.dele(1);
            s.rset();
            s.dele(1);
            s.noop();
            s.quit();
        },
        with_login({"+OK 2 320\r\n", "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n",
                    "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
                    "+OK 120 octets\r\nSubject: x\r\n\r\n..leading\r\n...\r\nend\r\n.\r\n",
                    "+OK top\r\nSubject: y\r\n\r\n.\r\n", "+OK 2 200\r\n", "+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
                    "+OK message 1 deleted\r\n", "+OK maildrop has 2 messages\r\n", "+OK message 1 deleted\r\n",
                    "+OK\r\n", "+OK dewey POP3 server signing off (1 message left)\r\n"}));
    EXPECT_EQ(run.sent,
              "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\n"
              "LIST 2\r\nUIDL 2\r\nDELE 1\r\nRSET\r\nDELE 1\r\nNOOP\r\nQUIT\r\n");
    ASSERT_EQ(run.outcomes.size(), 12u);
    const auto& o = run.outcomes;
    EXPECT_EQ(o[0].count, 2u);
    EXPECT_EQ(o[0].size, 320u);
    ASSERT_EQ(o[1].entries.size(), 2u);
    EXPECT_EQ(o[1].entries[1].msg, 2u);
    EXPECT_EQ(o[1].entries[1].size, 200u);
    ASSERT_EQ(o[2].entries.size(), 2u);
    EXPECT_EQ(o[2].entries[0].uid, "whqtswO00WBw418f9t5JxYwZ");
    EXPECT_EQ(o[2].entries[1].uid, "QhdPYR:00WBw1Ph7x7");
    EXPECT_EQ(run.messages[retr], "Subject: x\r\n\r\n.leading\r\n..\r\nend\r\n");
    EXPECT_EQ(o[3].octets, run.messages[retr].size());
    EXPECT_EQ(run.lasts[retr], 1);
    EXPECT_EQ(run.messages[top], "Subject: y\r\n\r\n");
    EXPECT_EQ(o[5].entries.at(0).size, 200u);
    EXPECT_EQ(o[6].entries.at(0).uid, "QhdPYR:00WBw1Ph7x7");
    for (const auto& x : o) EXPECT_TRUE(x.ok && x.from_server) << x.id;
    EXPECT_EQ(o[11].command, Command::Quit);
    EXPECT_EQ(run.end, ConnectionEnd::Quit);
    EXPECT_EQ(run.last, Session::Next::Close);
}

TEST(Pop3ClientTransaction, PipelinedBatchWithinTheWindow) {
    Options opt = plain_ok();
    opt.pipeline_window = 3;
    auto run = converse_all_splits(
        opt,
        [](Session& s) {
            for (std::uint32_t n = 1; n <= 3; ++n) s.retr(n);
            for (std::uint32_t n = 1; n <= 3; ++n) s.dele(n);
            s.quit();
        },
        {kGreeting, "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n", "+OK\r\n", "+OK in\r\n",
         // the first three RETRs were sent together
         "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n+OK\r\nthree\r\n.\r\n",
         "+OK\r\n+OK\r\n+OK\r\n", "+OK bye\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\n"
                        "DELE 1\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n");
    ASSERT_EQ(run.outcomes.size(), 7u);
    EXPECT_EQ(run.messages[1], "one\r\n");
    EXPECT_EQ(run.messages[3], "three\r\n");
    EXPECT_TRUE(run.caps.pipelining);
    EXPECT_EQ(run.end, ConnectionEnd::Quit);
}

TEST(Pop3ClientTransaction, WindowIsBounded) {
    Options opt = plain_ok();
    opt.pipeline_window = 2;
    Session s(opt);
    for (std::uint32_t n = 1; n <= 5; ++n) s.dele(n);
    s.receive(kGreeting);
    s.advance();
    s.receive("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n");
    s.advance();
    s.receive("+OK\r\n");
    s.advance();
    s.receive("+OK\r\n");
    EXPECT_EQ(s.advance().output, "DELE 1\r\nDELE 2\r\n");
    s.receive("+OK\r\n");
    EXPECT_EQ(s.advance().output, "DELE 3\r\n");
    // Without PIPELINING only one at a time.
    Session t(plain_ok());
    t.dele(1);
    t.dele(2);
    for (auto turn : {kGreeting, kCapaPlain, "+OK\r\n"}) {
        t.receive(turn);
        t.advance();
    }
    t.receive("+OK\r\n");
    EXPECT_EQ(t.advance().output, "DELE 1\r\n");
}

TEST(Pop3ClientTransaction, ErrAnswersAreValuesAndTheSessionGoesOn) {
    auto run = converse_all_splits(plain_ok(),
                                   [](Session& s) {
                                       s.retr(9);
                                       s.dele(9);
                                       s.noop();
                                   },
                                   with_login({"-ERR [SYS/PERM] no such message\r\n", "-ERR no such message\r\n",
                                               "+OK\r\n"}));
    ASSERT_EQ(run.outcomes.size(), 3u);
    EXPECT_FALSE(run.outcomes[0].ok);
    EXPECT_TRUE(run.outcomes[0].from_server);
    EXPECT_EQ(run.outcomes[0].code, "SYS/PERM");
    EXPECT_EQ(run.outcomes[0].text, "no such message");
    EXPECT_TRUE(run.messages.empty());
    EXPECT_TRUE(run.outcomes[2].ok);
    EXPECT_EQ(run.end, ConnectionEnd::Open);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(Pop3ClientTransaction, QuitRefusedMeansNoConfirmedUpdate) {
    auto run = converse_all_splits(plain_ok(), [](Session& s) { s.dele(1), s.quit(); },
                                   with_login({"+OK\r\n", "-ERR [SYS/TEMP] some messages not removed\r\n"}));
    EXPECT_EQ(run.end, ConnectionEnd::QuitFailed);
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_FALSE(run.outcomes[1].ok);
    EXPECT_EQ(run.outcomes[1].code, "SYS/TEMP");
}

TEST(Pop3ClientTransaction, ConnectionLostMidRetr) {
    Session s(plain_ok(), [](const Chunk&) {});
    auto r = s.retr(1);
    s.dele(1);
    s.quit();
    for (auto turn : {kGreeting, kCapaPlain, "+OK\r\n", "+OK\r\n"}) {
        s.receive(turn);
        s.advance();
    }
    s.receive("+OK\r\nfirst half\r\n");
    s.advance();
    s.connection_lost("reset by peer");
    EXPECT_EQ(s.end(), ConnectionEnd::Dropped);
    EXPECT_FALSE(s.update_confirmed());
    auto out = s.take_outcomes();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].id, r);
    EXPECT_FALSE(out[0].ok);
    EXPECT_FALSE(out[0].from_server);
    EXPECT_EQ(out[0].octets, std::string("first half\r\n").size());
    EXPECT_FALSE(out[2].ok);
    EXPECT_EQ(s.advance().next, Session::Next::Close);
}

TEST(Pop3ClientTransaction, RequestsAfterQuitFailAtOnce) {
    Session s(plain_ok());
    s.quit();
    auto id = s.noop();
    auto out = s.take_outcomes();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, id);
    EXPECT_FALSE(out[0].ok);
}

TEST(Pop3ClientTransaction, IdleThenMoreRequests) {
    Session s(plain_ok());
    for (auto turn : {kGreeting, kCapaPlain, "+OK\r\n"}) {
        s.receive(turn);
        s.advance();
    }
    s.receive("+OK\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.next, Session::Next::Idle);
    EXPECT_EQ(a.output, "");
    s.uidl();
    a = s.advance();
    EXPECT_EQ(a.output, "UIDL\r\n");
    EXPECT_EQ(a.next, Session::Next::Read);
}

TEST(Pop3ClientTransaction, ProtocolErrors) {
    // Unasked-for response, malformed listing, malformed STAT, garbage status.
    for (std::string bad : {"+OK\r\n+OK extra\r\n", "+OK\r\nnot a number\r\n.\r\n", "+OK lots\r\n", "OK\r\n"}) {
        auto run = converse(plain_ok(), [&](Session& s) { bad.find("lots") != std::string::npos ? s.stat() : s.uidl(); },
                            with_login({bad}), 1);
        EXPECT_EQ(run.end, ConnectionEnd::ProtocolError) << bad;
        EXPECT_EQ(run.last, Session::Next::Close) << bad;
    }
}

TEST(Pop3ClientTransaction, ListingIsBounded) {
    Options o = plain_ok();
    o.max_listing = 2;
    auto run = converse_all_splits(o, [](Session& s) { s.uidl(); },
                                   with_login({"+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n"}));
    EXPECT_EQ(run.end, ConnectionEnd::ProtocolError);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_FALSE(run.outcomes[0].ok);
    run = converse_all_splits(o, [](Session& s) { s.uidl(); }, with_login({"+OK\r\n1 a\r\n2 b\r\n.\r\n"}));
    EXPECT_EQ(run.end, ConnectionEnd::Open);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_EQ(run.outcomes[0].entries.size(), 2u);
}

}  // namespace
}  // namespace tern::client::pop3
