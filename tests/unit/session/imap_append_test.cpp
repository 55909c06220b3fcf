// IMAP APPEND transcripts: literals, LITERAL+, MULTIAPPEND, refusals (RFC 9051 §6.3.12, RFC 3502, RFC 7888).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"
#include "session/imap/binary_append.hpp"

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

// RFC 3516 §4.4 (imaptest append-binary): a literal8 message whose part is Content-Transfer-Encoding
// binary, with NULs and bare LFs, is kept base64-encoded as Dovecot keeps it: BODY[1] carries no
// NUL, BINARY[1] and BINARY.SIZE[1] give back exactly the 7 octets sent (no CRLF added to them).
TEST(ImapAppend, Literal8BinaryPartIsKeptAsBase64) {
    Transcript t;
    t.login();
    const std::string body("\0-\xe4\n\r\n\n", 7);
    const std::string msg = "From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
                            "Content-Transfer-Encoding: binary\r\n\r\n" + body;
    EXPECT_EQ(normalize(t.send("a APPEND INBOX ~{" + std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n")),
              "a OK [APPENDUID V 4] APPEND completed\r\n");
    t.send("s SELECT INBOX\r\n");
    EXPECT_EQ(t.send("f FETCH 4 (BODY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1])\r\n"),
              "* 4 FETCH (BODY[1] {14}\r\nAC3kCg0KCg==\r\n BINARY.SIZE[1] 7 BINARY[1] ~{7}\r\n" + body +
                  ")\r\nf OK FETCH completed\r\n");
    auto out = t.send("g FETCH 4 (BODY.PEEK[HEADER.FIELDS (Content-Transfer-Encoding)] BODYSTRUCTURE)\r\n");
    EXPECT_NE(out.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\"base64\" 14"), std::string::npos) << out;
    // A plain literal is stored as sent (bare LFs to CRLF only).
    const std::string plain = "Subject: x\r\nContent-Transfer-Encoding: binary\r\n\r\nab\n";
    t.send("p APPEND INBOX {" + std::to_string(plain.size()) + "+}\r\n" + plain + "\r\n");
    EXPECT_NE(t.send("n NOOP\r\nh FETCH 5 BODY.PEEK[TEXT]\r\n").find("BODY[TEXT] {4}\r\nab\r\n)"), std::string::npos);
}

// Only binary leaves change: a multipart keeps its other parts and delimiters octet for octet.
TEST(ImapAppend, EncodeBinaryPartsTouchesOnlyBinaryLeaves) {
    const std::string text = "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
    const std::string bin = "--b\r\nContent-Type: application/x\r\ncontent-transfer-encoding:  Binary\r\n"
                            "X-Other: 1\r\n\r\n" + std::string("\0\x01\n", 3) + "\r\n--b--\r\n";
    const std::string head = "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    const std::string out = encode_binary_parts(head + text + bin);
    EXPECT_EQ(out, head + text +
                       "--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: base64\r\n"
                       "X-Other: 1\r\n\r\nAAEK\r\n--b--\r\n");
    const std::string none = "Subject: x\r\n\r\nno binary here\r\n";
    EXPECT_EQ(encode_binary_parts(none), none);
    // A long binary body: 76-column lines.
    const std::string big = "Content-Transfer-Encoding: binary\r\n\r\n" + std::string(100, '\0');
    const std::string enc = encode_binary_parts(big);
    EXPECT_NE(enc.find(std::string(76, 'A') + "\r\n"), std::string::npos) << enc;
    EXPECT_EQ(enc.find('\0'), std::string::npos);
}

}  // namespace
}  // namespace tern::imap::testing
