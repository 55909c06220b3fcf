// IMAP FETCH transcripts (RFC 9051 §6.4.5, §7.5.2): data items, sections and partials, the \Seen
// side effect, UID FETCH, bad sequence numbers, and a large message streamed in bounded steps.
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapFetch, FlagsSizeDateUid) {
    Transcript t;
    t.select();
    auto size1 = std::to_string(std::string(kMessage1).size());
    EXPECT_EQ(t.send("a FETCH 1 (FLAGS RFC822.SIZE INTERNALDATE UID)\r\n"),
              "* 1 FETCH (FLAGS () RFC822.SIZE " + size1 +
                  " INTERNALDATE \"07-Dec-2026 10:00:00 +0000\" UID 1)\r\na OK FETCH completed\r\n");
    EXPECT_EQ(t.send("b UID FETCH 2:* FLAGS\r\n"),
              "* 2 FETCH (UID 2 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS ())\r\nb OK UID FETCH completed\r\n");
    EXPECT_EQ(t.send("c UID FETCH 99 FLAGS\r\n"), "c OK UID FETCH completed\r\n") << "absent UIDs are ignored";
}

TEST(ImapFetch, InvalidSequenceNumbers) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("a FETCH 4 FLAGS\r\n"), "a BAD Invalid message sequence number (the mailbox has 3)\r\n");
    EXPECT_EQ(t.send("b FETCH 2:* FLAGS\r\n"), "* 2 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS ())\r\nb OK FETCH completed\r\n");
}

// As Dovecot (and imaptest's fetch-envelope): an addr-spec's trailing comment names it when
// there is no display name; a phrase stays the name; an obs-route is the adl.
TEST(ImapFetch, EnvelopeNamesAnAddrSpecByItsComment) {
    Transcript t;
    store::NewMessage m;
    m.account = "alice@example.org";
    m.data = "From: user@domain (Real Name)\r\nTo: Bob <bob@example.org>, carol@example.org (Carol\r\n C.)\r\n"
             "Cc: <@route:user@domain>\r\n\r\nx\r\n";
    ASSERT_TRUE(t.store().append(std::span<const store::NewMessage>(&m, 1)));
    t.select();
    EXPECT_EQ(t.send("a FETCH 4 (ENVELOPE)\r\n"),
              "* 4 FETCH (ENVELOPE (NIL NIL ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" "
              "\"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Bob\" NIL \"bob\" \"example.org\")"
              "(\"Carol C.\" NIL \"carol\" \"example.org\")) ((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL))\r\n"
              "a OK FETCH completed\r\n");
}

TEST(ImapFetch, EnvelopeAndBodystructure) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("a FETCH 1 (ENVELOPE)\r\n"),
              "* 1 FETCH (ENVELOPE (\"Mon, 07 Dec 2026 10:00:00 +0000\" \"first\" ((\"Ann Example\" NIL \"ann\" "
              "\"example.net\")) ((\"Ann Example\" NIL \"ann\" \"example.net\")) ((\"Ann Example\" NIL \"ann\" "
              "\"example.net\")) ((NIL NIL \"alice\" \"example.org\")) NIL NIL NIL \"<m1@example.net>\"))\r\n"
              "a OK FETCH completed\r\n");
    // The CRLF before a boundary belongs to the delimiter (RFC 2046 §5.1.1): 8 octets, 0 lines.
    auto out = t.send("b FETCH 2 (BODYSTRUCTURE BODY)\r\n");
    EXPECT_NE(out.find("BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 8 0 NIL NIL NIL NIL)"
                       "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8 NIL NIL NIL NIL) \"mixed\" "
                       "(\"boundary\" \"b1\") NIL NIL NIL)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(" BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 8 0)"
                       "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8) \"mixed\")"),
              std::string::npos)
        << out;
}

TEST(ImapFetch, SectionsAndPartialsSetSeen) {
    Transcript t;
    t.select();
    std::string m3 = kMessage3;
    EXPECT_EQ(t.send("a FETCH 3 BODY.PEEK[]\r\n"),
              "* 3 FETCH (BODY[] {" + std::to_string(m3.size()) + "}\r\n" + m3 + ")\r\na OK FETCH completed\r\n");
    EXPECT_EQ(t.send("b FETCH 3 FLAGS\r\n"), "* 3 FETCH (FLAGS ())\r\nb OK FETCH completed\r\n") << "PEEK sets nothing";
    EXPECT_EQ(t.send("c FETCH 3 BODY[TEXT]<4.5>\r\n"),
              "* 3 FETCH (BODY[TEXT]<4> {5}\r\nthird FLAGS (\\Seen))\r\nc OK FETCH completed\r\n");
    EXPECT_EQ(t.send("d FETCH 1 BODY.PEEK[HEADER.FIELDS (subject FROM)]\r\n"),
              "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {55}\r\nFrom: Ann Example <ann@example.net>\r\n"
              "Subject: first\r\n\r\n)\r\nd OK FETCH completed\r\n");
    EXPECT_EQ(t.send("e FETCH 2 BODY.PEEK[1]\r\n"), "* 2 FETCH (BODY[1] {8}\r\npart one)\r\ne OK FETCH completed\r\n");
    EXPECT_EQ(t.send("f FETCH 2 BINARY.PEEK[2]\r\n"),
              "* 2 FETCH (BINARY[2] ~{4}\r\n" + std::string("\0\1\2\3", 4) + ")\r\nf OK FETCH completed\r\n");
    EXPECT_EQ(t.send("g FETCH 2 BINARY.SIZE[2]\r\n"), "* 2 FETCH (BINARY.SIZE[2] 4)\r\ng OK FETCH completed\r\n");
    EXPECT_EQ(t.send("h FETCH 1 RFC822.HEADER\r\n").substr(0, 30), "* 1 FETCH (RFC822.HEADER {147}");
}

TEST(ImapFetch, LargeMessageIsStreamedInSteps) {
    Transcript t;
    std::string big = "Subject: big\r\n\r\n";
    while (big.size() < (3u << 20)) big += std::string(998, 'x') + "\r\n";
    store::NewMessage n;
    n.account = "alice@example.org";
    n.data = big;
    ASSERT_TRUE(t.store().append(std::span<const store::NewMessage>(&n, 1)));
    t.select();
    auto out = t.send("a FETCH 4 BODY.PEEK[]\r\n");
    EXPECT_EQ(out, "* 4 FETCH (BODY[] {" + std::to_string(big.size()) + "}\r\n" + big + ")\r\na OK FETCH completed\r\n");
    // 256 KiB per step: the whole message never sits in one advance()'s output.
    EXPECT_GE(t.continues, 10);
}

TEST(ImapFetch, MacrosExpand) {
    Transcript t;
    t.select();
    auto out = t.send("a FETCH 3 FAST\r\n");
    EXPECT_EQ(out, "* 3 FETCH (FLAGS () INTERNALDATE \"07-Dec-2026 10:00:02 +0000\" RFC822.SIZE " +
                       std::to_string(std::string(kMessage3).size()) + ")\r\na OK FETCH completed\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
