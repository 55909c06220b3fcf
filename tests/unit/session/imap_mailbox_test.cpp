// IMAP mailbox management transcripts: CREATE, DELETE, RENAME, SUBSCRIBE, LIST / LSUB, NAMESPACE
// (RFC 9051 §6.3.4-§6.3.10, RFC 5258 selection options, RFC 6154, RFC 3348 CHILDREN), and
// mailbox names in modified UTF-7 (rev1) and UTF-8 (rev2).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapMailbox, ListDefaultFoldersWithSpecialUse) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a LIST \"\" *\r\n"),
              "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"\r\n"
              "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
              "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
              "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n"
              "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
              "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n"
              "a OK LIST completed\r\n");
    EXPECT_EQ(t.send("b LIST \"\" \"\"\r\n"), "* LIST (\\Noselect) \"/\" \"\"\r\nb OK LIST completed\r\n");
}

TEST(ImapMailbox, CreateHierarchyAndPercentWildcard) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a CREATE Work/2026/Q4\r\n"), "a OK CREATE completed\r\n");
    EXPECT_EQ(t.send("b CREATE Work/\r\n"), "b NO [ALREADYEXISTS] CREATE: the mailbox exists already\r\n");
    EXPECT_EQ(t.send("c LIST \"\" Work/%\r\n"),
              "* LIST (\\HasChildren) \"/\" \"Work/2026\"\r\nc OK LIST completed\r\n");
    EXPECT_EQ(t.send("d LIST Work/ *\r\n"),
              "* LIST (\\HasChildren) \"/\" \"Work/2026\"\r\n* LIST (\\HasNoChildren) \"/\" \"Work/2026/Q4\"\r\n"
              "d OK LIST completed\r\n");
    EXPECT_EQ(t.send("e LIST \"\" w*\r\n"), "e OK LIST completed\r\n") << "names are case-sensitive";
    EXPECT_EQ(t.send("f LIST \"\" inbox\r\n"), "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\nf OK LIST completed\r\n");
}

TEST(ImapMailbox, CreateRefusesBadNamesAndInbox) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a CREATE inbox\r\n"), "a NO [ALREADYEXISTS] INBOX always exists\r\n");
    EXPECT_TRUE(t.send("b CREATE \"a/../b\"\r\n").starts_with("b NO [CANNOT] Bad mailbox name"));
    EXPECT_TRUE(t.send("c CREATE \"a%\"\r\n").starts_with("c NO [CANNOT] Bad mailbox name"));
    EXPECT_TRUE(t.send("d CREATE \"&Jjo\"\r\n").starts_with("d NO [CANNOT] Bad mailbox name")) << "bad mUTF-7";
}

TEST(ImapMailbox, ModifiedUtf7ForRev1Utf8ForRev2) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a CREATE \"Caf&AOk-\"\r\n"), "a OK CREATE completed\r\n");
    EXPECT_EQ(t.send("b LIST \"\" Caf*\r\n"), "* LIST (\\HasNoChildren) \"/\" \"Caf&AOk-\"\r\nb OK LIST completed\r\n");
    t.send("c ENABLE UTF8=ACCEPT\r\n");
    EXPECT_EQ(t.send("d LIST \"\" Caf*\r\n"), "* LIST (\\HasNoChildren) \"/\" \"Café\"\r\nd OK LIST completed\r\n");
    EXPECT_TRUE(t.send("e SELECT \"Café\"\r\n").find("e OK [READ-WRITE]") != std::string::npos);
}

TEST(ImapMailbox, DeleteRules) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a DELETE INBOX\r\n"), "a NO [CANNOT] INBOX cannot be deleted\r\n");
    EXPECT_EQ(t.send("b DELETE Nope\r\n"), "b NO [NONEXISTENT] DELETE: no such mailbox\r\n");
    t.send("c CREATE P/Q\r\n");
    // RFC 9051 §6.3.5: a mailbox with inferiors becomes \Noselect.
    EXPECT_EQ(t.send("d DELETE P\r\n"), "d OK DELETE completed\r\n");
    EXPECT_EQ(t.send("e LIST \"\" P*\r\n"),
              "* LIST (\\Noselect \\HasChildren) \"/\" \"P\"\r\n* LIST (\\HasNoChildren) \"/\" \"P/Q\"\r\ne OK LIST completed\r\n");
    EXPECT_EQ(t.send("f SELECT P\r\n"), "f NO [NONEXISTENT] SELECT: no such mailbox\r\n") << "a \\Noselect name holds no messages";
    EXPECT_EQ(t.send("g DELETE P\r\n"), "g NO [HASCHILDREN] DELETE: the mailbox has children\r\n");
    EXPECT_EQ(t.send("h DELETE P/Q\r\n"), "h OK DELETE completed\r\n");
}

