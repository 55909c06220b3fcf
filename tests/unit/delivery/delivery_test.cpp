// Scheduler + local delivery against a real spool (temp dir, no fsync), the SQLite directory
// and the in-memory store: routing, Return-Path, outcomes recorded, idempotent redelivery.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <thread>

#include "delivery/local.hpp"
#include "delivery/scheduler.hpp"
#include "fixture.hpp"
#include "directory/directory.hpp"
#include "queue/spool.hpp"
#include "store/store.hpp"

namespace tern::delivery {
namespace {

using namespace fixture;
namespace fs = std::filesystem;

TEST_F(DeliveryTest, LocalAliasUnknownAndRemoteOutcomes) {
    LocalDelivery local(*dir, *store);
    auto m = submit({"alice+news@example.org", "team@example.org", "ghost@example.org", "x@remote.example"},
                    "Subject: hi\r\n\r\nbody\r\n");
    std::string body = "Subject: hi\r\n\r\nbody\r\n";
    auto source = base::bytes_from_string(body);
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < 4; ++i) jobs.push_back({m.id, i, &m.envelope, source});
    auto out = local.deliver(jobs, 1795000000);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].kind, Outcome::Kind::Delivered);  // plus-address reaches alice
    EXPECT_EQ(out[1].kind, Outcome::Kind::Delivered);  // alias fans out
    EXPECT_EQ(out[2].kind, Outcome::Kind::Failed);
    EXPECT_EQ(out[2].reply, "550 5.1.1 <ghost@example.org>: user unknown");
    EXPECT_EQ(out[3].kind, Outcome::Kind::Remote);     // the scheduler hands it to the relay
    EXPECT_TRUE(out[1].forward.empty());
    // alice+news and the team alias both lead to alice: one copy in her mailbox.
    EXPECT_EQ(count("alice@example.org"), 1u);
    EXPECT_EQ(count("bob@example.org"), 1u);
    auto msg = store->read_message("bob@example.org", "INBOX", 1);
    ASSERT_TRUE(msg);
    EXPECT_EQ(*msg, "Return-Path: <sender@remote.example>\r\n" + body);

    // Redelivery after a crash (same queue id and recipient) stores nothing twice.
    out = local.deliver(jobs, 1795000000);
    EXPECT_EQ(out[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(out[1].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(count("alice@example.org"), 1u);
    EXPECT_EQ(count("bob@example.org"), 1u);
}

TEST_F(DeliveryTest, SchedulerDeliversAndRecordsStates) {
    LocalDelivery local(*dir, *store);
    Scheduler scheduler(*spool, local);
    scheduler.start({});
    for (int i = 0; i < 50; ++i) scheduler.enqueue(submit({"alice@example.org", "x@remote.example"}, "m\r\n"), nullptr);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count("alice@example.org") < 50 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(count("alice@example.org"), 50u);
    scheduler.stop();
    ASSERT_TRUE(spool->flush());
    spool->close();

    // After a restart, the remote recipients are still queued (deferred), the local ones done.
    queue::SpoolOptions o;
    o.dir = dir_path / "spool";
    o.fsync = false;
    spool = std::move(*queue::Spool::open(o));
    auto recovered = spool->recovered();
    ASSERT_EQ(recovered.size(), 50u);
    for (auto& m : recovered) {
        EXPECT_EQ(m.states[0].status, queue::RecipientState::Status::Delivered);
        EXPECT_EQ(m.states[1].status, queue::RecipientState::Status::Deferred);
        EXPECT_GT(m.states[1].next_attempt, 0);
        EXPECT_EQ(m.states[1].attempts, 1u);
    }
}

TEST_F(DeliveryTest, SchedulerForgetsOldRedeliveryKeys) {
    LocalDelivery local(*dir, *store);
    SchedulerOptions options;
    options.coalesce = std::chrono::milliseconds(0);
    std::atomic<std::int64_t> now{std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch()).count()};
    Scheduler scheduler(*spool, local, nullptr, options, [&] { return now.load(); });
    scheduler.start({});
    auto wait_for = [&](std::size_t n) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (count("alice@example.org") < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ASSERT_EQ(count("alice@example.org"), n);
    };
    scheduler.enqueue(submit({"alice@example.org"}, "first\r\n"), nullptr);
    wait_for(1);
    // Eight days later the next delivery wakes the scheduler: its hourly pass forgets the first
    // message's key (older than the 7-day retention) before delivering the second.
    now += 8 * 24 * 60 * 60;
    scheduler.enqueue(submit({"alice@example.org"}, "second\r\n"), nullptr);
    wait_for(2);
    scheduler.stop();
    auto left = store->forget_delivered_before(INT64_MAX);
    ASSERT_TRUE(left);
    EXPECT_EQ(*left, 1u) << "only the second message's key may remain";
}

// An alias with a local and a remote member stores the local copy once and queues a copy for the
// remote member (a new message, same sender, ORCPT naming the alias); the alias recipient is then
// delivered and never tried again, so its local copy cannot be stored twice (issue 7 had it stored
// again every week while it stayed deferred). The copy waits for the relay, and after the queue
// lifetime it fails and the sender gets a failure notice from the null sender.
TEST_F(DeliveryTest, AliasWithARemoteMemberStoresOnceQueuesACopyThatExpiresWithABounce) {
    ASSERT_TRUE(dir->add_alias("mixed@example.org", {"alice@example.org", "x@remote.example"}));
    RecordingSpool recording(*spool);
    LocalDelivery local(*dir, *store);
    SchedulerOptions options;
    options.coalesce = std::chrono::milliseconds(0);
    std::atomic<std::int64_t> now{wall_clock()};
    Scheduler scheduler(recording, local, nullptr, options, [&] { return now.load(); });
    scheduler.start({});
    auto wait_until = [&](auto pred) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!pred() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return pred();
    };
    auto m = submit({"mixed@example.org"}, "Subject: mixed\r\n\r\nhi\r\n", now.load());
    scheduler.enqueue(m, nullptr);
    ASSERT_TRUE(wait_until([&] { return count("alice@example.org") == 1; }));
    ASSERT_TRUE(wait_until([&] { return recording.submitted().size() == 1; }));
    auto [copy_id, copy] = recording.submitted()[0];
    EXPECT_EQ(copy.mail_from, "sender@remote.example");
    ASSERT_EQ(copy.recipients.size(), 1u);
    EXPECT_EQ(copy.recipients[0].address, "x@remote.example");
    EXPECT_EQ(copy.recipients[0].orcpt, "rfc822;mixed@example.org");
    EXPECT_EQ(*recording.read_message(copy_id), "Subject: mixed\r\n\r\nhi\r\n");
    ASSERT_TRUE(wait_until([&] { return recording.last(copy_id, 0).has_value(); }));
    EXPECT_EQ(recording.last(m.id, 0)->status, queue::RecipientState::Status::Delivered);
    EXPECT_EQ(recording.last(copy_id, 0)->status, queue::RecipientState::Status::Deferred);
    EXPECT_TRUE(recording.last(copy_id, 0)->last_reply.starts_with("451 4.4.0 no relay configured"));

    // Six days later the copy is past its lifetime: it fails, and a notice goes to the sender.
    now += 6 * kDay;
    scheduler.control(queue::QueueOp::Retry, std::nullopt);
    ASSERT_TRUE(wait_until([&] { return recording.submitted().size() == 2; }));
    scheduler.stop();
    auto state = recording.last(copy_id, 0);
    ASSERT_TRUE(state);
    EXPECT_EQ(state->status, queue::RecipientState::Status::Failed) << state->last_reply;
    EXPECT_TRUE(state->last_reply.starts_with("550 5.4.7 message expired")) << state->last_reply;
    EXPECT_EQ(state->attempts, 1u) << "past its lifetime the recipient is failed, not tried again";
    auto [notice_id, notice] = recording.submitted()[1];
    EXPECT_EQ(notice.mail_from, "") << "notices go from the null sender";
    ASSERT_EQ(notice.recipients.size(), 1u);
    EXPECT_EQ(notice.recipients[0].address, "sender@remote.example");
    auto text = recording.read_message(notice_id);
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("multipart/report"), std::string::npos);
    EXPECT_NE(text->find("x@remote.example"), std::string::npos);
    EXPECT_EQ(count("alice@example.org"), 1u) << "the local copy was stored again";
    EXPECT_EQ(recording.updates(m.id, 0), 1) << "the alias recipient was tried again";
}

