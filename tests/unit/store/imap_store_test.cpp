// MailStore IMAP contract tests (issue 9): handles, listing by UID and modseq, expunged UIDs,
// batched STORE, COPY/MOVE, RENAME, DELETE, subscriptions and the change listener, run against
// every backend (memory and SQLite) with the same cases. Must never depend on backend internals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <map>
#include <set>

#include "store/store.hpp"
#include "../common/temp_dir.hpp"

namespace tern::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kUser = "alice@example.org";

NewMessage msg(std::string data, std::string mailbox = "INBOX", std::vector<std::string> flags = {}) {
    NewMessage m;
    m.account = kUser;
    m.mailbox = std::move(mailbox);
    m.data = std::move(data);
    m.internal_date = 1700000000;
    m.envelope_from = "bob@example.net";
    m.flags = std::move(flags);
    return m;
}

std::vector<std::uint32_t> uids_of(const std::vector<MessageInfo>& ms) {
    std::vector<std::uint32_t> out;
    for (const auto& m : ms) out.push_back(m.uid);
    return out;
}

std::vector<std::string> names_of(const std::vector<MailboxInfo>& boxes) {
    std::vector<std::string> out;
    for (const auto& b : boxes) out.push_back(b.name);
    std::sort(out.begin(), out.end());
    return out;
}

class ImapStoreTest : public ::testing::TestWithParam<std::string> {
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
        store_->set_change_listener([this](std::string_view account) { ++calls_[std::string(account)]; });
    }

    std::vector<std::uint32_t> append(std::vector<NewMessage> batch) {
        auto r = store_->append(batch);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        std::vector<std::uint32_t> out;
        if (r)
            for (const auto& a : *r) out.push_back(a.uid);
        return out;
    }

    MailboxHandle open(std::string_view name = "INBOX") {
        auto h = store_->open_mailbox(kUser, name);
        EXPECT_TRUE(h) << (h ? "" : h.error().message);
        return h ? *h : MailboxHandle{};
    }

    MailboxInfo info(const MailboxHandle& h) {
        auto r = store_->mailbox_info(h);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : MailboxInfo{};
    }

    std::vector<MessageInfo> list(const MailboxHandle& h, std::uint32_t from = 1, std::uint64_t since = 0) {
        auto r = store_->list_messages(h, from, since);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : std::vector<MessageInfo>{};
    }

    std::string read(const MailboxHandle& h, std::uint32_t uid) {
        auto src = store_->open_message(h, uid);
        if (!src) return "<" + src.error().message + ">";
        auto all = base::read_all(**src);
        return all ? *all : "<" + all.error().message + ">";
    }

    std::uint64_t bodies() { return store_->count_bodies().value_or(999); }
    int calls() { return calls_[kUser]; }

    tern::testing::TempDir dir_;
    std::unique_ptr<MailStore> store_;
    std::map<std::string, int> calls_;
};

TEST_P(ImapStoreTest, OpenMailboxGivesAHandleAndFreshInfo) {
    auto h = open("inbox");
    EXPECT_EQ(h.account, kUser);
    EXPECT_NE(h.id, 0);
    auto byname = store_->mailbox(kUser, "INBOX");
    ASSERT_TRUE(byname);
    EXPECT_EQ(h.id, byname->id);
    EXPECT_EQ(h.uidvalidity, byname->uidvalidity);
    append({msg("one"), msg("two")});
    auto i = info(h);
    EXPECT_EQ(i.name, "INBOX");
    EXPECT_EQ(i.messages, 2u);
    EXPECT_EQ(i.uidnext, 3u);
    EXPECT_EQ(i.highest_modseq, byname->highest_modseq + 2);
    EXPECT_EQ(store_->open_mailbox(kUser, "Nope").error().code, ENOENT);
    EXPECT_EQ(store_->open_mailbox("bob@example.org", "INBOX").error().code, ENOENT);
    EXPECT_EQ(store_->open_mailbox(kUser, "a//b").error().code, EINVAL);
    // Every mailbox has its own id; list_mailboxes reports them.
    auto boxes = store_->list_mailboxes(kUser);
    ASSERT_TRUE(boxes);
    std::set<std::int64_t> ids;
    for (const auto& b : *boxes) {
        EXPECT_NE(b.id, 0);
        EXPECT_FALSE(b.noselect);
        EXPECT_FALSE(b.subscribed);
        ids.insert(b.id);
    }
    EXPECT_EQ(ids.size(), boxes->size());
}

TEST_P(ImapStoreTest, ListMessagesFromUidAndChangedSince) {
    auto h = open();
    EXPECT_THAT(list(h), IsEmpty());
    append({msg("1"), msg("2"), msg("3"), msg("4"), msg("5")});
    const std::uint64_t after_append = info(h).highest_modseq;
    EXPECT_THAT(uids_of(list(h)), ElementsAre(1, 2, 3, 4, 5));
    EXPECT_THAT(uids_of(list(h, 3)), ElementsAre(3, 4, 5));
    EXPECT_THAT(uids_of(list(h, 6)), IsEmpty());
    EXPECT_THAT(uids_of(list(h, 0)), ElementsAre(1, 2, 3, 4, 5));
    // Changed in the order 4, 2: listed in UID order.
    const std::string seen[] = {"\\Seen"};
    const std::uint32_t four[] = {4}, two[] = {2};
    ASSERT_TRUE(store_->store_flags(h, four, FlagMode::Add, seen));
    ASSERT_TRUE(store_->store_flags(h, two, FlagMode::Add, seen));
    auto changed = list(h, 1, after_append);
    EXPECT_THAT(uids_of(changed), ElementsAre(2, 4));
    EXPECT_THAT(changed[0].flags, ElementsAre("\\Seen"));
    EXPECT_EQ(changed[0].envelope_from, "bob@example.net");
    EXPECT_EQ(changed[0].internal_date, 1700000000);
    EXPECT_EQ(changed[0].size, 1u);
    EXPECT_THAT(uids_of(list(h, 3, after_append)), ElementsAre(4));
    EXPECT_THAT(uids_of(list(h, 1, info(h).highest_modseq)), IsEmpty());
    // The name-based listing agrees with the handle's.
    EXPECT_EQ(uids_of(*store_->list_messages(kUser, "INBOX")), uids_of(list(h)));
}

