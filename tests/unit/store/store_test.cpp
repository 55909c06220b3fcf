// MailStore contract tests, run against every backend (memory and SQLite) with the same cases.
// Must never depend on backend internals: only the MailStore interface is used here.
#include <atomic>
#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <algorithm>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "../common/temp_dir.hpp"

namespace tern::store {
namespace {

using ::testing::ElementsAre;

constexpr const char* kUser = "alice@example.org";

NewMessage msg(std::string data, std::string key = "", std::vector<std::string> flags = {},
               std::string mailbox = "INBOX", std::string account = kUser) {
    NewMessage m;
    m.account = std::move(account);
    m.mailbox = std::move(mailbox);
    m.data = std::move(data);
    m.internal_date = 1700000000;
    m.envelope_from = "bob@example.net";
    m.flags = std::move(flags);
    m.dedupe_key = std::move(key);
    return m;
}

std::vector<std::uint32_t> uids_of(const std::vector<MessageInfo>& ms) {
    std::vector<std::uint32_t> out;
    for (const auto& m : ms) out.push_back(m.uid);
    return out;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "memory") {
            store_ = make_memory_store();
        } else {
            auto s = open_sqlite_store(dir_.path());
            ASSERT_TRUE(s) << s.error().message;
            store_ = std::move(*s);
        }
        ASSERT_TRUE(store_->create_account(kUser));
    }

    std::vector<Appended> append_ok(std::vector<NewMessage> batch) {
        auto r = store_->append(batch);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : std::vector<Appended>{};
    }

    MailboxInfo box(std::string_view name = "INBOX") {
        auto r = store_->mailbox(kUser, name);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : MailboxInfo{};
    }

    tern::testing::TempDir dir_;
    std::unique_ptr<MailStore> store_;
};

TEST_P(StoreTest, NewAccountHasDefaultFoldersWithSpecialUse) {
    auto boxes = store_->list_mailboxes(kUser);
    ASSERT_TRUE(boxes);
    ASSERT_EQ(boxes->size(), std::size(kDefaultFolders));
    std::set<std::uint32_t> validities;
    for (std::size_t i = 0; i < boxes->size(); ++i) {
        const auto& b = (*boxes)[i];
        EXPECT_EQ(b.name, kDefaultFolders[i].name);
        EXPECT_EQ(b.special_use, kDefaultFolders[i].use);
        EXPECT_NE(b.uidvalidity, 0u);
        EXPECT_EQ(b.uidnext, 1u);
        EXPECT_EQ(b.messages, 0u);
        EXPECT_GE(b.highest_modseq, 1u);
        validities.insert(b.uidvalidity);
    }
    EXPECT_EQ(validities.size(), boxes->size()) << "UIDVALIDITY must differ per mailbox creation";
    EXPECT_EQ(box("Sent").special_use, SpecialUse::Sent);
    EXPECT_EQ(box("Junk").special_use, SpecialUse::Junk);
}

TEST_P(StoreTest, CreateAccountIsIdempotentAndHasAccountAnswers) {
    ASSERT_TRUE(append_ok({msg("x")}).size() == 1);
    ASSERT_TRUE(store_->create_account(kUser));
    EXPECT_EQ(box().messages, 1u) << "re-creating an account must not reset it";
    EXPECT_EQ(store_->list_mailboxes(kUser)->size(), std::size(kDefaultFolders));
    EXPECT_EQ(store_->has_account(kUser), true);
    EXPECT_EQ(store_->has_account("nobody@example.org"), false);
    EXPECT_FALSE(store_->create_account(""));
    EXPECT_FALSE(store_->create_account("a b@example.org"));
}

TEST_P(StoreTest, InboxIsCaseInsensitiveOtherNamesAreNot) {
    EXPECT_EQ(box("inbox").name, "INBOX");
    EXPECT_EQ(box("InBoX").uidvalidity, box("INBOX").uidvalidity);
    auto dup = store_->create_mailbox(kUser, "Inbox", SpecialUse::None);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    ASSERT_TRUE(store_->create_mailbox(kUser, "sent", SpecialUse::None));  // "Sent" exists; "sent" is another
    EXPECT_NE(box("sent").uidvalidity, box("Sent").uidvalidity);
    ASSERT_TRUE(store_->create_mailbox(kUser, "inbox/Lists", SpecialUse::None));
    EXPECT_EQ(box("INBOX/Lists").name, "INBOX/Lists");
    auto r = append_ok({msg("to inbox", "", {}, "iNbOx")});
    EXPECT_EQ(box().messages, 1u);
}

