// Measures what a selected mailbox's view costs per message (issue 9: the View in session.cpp),
// with a 100,000-message mailbox: heap bytes held after SELECT, as glibc's mallinfo2() counts
// them, printed for the record. Not a timed or size assertion beyond a loose sanity bound.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapViewSize, BytesPerMessageOfA100kMailbox) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "mallinfo2() does not see the sanitizer's allocator";
#endif
    constexpr std::size_t kMessages = 100000;
    auto store = store::make_memory_store();
    ASSERT_TRUE(store->create_account("alice@example.org"));
    std::vector<store::NewMessage> batch(kMessages);
    const std::string body = "Subject: s\r\n\r\nx\r\n";
    for (std::size_t i = 0; i < kMessages; ++i) {
        auto& n = batch[i];
        n.account = "alice@example.org";
        n.body = &body;
        n.internal_date = 1796637600 + static_cast<std::int64_t>(i);
        n.envelope_from = "sender@example.net";
        // Typical flag sets: most seen, some answered or flagged, a few with keywords.
        if (i % 10 != 0) n.flags.push_back("\\Seen");
        if (i % 7 == 0) n.flags.push_back("\\Answered");
        if (i % 13 == 0) n.flags.push_back("$Forwarded");
        if (i % 50 == 0) n.flags.push_back("$Junk-Classified-Later");
    }
    ASSERT_TRUE(store->append(batch));
    batch.clear();
    batch.shrink_to_fit();
    Transcript t(plaintext_config(), store.get());
    t.login();
    const auto before = mallinfo2().uordblks;
    auto out = t.send("s SELECT INBOX\r\n");
    const auto after = mallinfo2().uordblks;
    ASSERT_TRUE(has_line(out, "* 100000 EXISTS")) << out;
    const double per = static_cast<double>(after - before) / kMessages;
    std::printf("view: %.1f bytes per message (%zu messages, %zu bytes held after SELECT)\n", per, kMessages,
                static_cast<std::size_t>(after - before));
    EXPECT_GT(per, 8.0) << "the view holds at least a UID and a modseq per message";
}

// Flag lists are interned: messages with the same flags share one list, a change re-points the
// message, and lists nobody uses are dropped once they outnumber the messages.
TEST(ImapViewSize, FlagListsAreSharedAndBounded) {
    Session::View v;
    store::MessageInfo a{.uid = 1, .modseq = 1, .flags = {"\\Seen"}, .internal_date = 0, .size = 0, .envelope_from = {}};
    store::MessageInfo b = a;
    b.uid = 2;
    v.msgs.push_back(v.make(a));
    v.msgs.push_back(v.make(b));
    EXPECT_EQ(v.msgs[0].flags, v.msgs[1].flags);
    EXPECT_EQ(v.flag_sets.size(), 2u) << "the empty list and (\\Seen)";
    for (int i = 0; i < 1000; ++i) v.set_flags(v.msgs[0], {"$k" + std::to_string(i)});
    EXPECT_LE(v.flag_sets.size(), 2 * v.msgs.size() + 64 + 1);
    EXPECT_EQ(v.flags(v.msgs[0]), std::vector<std::string>{"$k999"});
    EXPECT_EQ(v.flags(v.msgs[1]), std::vector<std::string>{"\\Seen"});
    EXPECT_TRUE(v.has_flag(v.msgs[1], "\\Seen"));
    EXPECT_FALSE(v.has_flag(v.msgs[0], "\\Seen"));
}

}  // namespace
}  // namespace tern::imap::testing