TEST_P(ImapStoreTest, ExpungeByHandleRecordsUidsForExpungedSince) {
    auto h = open();
    append({msg("1"), msg("2"), msg("3"), msg("4")});
    const std::uint64_t before = info(h).highest_modseq;
    const int calls_before = calls();
    const std::uint32_t none[] = {9, 10};
    auto nothing = store_->expunge(h, none);
    ASSERT_TRUE(nothing);
    EXPECT_THAT(nothing->uids, IsEmpty());
    EXPECT_EQ(nothing->modseq, 0u);
    EXPECT_TRUE(store_->expunge(h, std::span<const std::uint32_t>{})->uids.empty());
    EXPECT_EQ(info(h).highest_modseq, before) << "nothing removed, nothing changed";
    EXPECT_EQ(calls(), calls_before) << "no change, no notice";

    const std::uint32_t some[] = {3, 2, 9, 2};
    auto r = store_->expunge(h, some);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->uids, ElementsAre(2, 3));
    EXPECT_EQ(r->modseq, before + 1);
    EXPECT_EQ(info(h).highest_modseq, before + 1);
    EXPECT_EQ(info(h).messages, 2u);
    EXPECT_EQ(calls(), calls_before + 1);
    EXPECT_THAT(*store_->expunged_since(h, 0), ElementsAre(2, 3));
    EXPECT_THAT(*store_->expunged_since(h, before), ElementsAre(2, 3));
    EXPECT_THAT(*store_->expunged_since(h, before + 1), IsEmpty());
    // The name-based expunge (POP3) records its UIDs too.
    const std::uint32_t one[] = {1};
    ASSERT_TRUE(store_->expunge(kUser, "INBOX", one));
    EXPECT_THAT(*store_->expunged_since(h, before + 1), ElementsAre(1));
    EXPECT_THAT(*store_->expunged_since(h, 0), ElementsAre(1, 2, 3));
    EXPECT_THAT(uids_of(list(h)), ElementsAre(4));
    EXPECT_EQ(append({msg("5")}), std::vector<std::uint32_t>{5}) << "expunged UIDs are not reused";
}

TEST_P(ImapStoreTest, ExpungeDeletedRemovesOnlyMessagesStillDeleted) {
    // RFC 9051 §6.4.3: EXPUNGE removes the messages that have \Deleted. A session builds its list
    // from its view; another session may clear \Deleted before the expunge runs.
    auto h = open();
    append({msg("1", "INBOX", {"\\Deleted"}), msg("2", "INBOX", {"\\Deleted", "\\Seen"}), msg("3"),
            msg("4", "INBOX", {"\\Deleted"}), msg("5", "INBOX", {"deletedish"})});
    const std::uint32_t two[] = {2};
    ASSERT_TRUE(store_->store_flags(h, two, FlagMode::Remove, std::vector<std::string>{"\\Deleted"}));
    const std::uint64_t before = info(h).highest_modseq;
    const int calls_before = calls();
    const std::uint32_t asked[] = {1, 2, 3, 5, 9};  // 4 has \Deleted but is not asked for
    auto r = store_->expunge_deleted(h, asked);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_THAT(r->uids, ElementsAre(1));
    EXPECT_EQ(r->modseq, before + 1);
    EXPECT_THAT(uids_of(list(h)), ElementsAre(2, 3, 4, 5));
    EXPECT_THAT(*store_->expunged_since(h, 0), ElementsAre(1));
    EXPECT_EQ(calls(), calls_before + 1);
    // Nothing left to remove among those asked: no change, no modseq bump, no notice.
    auto none = store_->expunge_deleted(h, asked);
    ASSERT_TRUE(none);
    EXPECT_THAT(none->uids, IsEmpty());
    EXPECT_EQ(info(h).highest_modseq, before + 1);
    EXPECT_EQ(calls(), calls_before + 1);
}

TEST_P(ImapStoreTest, SummaryIsKeptPerBodySharedByCopiesAndGoesWithIt) {
    auto h = open();
    auto with = msg("Subject: a\r\n\r\na\r\n");
    with.summary = "summary of a";
    const std::string shared = "Subject: shared\r\n\r\nb\r\n";
    auto b1 = msg(""), b2 = msg("");
    b1.body = b2.body = &shared;
    b2.summary = "summary of b";  // the first non-empty one of a shared body is kept
    append({with, msg("Subject: c\r\n\r\nc\r\n"), b1, b2});
    EXPECT_EQ(store_->summary(h, 1)->value_or("-"), "summary of a");
    EXPECT_FALSE(store_->summary(h, 2)->has_value());
    EXPECT_EQ(store_->summary(h, 3)->value_or("-"), "summary of b");
    EXPECT_EQ(store_->summary(h, 4)->value_or("-"), "summary of b");
    EXPECT_EQ(store_->summary(h, 9).error().code, ENOENT);

    // Filling the cache is not a change: no modseq, no notice; absent messages are skipped.
    const auto before = info(h).highest_modseq;
    const auto msg2_modseq = list(h)[1].modseq;
    const int calls_before = calls();
    const std::pair<std::uint32_t, std::string> fill[] = {{2, "summary of c"}, {9, "nobody"}};
    ASSERT_TRUE(store_->set_summaries(h, fill));
    EXPECT_EQ(store_->summary(h, 2)->value_or("-"), "summary of c");
    EXPECT_EQ(info(h).highest_modseq, before);
    EXPECT_EQ(calls(), calls_before);
    EXPECT_EQ(list(h)[1].modseq, msg2_modseq);

    // COPY and MOVE share the body, and so the summary.
    const std::uint32_t two[] = {2};
    auto copied = store_->copy_messages(h, two, "Archive");
    ASSERT_TRUE(copied) << copied.error().message;
    auto archive = open("Archive");
    EXPECT_EQ(store_->summary(archive, copied->dest_uids[0])->value_or("-"), "summary of c");

    // Gone with the last message naming the body: a body appended after it never sees it.
    const std::uint32_t one[] = {1};
    ASSERT_TRUE(store_->expunge(h, one));
    EXPECT_EQ(store_->summary(h, 1).error().code, ENOENT);
    auto next = append({msg("Subject: d\r\n\r\nd\r\n")});
    ASSERT_EQ(next.size(), 1u);
    EXPECT_FALSE(store_->summary(h, next[0])->has_value());
    const std::uint32_t all[] = {2, 3, 4, next[0]};
    ASSERT_TRUE(store_->expunge(h, all));
    ASSERT_TRUE(store_->expunge(archive, copied->dest_uids));
    auto last = append({msg("Subject: e\r\n\r\ne\r\n")});
    ASSERT_EQ(last.size(), 1u);
    EXPECT_FALSE(store_->summary(h, last[0])->has_value()) << "a reused body id finds no stale summary";
}