TEST_P(StoreTest, RejectsBadMailboxNames) {
    for (std::string bad : {std::string(""), std::string("a//b"), std::string("/a"), std::string("a/"),
                            std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3)}) {
        auto r = store_->create_mailbox(kUser, bad, SpecialUse::None);
        ASSERT_FALSE(r) << "accepted " << bad;
        EXPECT_EQ(r.error().code, EINVAL);
    }
    EXPECT_EQ(store_->list_mailboxes(kUser)->size(), std::size(kDefaultFolders));
}

TEST_P(StoreTest, CreateMailboxCreatesSuperiorsAndKeepsSpecialUse) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "Projects/2026/Q1", SpecialUse::Archive));
    auto boxes = store_->list_mailboxes(kUser);
    ASSERT_TRUE(boxes);
    std::vector<std::string> names;
    for (const auto& b : *boxes) names.push_back(b.name);
    EXPECT_THAT(std::vector(names.end() - 3, names.end()),
                ElementsAre("Projects", "Projects/2026", "Projects/2026/Q1"));
    EXPECT_EQ(box("Projects").special_use, SpecialUse::None);
    EXPECT_EQ(box("Projects/2026/Q1").special_use, SpecialUse::Archive);
    EXPECT_EQ(store_->create_mailbox(kUser, "Projects/2026/Q1", SpecialUse::None).error().code, EEXIST);
}

TEST_P(StoreTest, UidsAscendAcrossBatches) {
    auto first = append_ok({msg("one"), msg("two"), msg("three")});
    auto second = append_ok({msg("four"), msg("five")});
    ASSERT_EQ(first.size(), 3u);
    ASSERT_EQ(second.size(), 2u);
    const auto validity = box().uidvalidity;
    std::uint32_t expect = 1;
    for (const auto& a : first) {
        EXPECT_EQ(a.uid, expect++);
        EXPECT_EQ(a.uidvalidity, validity);
        EXPECT_FALSE(a.duplicate);
    }
    for (const auto& a : second) EXPECT_EQ(a.uid, expect++);
    EXPECT_EQ(box().uidnext, 6u);
    EXPECT_EQ(box().messages, 5u);
    auto listed = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(listed);
    EXPECT_THAT(uids_of(*listed), ElementsAre(1, 2, 3, 4, 5));
    EXPECT_EQ(*store_->read_message(kUser, "INBOX", 4), "four");
}

TEST_P(StoreTest, BatchMaySpanMailboxes) {
    auto r = append_ok({msg("a"), msg("b", "", {}, "Sent"), msg("c")});
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].uid, 1u);
    EXPECT_EQ(r[1].uid, 1u);
    EXPECT_EQ(r[1].uidvalidity, box("Sent").uidvalidity);
    EXPECT_EQ(r[2].uid, 2u);
    EXPECT_EQ(box("Sent").messages, 1u);
}

TEST_P(StoreTest, ForgottenDedupeKeysNoLongerSuppress) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    append_ok({msg("hello", "q:1:0"), msg("again", "q:2:0")});
    auto kept = store_->forget_delivered_before(now - 60);
    ASSERT_TRUE(kept);
    EXPECT_EQ(*kept, 0u) << "keys younger than the cutoff stay";
    EXPECT_TRUE(append_ok({msg("hello", "q:1:0")})[0].duplicate);
    auto gone = store_->forget_delivered_before(now + 60);
    ASSERT_TRUE(gone);
    EXPECT_EQ(*gone, 2u);
    auto after = append_ok({msg("hello", "q:1:0")});
    EXPECT_FALSE(after[0].duplicate) << "a forgotten key no longer deduplicates";
    EXPECT_EQ(box().messages, 3u);
}

