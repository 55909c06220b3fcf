// IMAP STORE, COPY, MOVE, EXPUNGE, APPEND and SEARCH transcripts, and two sessions on one store:
// untagged EXISTS / EXPUNGE / FETCH FLAGS at the moments RFC 9051 §7.5.1 allows, and IDLE.
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapStore, AddRemoveReplaceSilent) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("a STORE 1:2 +FLAGS (\\Flagged $Work)\r\n"),
              "* 1 FETCH (FLAGS ($Work \\Flagged))\r\n* 2 FETCH (FLAGS ($Work \\Flagged))\r\na OK STORE completed\r\n");
    EXPECT_EQ(t.send("b STORE 1 -FLAGS.SILENT (\\Flagged)\r\n"), "b OK STORE completed\r\n");
    EXPECT_EQ(t.send("c UID STORE 1,3 FLAGS (\\Seen)\r\n"),
              "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 3 FETCH (UID 3 FLAGS (\\Seen))\r\nc OK UID STORE completed\r\n");
    EXPECT_EQ(t.send("d STORE 1 +FLAGS (\\Recent)\r\n").substr(0, 6), "d BAD ");
    // A new keyword shows up in FLAGS at the next SELECT.
    auto out = t.send("e SELECT INBOX\r\n");
    EXPECT_TRUE(has_line(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)")) << out;
}

TEST(ImapStore, CondstoreUnchangedSince) {
    Transcript t;
    t.select();
    auto out = t.send("a FETCH 1 (MODSEQ)\r\n");
    auto at = out.find("MODSEQ (");
    ASSERT_NE(at, std::string::npos) << out;
    std::uint64_t ms = std::stoull(out.substr(at + 8));
    t.send("b STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    out = t.send("c STORE 1,2 (UNCHANGEDSINCE " + std::to_string(ms) + ") +FLAGS (\\Flagged)\r\n");
    EXPECT_NE(out.find("c OK [MODIFIED 2]"), std::string::npos) << out;
    EXPECT_NE(out.find("* 1 FETCH (FLAGS (\\Flagged) MODSEQ ("), std::string::npos) << out;
}

TEST(ImapExpunge, ExpungeRenumbersFromTheTop) {
    Transcript t;
    t.select();
    t.send("a STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\n");
    EXPECT_EQ(t.send("b EXPUNGE\r\n"), "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\nb OK EXPUNGE completed\r\n");
    EXPECT_EQ(t.send("c FETCH 1 UID\r\n"), "* 1 FETCH (UID 2)\r\nc OK FETCH completed\r\n");
}

TEST(ImapExpunge, UidExpungeOnlyTheSet) {
    Transcript t;
    t.select();
    t.send("a STORE 1:3 +FLAGS.SILENT (\\Deleted)\r\n");
    EXPECT_EQ(t.send("b UID EXPUNGE 2\r\n"), "* 2 EXPUNGE\r\nb OK UID EXPUNGE completed\r\n");
    EXPECT_EQ(t.send("c FETCH 1:* UID\r\n"), "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\nc OK FETCH completed\r\n");
}

TEST(ImapCopy, CopyAndMoveWithUidplus) {
    Transcript t;
    t.select();
    EXPECT_EQ(normalize(t.send("a COPY 1:2 Archive\r\n")), "a OK [COPYUID V 1:2 1:2] COPY completed\r\n");
    EXPECT_EQ(t.send("b COPY 1 Nope\r\n"), "b NO [TRYCREATE] No such mailbox\r\n");
    EXPECT_EQ(normalize(t.send("c UID MOVE 2:3 Trash\r\n")),
              "* OK [COPYUID V 2:3 1:2] Moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK UID MOVE completed\r\n");
    auto out = t.send("d STATUS Trash (MESSAGES)\r\ne STATUS Archive (MESSAGES)\r\n");
    EXPECT_TRUE(has_line(out, "* STATUS \"Trash\" (MESSAGES 2)")) << out;
    EXPECT_TRUE(has_line(out, "* STATUS \"Archive\" (MESSAGES 2)")) << out;
    auto bodies = t.store().count_bodies();
    ASSERT_TRUE(bodies);
    EXPECT_EQ(*bodies, 3u) << "COPY and MOVE share bodies";
}

TEST(ImapAppend, SynchronizingLiteralAndAppendUid) {
    Transcript t;
    t.login();
    std::string msg = "Subject: new\r\n\r\nappended\r\n";
    EXPECT_EQ(t.send("a APPEND INBOX (\\Seen) {" + std::to_string(msg.size()) + "}\r\n"), "+ Ready for literal data\r\n");
    EXPECT_EQ(normalize(t.send(msg + "\r\n")), "a OK [APPENDUID V 4] APPEND completed\r\n");
    t.send("s SELECT INBOX\r\n");
    EXPECT_EQ(t.send("f FETCH 4 (FLAGS BODY.PEEK[TEXT])\r\n"),
              "* 4 FETCH (FLAGS (\\Seen) BODY[TEXT] {10}\r\nappended\r\n)\r\nf OK FETCH completed\r\n");
}

TEST(ImapAppend, LiteralPlusMultiappendAndBareLf) {
    Transcript t;
    t.login();
    std::string m1 = "Subject: one\n\nbare lf\n", m2 = "Subject: two\r\n\r\ncrlf\r\n";
    auto out = t.send("a APPEND Sent {" + std::to_string(m1.size()) + "+}\r\n" + m1 + " (\\Draft) \"07-Dec-2026 12:00:00 +0100\" {" +
                      std::to_string(m2.size()) + "+}\r\n" + m2 + "\r\n");
    EXPECT_EQ(normalize(out), "a OK [APPENDUID V 1:2] APPEND completed\r\n");
    t.send("s SELECT Sent\r\n");
    // The bare LFs became CRLF (25 octets); the given date and flags were kept.
    EXPECT_EQ(t.send("b FETCH 1 RFC822.SIZE\r\nc FETCH 2 (INTERNALDATE FLAGS)\r\n"),
              "* 1 FETCH (RFC822.SIZE 25)\r\nb OK FETCH completed\r\n"
              "* 2 FETCH (INTERNALDATE \"07-Dec-2026 11:00:00 +0000\" FLAGS (\\Draft))\r\nc OK FETCH completed\r\n");
}

TEST(ImapAppend, RefusalsAndTryCreate) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a APPEND Nope {3+}\r\nabc\r\n"), "a NO [TRYCREATE] No such mailbox\r\n");
    EXPECT_EQ(t.send("b APPEND INBOX {0+}\r\n\r\n"), "b NO [CANNOT] An empty message cannot be appended\r\n");
    EXPECT_EQ(t.send(std::string("c APPEND INBOX {3+}\r\na\0b\r\n", 26)), "c BAD NUL octet in literal\r\n") << "RFC 9051 §4.3: NUL only in literal8";
    // Over the literal limit: refused before the client sends the octets.
    auto out = t.send("d APPEND INBOX {999999999}\r\n");
    EXPECT_EQ(out, "d BAD [TOOBIG] Literal too large\r\n");
    EXPECT_EQ(t.send("e NOOP\r\n"), "e OK NOOP completed\r\n") << "the session carries on";
}