TEST_P(ImapStoreTest, StoreFlagsAddRemoveReplaceChangesOnlyWhatChanges) {
    auto h = open();
    append({msg("1", "INBOX", {"\\Seen"}), msg("2"), msg("3", "INBOX", {"\\Seen", "work"})});
    auto before = list(h);
    const std::uint64_t highest = info(h).highest_modseq;
    const std::uint32_t all[] = {3, 1, 2, 7, 2};
    const std::string seen[] = {"\\seen"};
    auto r = store_->store_flags(h, all, FlagMode::Add, seen);
    ASSERT_TRUE(r) << r.error().message;
    // Every existing requested message is reported (FETCH for all unless .SILENT)...
    ASSERT_THAT(uids_of(r->updated), ElementsAre(1, 2, 3));
    EXPECT_THAT(r->modified, IsEmpty());
    for (const auto& m : r->updated) EXPECT_THAT(m.flags, ::testing::Contains("\\Seen"));
    // ...but only UID 2 changed: it alone gets the new modseq.
    EXPECT_EQ(r->updated[0].modseq, before[0].modseq);
    EXPECT_EQ(r->updated[1].modseq, highest + 1);
    EXPECT_EQ(r->updated[2].modseq, before[2].modseq);
    EXPECT_EQ(info(h).highest_modseq, highest + 1);
    EXPECT_EQ(list(h)[1].modseq, highest + 1);

    // Remove from all: three change, all with one new modseq.
    const std::uint32_t every[] = {1, 2, 3};
    r = store_->store_flags(h, every, FlagMode::Remove, seen);
    ASSERT_TRUE(r);
    for (const auto& m : r->updated) EXPECT_EQ(m.modseq, highest + 2);
    EXPECT_THAT(r->updated[0].flags, IsEmpty());
    EXPECT_THAT(r->updated[2].flags, ElementsAre("work"));
    EXPECT_EQ(info(h).highest_modseq, highest + 2) << "one bump per command";

    // Replace.
    const std::string replace[] = {"\\Flagged", "$Label1", "\\Flagged"};
    const std::uint32_t three[] = {3};
    r = store_->store_flags(h, three, FlagMode::Replace, replace);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->updated[0].flags, ElementsAre("$Label1", "\\Flagged"));
    EXPECT_THAT(list(h)[2].flags, ElementsAre("$Label1", "\\Flagged"));
    // Replace with nothing clears.
    r = store_->store_flags(h, three, FlagMode::Replace, std::span<const std::string>{});
    ASSERT_TRUE(r);
    EXPECT_THAT(list(h)[2].flags, IsEmpty());

    // A no-op changes nothing: no modseq, no notice.
    const std::uint64_t now = info(h).highest_modseq;
    const int calls_before = calls();
    r = store_->store_flags(h, three, FlagMode::Remove, seen);
    ASSERT_TRUE(r);
    EXPECT_THAT(uids_of(r->updated), ElementsAre(3));
    EXPECT_EQ(info(h).highest_modseq, now);
    EXPECT_EQ(calls(), calls_before);
    r = store_->store_flags(h, std::span<const std::uint32_t>{}, FlagMode::Add, seen);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->updated, IsEmpty());
    const std::uint32_t absent[] = {40, 41};
    r = store_->store_flags(h, absent, FlagMode::Add, seen);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->updated, IsEmpty());
    EXPECT_EQ(info(h).highest_modseq, now);
    EXPECT_EQ(calls(), calls_before);
}

TEST_P(ImapStoreTest, StoreFlagsRefusesRecentAndBadFlagsChangingNothing) {
    auto h = open();
    append({msg("1")});
    const std::uint64_t highest = info(h).highest_modseq;
    const std::uint32_t one[] = {1};
    for (auto bad : {std::vector<std::string>{"\\Recent"}, std::vector<std::string>{"\\Seen", "a b"},
                     std::vector<std::string>{"x\r\n"}, std::vector<std::string>{""}}) {
        auto r = store_->store_flags(h, one, FlagMode::Add, bad);
        ASSERT_FALSE(r) << bad.back();
        EXPECT_EQ(r.error().code, EINVAL);
    }
    EXPECT_THAT(list(h)[0].flags, IsEmpty());
    EXPECT_EQ(info(h).highest_modseq, highest);
}

// RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone and reported MODIFIED.
TEST_P(ImapStoreTest, StoreFlagsUnchangedSince) {
    auto h = open();
    append({msg("1"), msg("2"), msg("3")});
    const std::uint64_t base = list(h)[2].modseq;  // UIDs 1..3 have modseqs up to `base`
    const std::string flagged[] = {"\\Flagged"};
    const std::uint32_t two[] = {2};
    ASSERT_TRUE(store_->store_flags(h, two, FlagMode::Add, flagged));  // 2 now above `base`
    const std::string seen[] = {"\\Seen"};
    const std::uint32_t all[] = {1, 2, 3};
    auto r = store_->store_flags(h, all, FlagMode::Add, seen, base);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->modified, ElementsAre(2));
    EXPECT_THAT(uids_of(r->updated), ElementsAre(1, 3));
    auto now = list(h);
    EXPECT_THAT(now[0].flags, ElementsAre("\\Seen"));
    EXPECT_THAT(now[1].flags, ElementsAre("\\Flagged")) << "left alone";
    EXPECT_THAT(now[2].flags, ElementsAre("\\Seen"));
    // UNCHANGEDSINCE 0: every message has a modseq above it.
    r = store_->store_flags(h, all, FlagMode::Remove, seen, 0);
    ASSERT_TRUE(r);
    EXPECT_THAT(r->modified, ElementsAre(1, 2, 3));
    EXPECT_THAT(r->updated, IsEmpty());
    EXPECT_THAT(list(h)[0].flags, ElementsAre("\\Seen"));
}

TEST_P(ImapStoreTest, HighestModseqOnlyGrows) {
    auto h = open();
    std::uint64_t last = info(h).highest_modseq;
    auto grew = [&](const char* what) {
        const std::uint64_t now = info(h).highest_modseq;
        EXPECT_GT(now, last) << what;
        for (const auto& m : list(h)) EXPECT_LE(m.modseq, now) << what;
        last = now;
    };
    append({msg("1"), msg("2"), msg("3")});
    grew("append");
    const std::string seen[] = {"\\Seen"};
    const std::uint32_t one[] = {1}, two[] = {2};
    ASSERT_TRUE(store_->store_flags(h, one, FlagMode::Add, seen));
    grew("store");
    ASSERT_TRUE(store_->set_flags(kUser, "INBOX", 2, {"x"}));
    grew("set_flags");
    ASSERT_TRUE(store_->copy_messages(h, one, "INBOX"));
    grew("copy into itself");
    ASSERT_TRUE(store_->expunge(h, two));
    grew("expunge");
    auto moved = store_->move_messages(h, one, "Trash");
    ASSERT_TRUE(moved);
    grew("move out");
    EXPECT_EQ(moved->second.modseq, last);
}

