// IMAP SORT, UID SORT with ESORT's RETURN (RFC 5256 §3, RFC 5957, RFC 5267) and THREAD, UID THREAD
// (RFC 5256 §4) as a client sees them, over the harness mailbox plus threaded replies.
#include <gtest/gtest.h>

#include <regex>

#include "session/imap/session.hpp"
#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapSort, AdvertisedAfterLogin) {
    Transcript t;
    EXPECT_EQ(t.greeting().find("SORT"), std::string::npos);
    auto out = t.login();
    EXPECT_NE(out.find(" SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT"), std::string::npos)
        << out;
}

TEST(ImapSort, Keys) {
    Transcript t;
    t.select();
    // Subjects "first", "café" (RFC 2047), "third"; From ann@, bob@, none; sizes 160, 348, 37.
    EXPECT_EQ(t.send("a SORT (SUBJECT) UTF-8 ALL\r\n"), "* SORT 2 1 3\r\na OK SORT completed\r\n");
    EXPECT_EQ(t.send("b SORT (REVERSE ARRIVAL) US-ASCII ALL\r\n"), "* SORT 3 2 1\r\nb OK SORT completed\r\n");
    EXPECT_EQ(t.send("c SORT (FROM) UTF-8 ALL\r\n"), "* SORT 3 1 2\r\nc OK SORT completed\r\n");
    EXPECT_EQ(t.send("d SORT (DISPLAYFROM) UTF-8 ALL\r\n"), "* SORT 3 1 2\r\nd OK SORT completed\r\n");
    EXPECT_EQ(t.send("e SORT (SIZE) UTF-8 ALL\r\n"), "* SORT 3 1 2\r\ne OK SORT completed\r\n");
    EXPECT_EQ(t.send("f SORT (REVERSE DATE) UTF-8 ALL\r\n"), "* SORT 3 2 1\r\nf OK SORT completed\r\n");
    EXPECT_EQ(t.send("g UID SORT (SUBJECT) UTF-8 SUBJECT i\r\n"), "* SORT 1 3\r\ng OK UID SORT completed\r\n");
    EXPECT_EQ(t.send("h SORT (SUBJECT) UTF-8 NOT ALL\r\n"), "* SORT\r\nh OK SORT completed\r\n");
}

TEST(ImapSort, Esort) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("e SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL\r\n"),
              "* ESEARCH (TAG \"e\") MIN 2 MAX 3 ALL 2,1,3 COUNT 3\r\ne OK SORT completed\r\n");
    EXPECT_EQ(t.send("f UID SORT RETURN () (ARRIVAL) UTF-8 ALL\r\n"),
              "* ESEARCH (TAG \"f\") UID ALL 1:3\r\nf OK UID SORT completed\r\n");
    EXPECT_EQ(t.send("g SORT RETURN (COUNT) (ARRIVAL) UTF-8 NOT ALL\r\n"),
              "* ESEARCH (TAG \"g\") COUNT 0\r\ng OK SORT completed\r\n");
    EXPECT_EQ(t.send("h SORT RETURN (MIN) (REVERSE SIZE) UTF-8 ALL\r\n"),
              "* ESEARCH (TAG \"h\") MIN 2\r\nh OK SORT completed\r\n");
}

TEST(ImapSort, ModSeqKey) {
    Transcript t;
    t.select();
    t.send("a STORE 2 +FLAGS (\\Flagged)\r\n");
    auto out = t.send("b FETCH 2 (MODSEQ)\r\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(MODSEQ \((\d+)\))"))) << out;
    std::string top = m[1];
    // RFC 7162 §3.1.5 / §7 search-sort-mod-seq: the highest mod-sequence of what is returned.
    EXPECT_EQ(t.send("c SORT (SUBJECT) UTF-8 MODSEQ 1\r\n"),
              "* SORT 2 1 3 (MODSEQ " + top + ")\r\nc OK SORT completed\r\n");
    EXPECT_EQ(t.send("d SORT RETURN (COUNT) (SUBJECT) UTF-8 MODSEQ 1\r\n"),
              "* ESEARCH (TAG \"d\") COUNT 3 MODSEQ " + top + "\r\nd OK SORT completed\r\n");
    EXPECT_EQ(t.send("e SORT (SUBJECT) UTF-8 MODSEQ " + std::to_string(std::stoull(top) + 1) + "\r\n"),
              "* SORT\r\ne OK SORT completed\r\n");
}

TEST(ImapSort, Errors) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a SORT (SUBJECT) UTF-8 ALL\r\n"), "a BAD SORT needs a selected mailbox\r\n");
    t.send("s SELECT INBOX\r\n");
    EXPECT_EQ(t.send("b SORT (SUBJECT) KOI8-R ALL\r\n"),
              "b NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
    EXPECT_EQ(t.send("c THREAD FOO UTF-8 ALL\r\n"), "c BAD Unknown thread algorithm FOO\r\n");
    EXPECT_EQ(t.send("d THREAD REFERENCES KOI8-R ALL\r\n"),
              "d NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
}

TEST(ImapThread, OrderedSubjectAndReferences) {
    Transcript t;
    std::vector<store::NewMessage> batch(2);
    batch[0].account = batch[1].account = "alice@example.org";
    batch[0].data = "From: bob@example.org\r\nSubject: Re: first\r\nMessage-ID: <m4@x>\r\n"
                    "References: <m1@example.net>\r\nDate: Mon, 07 Dec 2026 11:00:00 +0000\r\n\r\nreply\r\n";
    batch[0].internal_date = 1796641200;
    batch[1].data = "From: carol@example.org\r\nSubject: first\r\nDate: Mon, 07 Dec 2026 12:00:00 +0000\r\n\r\nx\r\n";
    batch[1].internal_date = 1796644800;
    ASSERT_TRUE(t.store().append(batch));
    t.select();
    // ORDEREDSUBJECT: "first" holds 1, 4 and 5 (under 1, the earliest); then "café", "third".
    EXPECT_EQ(t.send("a THREAD ORDEREDSUBJECT UTF-8 ALL\r\n"),
              "* THREAD (1 (4)(5))(2)(3)\r\na OK THREAD completed\r\n");
    // REFERENCES: 4 replies to 1; 5 shares the subject without being a reply: a dummy above both.
    EXPECT_EQ(t.send("b thread references utf-8 ALL\r\n"),
              "* THREAD ((1 4)(5))(2)(3)\r\nb OK THREAD completed\r\n");
    EXPECT_EQ(t.send("c UID THREAD REFERENCES UTF-8 SUBJECT first\r\n"),
              "* THREAD ((1 4)(5))\r\nc OK UID THREAD completed\r\n");
    EXPECT_EQ(t.send("d THREAD REFERENCES UTF-8 2:3\r\n"), "* THREAD (2)(3)\r\nd OK THREAD completed\r\n");
    EXPECT_EQ(t.send("e THREAD REFERENCES UTF-8 NOT ALL\r\n"), "* THREAD\r\ne OK THREAD completed\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
