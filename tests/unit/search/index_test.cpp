// The search index's storage (search/index.hpp): add, query, expunge, reset, the high-water rule,
// needles with quotes, LIKE wildcards and FTS5 syntax, non-ASCII and invalid UTF-8, and a damaged
// file rebuilt on open.
#include "search/index.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "../common/temp_dir.hpp"

namespace tern::search {
namespace {

class IndexTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto ix = Index::open(dir.path() / "search.db");
        ASSERT_TRUE(ix) << ix.error().message;
        index = std::move(*ix);
        ASSERT_TRUE(index->reset_mailbox("a@x", 1, 7));
    }
    void add(std::uint32_t uid, std::string text, bool complete = true, std::uint32_t through = 0) {
        std::vector<Doc> d{Doc{uid, std::move(text), complete}};
        ASSERT_TRUE(index->add("a@x", 1, d, through ? through : uid));
    }
    // The candidate UIDs for one needle, or {999} when the index cannot answer.
    std::vector<std::uint32_t> find(std::string needle, std::uint32_t uidvalidity = 7, std::int64_t box = 1) {
        std::vector<std::string> n{std::move(needle)};
        auto c = index->candidates("a@x", box, uidvalidity, n);
        EXPECT_TRUE(c) << c.error().message;
        if (!c || !*c) return {999};
        return (*c)->uids;
    }
    testing::TempDir dir;
    std::unique_ptr<Index> index;
};

using V = std::vector<std::uint32_t>;

TEST_F(IndexTest, FindsSubstringsOfTheIndexedText) {
    add(1, "subject: hello world\nthe quick brown fox\n");
    add(2, "subject: other\njumps over the lazy dog\n");
    add(3, "nothing here\n");
    EXPECT_EQ(find("quick"), V{1});
    EXPECT_EQ(find("ick bro"), V{1});
    EXPECT_EQ(find("the"), (V{1, 2}));
}

TEST_F(IndexTest, TrigramsAnywhereInTheTextMakeACandidate) {
    // The query is the AND of the needle's trigrams: a superset of the texts holding the needle
    // (the session's matcher removes the extra ones).
    add(1, "abc then def\n");
    add(2, "abcdef\n");
    add(3, "abcde\n");
    EXPECT_EQ(find("abcdef"), (V{1, 2}));
    EXPECT_EQ(find("bcdef"), (V{2}));  // trigrams "bcd" and "def"
    // A long needle: at most 12 trigrams asked for, still a superset.
    std::string longer;
    for (int i = 0; i < 40; ++i) longer += static_cast<char>('a' + i % 26);
    add(4, "x " + longer + " y\n");
    EXPECT_EQ(find(longer), V{4});
}

TEST_F(IndexTest, ShortNeedlesAndEmptyNeedlesAreNotAnswered) {
    add(1, "abc");
    EXPECT_EQ(find("ab"), V{999});
    EXPECT_EQ(find(""), V{999});
    EXPECT_EQ(find("\xc3\xa9\xc3\xa9"), V{999});  // two characters in four octets
    EXPECT_EQ(find("abc"), V{1});
}

TEST_F(IndexTest, NeedlesWithQuotesWildcardsAndFtsSyntax) {
    add(1, "say \"hi\" to 50% of a_b OR NOT x* (y) 'q' back\\slash\n");
    add(2, "say hi to 50x of aXb or not xy (y) q backslash\n");
    EXPECT_EQ(find("\"hi\""), V{1});
    EXPECT_EQ(find("50%"), V{1});  // no LIKE: '%' and '_' are characters like others
    EXPECT_EQ(find("a_b"), V{1});
    EXPECT_EQ(find("or not x*"), V{1});  // folded needle; FTS5 operators mean nothing here
    EXPECT_EQ(find("(y) 'q'"), V{1});
    EXPECT_EQ(find("k\\sl"), V{1});
    EXPECT_EQ(find("\"\"\""), V{});
}

TEST_F(IndexTest, NonAsciiAndInvalidUtf8) {
    add(1, "gr\xc3\xbc\xc3\x9f" "e aus k\xc3\xb6ln\n\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n");
    add(2, "bad \xff\xfe octets \xe2\x82 then \xe2\x82\xac euro\x00nul\n");
    EXPECT_EQ(find("k\xc3\xb6ln"), V{1});
    EXPECT_EQ(find("\xd0\xbf\xd1\x80\xd0\xb8"), V{1});
    EXPECT_EQ(find("\xe2\x82\xac euro"), V{2});
    EXPECT_EQ(find(" then"), V{2});
    EXPECT_EQ(find("octets"), V{2});
    EXPECT_EQ(find("\xff\xfe o"), V{999});  // an invalid needle: not answered
    EXPECT_EQ(find(std::string("o\0n", 3)), V{999});
}