TEST_P(ImapStoreTest, StaleHandleFailsWithENOENTAfterDeleteAndRecreate) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "Work", SpecialUse::None));
    auto h = open("Work");
    append({msg("1", "Work")});
    ASSERT_TRUE(store_->delete_mailbox(kUser, "Work"));
    ASSERT_TRUE(store_->create_mailbox(kUser, "Work", SpecialUse::None));
    append({msg("other", "Work")});
    auto fresh = open("Work");
    EXPECT_NE(fresh.id, h.id) << "a mailbox id is never reused";
    EXPECT_NE(fresh.uidvalidity, h.uidvalidity);
    auto expect_gone = [&](const MailboxHandle& stale) {
        const std::uint32_t one[] = {1};
        const std::string seen[] = {"\\Seen"};
        EXPECT_EQ(store_->mailbox_info(stale).error().code, ENOENT);
        EXPECT_EQ(store_->list_messages(stale, 1, 0).error().code, ENOENT);
        EXPECT_EQ(store_->expunged_since(stale, 0).error().code, ENOENT);
        EXPECT_EQ(store_->open_message(stale, 1).error().code, ENOENT);
        EXPECT_EQ(store_->store_flags(stale, one, FlagMode::Add, seen).error().code, ENOENT);
        EXPECT_EQ(store_->expunge(stale, one).error().code, ENOENT);
        EXPECT_EQ(store_->copy_messages(stale, one, "INBOX").error().code, ENOENT);
        EXPECT_EQ(store_->move_messages(stale, one, "INBOX").error().code, ENOENT);
    };
    expect_gone(h);
    EXPECT_EQ(read(fresh, 1), "other");
    EXPECT_THAT(list(fresh)[0].flags, IsEmpty()) << "the stale STORE touched nothing";
    // The right id with a wrong UIDVALIDITY, or another account's name, fails too.
    expect_gone(MailboxHandle{kUser, fresh.id, fresh.uidvalidity + 1});
    ASSERT_TRUE(store_->create_account("bob@example.org"));
    expect_gone(MailboxHandle{"bob@example.org", fresh.id, fresh.uidvalidity});
    // The account deleted and re-created: its old handles are stale.
    auto inbox = open();
    ASSERT_TRUE(store_->delete_account(kUser));
    ASSERT_TRUE(store_->create_account(kUser));
    append({msg("new")});
    expect_gone(inbox);
}

TEST_P(ImapStoreTest, MailboxIdsAreNeverReused) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "Last", SpecialUse::None));
    const std::int64_t last = open("Last").id;
    ASSERT_TRUE(store_->delete_mailbox(kUser, "Last"));  // the highest id goes
    ASSERT_TRUE(store_->create_mailbox(kUser, "Next", SpecialUse::None));
    EXPECT_GT(open("Next").id, last);
}

TEST_P(ImapStoreTest, CopySharesBodiesAndKeepsFlagsAndDates) {
    auto h = open();
    NewMessage with_prefix = msg("body one", "INBOX", {"\\Seen", "work"});
    with_prefix.prefix = "Return-Path: <bob@example.net>\r\n";
    append({with_prefix, msg("body two"), msg("body three")});
    ASSERT_EQ(bodies(), 3u);
    auto trash = open("Trash");
    append({msg("already here", "Trash")});
    const MailboxInfo dest_before = info(trash);
    const int calls_before = calls();
    const std::uint32_t uids[] = {3, 1, 8};
    auto r = store_->copy_messages(h, uids, "trash");  // names as usual: case-sensitive except INBOX
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    r = store_->copy_messages(h, uids, "Trash");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->uidvalidity, dest_before.uidvalidity);
    EXPECT_THAT(r->source_uids, ElementsAre(1, 3));
    EXPECT_THAT(r->dest_uids, ElementsAre(2, 3));
    EXPECT_EQ(bodies(), 4u) << "copies reference the bodies: no new body";
    EXPECT_EQ(calls(), calls_before + 1);
    auto dest = info(trash);
    EXPECT_EQ(dest.messages, 3u);
    EXPECT_EQ(dest.uidnext, 4u);
    EXPECT_EQ(dest.highest_modseq, dest_before.highest_modseq + 1);
    auto copies = list(trash, 2);
    ASSERT_EQ(copies.size(), 2u);
    EXPECT_THAT(copies[0].flags, ElementsAre("\\Seen", "work"));
    EXPECT_EQ(copies[0].internal_date, 1700000000);
    EXPECT_EQ(copies[0].envelope_from, "bob@example.net");
    EXPECT_EQ(copies[0].size, with_prefix.prefix.size() + 8);
    EXPECT_EQ(copies[0].modseq, dest.highest_modseq);
    EXPECT_EQ(copies[1].modseq, dest.highest_modseq);
    EXPECT_EQ(read(trash, 2), "Return-Path: <bob@example.net>\r\nbody one");
    EXPECT_EQ(read(trash, 3), "body three");
    EXPECT_EQ(info(h).messages, 3u) << "the source is untouched";
    // The copy outlives the original, and the body goes with the last reference.
    const std::uint32_t one[] = {1};
    ASSERT_TRUE(store_->expunge(h, one));
    EXPECT_EQ(read(trash, 2), "Return-Path: <bob@example.net>\r\nbody one");
    EXPECT_EQ(bodies(), 4u);
    const std::uint32_t two[] = {2};
    ASSERT_TRUE(store_->expunge(trash, two));
    EXPECT_EQ(bodies(), 3u);
    // Nothing to copy: an empty result, no change, no notice.
    const int calls_now = calls();
    const std::uint64_t trash_modseq = info(trash).highest_modseq;
    const std::uint32_t absent[] = {1, 50};
    r = store_->copy_messages(h, absent, "Trash");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->source_uids, IsEmpty());
    EXPECT_EQ(r->uidvalidity, dest.uidvalidity);
    EXPECT_EQ(info(trash).highest_modseq, trash_modseq);
    EXPECT_EQ(calls(), calls_now);
    // Into the same mailbox: new UIDs there.
    const std::uint32_t three[] = {3};
    r = store_->copy_messages(h, three, "INBOX");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->dest_uids, ElementsAre(4));
    EXPECT_EQ(read(h, 4), "body three");
}