TEST(ImapSearch, KeysAndEsearch) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("a SEARCH SUBJECT first\r\n"), "* SEARCH 1\r\na OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("b SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncafé\r\n"), "* SEARCH 2\r\nb OK SEARCH completed\r\n") << "RFC 2047 decoded";
    EXPECT_EQ(t.send("c UID SEARCH BODY \"THIRD message\"\r\n"), "* SEARCH 3\r\nc OK UID SEARCH completed\r\n");
    EXPECT_EQ(t.send("d SEARCH BODY AAECAw\r\n"), "* SEARCH\r\nd OK SEARCH completed\r\n") << "no match on base64 text";
    EXPECT_EQ(t.send("e SEARCH RETURN (MIN MAX COUNT ALL) OR SUBJECT first SUBJECT third\r\n"),
              "* ESEARCH (TAG \"e\") MIN 1 MAX 3 ALL 1,3 COUNT 2\r\ne OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("f SEARCH CHARSET KOI8-R ALL\r\n"), "f NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
    // SEARCHRES (RFC 5182): SAVE alone sends no ESEARCH; "$" then names the result.
    EXPECT_EQ(t.send("g SEARCH RETURN (SAVE) NOT SUBJECT first\r\n"), "g OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("h FETCH $ UID\r\n"), "* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\nh OK FETCH completed\r\n");
}

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
    // New mail: EXISTS (and rev1's RECENT).
    store::NewMessage m;
    m.account = "alice@example.org";
    m.data = "Subject: late\r\n\r\nx\r\n";
    ASSERT_TRUE(a.store().append(std::span<const store::NewMessage>(&m, 1)));
    EXPECT_EQ(a.send("o NOOP\r\n"), "* 3 EXISTS\r\n* 0 RECENT\r\no OK NOOP completed\r\n");
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
    EXPECT_EQ(a.drain(), "* 4 EXISTS\r\n* 0 RECENT\r\n");
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
