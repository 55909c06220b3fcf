// IMAP APPEND transcripts: literals, LITERAL+, MULTIAPPEND, refusals (RFC 9051 §6.3.12, RFC 3502, RFC 7888).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapAppend, SynchronizingLiteralAndAppendUid) {
    Transcript t;
    t.login();
    std::string msg = "Subject: new\r\n\r\nappended\r\n";
    EXPECT_EQ(t.send("a APPEND INBOX (\\Seen) {" + std::to_string(msg.size()) + "}\r\n"), "+ Ready for literal data\r\n");
    EXPECT_EQ(normalize(t.send(msg + "\r\n")), "a OK [APPENDUID V 4] APPEND completed\r\n");
    t.send("s SELECT INBOX\r\n");
    EXPECT_EQ(t.send("f FETCH 4 (FLAGS BODY.PEEK[TEXT])\r\n"),
              "* 4 FETCH (FLAGS (\\Recent \\Seen) BODY[TEXT] {10}\r\nappended\r\n)\r\nf OK FETCH completed\r\n");
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
              "* 2 FETCH (INTERNALDATE \"07-Dec-2026 11:00:00 +0000\" FLAGS (\\Recent \\Draft))\r\nc OK FETCH completed\r\n");
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

}  // namespace
}  // namespace tern::imap::testing
