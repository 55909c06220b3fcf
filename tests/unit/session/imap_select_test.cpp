// IMAP SELECT / EXAMINE / STATUS / CLOSE / UNSELECT transcripts (RFC 9051 §6.3.2, §6.3.3,
// §6.3.11, §6.4.1, §6.4.2; RFC 3501 for rev1's RECENT and UNSEEN).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapSelect, SelectRev1) {
    Transcript t;
    auto out = normalize(t.select());
    EXPECT_EQ(out,
              "* 3 EXISTS\r\n"
              "* 0 RECENT\r\n"
              "* OK [UNSEEN 1] First unseen\r\n"
              "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
              "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"
              "* OK [UIDVALIDITY V] UIDs valid\r\n"
              "* OK [UIDNEXT 4] Predicted next UID\r\n"
              "S1 OK [READ-WRITE] SELECT completed\r\n");
}

TEST(ImapSelect, SelectRev2SendsListNotRecent) {
    Transcript t;
    t.login();
    t.send("e ENABLE IMAP4rev2\r\n");
    auto out = t.send("s SELECT inbox\r\n");
    EXPECT_EQ(out.find("RECENT"), std::string::npos) << out;
    EXPECT_EQ(out.find("UNSEEN"), std::string::npos) << out;
    EXPECT_TRUE(has_line(out, "* LIST () \"/\" INBOX")) << out;
    EXPECT_TRUE(has_line(out, "s OK [READ-WRITE] SELECT completed")) << out;
}

TEST(ImapSelect, ExamineIsReadOnly) {
    Transcript t;
    t.login();
    auto out = t.send("x EXAMINE INBOX\r\n");
    EXPECT_TRUE(has_line(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox")) << out;
    EXPECT_TRUE(has_line(out, "x OK [READ-ONLY] EXAMINE completed")) << out;
    EXPECT_EQ(t.send("a STORE 1 +FLAGS (\\Seen)\r\n"), "a NO [READ-ONLY] The mailbox is read-only (EXAMINE)\r\n");
    EXPECT_EQ(t.send("b EXPUNGE\r\n"), "b NO [READ-ONLY] The mailbox is read-only (EXAMINE)\r\n");
    // BODY[] does not set \Seen in a read-only session.
    t.send("c FETCH 1 BODY[]\r\n");
    EXPECT_EQ(t.send("d FETCH 1 FLAGS\r\n"), "* 1 FETCH (FLAGS ())\r\nd OK FETCH completed\r\n");
}

TEST(ImapSelect, SelectMissingMailboxLeavesNothingSelected) {
    Transcript t;
    t.select();
    auto out = t.send("a SELECT Nope\r\n");
    EXPECT_EQ(out, "* OK [CLOSED] Previous mailbox closed\r\na NO [NONEXISTENT] SELECT: no such mailbox\r\n");
    EXPECT_EQ(t.send("b FETCH 1 FLAGS\r\n"), "b BAD FETCH needs a selected mailbox\r\n");
}

TEST(ImapSelect, StatusItems) {
    Transcript t;
    t.login();
    auto out = normalize(t.send("a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)\r\n"));
    auto size = std::to_string(std::string(kMessage1).size() + std::string(kMessage2).size() + std::string(kMessage3).size());
    EXPECT_EQ(out, "* STATUS \"INBOX\" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY V UNSEEN 3 DELETED 0 SIZE " + size +
                       " RECENT 0)\r\na OK STATUS completed\r\n");
    EXPECT_EQ(t.send("b STATUS Nope (MESSAGES)\r\n"), "b NO [NONEXISTENT] STATUS: no such mailbox\r\n");
}

TEST(ImapSelect, CloseExpungesSilentlyUnselectDoesNot) {
    Transcript t;
    t.select();
    t.send("a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    EXPECT_EQ(t.send("b UNSELECT\r\n"), "b OK UNSELECT completed\r\n");
    t.send("c SELECT INBOX\r\n");
    EXPECT_EQ(t.send("d CLOSE\r\n"), "d OK CLOSE completed\r\n") << "no EXPUNGE responses on CLOSE";
    auto out = t.send("e STATUS INBOX (MESSAGES)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (MESSAGES 2)")) << out;
}

TEST(ImapSelect, CloseInExamineExpungesNothing) {
    Transcript t;
    t.select();
    t.send("a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    t.send("b EXAMINE INBOX\r\n");
    t.send("c CLOSE\r\n");
    auto out = t.send("d STATUS INBOX (MESSAGES)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (MESSAGES 3)")) << out;
}

}  // namespace
}  // namespace tern::imap::testing
