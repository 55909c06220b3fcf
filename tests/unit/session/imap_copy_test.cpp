// IMAP COPY and MOVE transcripts with UIDPLUS (RFC 9051 §6.4.7, §6.4.8, RFC 6851, RFC 4315).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

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

}  // namespace
}  // namespace tern::imap::testing