TEST_P(StoreTest, DedupeKeySuppressesRedelivery) {
    auto first = append_ok({msg("hello", "q:1:0")});
    ASSERT_EQ(first.size(), 1u);
    EXPECT_FALSE(first[0].duplicate);
    auto again = append_ok({msg("hello", "q:1:0"), msg("other", "q:1:1"), msg("other", "q:1:1")});
    ASSERT_EQ(again.size(), 3u);
    EXPECT_TRUE(again[0].duplicate);
    EXPECT_EQ(again[0].uid, first[0].uid) << "a duplicate reports where the original went";
    EXPECT_FALSE(again[1].duplicate);
    EXPECT_EQ(again[1].uid, 2u);
    EXPECT_TRUE(again[2].duplicate) << "same key twice in one batch";
    EXPECT_EQ(box().messages, 2u);
    EXPECT_EQ(box().uidnext, 3u);
    // Empty keys never deduplicate.
    auto plain = append_ok({msg("x"), msg("x")});
    EXPECT_FALSE(plain[0].duplicate);
    EXPECT_FALSE(plain[1].duplicate);
    EXPECT_EQ(box().messages, 4u);
}

TEST_P(StoreTest, FlagsAreNormalisedAndChangesBumpModseq) {
    auto r = append_ok({msg("a", "", {"kw2", "\\seen", "kw1", "kw2", "\\FLAGGED"}), msg("b")});
    ASSERT_EQ(r.size(), 2u);
    auto before = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(before);
    EXPECT_THAT((*before)[0].flags, ElementsAre("\\Flagged", "\\Seen", "kw1", "kw2"));
    EXPECT_TRUE((*before)[1].flags.empty());
    EXPECT_LT((*before)[0].modseq, (*before)[1].modseq);
    EXPECT_EQ(box().highest_modseq, (*before)[1].modseq);

    ASSERT_TRUE(store_->set_flags(kUser, "INBOX", 1, {"\\Deleted", "$Junk"}));
    auto after = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(after);
    EXPECT_THAT((*after)[0].flags, ElementsAre("$Junk", "\\Deleted"));
    EXPECT_GT((*after)[0].modseq, (*before)[1].modseq);
    EXPECT_EQ((*after)[1].modseq, (*before)[1].modseq) << "untouched message keeps its modseq";
    EXPECT_EQ(box().highest_modseq, (*after)[0].modseq);

    for (std::vector<std::string> bad :
         {std::vector<std::string>{"two words"}, {"\\"}, {""}, {"\\Recent"}, {"a\r\nb"}, {"br]acket"}}) {
        auto e = store_->set_flags(kUser, "INBOX", 1, bad);
        ASSERT_FALSE(e) << "accepted flag " << bad[0];
        EXPECT_EQ(e.error().code, EINVAL);
    }
    EXPECT_EQ(store_->set_flags(kUser, "INBOX", 99, {}).error().code, ENOENT);
    EXPECT_FALSE(store_->append(std::vector{msg("c", "", {"bad flag"})}));
}

TEST_P(StoreTest, ExpungeNeverReusesUids) {
    append_ok({msg("1"), msg("2"), msg("3")});
    const auto modseq = box().highest_modseq;
    const std::uint32_t gone[] = {2, 3, 77};
    ASSERT_TRUE(store_->expunge(kUser, "INBOX", gone));
    EXPECT_EQ(box().messages, 1u);
    EXPECT_GT(box().highest_modseq, modseq);
    EXPECT_EQ(store_->read_message(kUser, "INBOX", 3).error().code, ENOENT);
    auto r = append_ok({msg("4")});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].uid, 4u);
    EXPECT_THAT(uids_of(*store_->list_messages(kUser, "INBOX")), ElementsAre(1, 4));
    // Expunging everything still leaves uidnext where it was.
    const std::uint32_t all[] = {1, 4};
    ASSERT_TRUE(store_->expunge(kUser, "INBOX", all));
    EXPECT_EQ(box().messages, 0u);
    EXPECT_EQ(box().uidnext, 5u);
    EXPECT_EQ(append_ok({msg("5")})[0].uid, 5u);
}

TEST_P(StoreTest, ReadMessageReturnsExactBytes) {
    static constexpr char kRaw[] =
        "From: a\r\nSubject: \xc3\xa9t\xc3\xa9\r\n\r\nbin\0ary\xff\xfe\x80\r\n.\r\n";
    const std::string data(kRaw, sizeof kRaw - 1);
    ASSERT_EQ(data.size(), 42u);
    ASSERT_NE(data.find('\0'), std::string::npos);
    auto r = append_ok({msg(data), msg("")});
    ASSERT_EQ(r.size(), 2u);
    auto back = store_->read_message(kUser, "INBOX", r[0].uid);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, data);
    auto empty = store_->read_message(kUser, "INBOX", r[1].uid);
    ASSERT_TRUE(empty);
    EXPECT_EQ(*empty, "");
    auto listed = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(listed);
    EXPECT_EQ((*listed)[0].size, data.size());
    EXPECT_EQ((*listed)[0].internal_date, 1700000000);
    EXPECT_EQ((*listed)[0].envelope_from, "bob@example.net");
    EXPECT_EQ((*listed)[1].size, 0u);
}

