// IMAP COMPRESS (RFC 4978) as the session answers it: only after login, only DEFLATE, only once,
// the OK before Next::StartCompress, and the bytes after the command handed back still compressed.
#include <gtest/gtest.h>

#include "session/imap/session.hpp"
#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

SessionConfig compress_config() {
    auto c = plaintext_config();
    c.compress_available = true;
    return c;
}

TEST(ImapCompress, AdvertisedAfterLoginOnly) {
    Transcript t(compress_config());
    EXPECT_EQ(t.greeting().find("COMPRESS"), std::string::npos) << t.greeting();
    auto out = t.login();
    EXPECT_NE(out.find(" COMPRESS=DEFLATE"), std::string::npos) << out;
    Transcript off;  // a network layer without compression: not advertised, not accepted
    EXPECT_EQ(off.login().find("COMPRESS"), std::string::npos);
    EXPECT_EQ(off.send("c COMPRESS DEFLATE\r\n"), "c BAD COMPRESS is not supported\r\n");
    EXPECT_EQ(off.compress_starts, 0);
}

TEST(ImapCompress, NotBeforeAuthentication) {
    Transcript t(compress_config());
    EXPECT_EQ(t.send("c COMPRESS DEFLATE\r\n"), "c BAD COMPRESS needs authentication first\r\n");
    EXPECT_EQ(t.compress_starts, 0);
}

TEST(ImapCompress, OkThenStartThenOnlyOnce) {
    Transcript t(compress_config());
    t.login();
    auto out = t.send("c COMPRESS DEFLATE\r\n");
    EXPECT_EQ(out, "c OK DEFLATE active\r\n");
    EXPECT_EQ(t.compress_starts, 1);
    EXPECT_EQ(t.send("d COMPRESS DEFLATE\r\n"), "d NO [COMPRESSIONACTIVE] DEFLATE is active already\r\n");
    EXPECT_EQ(t.compress_starts, 1);
    EXPECT_EQ(t.send("e NOOP\r\n"), "e OK NOOP completed\r\n");
}

TEST(ImapCompress, UnknownMechanismAndInSelectedState) {
    Transcript t(compress_config());
    t.select();
    EXPECT_EQ(t.send("c COMPRESS GZIP\r\n"), "c BAD Unknown compression mechanism GZIP\r\n");
    EXPECT_EQ(t.compress_starts, 0);
    EXPECT_EQ(t.send("d compress deflate\r\n"), "d OK DEFLATE active\r\n");
    EXPECT_EQ(t.compress_starts, 1);
}

TEST(ImapCompress, BytesAfterTheCommandAreNotReadAsText) {
    Transcript t(compress_config());
    t.login();
    // RFC 4978 §3: what follows COMPRESS is compressed; the session must not parse it as a
    // command but hand it to the network layer's inflater.
    auto out = t.send("c COMPRESS DEFLATE\r\nx LOGOUT\r\n");
    EXPECT_EQ(out, "c OK DEFLATE active\r\n");
    EXPECT_EQ(t.unread_at_compress, "x LOGOUT\r\n");
    EXPECT_FALSE(t.closed);
}

}  // namespace
}  // namespace tern::imap::testing
