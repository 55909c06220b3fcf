// Unit tests for the backend-independent store rules (names, flags, UIDVALIDITY allocation).
// Must never need a backend: these are pure functions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/common.hpp"

namespace tern::store::detail {
namespace {

TEST(StoreCommon, MailboxNames) {
    EXPECT_EQ(*normalize_mailbox_name("inbox"), "INBOX");
    EXPECT_EQ(*normalize_mailbox_name("iNBOX/Foo"), "INBOX/Foo");
    EXPECT_EQ(*normalize_mailbox_name("Inboxes"), "Inboxes");
    EXPECT_EQ(*normalize_mailbox_name("Archive/2026"), "Archive/2026");
    EXPECT_FALSE(normalize_mailbox_name(std::string(kMaxMailboxName + 1, 'a')));
    EXPECT_THAT(superior_names("a/b/c"), ::testing::ElementsAre("a", "a/b"));
    EXPECT_TRUE(superior_names("a").empty());
}

TEST(StoreCommon, FlagsRoundTripThroughStorageForm) {
    auto f = normalize_flags({"b", "\\answered", "a", "b"});
    ASSERT_TRUE(f);
    EXPECT_THAT(*f, ::testing::ElementsAre("\\Answered", "a", "b"));
    EXPECT_EQ(join_flags(*f), "\\Answered a b");
    EXPECT_EQ(split_flags(join_flags(*f)), *f);
    EXPECT_TRUE(split_flags("").empty());
    EXPECT_TRUE(normalize_flags({"\\X-Custom"}));    // flag-extension
    EXPECT_FALSE(normalize_flags({"caf\xc3\xa9"}));  // atoms are 7-bit
}

TEST(StoreCommon, StoreFlagModes) {
    const std::vector<std::string> current{"\\Seen", "b"}, flags{"\\Flagged", "b"};
    EXPECT_THAT(apply_flags(current, FlagMode::Add, flags), ::testing::ElementsAre("\\Flagged", "\\Seen", "b"));
    EXPECT_THAT(apply_flags(current, FlagMode::Remove, flags), ::testing::ElementsAre("\\Seen"));
    EXPECT_EQ(apply_flags(current, FlagMode::Replace, flags), flags);
    EXPECT_EQ(apply_flags(current, FlagMode::Add, {}), current);
    EXPECT_TRUE(apply_flags(current, FlagMode::Replace, {}).empty());
}

TEST(StoreCommon, UidSetsAndHierarchy) {
    const std::uint32_t uids[] = {5, 1, 5, 3, 1};
    EXPECT_THAT(sorted_uids(uids), ::testing::ElementsAre(1, 3, 5));
    EXPECT_TRUE(sorted_uids({}).empty());
    EXPECT_TRUE(is_inferior("a/b", "a"));
    EXPECT_TRUE(is_inferior("a/b/c", "a"));
    EXPECT_FALSE(is_inferior("a", "a"));
    EXPECT_FALSE(is_inferior("ab", "a"));
    EXPECT_FALSE(is_inferior("a/", "a"));
    EXPECT_FALSE(is_inferior("b/a", "a"));
    // Exactly the inferiors sort inside [first, end).
    for (std::string name : {"a/b", "a/b/c", "a/\x7f", "a/ "}) {
        EXPECT_GE(name, inferiors_first("a")) << name;
        EXPECT_LT(name, inferiors_end("a")) << name;
    }
    for (std::string name : {"a", "a0", "ab", "a.b", "b", "a-"})
        EXPECT_TRUE(name < inferiors_first("a") || name >= inferiors_end("a")) << name;
}

TEST(StoreCommon, UidvalidityIsNonzeroAndStrictlyIncreasing) {
    EXPECT_EQ(next_uidvalidity(0, 1700000000), 1700000000u);
    EXPECT_EQ(next_uidvalidity(1700000000, 1700000000), 1700000001u) << "same second";
    EXPECT_EQ(next_uidvalidity(1800000000, 1700000000), 1800000001u) << "clock went back";
    EXPECT_EQ(next_uidvalidity(0, 0), 1u);
    EXPECT_EQ(next_uidvalidity(0xFFFFFFFFu, 5), 1u) << "wraps to 1, never 0";
}

}  // namespace
}  // namespace tern::store::detail