// A message found in the spool after a long outage, never tried, gets one attempt even past
// its lifetime (it may well be deliverable now).
TEST_F(DeliveryTest, NeverTriedMessagePastItsLifetimeGetsOneAttempt) {
    RecordingSpool recording(*spool);
    LocalDelivery local(*dir, *store);
    SchedulerOptions options;
    options.coalesce = std::chrono::milliseconds(0);
    const std::int64_t now = wall_clock();
    Scheduler scheduler(recording, local, nullptr, options, [&] { return now; });
    auto m = submit({"alice@example.org", "x@remote.example"}, "old\r\n", now - 6 * kDay);
    scheduler.start({m});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!recording.last(m.id, 1) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    scheduler.stop();
    EXPECT_EQ(count("alice@example.org"), 1u);
    ASSERT_TRUE(recording.last(m.id, 1));
    EXPECT_EQ(recording.last(m.id, 1)->status, queue::RecipientState::Status::Deferred)
        << "one attempt first; it fails when due again";
}

// Runs a one-integer query on <dir>/store.db through a separate raw connection (-1 on error).
long long query_int(const fs::path& dir, const char* sql) {
    sqlite3* db = nullptr;
    long long out = -1;
    if (sqlite3_open((dir / "store.db").c_str(), &db) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

// Issue 7: a message to an alias of many members was copied (and stored) once per member.
TEST_F(DeliveryTest, AliasFanOutStoresOneBody) {
    constexpr int kMembers = 16;
    std::vector<std::string> members;
    for (int i = 0; i < kMembers; ++i) {
        members.push_back("member" + std::to_string(i) + "@example.org");
        ASSERT_TRUE(dir->add_user(members.back(), "pw"));
    }
    ASSERT_TRUE(dir->add_alias("all@example.org", members));
    auto sqlite = store::open_sqlite_store(dir_path / "store");
    ASSERT_TRUE(sqlite) << sqlite.error().message;
    LocalDelivery local(*dir, **sqlite);
    const std::string body = "Subject: to everyone\r\n\r\n" + std::string(50000, 'z') + "\r\n";
    auto m = submit({"all@example.org", "alice@example.org"}, body);
    auto source = base::bytes_from_string(body);
    auto out = local.deliver({{m.id, 0, &m.envelope, source}, {m.id, 1, &m.envelope, source}}, 1795000000);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(out[1].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(query_int(dir_path / "store", "SELECT COUNT(*) FROM messages"), kMembers + 1);
    EXPECT_EQ(query_int(dir_path / "store", "SELECT COUNT(*) FROM bodies"), 1);
    EXPECT_LT(query_int(dir_path / "store", "SELECT SUM(length(data)) FROM bodies"), 2 * 50000);
    for (const auto& account : {members.front(), members.back(), std::string("alice@example.org")}) {
        auto got = (*sqlite)->read_message(account, "INBOX", 1);
        ASSERT_TRUE(got) << account;
        EXPECT_EQ(*got, "Return-Path: <sender@remote.example>\r\n" + body);
    }
}

TEST_F(DeliveryTest, ReusedQueueIdWithOtherContentIsStillDelivered) {
    LocalDelivery local(*dir, *store);
    queue::Envelope e;
    e.mail_from = "a@remote.example";
    e.recipients.push_back({"bob@example.org", {}, ""});
    std::string first = "Subject: one\r\n\r\n1\r\n", second = "Subject: two\r\n\r\n2\r\n";
    // The same queue id twice (a clock reset after the spool was emptied): different content
    // must not be taken for a redelivery.
    EXPECT_EQ(local.deliver({{42, 0, &e, base::bytes_from_string(first)}}, 1795000000)[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(local.deliver({{42, 0, &e, base::bytes_from_string(second)}}, 1795000000)[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(count("bob@example.org"), 2u);
    EXPECT_EQ(local.deliver({{42, 0, &e, base::bytes_from_string(second)}}, 1795000000)[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(count("bob@example.org"), 2u) << "a true redelivery is absorbed";
}

// A retry reads the message from the spool (open_message) where the first attempt had it from
// memory: the dedupe key must come out the same, or a crash between the store's commit and the
// spool's record of it would deliver the message twice.
TEST_F(DeliveryTest, RedeliveryFromTheSpoolMatchesTheFirstAttemptFromMemory) {
    LocalDelivery local(*dir, *store);
    const std::string body = "Subject: once\r\n\r\n" + std::string(3u << 20, 'o') + "\r\n";
    auto m = submit({"team@example.org", "alice@example.org"}, body);
    std::vector<Job> jobs{{m.id, 0, &m.envelope, base::bytes_from_string(body)},
                          {m.id, 1, &m.envelope, nullptr}};
    jobs[1].message = jobs[0].message;
    auto out = local.deliver(jobs, 1795000000);
    EXPECT_EQ(out[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(count("alice@example.org"), 1u);
    EXPECT_EQ(count("bob@example.org"), 1u);
    auto spooled = spool->open_message(m.id);
    ASSERT_TRUE(spooled) << spooled.error().message;
    for (auto& j : jobs) j.message = *spooled;
    out = local.deliver(jobs, 1795000000);
    EXPECT_EQ(out[0].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(out[1].kind, Outcome::Kind::Delivered);
    EXPECT_EQ(count("alice@example.org"), 1u) << "the retry from the spool was taken for a new message";
    EXPECT_EQ(count("bob@example.org"), 1u);
}

// A source that remembers the largest read asked of it (and never hands out a whole big body).
class WatchedSource final : public base::ByteSource {
public:
    explicit WatchedSource(std::string data) : data_(std::move(data)) {}
    std::uint64_t size() const override { return data_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        largest = std::max(largest, out.size());
        if (offset >= data_.size()) return std::size_t{0};
        std::size_t n = std::min<std::size_t>(out.size(), data_.size() - static_cast<std::size_t>(offset));
        std::memcpy(out.data(), data_.data() + offset, n);
        return n;
    }
    mutable std::size_t largest = 0;

private:
    std::string data_;
};

// Issue 7: delivery (dedupe key, SQLite store) reads a large message in bounded chunks, never
// asks for it whole, and stores it once for every member of an alias.
TEST_F(DeliveryTest, LargeMessageIsReadInBoundedChunks) {
    auto sqlite = store::open_sqlite_store(dir_path / "store");
    ASSERT_TRUE(sqlite) << sqlite.error().message;
    LocalDelivery local(*dir, **sqlite);
    std::string body = "Subject: big\r\n\r\n";
    for (int i = 0; body.size() < (6u << 20); ++i) body += "line " + std::to_string(i) + "\r\n";
    auto m = submit({"team@example.org"}, body);
    auto source = std::make_shared<WatchedSource>(body);
    auto out = local.deliver({{m.id, 0, &m.envelope, source}}, 1795000000);
    ASSERT_EQ(out[0].kind, Outcome::Kind::Delivered) << out[0].reply;
    EXPECT_LE(source->largest, std::size_t{1} << 20);
    EXPECT_EQ(query_int(dir_path / "store", "SELECT COUNT(*) FROM bodies"), 1);
    for (const char* account : {"alice@example.org", "bob@example.org"}) {
        auto got = (*sqlite)->read_message(account, "INBOX", 1);
        ASSERT_TRUE(got) << account;
        EXPECT_TRUE(*got == "Return-Path: <sender@remote.example>\r\n" + body) << account;
    }
}

// A message damaged in the spool is not delivered: the scheduler cannot open it and retries later.
TEST_F(DeliveryTest, DamagedSpooledMessageIsNotDelivered) {
    LocalDelivery local(*dir, *store);
    std::atomic<std::int64_t> now{1795000000};
    SchedulerOptions o;
    o.coalesce = std::chrono::milliseconds(0);
    auto m = submit({"bob@example.org"}, "Subject: x\r\n\r\nDAMAGE-ME here\r\n", now.load());
    ASSERT_TRUE(spool->flush());
    for (const auto& de : fs::directory_iterator(dir_path / "spool")) {
        if (de.path().extension() != ".log") continue;
        std::fstream f(de.path(), std::ios::binary | std::ios::in | std::ios::out);
        std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        auto pos = data.find("DAMAGE-ME");
        if (pos == std::string::npos) continue;
        f.seekp(static_cast<std::streamoff>(pos));
        f.put('X');
    }
    Scheduler scheduler(*spool, local, nullptr, o, [&] { return now.load(); });
    scheduler.start({});
    scheduler.enqueue(m, nullptr);  // not in memory: opened from the spool
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    scheduler.stop();
    EXPECT_EQ(count("bob@example.org"), 0u) << "a damaged body was delivered";
    EXPECT_EQ(scheduler.queued(), 1u) << "the message stays queued";
}

}  // namespace
}  // namespace tern::delivery