TEST(ImapMailbox, RenameWithChildrenAndInbox) {
    Transcript t;
    t.login();
    t.send("a CREATE A/B\r\n");
    EXPECT_EQ(t.send("b RENAME A Z\r\n"), "b OK RENAME completed\r\n");
    EXPECT_EQ(t.send("c LIST \"\" Z*\r\n"),
              "* LIST (\\HasChildren) \"/\" \"Z\"\r\n* LIST (\\HasNoChildren) \"/\" \"Z/B\"\r\nc OK LIST completed\r\n");
    EXPECT_EQ(t.send("d RENAME Z Sent\r\n"), "d NO [ALREADYEXISTS] RENAME: the mailbox exists already\r\n");
    EXPECT_EQ(t.send("e RENAME Nope X\r\n"), "e NO [NONEXISTENT] RENAME: no such mailbox\r\n");
    // RFC 9051 §6.3.6: renaming INBOX moves its messages; INBOX stays, empty.
    EXPECT_EQ(t.send("f RENAME INBOX Old\r\n"), "f OK RENAME completed\r\n");
    auto out = t.send("g STATUS INBOX (MESSAGES)\r\nh STATUS Old (MESSAGES)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"INBOX\" (MESSAGES 0)")) << out;
    EXPECT_TRUE(has_line(out, "* STATUS \"Old\" (MESSAGES 3)")) << out;
}

TEST(ImapMailbox, SubscribeLsubAndListSubscribed) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a SUBSCRIBE Sent\r\n"), "a OK SUBSCRIBE completed\r\n");
    EXPECT_EQ(t.send("b SUBSCRIBE Gone\r\n"), "b OK SUBSCRIBE completed\r\n");
    EXPECT_EQ(t.send("c LSUB \"\" *\r\n"),
              "* LSUB (\\Noselect) \"/\" \"Gone\"\r\n* LSUB (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\nc OK LSUB completed\r\n");
    EXPECT_EQ(t.send("d LIST (SUBSCRIBED) \"\" *\r\n"),
              "* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone\"\r\n"
              "* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent\"\r\nd OK LIST completed\r\n");
    EXPECT_EQ(t.send("e UNSUBSCRIBE Gone\r\n"), "e OK UNSUBSCRIBE completed\r\n");
    EXPECT_EQ(t.send("f LSUB \"\" *\r\n"), "* LSUB (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\nf OK LSUB completed\r\n");
}

TEST(ImapMailbox, ListReturnStatusAndSpecialUseSelection) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a LIST (SPECIAL-USE) \"\" * RETURN (STATUS (MESSAGES))\r\n"),
              "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"\r\n* STATUS \"Archive\" (MESSAGES 0)\r\n"
              "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n* STATUS \"Drafts\" (MESSAGES 0)\r\n"
              "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n* STATUS \"Junk\" (MESSAGES 0)\r\n"
              "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n* STATUS \"Sent\" (MESSAGES 0)\r\n"
              "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n* STATUS \"Trash\" (MESSAGES 0)\r\n"
              "a OK LIST completed\r\n");
}

TEST(ImapMailbox, RecursiveMatchChildInfo) {
    Transcript t;
    t.login();
    t.send("a CREATE Foo/Bar\r\nb SUBSCRIBE Foo/Bar\r\nc SUBSCRIBE Gone/Child\r\n");
    // RFC 5258 §5 example 7: the unsubscribed parent is listed for its subscribed child.
    EXPECT_EQ(t.send("d LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n"),
              "* LIST (\\HasChildren) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
              "* LIST (\\NonExistent) \"/\" \"Gone\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
              "d OK LIST completed\r\n");
    EXPECT_EQ(t.send("e LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *\r\n"),
              "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Foo/Bar\"\r\n"
              "* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone/Child\"\r\n"
              "e OK LIST completed\r\n");
    EXPECT_EQ(t.send("f LIST (RECURSIVEMATCH) \"\" *\r\n"), "f BAD RECURSIVEMATCH needs another selection option\r\n");
}

TEST(ImapMailbox, ListPatternThatIsNotModifiedUtf7) {
    Transcript t;
    t.login();
    // imaptest atoms: a pattern with a stray '&' matches as written (nothing here), no BAD.
    EXPECT_EQ(t.send("a LIST \"\" \"a&b*\"\r\n"), "a OK LIST completed\r\n");
}

TEST(ImapMailbox, Namespace) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a NAMESPACE\r\n"), "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\na OK NAMESPACE completed\r\n");
}

TEST(ImapMailbox, AccountsAreSeparate) {
    store::MailStore* shared = nullptr;
    Transcript alice;
    shared = &alice.store();
    Transcript bob(plaintext_config(), shared, "I2");
    alice.login();
    alice.send("a CREATE Private\r\n");
    bob.login("bob@example.org", "hunter2");
    EXPECT_EQ(bob.send("b LIST \"\" Private\r\n"), "b OK LIST completed\r\n");
    EXPECT_EQ(bob.send("c SELECT Private\r\n"), "c NO [NONEXISTENT] SELECT: no such mailbox\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
