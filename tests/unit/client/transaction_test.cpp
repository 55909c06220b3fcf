// Transcript tests of whole client conversations: one transaction, pipelined recipients with
// mixed replies, two transactions on one connection, DSN parameters. Every server turn is fed
// whole, byte by byte and at every piece size (harness.hpp).
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

TEST(ClientTransaction, FullTransactionOneByOne) {
    auto run = converse_all_splits(make_options(), {make_message(7, "a@example.net", {"b@example.org"}, "Subject: x\r\n\r\nhi\r\n")},
                                   {kGreeting, kEhloBasic, "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go\r\n",
                                    "250 2.0.0 queued as 1\r\n", "221 2.0.0 bye\r\n"});
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\n"
              "MAIL FROM:<a@example.net>\r\n"
              "RCPT TO:<b@example.org>\r\n"
              "DATA\r\n"
              "Subject: x\r\n\r\nhi\r\n.\r\n"
              "QUIT\r\n");
    EXPECT_EQ(run.end, ConnectionEnd::Quit);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_EQ(run.outcomes[0].tag, 7u);
    const Status& s = status_of(run, 0, 0);
    EXPECT_TRUE(s.accepted());
    EXPECT_EQ(s.code, 250);
    EXPECT_EQ(s.enhanced, "2.0.0");
    EXPECT_EQ(s.text, "queued as 1");
    EXPECT_TRUE(s.from_server);
}

TEST(ClientTransaction, PipelinedRecipientsWithMixedReplies) {
    auto run = converse_all_splits(
        make_options(), {make_message(1, "a@example.net", {"ok@example.org", "temp@example.org", "gone@example.org"}, "hi\r\n")},
        {kGreeting, kEhloPipelining,
         "250 2.1.0 ok\r\n250 2.1.5 ok\r\n451 4.2.1 try later\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go\r\n",
         "250 2.0.0 done\r\n", "221 bye\r\n"});
    // RFC 2920: MAIL, every RCPT and DATA in one write.
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\n"
              "MAIL FROM:<a@example.net> SIZE=4\r\n"
              "RCPT TO:<ok@example.org>\r\n"
              "RCPT TO:<temp@example.org>\r\n"
              "RCPT TO:<gone@example.org>\r\n"
              "DATA\r\n"
              "hi\r\n.\r\n"
              "QUIT\r\n");
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
    EXPECT_EQ(status_of(run, 0, 0).text, "done");
    EXPECT_TRUE(status_of(run, 0, 1).temporary());
    EXPECT_EQ(status_of(run, 0, 1).enhanced, "4.2.1");
    EXPECT_TRUE(status_of(run, 0, 2).permanent());
    EXPECT_EQ(status_of(run, 0, 2).text, "no such\nuser");
}

TEST(ClientTransaction, PipelinedAllRecipientsRefused) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"x@example.org"}, "hi\r\n")},
                                   {kGreeting, kEhloPipelining, "250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n",
                                    "221 bye\r\n"});
    EXPECT_TRUE(run.sent.ends_with("DATA\r\nQUIT\r\n"));
    EXPECT_EQ(status_of(run, 0, 0).code, 550);
}

TEST(ClientTransaction, MailRefusedFailsEveryRecipient) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"x@example.org", "y@example.org"}, "hi\r\n")},
                                   {kGreeting, kEhloBasic, "553 5.1.8 bad sender\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nMAIL FROM:<a@example.net>\r\nQUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.1.8");
    EXPECT_EQ(status_of(run, 0, 1).enhanced, "5.1.8");
}