TEST_P(StoreTest, ZeroInternalDateMeansNow) {
    auto m = msg("x");
    m.internal_date = 0;
    append_ok({m});
    auto listed = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(listed);
    EXPECT_GT((*listed)[0].internal_date, 1700000000);
}

TEST_P(StoreTest, UnknownAccountOrMailboxIsENOENT) {
    EXPECT_EQ(store_->list_mailboxes("nobody@x").error().code, ENOENT);
    EXPECT_EQ(store_->mailbox("nobody@x", "INBOX").error().code, ENOENT);
    EXPECT_EQ(store_->mailbox(kUser, "Nope").error().code, ENOENT);
    EXPECT_EQ(store_->create_mailbox("nobody@x", "A", SpecialUse::None).error().code, ENOENT);
    EXPECT_EQ(store_->list_messages(kUser, "Nope").error().code, ENOENT);
    EXPECT_EQ(store_->read_message("nobody@x", "INBOX", 1).error().code, ENOENT);
    EXPECT_EQ(store_->read_message(kUser, "INBOX", 1).error().code, ENOENT);
    EXPECT_EQ(store_->delete_account("nobody@x").error().code, ENOENT);
    EXPECT_EQ(store_->append(std::vector{msg("x", "", {}, "INBOX", "nobody@x")}).error().code, ENOENT);
    EXPECT_EQ(store_->append(std::vector{msg("x", "", {}, "Nope")}).error().code, ENOENT);
    const std::uint32_t one[] = {1};
    EXPECT_EQ(store_->expunge(kUser, "Nope", one).error().code, ENOENT);
}

TEST_P(StoreTest, BatchWithOneBadEntryStoresNothing) {
    auto r =
        store_->append(std::vector{msg("good1", "k1"), msg("bad", "k2", {}, "Nope"), msg("good2", "k3")});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(box().messages, 0u);
    EXPECT_EQ(box().uidnext, 1u);
    EXPECT_TRUE(store_->list_messages(kUser, "INBOX")->empty());
    // Not even the dedupe keys of the good entries were kept.
    auto retry = append_ok({msg("good1", "k1"), msg("good2", "k3")});
    ASSERT_EQ(retry.size(), 2u);
    EXPECT_FALSE(retry[0].duplicate);
    EXPECT_FALSE(retry[1].duplicate);
    EXPECT_EQ(retry[0].uid, 1u);
}

TEST_P(StoreTest, DeleteAccountRemovesEverythingAndRecreationGetsNewUidvalidity) {
    append_ok({msg("x")});
    const auto old_validity = box().uidvalidity;
    ASSERT_TRUE(store_->delete_account(kUser));
    EXPECT_EQ(store_->has_account(kUser), false);
    ASSERT_TRUE(store_->create_account(kUser));
    EXPECT_EQ(box().messages, 0u);
    EXPECT_EQ(box().uidnext, 1u);
    EXPECT_NE(box().uidvalidity, old_validity) << "UIDs 1.. are reused, so UIDVALIDITY must change";
}

TEST_P(StoreTest, ConcurrentAppendsGetDistinctUids) {
    auto worker = [&](std::string tag) {
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->append(std::vector{msg(tag + std::to_string(i))}));
    };
    std::thread a(worker, "a"), b(worker, "b");
    a.join();
    b.join();
    auto listed = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 100u);
    for (std::size_t i = 0; i < listed->size(); ++i) EXPECT_EQ((*listed)[i].uid, i + 1);
    EXPECT_EQ(box().messages, 100u);
}

