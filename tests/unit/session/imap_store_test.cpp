// IMAP STORE and UID STORE transcripts (RFC 9051 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE).
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

}  // namespace
}  // namespace tern::imap::testing