TEST_P(ImapStoreTest, CopyOrMoveToAMissingMailboxSaysTryCreate) {
    auto h = open();
    append({msg("1")});
    const MailboxInfo before = info(h);
    const int calls_before = calls();
    const std::uint32_t one[] = {1};
    auto c = store_->copy_messages(h, one, "Nowhere");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, ENOENT);
    EXPECT_THAT(c.error().message, HasSubstr("TRYCREATE"));
    auto m = store_->move_messages(h, one, "Nowhere/Deep");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, ENOENT);
    EXPECT_THAT(m.error().message, HasSubstr("TRYCREATE"));
    EXPECT_EQ(store_->copy_messages(h, one, "bad//name").error().code, EINVAL);
    auto after = info(h);
    EXPECT_EQ(after.messages, before.messages) << "the failed MOVE removed nothing";
    EXPECT_EQ(after.highest_modseq, before.highest_modseq);
    EXPECT_THAT(*store_->expunged_since(h, 0), IsEmpty());
    EXPECT_EQ(calls(), calls_before) << "no notice for a failure";
}

TEST_P(ImapStoreTest, MoveIsCopyAndExpungeInOne) {
    auto h = open();
    append({msg("a", "INBOX", {"\\Flagged"}), msg("b"), msg("c")});
    const std::uint64_t bodies_before = bodies();
    const MailboxInfo src_before = info(h);
    auto archive = open("Archive");
    const int calls_before = calls();
    const std::uint32_t uids[] = {1, 3, 99};
    auto r = store_->move_messages(h, uids, "Archive");
    ASSERT_TRUE(r) << r.error().message;
    const auto& [copy, gone] = *r;
    EXPECT_EQ(copy.uidvalidity, archive.uidvalidity);
    EXPECT_THAT(copy.source_uids, ElementsAre(1, 3));
    EXPECT_THAT(copy.dest_uids, ElementsAre(1, 2));
    EXPECT_THAT(gone.uids, ElementsAre(1, 3));
    EXPECT_EQ(gone.modseq, src_before.highest_modseq + 1);
    EXPECT_EQ(calls(), calls_before + 1) << "one operation, one notice";
    EXPECT_EQ(bodies(), bodies_before) << "moved, not copied: the bodies stay, once";
    auto src = info(h);
    EXPECT_EQ(src.messages, 1u);
    EXPECT_EQ(src.highest_modseq, gone.modseq);
    EXPECT_THAT(uids_of(list(h)), ElementsAre(2));
    EXPECT_THAT(*store_->expunged_since(h, src_before.highest_modseq), ElementsAre(1, 3));
    EXPECT_EQ(info(archive).messages, 2u);
    EXPECT_EQ(read(archive, 1), "a");
    EXPECT_EQ(read(archive, 2), "c");
    EXPECT_THAT(list(archive)[0].flags, ElementsAre("\\Flagged"));
    EXPECT_EQ(store_->open_message(h, 1).error().code, ENOENT);
    // Nothing to move: nothing happens.
    const std::uint32_t absent[] = {1};
    r = store_->move_messages(h, absent, "Archive");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->first.source_uids, IsEmpty());
    EXPECT_THAT(r->second.uids, IsEmpty());
    EXPECT_EQ(r->second.modseq, 0u);
    EXPECT_EQ(calls(), calls_before + 1);
    // Within one mailbox: the message gets a new UID, the old one is expunged.
    const std::uint32_t two[] = {2};
    r = store_->move_messages(h, two, "INBOX");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->first.dest_uids, ElementsAre(4));
    EXPECT_THAT(uids_of(list(h)), ElementsAre(4));
    EXPECT_EQ(read(h, 4), "b");
    EXPECT_EQ(info(h).highest_modseq, r->second.modseq);
}

TEST_P(ImapStoreTest, OpenMessageByHandleSurvivesRenameNotExpunge) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "Old", SpecialUse::None));
    auto h = open("Old");
    NewMessage m = msg("the body", "Old");
    m.prefix = "Return-Path: <>\r\n";
    append({m});
    auto src = store_->open_message(h, 1);
    ASSERT_TRUE(src);
    EXPECT_EQ((*src)->size(), m.prefix.size() + 8);
    ASSERT_TRUE(store_->rename_mailbox(kUser, "Old", "New"));
    EXPECT_EQ(*base::read_all(**src), "Return-Path: <>\r\nthe body") << "a source opened before the rename";
    EXPECT_EQ(read(h, 1), "Return-Path: <>\r\nthe body") << "the handle follows the rename";
    EXPECT_EQ(info(h).name, "New");
    EXPECT_EQ(store_->open_message(h, 2).error().code, ENOENT);
    const std::uint32_t one[] = {1};
    ASSERT_TRUE(store_->expunge(h, one));
    std::vector<char> buf(4);
    EXPECT_FALSE((*src)->read(m.prefix.size(), std::span<char>(buf))) << "the body is gone";
    EXPECT_EQ(store_->open_message(h, 1).error().code, ENOENT);
}

TEST_P(ImapStoreTest, RenameTakesInferiorsAlongAndKeepsIdentity) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "a/b/c", SpecialUse::None));
    ASSERT_TRUE(store_->create_mailbox(kUser, "ab", SpecialUse::None));  // not an inferior of "a"
    auto a = open("a");
    auto c = open("a/b/c");
    append({msg("in a", "a"), msg("in c", "a/b/c")});
    const MailboxInfo a_before = info(a);
    const int calls_before = calls();
    ASSERT_TRUE(store_->rename_mailbox(kUser, "a", "x/y"));
    EXPECT_EQ(calls(), calls_before + 1);
    auto names = names_of(*store_->list_mailboxes(kUser));
    EXPECT_THAT(names, ElementsAre("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "ab", "x", "x/y",
                                   "x/y/b", "x/y/b/c"));
    auto renamed = store_->mailbox(kUser, "x/y");
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed->id, a.id);
    EXPECT_EQ(renamed->uidvalidity, a_before.uidvalidity) << "UIDs stay valid, so UIDVALIDITY stays";
    EXPECT_EQ(renamed->uidnext, a_before.uidnext);
    EXPECT_EQ(info(c).name, "x/y/b/c");
    EXPECT_EQ(read(c, 1), "in c");
    EXPECT_EQ(read(a, 1), "in a");
    EXPECT_EQ(store_->mailbox(kUser, "a").error().code, ENOENT);
    EXPECT_EQ(store_->mailbox(kUser, "a/b").error().code, ENOENT);
    append({msg("new in y", "x/y")});
    EXPECT_THAT(uids_of(list(a)), ElementsAre(1, 2));
    // A name may come back after it was renamed away.
    ASSERT_TRUE(store_->create_mailbox(kUser, "a", SpecialUse::None));
    // Renaming a special-use mailbox keeps its role.
    ASSERT_TRUE(store_->rename_mailbox(kUser, "Sent", "Sent Items"));
    EXPECT_EQ(store_->mailbox(kUser, "Sent Items")->special_use, SpecialUse::Sent);
}