// Readers on several threads while a writer appends: every read sees a committed message whole
// (the SQLite backend gives each thread its own reader connection).
TEST_P(StoreTest, ReadsOnManyThreadsWhileAppending) {
    ASSERT_TRUE(store_->append(std::vector{msg("m1")}));
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 2; i <= 100; ++i) ASSERT_TRUE(store_->append(std::vector{msg("m" + std::to_string(i))}));
        done = true;
    });
    auto reader = [&] {
        std::size_t reads = 0;
        while (!done || reads < 50) {
            auto listed = store_->list_messages(kUser, "INBOX");
            ASSERT_TRUE(listed);
            ASSERT_FALSE(listed->empty());
            const auto& last = listed->back();
            auto body = store_->read_message(kUser, "INBOX", last.uid);
            ASSERT_TRUE(body) << body.error().message;
            EXPECT_EQ(*body, "m" + std::to_string(last.uid));
            ++reads;
        }
    };
    std::thread r1(reader), r2(reader), r3(reader);
    writer.join();
    r1.join();
    r2.join();
    r3.join();
    EXPECT_EQ(box().messages, 100u);
}

// One message delivered to N accounts (an alias): one body, referenced by every copy; it stays
// while any copy does and goes with the last one, whether by expunge or by deleting the account.
TEST_P(StoreTest, OneBodySharedByEveryAccountOfABatch) {
    constexpr int kAccounts = 5;
    const std::string body = "Subject: to the team\r\n\r\nhello\r\n";
    std::vector<NewMessage> batch;
    for (int i = 0; i < kAccounts; ++i) {
        std::string account = "m" + std::to_string(i) + "@example.org";
        ASSERT_TRUE(store_->create_account(account));
        NewMessage m = msg("", "", {}, "INBOX", account);
        m.body = &body;
        m.prefix = "Return-Path: <bob@example.net>\r\n";
        batch.push_back(std::move(m));
    }
    batch.push_back(msg("not shared"));  // an ordinary entry in the same batch keeps its own body
    append_ok(batch);
    EXPECT_EQ(*store_->count_bodies(), 2u);
    for (int i = 0; i < kAccounts; ++i) {
        std::string account = "m" + std::to_string(i) + "@example.org";
        EXPECT_EQ(*store_->read_message(account, "INBOX", 1), "Return-Path: <bob@example.net>\r\n" + body);
        auto list = store_->list_messages(account, "INBOX");
        ASSERT_TRUE(list);
        ASSERT_EQ(list->size(), 1u);
        EXPECT_EQ((*list)[0].size, 32 + body.size()) << "RFC822.SIZE counts the prefix";
    }
    const std::uint32_t first[] = {1};
    for (int i = 0; i < kAccounts - 2; ++i)
        ASSERT_TRUE(store_->expunge("m" + std::to_string(i) + "@example.org", "INBOX", first));
    ASSERT_TRUE(store_->delete_account("m" + std::to_string(kAccounts - 2) + "@example.org"));
    EXPECT_EQ(*store_->count_bodies(), 2u) << "one copy left: its body stays";
    EXPECT_EQ(*store_->read_message("m" + std::to_string(kAccounts - 1) + "@example.org", "INBOX", 1),
              "Return-Path: <bob@example.net>\r\n" + body);
    ASSERT_TRUE(store_->expunge("m" + std::to_string(kAccounts - 1) + "@example.org", "INBOX", first));
    EXPECT_EQ(*store_->count_bodies(), 1u) << "the last copy takes the body with it";
}

// A source over generated bytes that records the largest read asked of it, and can fail (an
// error, or an early end) once a read reaches `fail_at`.
class TestSource final : public base::ByteSource {
public:
    enum class Fault { None, Error, Short };
    TestSource(std::uint64_t size, std::uint64_t fail_at = 0, Fault fault = Fault::None)
        : size_(size), fail_at_(fail_at), fault_(fault) {}
    static char at(std::uint64_t i) { return static_cast<char>('A' + (i * 7 + i / 4096) % 26); }
    std::string expected() const {
        std::string s(static_cast<std::size_t>(size_), '\0');
        for (std::uint64_t i = 0; i < size_; ++i) s[static_cast<std::size_t>(i)] = at(i);
        return s;
    }
    std::uint64_t size() const override { return size_; }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        largest_ = std::max<std::size_t>(largest_, out.size());
        if (fault_ != Fault::None && offset + out.size() > fail_at_) {
            if (fault_ == Fault::Error) return fail("injected read failure", EIO);
            if (offset >= fail_at_) return std::size_t{0};
            out = out.first(static_cast<std::size_t>(fail_at_ - offset));
        }
        if (offset >= size_) return std::size_t{0};
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
        for (std::size_t i = 0; i < n; ++i) out[i] = at(offset + i);
        return n;
    }
    mutable std::size_t largest_ = 0;