TEST_F(IndexTest, HighWaterAndIncompleteMessages) {
    add(1, "alpha");
    add(5, "", false);          // over the cap or unreadable: always a candidate
    add(9, "beta", true, 12);  // 10..12 expunged before they were indexed
    std::vector<std::string> n{"alpha"};
    auto c = index->candidates("a@x", 1, 7, n);
    ASSERT_TRUE(c && *c);
    EXPECT_EQ((*c)->indexed_through, 12u);
    EXPECT_EQ((*c)->uids, (V{1, 5}));
    EXPECT_TRUE((*c)->may_match(1));
    EXPECT_TRUE((*c)->may_match(5));
    EXPECT_FALSE((*c)->may_match(9));
    EXPECT_FALSE((*c)->may_match(12));
    EXPECT_TRUE((*c)->may_match(13));  // not indexed yet
}

TEST_F(IndexTest, OtherMailboxesAndUidValidity) {
    add(1, "alpha");
    EXPECT_EQ(find("alpha", 8), V{999});     // another UIDVALIDITY: not answered
    EXPECT_EQ(find("alpha", 7, 2), V{999});  // unknown mailbox
    ASSERT_TRUE(index->reset_mailbox("a@x", 2, 3));
    std::vector<Doc> d{Doc{1, "gamma", true}};
    ASSERT_TRUE(index->add("a@x", 2, d, 1));
    EXPECT_EQ(find("alpha", 3, 2), V{});
    EXPECT_EQ(find("gamma", 7, 1), V{});
    ASSERT_TRUE(index->reset_mailbox("a@x", 1, 8));  // UIDVALIDITY changed: rows gone
    EXPECT_EQ(find("alpha", 8), V{});
    auto m = index->mark("a@x", 1);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->indexed_through, 0u);
}

TEST_F(IndexTest, ExpungeAndDroppedMailboxes) {
    add(1, "alpha one");
    add(2, "alpha two");
    std::vector<std::uint32_t> gone{1};
    ASSERT_TRUE(index->remove("a@x", 1, gone, 40));
    EXPECT_EQ(find("alpha"), V{2});
    EXPECT_EQ(index->mark("a@x", 1)->swept_modseq, 40u);
    EXPECT_EQ(index->stats()->docs, 1u);
    EXPECT_EQ(index->stats()->garbage, 1u);
    std::vector<std::int64_t> keep;
    ASSERT_TRUE(index->drop_mailboxes_except("a@x", keep));
    EXPECT_EQ(find("alpha"), V{999});
    EXPECT_EQ(index->stats()->docs, 0u);
    EXPECT_EQ(index->stats()->garbage, 2u);
    EXPECT_TRUE(index->accounts()->empty());
    // A message added after the removals never meets their trigrams (ids are not reused).
    ASSERT_TRUE(index->reset_mailbox("a@x", 1, 7));
    add(3, "omega");
    EXPECT_EQ(find("alpha"), V{});
}

TEST_F(IndexTest, AddingAUidTwiceKeepsOneRow) {
    add(1, "alpha");
    add(1, "beta");
    EXPECT_EQ(find("alpha"), V{1});
    EXPECT_EQ(index->stats()->docs, 1u);
}

TEST(IndexFile, DamagedFileIsRebuilt) {
    testing::TempDir dir;
    auto file = dir.path() / "search.db";
    {
        std::ofstream f(file, std::ios::binary);
        f << std::string(8192, 'x');  // not a database
    }
    auto ix = Index::open(file);
    ASSERT_TRUE(ix) << ix.error().message;
    ASSERT_TRUE((*ix)->reset_mailbox("a@x", 1, 1));
    std::vector<Doc> d{Doc{1, "hello", true}};
    ASSERT_TRUE((*ix)->add("a@x", 1, d, 1));
    EXPECT_TRUE((*ix)->intact());
    ix->reset();
    // A database of another schema version is started again too.
    {
        auto db = sqlite::Db::open(file);
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("PRAGMA user_version=99"));
    }
    auto again = Index::open(file);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->stats()->docs, 0u);
}

TEST(IndexFile, ReopenKeepsTheRows) {
    testing::TempDir dir;
    auto file = dir.path() / "search.db";
    {
        auto ix = Index::open(file);
        ASSERT_TRUE(ix);
        ASSERT_TRUE((*ix)->reset_mailbox("a@x", 1, 1));
        std::vector<Doc> d{Doc{4, "hello", true}};
        ASSERT_TRUE((*ix)->add("a@x", 1, d, 4));
    }
    auto ix = Index::open(file);
    ASSERT_TRUE(ix);
    EXPECT_EQ((*ix)->mark("a@x", 1)->indexed_through, 4u);
    EXPECT_EQ(*(*ix)->accounts(), std::vector<std::string>{"a@x"});
}

}  // namespace
}  // namespace tern::search
