// The IMAP session fed at every split point (Dovecot's tests feed one byte at a time): a script
// of commands with literals and continuations must give the same responses however the bytes
// are cut into reads.
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

// Synchronizing literals wait for "+": the script uses LITERAL+ so it can be sent in one go.
const std::string kScript =
    "a1 LOGIN {17+}\r\nalice@example.org \"secret\"\r\n"
    "a2 SELECT INBOX\r\n"
    "a3 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])\r\n"
    "a4 STORE 2 +FLAGS (\\Flagged)\r\n"
    "a5 APPEND INBOX (\\Seen) {21+}\r\nSubject: s\r\n\r\nsplit\r\n\r\n"
    "a6 UID SEARCH OR SUBJECT third BODY split\r\n"
    "a7 COPY 1:2 Archive\r\n"
    "a8 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n"
    "a9 EXPUNGE\r\n"
    "b1 IDLE\r\nDONE\r\n"
    "b2 LOGOUT\r\n";

std::string run(const std::vector<std::string_view>& pieces) {
    Transcript t;
    std::string out;
    for (auto p : pieces) out += t.send(p);
    return normalize(out);
}

TEST(ImapSplits, EverySplitPointGivesTheSameTranscript) {
    const std::string whole = run({kScript});
    ASSERT_NE(whole.find("b2 OK LOGOUT completed"), std::string::npos) << whole;
    ASSERT_NE(whole.find("a6 OK UID SEARCH completed"), std::string::npos) << whole;
    ASSERT_NE(whole.find("* SEARCH 3 4"), std::string::npos) << whole;
    for (std::size_t k = 1; k < kScript.size(); ++k) {
        std::string_view s(kScript);
        ASSERT_EQ(run({s.substr(0, k), s.substr(k)}), whole) << "split at " << k;
    }
}

TEST(ImapSplits, OneByteAtATime) {
    const std::string whole = run({kScript});
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < kScript.size(); ++i) bytes.push_back(std::string_view(kScript).substr(i, 1));
    EXPECT_EQ(run(bytes), whole);
}

}  // namespace
}  // namespace tern::imap::testing