private:
    std::uint64_t size_, fail_at_;
    Fault fault_;
};

TEST_P(StoreTest, StreamedSourceIsStoredExactly) {
    auto src = std::make_shared<TestSource>((5u << 20) + 4321);
    NewMessage m = msg("ignored when a source is set");
    m.source = src;
    m.prefix = "Return-Path: <bob@example.net>\r\n";
    auto empty = msg("ignored too");
    empty.source = base::bytes_from_string("");
    append_ok({m, empty});
    auto got = store_->read_message(kUser, "INBOX", 1);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_TRUE(*got == m.prefix + src->expected()) << "the stored message differs (" << got->size() << " octets)";
    EXPECT_EQ(*store_->read_message(kUser, "INBOX", 2), "");
    auto list = store_->list_messages(kUser, "INBOX");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].size, m.prefix.size() + src->size());
    EXPECT_EQ((*list)[1].size, 0u);
    // The embedded store streams it: no read asks for more than 1 MiB (the memory backend keeps
    // every body in memory by design and may read it whole).
    if (GetParam() == "sqlite") {
        EXPECT_LE(src->largest_, std::size_t{1} << 20);
    }
}

TEST_P(StoreTest, StreamedSourceSharedByEveryAccountOfABatch) {
    constexpr int kAccounts = 4;
    auto src = std::make_shared<TestSource>((2u << 20) + 1);
    std::vector<NewMessage> batch;
    for (int i = 0; i < kAccounts; ++i) {
        std::string account = "s" + std::to_string(i) + "@example.org";
        ASSERT_TRUE(store_->create_account(account));
        NewMessage m = msg("", "q:1:" + account, {}, "INBOX", account);
        m.source = src;
        m.prefix = "Return-Path: <bob@example.net>\r\n";
        batch.push_back(std::move(m));
    }
    append_ok(batch);
    EXPECT_EQ(*store_->count_bodies(), 1u) << "one body row for every account";
    for (int i = 0; i < kAccounts; ++i) {
        auto got = store_->read_message("s" + std::to_string(i) + "@example.org", "INBOX", 1);
        ASSERT_TRUE(got);
        EXPECT_TRUE(*got == "Return-Path: <bob@example.net>\r\n" + src->expected()) << i;
    }
    // Redelivered (same keys): duplicates, nothing more stored.
    auto again = store_->append(batch);
    ASSERT_TRUE(again);
    for (const auto& a : *again) EXPECT_TRUE(a.duplicate);
    EXPECT_EQ(*store_->count_bodies(), 1u);
}

TEST_P(StoreTest, SourceThatFailsMidReadStoresNothing) {
    for (auto fault : {TestSource::Fault::Error, TestSource::Fault::Short}) {
        SCOPED_TRACE(fault == TestSource::Fault::Error ? "read error" : "early end");
        auto before = box();
        auto bad = std::make_shared<TestSource>(3u << 20, (2u << 20) + 100, fault);
        NewMessage first = msg("a message before it in the batch", "k:first");
        NewMessage m = msg("", "k:bad");
        m.source = bad;
        auto r = store_->append(std::vector<NewMessage>{first, m});
        ASSERT_FALSE(r) << "a source that cannot be read must fail the append";
        EXPECT_EQ(*store_->count_bodies(), 0u);
        auto after = box();
        EXPECT_EQ(after.messages, before.messages);
        EXPECT_EQ(after.uidnext, before.uidnext);
        auto list = store_->list_messages(kUser, "INBOX");
        ASSERT_TRUE(list);
        EXPECT_TRUE(list->empty());
    }
    // Nothing was recorded as delivered either: the same keys store normally afterwards.
    NewMessage m = msg("", "k:bad");
    m.source = std::make_shared<TestSource>(1000);
    auto ok = append_ok({msg("a message before it in the batch", "k:first"), m});
    ASSERT_EQ(ok.size(), 2u);
    EXPECT_FALSE(ok[0].duplicate);
    EXPECT_FALSE(ok[1].duplicate);
}