TEST(ClientTransaction, TwoTransactionsOnOneConnection) {
    auto run = converse_all_splits(
        make_options(),
        {make_message(1, "a@example.net", {"x@example.org"}, "one\r\n"),
         make_message(2, "", {"y@example.org", "z@example.org"}, "two\r\n")},
        {kGreeting, kEhloBasic, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 first\r\n", "250 ok\r\n", "550 5.1.1 no y\r\n",
         "250 ok\r\n", "354 go\r\n", "250 second\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\n"
              "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@example.org>\r\nDATA\r\none\r\n.\r\n"
              "MAIL FROM:<>\r\nRCPT TO:<y@example.org>\r\nRCPT TO:<z@example.org>\r\nDATA\r\ntwo\r\n.\r\n"
              "QUIT\r\n");
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_EQ(run.outcomes[1].tag, 2u);
    EXPECT_EQ(status_of(run, 0, 0).text, "first");
    EXPECT_EQ(status_of(run, 1, 0).code, 550);
    EXPECT_EQ(status_of(run, 1, 1).text, "second");
}

TEST(ClientTransaction, RsetAfterAnAbortedTransaction) {
    auto run = converse_all_splits(make_options(),
                                   {make_message(1, "a@example.net", {"x@example.org"}, "one\r\n"),
                                    make_message(2, "a@example.net", {"y@example.org"}, "two\r\n")},
                                   {kGreeting, kEhloBasic, "250 ok\r\n", "550 no\r\n", "250 reset\r\n", "250 ok\r\n", "250 ok\r\n",
                                    "354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\n"
              "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@example.org>\r\n"
              "RSET\r\n"
              "MAIL FROM:<a@example.net>\r\nRCPT TO:<y@example.org>\r\nDATA\r\ntwo\r\n.\r\n"
              "QUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).code, 550);
    EXPECT_TRUE(status_of(run, 1, 0).accepted());
}

TEST(ClientTransaction, IdleUntilAnotherMessageIsAdded) {
    Session s(make_options());
    s.add(make_message(1, "a@example.net", {"x@example.org"}, "one\r\n"));
    Transcript run;
    for (const char* turn : {"220 hi\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n"}) {
        s.receive(turn);
        pump(s, run);
    }
    EXPECT_EQ(run.last, Session::Next::Idle);
    s.add(make_message(2, "a@example.net", {"y@example.org"}, "two\r\n"));
    s.finish();
    pump(s, run);
    EXPECT_TRUE(run.sent.ends_with("\r\nMAIL FROM:<a@example.net>\r\n"));
    EXPECT_EQ(s.take_outcomes().size(), 1u);
}

TEST(ClientTransaction, DsnAndEightBitAndUtf8Parameters) {
    Message m = make_message(1, "ä@example.net", {"b@example.org"}, "caf\xc3\xa9\r\n");
    m.recipients[0].notify = "SUCCESS,FAILURE";
    m.recipients[0].orcpt = "rfc822;b+x=y@example.org";
    m.ret = "hdrs";
    m.envid = "id 1";
    auto run = converse_all_splits(make_options(), {m},
                                   {kGreeting, "250-mx\r\n250-DSN\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n",
                                    "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_NE(run.sent.find("MAIL FROM:<ä@example.net> SIZE=7 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+201\r\n"),
              std::string::npos)
        << run.sent;
    EXPECT_NE(run.sent.find("RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx+3Dy@example.org\r\n"),
              std::string::npos)
        << run.sent;
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientTransaction, NoDsnParametersWithoutDsn) {
    Message m = make_message(1, "a@example.net", {"b@example.org"}, "x\r\n");
    m.recipients[0].notify = "NEVER";
    m.ret = "FULL";
    auto run = converse(make_options(), {m}, {kGreeting, kEhloBasic, "250 ok\r\n"}, 1000);
    EXPECT_TRUE(run.sent.ends_with("MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n")) << run.sent;
}

TEST(ClientTransaction, AddressThatCouldInjectACommandIsRefused) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@x>\r\nRSET"}, "x\r\n")},
                        {kGreeting, kEhloBasic, "221 bye\r\n"}, 1000);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.1.3");
}

}  // namespace
}  // namespace tern::client::smtp::testing

namespace tern::client::smtp::testing {
namespace {

TEST(ClientTransaction, PipelinedDataAcceptedWithoutRecipientsSendsOnlyTheEnd) {
    // RFC 2920 §3.1: a server that answers 354 though every RCPT failed gets an empty message end.
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"x@example.org"}, "secret\r\n")},
                                   {kGreeting, kEhloPipelining, "250 ok\r\n550 5.1.1 no\r\n354 go\r\n", "554 5.5.1 no rcpt\r\n",
                                    "221 bye\r\n"});
    EXPECT_TRUE(run.sent.ends_with("DATA\r\n.\r\nQUIT\r\n")) << run.sent;
    EXPECT_EQ(run.sent.find("secret"), std::string::npos);
    EXPECT_EQ(status_of(run, 0, 0).code, 550);
}

TEST(ClientTransaction, MessageWithoutRecipientsIsNotSent) {
    Message m = make_message(1, "a@example.net", {}, "x\r\n");
    auto run = converse(make_options(), {m}, {kGreeting, kEhloBasic, "221 bye\r\n"}, 1000);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_TRUE(run.outcomes[0].recipients.empty());
}

}  // namespace
}  // namespace tern::client::smtp::testing
