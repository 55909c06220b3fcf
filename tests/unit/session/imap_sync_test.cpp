// CONDSTORE and QRESYNC (RFC 7162) transcripts, IMAP4rev2's ESEARCH answers (RFC 9051 §7.3.4) and
// UTF8=ACCEPT's APPEND (RFC 6855 §4): what a syncing client (isync, the tern client) relies on.
#include <gtest/gtest.h>

#include <regex>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

std::uint64_t highest_modseq(const std::string& select_out) {
    std::smatch m;
    static const std::regex re(R"(\[HIGHESTMODSEQ (\d+)\])");
    if (!std::regex_search(select_out, m, re)) return 0;
    return std::stoull(m[1]);
}

std::uint32_t uidvalidity(const std::string& out) {
    std::smatch m;
    static const std::regex re(R"(\[UIDVALIDITY (\d+)\])");
    if (!std::regex_search(out, m, re)) return 0;
    return static_cast<std::uint32_t>(std::stoul(m[1]));
}

TEST(ImapCondstore, EnableAndHighestModseq) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("e ENABLE CONDSTORE\r\n"), "* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n");
    auto out = t.send("s SELECT INBOX\r\n");
    EXPECT_GT(highest_modseq(out), 0u) << out;
    // FLAGS now come with MODSEQ.
    out = t.send("f FETCH 1 FLAGS\r\n");
    EXPECT_TRUE(std::regex_match(out, std::regex(R"(\* 1 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\nf OK FETCH completed\r\n)"))) << out;
}

TEST(ImapCondstore, EnablingCommandSendsHighestModseq) {
    Transcript t;
    t.select();
    // RFC 7162 §3.1: FETCH MODSEQ turns CONDSTORE on; the selected mailbox's HIGHESTMODSEQ first.
    auto out = t.send("f FETCH 1 MODSEQ\r\n");
    EXPECT_TRUE(std::regex_search(out, std::regex(R"(^\* OK \[HIGHESTMODSEQ \d+\] CONDSTORE enabled\r\n\* 1 FETCH \(MODSEQ)")))
        << out;
    out = t.send("g FETCH 1 MODSEQ\r\n");
    EXPECT_EQ(out.find("HIGHESTMODSEQ"), std::string::npos) << "only once: " << out;
}

TEST(ImapCondstore, EsearchModseqOfTheReturnedMessages) {
    Transcript t;
    t.select();
    t.send("a STORE 3 +FLAGS.SILENT (\\Seen)\r\n");  // message 3 now has the highest modseq
    auto all = t.send("b SEARCH RETURN (ALL) MODSEQ 1\r\n");
    auto min = t.send("c SEARCH RETURN (MIN) MODSEQ 1\r\n");
    std::smatch ma, mm;
    ASSERT_TRUE(std::regex_search(all, ma, std::regex(R"(ALL 1:3 MODSEQ (\d+))"))) << all;
    ASSERT_TRUE(std::regex_search(min, mm, std::regex(R"(MIN 1 MODSEQ (\d+))"))) << min;
    // RFC 7162 §3.1.5: MIN alone reports message 1's modseq, lower than message 3's.
    EXPECT_LT(std::stoull(mm[1]), std::stoull(ma[1]));
}

TEST(ImapCondstore, ChangedSinceAndSearchModseq) {
    Transcript t;
    t.login();
    auto ms = highest_modseq(t.send("s SELECT INBOX (CONDSTORE)\r\n"));
    ASSERT_GT(ms, 0u);
    t.send("a STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    auto out = t.send("b FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(ms) + ")\r\n");
    EXPECT_NE(out.find("* 2 FETCH (FLAGS (\\Seen) MODSEQ ("), std::string::npos) << out;
    EXPECT_EQ(out.find("* 1 FETCH"), std::string::npos) << out;
    out = t.send("c SEARCH MODSEQ " + std::to_string(ms + 1) + "\r\n");
    EXPECT_TRUE(std::regex_match(out, std::regex(R"(\* SEARCH 2 \(MODSEQ \d+\)\r\nc OK SEARCH completed\r\n)"))) << out;
}

TEST(ImapQresync, SelectReportsVanishedAndChanged) {
    Transcript a;
    a.login();
    a.send("e ENABLE QRESYNC\r\n");
    auto out = a.send("s SELECT INBOX\r\n");
    auto ms = highest_modseq(out);
    auto uv = uidvalidity(out);
    ASSERT_GT(ms, 0u);
    // Another client expunges UID 1 and flags UID 3 while this one is away.
    Transcript b(plaintext_config(), &a.store(), "I2");
    b.select();
    b.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\ny EXPUNGE\r\nz UID STORE 3 +FLAGS.SILENT (\\Answered)\r\n");
    a.send("u UNSELECT\r\n");
    out = a.send("q SELECT INBOX (QRESYNC (" + std::to_string(uv) + " " + std::to_string(ms) + " 1:3))\r\n");
    EXPECT_TRUE(has_line(out, "* VANISHED (EARLIER) 1")) << out;
    EXPECT_TRUE(std::regex_search(out, std::regex(R"(\* 2 FETCH \(UID 3 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)\r\n)"))) << out;
    EXPECT_TRUE(has_line(out, "q OK [READ-WRITE] SELECT completed")) << out;
    // A stale UIDVALIDITY gets a plain SELECT.
    out = a.send("r SELECT INBOX (QRESYNC (1 " + std::to_string(ms) + "))\r\n");
    EXPECT_EQ(out.find("VANISHED"), std::string::npos) << out;
}

TEST(ImapQresync, VanishedReplacesExpungeAndUidFetchVanished) {
    Transcript a;
    a.login();
    a.send("e ENABLE QRESYNC\r\n");
    auto ms = highest_modseq(a.send("s SELECT INBOX\r\n"));
    a.send("d STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n");
    EXPECT_EQ(a.send("x EXPUNGE\r\n"), "* VANISHED 1:2\r\nx OK EXPUNGE completed\r\n");
    auto out = a.send("f UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + std::to_string(ms) + " VANISHED)\r\n");
    EXPECT_TRUE(has_line(out, "* VANISHED (EARLIER) 1:2")) << out;
}

TEST(ImapQresync, NeedsEnable) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("s SELECT INBOX (QRESYNC (1 1))\r\n"), "s BAD QRESYNC needs ENABLE QRESYNC first\r\n");
}

TEST(ImapRev2, SearchAnswersWithEsearch) {
    Transcript t;
    t.login();
    t.send("e ENABLE IMAP4rev2\r\n");
    t.send("s SELECT INBOX\r\n");
    EXPECT_EQ(t.send("a SEARCH ALL\r\n"), "* ESEARCH (TAG \"a\") ALL 1:3\r\na OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("b UID SEARCH SUBJECT nothing-like-this\r\n"), "* ESEARCH (TAG \"b\") UID\r\nb OK UID SEARCH completed\r\n");
}

TEST(ImapUtf8, AppendUtf8NeedsEnable) {
    Transcript t;
    t.login();
    std::string m = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
    std::string cmd = "a APPEND INBOX UTF8 (~{" + std::to_string(m.size()) + "+}\r\n" + m + ")\r\n";
    EXPECT_EQ(t.send(cmd), "a BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT\r\n");
    t.send("e ENABLE UTF8=ACCEPT\r\n");
    EXPECT_EQ(normalize(t.send(cmd)), "a OK [APPENDUID V 4] APPEND completed\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
