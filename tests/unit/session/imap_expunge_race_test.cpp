// Two IMAP sessions on one store racing \Deleted against EXPUNGE and CLOSE: a session builds its
// expunge list from its own view, so the store must remove only messages that still carry
// \Deleted when it runs (RFC 9051 §6.4.3, §6.4.1). Must never assert on timing.
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

std::vector<std::uint32_t> uids_in(store::MailStore& s) {
    auto h = s.open_mailbox("alice@example.org", "INBOX");
    EXPECT_TRUE(h);
    std::vector<std::uint32_t> out;
    if (!h) return out;
    auto l = s.list_messages(*h);
    EXPECT_TRUE(l);
    if (l)
        for (const auto& m : *l) out.push_back(m.uid);
    return out;
}

TEST(ImapExpungeRace, ExpungeKeepsAMessageAnotherSessionUndeleted) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.select();
    b.select();
    a.send("s STORE 1,2 +FLAGS.SILENT (\\Deleted)\r\n");
    // b sees \Deleted on 1 and 2 and takes it away from 1; a has not heard of that yet.
    b.send("n NOOP\r\n");
    b.send("u STORE 1 -FLAGS.SILENT (\\Deleted)\r\n");
    auto out = a.send("e EXPUNGE\r\n");
    EXPECT_TRUE(has_line(out, "* 2 EXPUNGE")) << out;
    EXPECT_FALSE(has_line(out, "* 1 EXPUNGE")) << out;
    EXPECT_TRUE(has_line(out, "e OK EXPUNGE completed")) << out;
    EXPECT_EQ(uids_in(a.store()), (std::vector<std::uint32_t>{1, 3}));
    // a's view agrees with the store: message 1 is UID 1 without \Deleted.
    EXPECT_EQ(a.send("f FETCH 1:* (UID FLAGS)\r\n"),
              "* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 3 FLAGS ())\r\nf OK FETCH completed\r\n");
}

TEST(ImapExpungeRace, UidExpungeKeepsAMessageAnotherSessionUndeleted) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.select();
    b.select();
    a.send("s STORE 1:3 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("n NOOP\r\n");
    b.send("u STORE 3 -FLAGS.SILENT (\\Deleted)\r\n");
    auto out = a.send("e UID EXPUNGE 2:3\r\n");
    EXPECT_TRUE(has_line(out, "* 2 EXPUNGE")) << out;
    EXPECT_FALSE(has_line(out, "* 3 EXPUNGE")) << out;
    EXPECT_EQ(uids_in(a.store()), (std::vector<std::uint32_t>{1, 3}));
}

TEST(ImapExpungeRace, CloseKeepsAMessageAnotherSessionUndeleted) {
    Transcript a;
    Transcript b(plaintext_config(), &a.store(), "I2");
    a.select();
    b.select();
    a.send("s STORE 1:3 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("n NOOP\r\n");
    b.send("u STORE 2 -FLAGS.SILENT (\\Deleted)\r\n");
    EXPECT_EQ(a.send("c CLOSE\r\n"), "c OK CLOSE completed\r\n");
    EXPECT_EQ(uids_in(a.store()), (std::vector<std::uint32_t>{2}));
}

}  // namespace
}  // namespace tern::imap::testing
