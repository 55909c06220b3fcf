// IMAP \Recent transcripts (RFC 3501 §2.3.2, §6.3.1, §6.3.2, §6.3.10, §6.4.4, §7.3.2): the first
// read-write rev1 session to see a message claims it; EXAMINE and IMAP4rev2 sessions claim
// nothing. Must never let two sessions both see one message as \Recent.
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

void deliver(store::MailStore& s, std::string subject, std::string mailbox = "INBOX") {
    store::NewMessage m;
    m.account = "alice@example.org";
    m.mailbox = std::move(mailbox);
    m.data = "Subject: " + subject + "\r\n\r\nbody\r\n";
    m.internal_date = 1796637600;
    ASSERT_TRUE(s.append(std::span<const store::NewMessage>(&m, 1)));
}

// The fixture's three messages were seen before; one new one is \Recent for the first SELECT
// only, and its FETCH FLAGS carry \Recent there (and nowhere else).
TEST(ImapRecent, FirstSelectClaimsAndSecondDoesNot) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    deliver(a.store(), "new");
    auto out = a.select();
    EXPECT_TRUE(has_line(out, "* 4 EXISTS")) << out;
    EXPECT_TRUE(has_line(out, "* 1 RECENT")) << out;
    EXPECT_EQ(a.send("f FETCH 3:4 FLAGS\r\n"),
              "* 3 FETCH (FLAGS ())\r\n* 4 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n");
    out = b.select();
    EXPECT_TRUE(has_line(out, "* 4 EXISTS")) << out;
    EXPECT_TRUE(has_line(out, "* 0 RECENT")) << out;
    EXPECT_EQ(b.send("f FETCH 4 FLAGS\r\n"), "* 4 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n");
    // \Recent stays with a's session: a STORE's FETCH shows it, it cannot be stored.
    EXPECT_EQ(a.send("s STORE 4 +FLAGS (\\Seen)\r\n"),
              "* 4 FETCH (FLAGS (\\Recent \\Seen))\r\ns OK STORE completed\r\n");
    // ... and ends with it: a new SELECT by a finds nothing left to claim.
    out = a.send("c CLOSE\r\nt SELECT INBOX\r\n");
    EXPECT_TRUE(has_line(out, "* 0 RECENT")) << out;
}

// EXAMINE shows the unclaimed messages as \Recent without claiming them (RFC 3501 §6.3.2): a
// later SELECT still gets them.
TEST(ImapRecent, ExamineDoesNotClaim) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    deliver(a.store(), "one");
    deliver(a.store(), "two");
    a.login();
    auto out = a.send("x EXAMINE INBOX\r\n");
    EXPECT_TRUE(has_line(out, "* 2 RECENT")) << out;
    EXPECT_EQ(a.send("f FETCH 5 FLAGS\r\n"), "* 5 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n");
    out = a.send("s STATUS INBOX (RECENT)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (RECENT 2)")) << out;
    out = b.select();
    EXPECT_TRUE(has_line(out, "* 2 RECENT")) << out;
    out = a.send("t STATUS INBOX (RECENT MESSAGES)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (RECENT 0 MESSAGES 5)")) << out;
}

// Mail delivered while a read-write session has the mailbox selected is claimed by that session
// when it learns of it (EXISTS, then RECENT); a session that selects afterwards sees it as old.
TEST(ImapRecent, DeliveryWhileSelectedIsClaimedAtSync) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.select();
    deliver(a.store(), "late");
    EXPECT_EQ(a.send("n NOOP\r\n"), "* 4 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
    deliver(a.store(), "later");
    EXPECT_EQ(a.send("n NOOP\r\n"), "* 5 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed\r\n");
    auto out = b.select();
    EXPECT_TRUE(has_line(out, "* 0 RECENT")) << out;
    EXPECT_EQ(a.send("f FETCH 4:5 FLAGS\r\n"),
              "* 4 FETCH (FLAGS (\\Recent))\r\n* 5 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n");
    // Delivered now, claimed by whichever of the two syncs first: a, here; b sees it old.
    deliver(a.store(), "race");
    EXPECT_EQ(a.send("n NOOP\r\n"), "* 6 EXISTS\r\n* 3 RECENT\r\nn OK NOOP completed\r\n");
    EXPECT_EQ(b.send("n NOOP\r\n"), "* 6 EXISTS\r\n* 0 RECENT\r\nn OK NOOP completed\r\n");
}

// RFC 3501 §6.4.4: RECENT, NEW (= RECENT UNSEEN) and OLD (= NOT RECENT).
TEST(ImapRecent, SearchRecentNewOld) {
    Transcript a;
    deliver(a.store(), "four");
    deliver(a.store(), "five");
    a.select();
    a.send("s STORE 5 +FLAGS.SILENT (\\Seen)\r\n");
    EXPECT_EQ(a.send("r SEARCH RECENT\r\n"), "* SEARCH 4 5\r\nr OK SEARCH completed\r\n");
    EXPECT_EQ(a.send("n SEARCH NEW\r\n"), "* SEARCH 4\r\nn OK SEARCH completed\r\n");
    EXPECT_EQ(a.send("o SEARCH OLD\r\n"), "* SEARCH 1 2 3\r\no OK SEARCH completed\r\n");
    EXPECT_EQ(a.send("u UID SEARCH NOT OLD\r\n"), "* SEARCH 4 5\r\nu OK UID SEARCH completed\r\n");
}

// RFC 3501 §6.3.10 STATUS RECENT: messages no session has claimed (also in LIST-STATUS).
TEST(ImapRecent, StatusRecentCountsUnclaimed) {
    Transcript a;
    a.login();
    auto out = a.send("s STATUS INBOX (RECENT)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (RECENT 0)")) << out;
    deliver(a.store(), "x");
    deliver(a.store(), "y", "Sent");
    out = a.send("s STATUS INBOX (RECENT UNSEEN)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (RECENT 1 UNSEEN 4)")) << out;
    out = a.send("l LIST \"\" Sent RETURN (STATUS (MESSAGES RECENT))\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"Sent\" (MESSAGES 1 RECENT 1)")) << out;
    a.send("t SELECT INBOX\r\n");
    out = a.send("s STATUS INBOX (RECENT)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (RECENT 0)")) << out;
}

// RFC 9051 dropped \Recent: a rev2 session never sees RECENT or \Recent and claims nothing, so
// the next rev1 session still gets the message.
TEST(ImapRecent, Rev2SessionSeesNoneAndClaimsNothing) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    deliver(a.store(), "new");
    a.login();
    a.send("e ENABLE IMAP4rev2\r\n");
    auto out = a.send("s SELECT INBOX\r\n");
    EXPECT_EQ(out.find("RECENT"), std::string::npos) << out;
    EXPECT_EQ(a.send("f FETCH 4 FLAGS\r\n"), "* 4 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n");
    deliver(a.store(), "newer");
    out = a.send("n NOOP\r\n");
    EXPECT_EQ(out, "* 5 EXISTS\r\nn OK NOOP completed\r\n");
    EXPECT_EQ(a.send("r SEARCH NOT RECENT\r\n"), "* ESEARCH (TAG \"r\") ALL 1:5\r\nr OK SEARCH completed\r\n");
    out = b.select();
    EXPECT_TRUE(has_line(out, "* 2 RECENT")) << out;
}

}  // namespace
}  // namespace tern::imap::testing