TEST_P(ImapStoreTest, RenameErrors) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "a/b", SpecialUse::None));
    ASSERT_TRUE(store_->create_mailbox(kUser, "z/b", SpecialUse::None));
    const int calls_before = calls();
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "Trash").error().code, EEXIST);
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "inbox").error().code, EEXIST);
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "a").error().code, EEXIST);
    EXPECT_EQ(store_->rename_mailbox(kUser, "nope", "b").error().code, ENOENT);
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "a/b/c").error().code, EINVAL) << "into its own inferior";
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "bad//").error().code, EINVAL);
    EXPECT_EQ(store_->rename_mailbox("nobody@example.org", "a", "b").error().code, ENOENT);
    // A \Noselect name exists too: "a" cannot take it.
    ASSERT_TRUE(store_->delete_mailbox(kUser, "z"));  // "z" has an inferior: it becomes \Noselect
    EXPECT_EQ(store_->rename_mailbox(kUser, "a", "z").error().code, EEXIST);
    EXPECT_EQ(calls(), calls_before + 1) << "only the DELETE changed anything";
    EXPECT_THAT(names_of(*store_->list_mailboxes(kUser)),
                ElementsAre("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "a", "a/b", "z", "z/b"));
    // "aa" is not below "a".
    EXPECT_TRUE(store_->rename_mailbox(kUser, "a", "aa"));
    EXPECT_THAT(names_of(*store_->list_mailboxes(kUser)),
                ElementsAre("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "aa", "aa/b", "z", "z/b"));
}

// RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox; INBOX stays, empty.
TEST_P(ImapStoreTest, RenameInboxMovesItsMessages) {
    ASSERT_TRUE(store_->create_mailbox(kUser, "INBOX/kept", SpecialUse::None));
    auto inbox = open();
    append({msg("1", "INBOX", {"\\Seen"}), msg("2"), msg("3")});
    const std::uint32_t two[] = {2};
    ASSERT_TRUE(store_->expunge(inbox, two));
    const MailboxInfo before = info(inbox);
    const std::uint64_t bodies_before = bodies();
    ASSERT_TRUE(store_->rename_mailbox(kUser, "inbox", "Old/Mail"));
    auto moved = open("Old/Mail");
    EXPECT_NE(moved.id, inbox.id);
    EXPECT_NE(moved.uidvalidity, inbox.uidvalidity);
    auto moved_info = info(moved);
    EXPECT_EQ(moved_info.messages, 2u);
    EXPECT_GE(moved_info.uidnext, 4u);
    auto msgs = list(moved);
    EXPECT_THAT(uids_of(msgs), ElementsAre(1, 3));
    EXPECT_THAT(msgs[0].flags, ElementsAre("\\Seen"));
    for (const auto& m : msgs) EXPECT_LE(m.modseq, moved_info.highest_modseq);
    EXPECT_EQ(read(moved, 3), "3");
    EXPECT_EQ(bodies(), bodies_before);
    // INBOX: the same mailbox (handle valid), empty, its UIDs expunged, never reused.
    auto now = info(inbox);
    EXPECT_EQ(now.messages, 0u);
    EXPECT_EQ(now.uidnext, before.uidnext);
    EXPECT_GT(now.highest_modseq, before.highest_modseq);
    EXPECT_THAT(*store_->expunged_since(inbox, before.highest_modseq), ElementsAre(1, 3));
    EXPECT_THAT(list(inbox), IsEmpty());
    EXPECT_EQ(append({msg("4")}), std::vector<std::uint32_t>{4});
    EXPECT_TRUE(store_->mailbox(kUser, "INBOX/kept")) << "INBOX's inferiors are not renamed";
    EXPECT_TRUE(store_->mailbox(kUser, "Old")) << "superior created";
    // Renaming an empty INBOX also works (a new empty mailbox).
    ASSERT_TRUE(store_->rename_mailbox(kUser, "INBOX", "INBOX/old"));
    EXPECT_EQ(store_->mailbox(kUser, "INBOX/old")->messages, 1u);
    EXPECT_EQ(store_->rename_mailbox(kUser, "INBOX", "Old").error().code, EEXIST);
}

// RFC 9051 §6.3.5.
TEST_P(ImapStoreTest, DeleteRules) {
    EXPECT_EQ(store_->delete_mailbox(kUser, "inbox").error().code, EINVAL);
    EXPECT_EQ(store_->delete_mailbox(kUser, "Nope").error().code, ENOENT);
    EXPECT_EQ(store_->delete_mailbox("nobody@example.org", "Trash").error().code, ENOENT);
    // A leaf goes with its messages and bodies.
    append({msg("junk", "Junk")});
    const std::uint64_t bodies_before = bodies();
    const std::uint32_t junk_validity = store_->mailbox(kUser, "Junk")->uidvalidity;
    ASSERT_TRUE(store_->delete_mailbox(kUser, "Junk"));
    EXPECT_EQ(bodies(), bodies_before - 1);
    EXPECT_EQ(store_->mailbox(kUser, "Junk").error().code, ENOENT);
    ASSERT_TRUE(store_->create_mailbox(kUser, "Junk", SpecialUse::Junk));
    EXPECT_NE(store_->mailbox(kUser, "Junk")->uidvalidity, junk_validity) << "UIDVALIDITY never reused";
    EXPECT_EQ(store_->mailbox(kUser, "Junk")->messages, 0u);

    // A mailbox with inferiors loses its messages and becomes \Noselect.
    ASSERT_TRUE(store_->create_mailbox(kUser, "p/q", SpecialUse::None));
    append({msg("in p", "p"), msg("in q", "p/q")});
    auto p = open("p");
    const std::uint64_t with_p = bodies();
    const int calls_before = calls();
    ASSERT_TRUE(store_->delete_mailbox(kUser, "p"));
    EXPECT_EQ(calls(), calls_before + 1);
    EXPECT_EQ(bodies(), with_p - 1);
    auto boxes = *store_->list_mailboxes(kUser);
    auto listed = std::find_if(boxes.begin(), boxes.end(), [](const auto& b) { return b.name == "p"; });
    ASSERT_NE(listed, boxes.end());
    EXPECT_TRUE(listed->noselect);
    EXPECT_EQ(listed->messages, 0u);
    EXPECT_EQ(store_->mailbox(kUser, "p").error().code, ENOENT);
    EXPECT_EQ(store_->open_mailbox(kUser, "p").error().code, ENOENT);
    EXPECT_EQ(store_->mailbox_info(p).error().code, ENOENT) << "a handle of the deleted mailbox";
    EXPECT_EQ(store_->append(std::vector{msg("x", "p")}).error().code, ENOENT);
    EXPECT_EQ(store_->list_messages(kUser, "p").error().code, ENOENT);
    EXPECT_EQ(store_->mailbox(kUser, "p/q")->messages, 1u) << "inferiors untouched";
    // \Noselect with inferiors: refused.
    auto again = store_->delete_mailbox(kUser, "p");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, EEXIST);
    EXPECT_THAT(again.error().message, HasSubstr("HASCHILDREN"));
    EXPECT_EQ(calls(), calls_before + 1);
    // CREATE makes a \Noselect name a mailbox again: a new one.
    ASSERT_TRUE(store_->create_mailbox(kUser, "p", SpecialUse::None));
    auto p2 = open("p");
    EXPECT_NE(p2.id, p.id);
    EXPECT_NE(p2.uidvalidity, p.uidvalidity);
    EXPECT_EQ(append({msg("p again", "p")}), std::vector<std::uint32_t>{1});
    EXPECT_EQ(store_->create_mailbox(kUser, "p", SpecialUse::None).error().code, EEXIST);
    // Without inferiors a \Noselect mailbox goes for good.
    ASSERT_TRUE(store_->delete_mailbox(kUser, "p"));
    ASSERT_TRUE(store_->delete_mailbox(kUser, "p/q"));
    ASSERT_TRUE(store_->delete_mailbox(kUser, "p"));
    EXPECT_THAT(names_of(*store_->list_mailboxes(kUser)),
                ElementsAre("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"));
    EXPECT_EQ(store_->count_bodies(), 0u);
}

TEST_P(ImapStoreTest, SubscriptionsAreNamesThatOutliveDeleteAndRename) {
    EXPECT_THAT(*store_->subscriptions(kUser), IsEmpty());
    const int calls_before = calls();
    ASSERT_TRUE(store_->set_subscribed(kUser, "Trash", true));
    ASSERT_TRUE(store_->set_subscribed(kUser, "inbox", true));
    ASSERT_TRUE(store_->set_subscribed(kUser, "Not/Yet", true));  // need not exist
    ASSERT_TRUE(store_->set_subscribed(kUser, "Trash", true));    // twice: no change
    EXPECT_EQ(calls(), calls_before + 3);
    EXPECT_THAT(*store_->subscriptions(kUser), ElementsAre("INBOX", "Not/Yet", "Trash"));
    const auto boxes = *store_->list_mailboxes(kUser);
    for (const auto& b : boxes)
        EXPECT_EQ(b.subscribed, b.name == "INBOX" || b.name == "Trash") << b.name;
    EXPECT_TRUE(store_->mailbox(kUser, "Trash")->subscribed);
    EXPECT_TRUE(info(open("Trash")).subscribed);
    // RFC 9051 §6.3.7: DELETE and RENAME leave subscriptions alone.
    ASSERT_TRUE(store_->delete_mailbox(kUser, "Trash"));
    ASSERT_TRUE(store_->create_mailbox(kUser, "Drafts2", SpecialUse::None));
    ASSERT_TRUE(store_->set_subscribed(kUser, "Drafts2", true));
    ASSERT_TRUE(store_->rename_mailbox(kUser, "Drafts2", "Drafts3"));
    EXPECT_THAT(*store_->subscriptions(kUser), ElementsAre("Drafts2", "INBOX", "Not/Yet", "Trash"));
    EXPECT_FALSE(store_->mailbox(kUser, "Drafts3")->subscribed);
    // A re-created mailbox of a subscribed name shows as subscribed.
    ASSERT_TRUE(store_->create_mailbox(kUser, "Not/Yet", SpecialUse::None));
    EXPECT_TRUE(store_->mailbox(kUser, "Not/Yet")->subscribed);
    const int calls_mid = calls();
    ASSERT_TRUE(store_->set_subscribed(kUser, "Trash", false));
    ASSERT_TRUE(store_->set_subscribed(kUser, "Never", false));  // not subscribed: no change
    EXPECT_EQ(calls(), calls_mid + 1);
    EXPECT_THAT(*store_->subscriptions(kUser), ElementsAre("Drafts2", "INBOX", "Not/Yet"));
    EXPECT_EQ(store_->set_subscribed(kUser, "a//b", true).error().code, EINVAL);
    EXPECT_EQ(store_->set_subscribed("nobody@example.org", "INBOX", true).error().code, ENOENT);
    EXPECT_EQ(store_->subscriptions("nobody@example.org").error().code, ENOENT);
    // Subscriptions belong to the account.
    ASSERT_TRUE(store_->delete_account(kUser));
    ASSERT_TRUE(store_->create_account(kUser));
    EXPECT_THAT(*store_->subscriptions(kUser), IsEmpty());
}

// Every committed change notifies once, for its account; failures and no-ops do not; the
// listener runs without the store's lock held (another thread can write meanwhile).
TEST_P(ImapStoreTest, ChangeListenerOncePerCommittedOperation) {
    std::map<std::string, int> seen;
    bool nested = false, writer_waited = false;
    store_->set_change_listener([&](std::string_view account) {
        ++seen[std::string(account)];
        if (nested) return;
        nested = true;
        // A write on another thread must get the lock while the listener runs.
        auto other = std::async(std::launch::async, [&] { return store_->set_subscribed(kUser, "Probe", true); });
        if (other.wait_for(std::chrono::seconds(5)) != std::future_status::ready) writer_waited = true;
        (void)other.get();
        nested = false;
    });
    ASSERT_TRUE(store_->create_account("bob@example.org"));
    EXPECT_EQ(seen["bob@example.org"], 1);
    ASSERT_TRUE(store_->create_account("bob@example.org"));  // exists: no change
    EXPECT_EQ(seen["bob@example.org"], 1);
    // One batch for two accounts: one notice each (+1 for alice: the probe's subscription).
    NewMessage to_bob = msg("b");
    to_bob.account = "bob@example.org";
    ASSERT_TRUE(store_->append(std::vector{msg("a1"), msg("a2"), to_bob}));
    EXPECT_EQ(seen["bob@example.org"], 2);
    EXPECT_EQ(seen[kUser], 2);
    EXPECT_FALSE(writer_waited) << "the listener was called with the store's lock held";

    store_->set_change_listener([&](std::string_view account) { ++seen[std::string(account)]; });
    seen.clear();
    auto h = open();
    const std::uint32_t one[] = {1}, two[] = {2};
    const std::string flag[] = {"\\Seen"};
    ASSERT_TRUE(store_->set_flags(kUser, "INBOX", 1, {"x"}));
    ASSERT_TRUE(store_->store_flags(h, one, FlagMode::Add, flag));
    ASSERT_TRUE(store_->copy_messages(h, one, "Sent"));
    ASSERT_TRUE(store_->move_messages(h, one, "Drafts"));
    ASSERT_TRUE(store_->expunge(h, two));
    ASSERT_TRUE(store_->expunge(kUser, "Sent", one));
    ASSERT_TRUE(store_->create_mailbox(kUser, "F", SpecialUse::None));
    ASSERT_TRUE(store_->rename_mailbox(kUser, "F", "G"));
    ASSERT_TRUE(store_->set_subscribed(kUser, "G", true));
    ASSERT_TRUE(store_->delete_mailbox(kUser, "G"));
    EXPECT_EQ(seen[kUser], 10);
    ASSERT_TRUE(store_->delete_account("bob@example.org"));
    EXPECT_EQ(seen["bob@example.org"], 1);
    // Failures: no notice.
    seen.clear();
    EXPECT_FALSE(store_->set_flags(kUser, "INBOX", 99, {"x"}));
    EXPECT_FALSE(store_->set_flags(kUser, "INBOX", 1, {"\\Recent"}));
    EXPECT_FALSE(store_->store_flags(h, one, FlagMode::Add, std::vector<std::string>{"\\Recent"}));
    EXPECT_FALSE(store_->create_mailbox(kUser, "Sent", SpecialUse::None));
    EXPECT_FALSE(store_->rename_mailbox(kUser, "Nope", "X"));
    EXPECT_FALSE(store_->delete_mailbox(kUser, "INBOX"));
    EXPECT_FALSE(store_->append(std::vector{msg("x", "Nope")}));
    EXPECT_FALSE(store_->copy_messages(h, one, "Nope"));
    EXPECT_FALSE(store_->delete_account("bob@example.org"));
    // No-ops: no notice.
    ASSERT_TRUE(store_->expunge(kUser, "INBOX", one));  // UID 1 is gone already
    const std::uint32_t none[] = {77};
    ASSERT_TRUE(store_->move_messages(h, none, "Sent"));
    EXPECT_THAT(seen, IsEmpty());
}

// RFC 3501 §2.3.2 \Recent: each message is claimed by exactly one caller; a claim stops at
// `upto` (and at uidnext), never goes back, changes no modseq and calls no listener.
TEST_P(ImapStoreTest, ClaimRecentHandsEachMessageToOneCaller) {
    auto h = open();
    EXPECT_EQ(info(h).first_recent_uid, 1u);
    append({msg("1"), msg("2"), msg("3")});
    const auto before = info(h);
    const int notices = calls();
    using Range = std::pair<std::uint32_t, std::uint32_t>;
    EXPECT_EQ(*store_->claim_recent(h, 3), (Range{1, 3})) << "up to, not including, 3";
    EXPECT_EQ(*store_->claim_recent(h, 2), (Range{3, 3})) << "below the mark: nothing";
    EXPECT_EQ(*store_->claim_recent(h, 100), (Range{3, 4})) << "clamped to uidnext";
    EXPECT_EQ(*store_->claim_recent(h, 100), (Range{4, 4})) << "claimed once";
    EXPECT_EQ(info(h).first_recent_uid, 4u);
    EXPECT_EQ(info(h).highest_modseq, before.highest_modseq);
    EXPECT_EQ(calls(), notices);
    append({msg("4")});
    EXPECT_EQ(info(h).first_recent_uid, 4u) << "new mail is unclaimed";
    // A stale handle claims nothing.
    ASSERT_TRUE(store_->create_mailbox(kUser, "Gone", SpecialUse::None));
    auto gone = open("Gone");
    ASSERT_TRUE(store_->delete_mailbox(kUser, "Gone"));
    auto r = store_->claim_recent(gone, 10);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
}

// Many racing claimers (SQLite: separate connections' worth of threads) never share a UID.
TEST_P(ImapStoreTest, ConcurrentClaimsNeverOverlap) {
    auto h = open();
    std::vector<std::future<std::vector<std::uint32_t>>> workers;
    for (int t = 0; t < 4; ++t)
        workers.push_back(std::async(std::launch::async, [&] {
            std::vector<std::uint32_t> mine;
            for (int i = 0; i < 20; ++i) {
                auto r = store_->claim_recent(h, 1000);
                EXPECT_TRUE(r);
                if (r)
                    for (auto u = r->first; u < r->second; ++u) mine.push_back(u);
            }
            return mine;
        }));
    for (int i = 0; i < 20; ++i) append({msg("m" + std::to_string(i))});
    std::vector<std::uint32_t> all;
    for (auto& w : workers) {
        auto mine = w.get();
        all.insert(all.end(), mine.begin(), mine.end());
    }
    auto last = store_->claim_recent(h, 1000);
    for (auto u = last->first; u < last->second; ++u) all.push_back(u);
    std::sort(all.begin(), all.end());
    std::vector<std::uint32_t> expected(20);
    for (std::uint32_t i = 0; i < 20; ++i) expected[i] = i + 1;
    EXPECT_EQ(all, expected) << "every UID claimed exactly once";
}

// RENAME INBOX: the new mailbox takes INBOX's messages and their \Recent state.
TEST_P(ImapStoreTest, RenameInboxKeepsTheRecentMark) {
    append({msg("1"), msg("2"), msg("3")});
    ASSERT_TRUE(store_->claim_recent(open(), 2));
    ASSERT_TRUE(store_->rename_mailbox(kUser, "INBOX", "Old"));
    EXPECT_EQ(info(open("Old")).first_recent_uid, 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ImapStoreTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tern::store
