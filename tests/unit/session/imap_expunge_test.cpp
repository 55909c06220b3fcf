// IMAP EXPUNGE and UID EXPUNGE transcripts (RFC 9051 §6.4.3, RFC 4315 §2.1).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

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

}  // namespace
}  // namespace tern::imap::testing