// open_message(): every range of a message whose per-copy prefix is followed by a shared body,
// across the prefix/body boundary and at the end, reads exactly the stored bytes.
TEST_P(StoreTest, OpenMessageReadsEveryRangeAcrossThePrefix) {
    const std::string prefix = "Return-Path: <bob@example.net>\r\n";
    std::string body = "Subject: ranges\r\n\r\n";
    for (int i = 0; body.size() < 5000; ++i) {
        body += "line " + std::to_string(i) + " \xff";
        body.push_back('\0');
        body += ".\r\n";
    }
    NewMessage m = msg("");
    m.body = &body;
    m.prefix = prefix;
    auto r = append_ok({m, msg(""), msg("no prefix")});
    ASSERT_EQ(r.size(), 3u);
    const std::string whole = prefix + body;
    auto src = store_->open_message(kUser, "INBOX", r[0].uid);
    ASSERT_TRUE(src) << src.error().message;
    ASSERT_EQ((*src)->size(), whole.size());
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{31}, std::size_t{32}, std::size_t{33},
                              std::size_t{4096}, whole.size(), whole.size() + 10}) {
        std::string got;
        std::vector<char> buf(chunk);
        for (std::uint64_t off = 0;;) {
            auto n = (*src)->read(off, buf);
            ASSERT_TRUE(n) << n.error().message;
            if (*n == 0) break;
            ASSERT_LE(*n, chunk);
            // A read is short only at the end of the message.
            if (off + *n < whole.size()) {
                ASSERT_EQ(*n, chunk) << "at " << off;
            }
            got.append(buf.data(), *n);
            off += *n;
        }
        EXPECT_EQ(got, whole) << "chunk " << chunk;
    }
    // Single reads that start in the prefix and end in the body, and past the end.
    std::vector<char> buf(10);
    auto n = (*src)->read(prefix.size() - 4, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf.data(), *n), whole.substr(prefix.size() - 4, 10));
    n = (*src)->read(whole.size() - 3, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf.data(), *n), whole.substr(whole.size() - 3));
    n = (*src)->read(whole.size(), buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    n = (*src)->read(whole.size() + 100, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);

    auto empty = store_->open_message(kUser, "INBOX", r[1].uid);
    ASSERT_TRUE(empty);
    EXPECT_EQ((*empty)->size(), 0u);
    n = (*empty)->read(0, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    auto plain = store_->open_message(kUser, "INBOX", r[2].uid);
    ASSERT_TRUE(plain);
    EXPECT_EQ(*base::read_all(**plain), "no prefix");

    auto missing = store_->open_message(kUser, "INBOX", 99);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_EQ(store_->open_message(kUser, "Nope", 1).error().code, ENOENT);
    EXPECT_EQ(store_->open_message("nobody@example.org", "INBOX", 1).error().code, ENOENT);
}

// A message expunged (or whose account is deleted) after open_message() fails to read with
// ENOENT -- even when a new body has taken the old body's place -- and never yields other bytes.
TEST_P(StoreTest, OpenMessageReadAfterExpungeFails) {
    const std::string data = "Subject: going\r\n\r\nsecret of message one\r\n";
    auto r = append_ok({msg(data)});
    auto src = store_->open_message(kUser, "INBOX", r[0].uid);
    ASSERT_TRUE(src);
    std::vector<char> buf(8);
    ASSERT_TRUE((*src)->read(0, buf));
    const std::uint32_t uids[] = {r[0].uid};
    ASSERT_TRUE(store_->expunge(kUser, "INBOX", uids));
    // Same size, so a reused body row would pass a size check.
    std::string other(data.size(), 'x');
    append_ok({msg(other)});
    for (std::uint64_t off : {std::uint64_t{0}, std::uint64_t{8}}) {
        auto n = (*src)->read(off, buf);
        ASSERT_FALSE(n) << "read " << (n ? std::string(buf.data(), *n) : "") << " after expunge";
        EXPECT_EQ(n.error().code, ENOENT) << n.error().message;
    }
    std::vector<char> whole(data.size());  // the whole body in one read takes another path
    auto all = (*src)->read(0, whole);
    ASSERT_FALSE(all) << "read " << (all ? std::string(whole.data(), *all) : "") << " after expunge";
    EXPECT_EQ(all.error().code, ENOENT) << all.error().message;

    auto r2 = append_ok({msg(data)});
    auto src2 = store_->open_message(kUser, "INBOX", r2[0].uid);
    ASSERT_TRUE(src2);
    ASSERT_TRUE(store_->delete_account(kUser));
    ASSERT_TRUE(store_->create_account(kUser));
    append_ok({msg(other), msg(other), msg(other)});
    auto n = (*src2)->read(0, buf);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, ENOENT);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tern::store
