// Two IMAP sessions on one store: untagged updates at the moments RFC 9051 §7.5.1 allows, and IDLE (§6.3.13).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapUpdates, OtherSessionChangesArriveAtAllowedMoments) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.select();
    b.select();
    // b flags and expunges; a hears of it at its next command (NOOP), EXPUNGE included.
    b.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("y EXPUNGE\r\n");
    b.send("z STORE 2 +FLAGS.SILENT (\\Flagged)\r\n");  // message 3 (UID 3) is now b's 2
    // During FETCH no EXPUNGE (RFC 9051 §7.5.1), but the flag change may come.
    auto out = a.send("f FETCH 1 UID\r\n");
    EXPECT_EQ(out.find("EXPUNGE"), std::string::npos) << out;
    EXPECT_TRUE(has_line(out, "* 3 FETCH (UID 3 FLAGS (\\Flagged))")) << out;
    out = a.send("n NOOP\r\n");
    EXPECT_EQ(out, "* 1 EXPUNGE\r\nn OK NOOP completed\r\n");
    // New mail: EXISTS (and rev1's RECENT: a, read-write, is the first to see it).
    store::NewMessage m;
    m.account = "alice@example.org";
    m.data = "Subject: late\r\n\r\nx\r\n";
    ASSERT_TRUE(a.store().append(std::span<const store::NewMessage>(&m, 1)));
    EXPECT_EQ(a.send("o NOOP\r\n"), "* 3 EXISTS\r\n* 1 RECENT\r\no OK NOOP completed\r\n");
}

TEST(ImapUpdates, IdleSendsUpdatesUntilDone) {
    Transcript a;
    a.select();
    EXPECT_EQ(a.send("i IDLE\r\n"), "+ idling\r\n");
    EXPECT_EQ(a.last_next, Session::Next::Idle);
    store::NewMessage m;
    m.account = "alice@example.org";
    m.data = "Subject: pushed\r\n\r\nx\r\n";
    ASSERT_TRUE(a.store().append(std::span<const store::NewMessage>(&m, 1)));
    // The network layer calls advance() on a change notice.
    EXPECT_EQ(a.drain(), "* 4 EXISTS\r\n* 1 RECENT\r\n");
    EXPECT_EQ(a.last_next, Session::Next::Idle);
    EXPECT_EQ(a.send("DONE\r\n"), "i OK IDLE terminated\r\n");
    EXPECT_EQ(a.last_next, Session::Next::Read);
    EXPECT_EQ(a.send("j IDLE\r\n"), "+ idling\r\n");
    EXPECT_EQ(a.send("NOPE\r\n"), "j BAD Expected DONE to end IDLE\r\n");
}

TEST(ImapUpdates, DeletedSelectedMailboxEndsTheSession) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.login();
    a.send("c CREATE Tmp\r\n");
    a.send("s SELECT Tmp\r\n");
    b.login();
    EXPECT_EQ(b.send("d DELETE Tmp\r\n"), "d OK DELETE completed\r\n");
    EXPECT_EQ(a.send("n NOOP\r\n"), "* BYE The selected mailbox no longer exists\r\n");
    EXPECT_TRUE(a.closed);
}

}  // namespace
}  // namespace tern::imap::testing
