// The scheduler with remote recipients, against a fake RemoteTransport that the test answers by
// hand, and an injected clock: grouping per domain, the retry schedule, delay and failure
// notices (NOTIFY, the null sender), expiry after queue.lifetime, the operator's hold / release /
// delete, and stop() with relay jobs outstanding.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "delivery/scheduler.hpp"
#include "fixture.hpp"

namespace tern::delivery {
namespace {

using namespace fixture;
using Status = queue::RecipientState::Status;
constexpr std::int64_t kHour = 3600;

// Keeps every job; the test answers them (answer()) or stop() answers what is left, deferred.
class FakeTransport final : public RemoteTransport {
public:
    struct Pending {
        RemoteJob job;
        std::function<void(std::vector<RemoteResult>)> done;
    };
    void deliver(RemoteJob job, std::function<void(std::vector<RemoteResult>)> done) override {
        std::lock_guard lock(mu_);
        ++per_id_[job.id];
        pending_.push_back({std::move(job), std::move(done)});
        ++total_;
        cv_.notify_all();
    }
    void stop() override {
        std::vector<Pending> left;
        {
            std::lock_guard lock(mu_);
            left.swap(pending_);
        }
        for (auto& p : left) {
            std::vector<RemoteResult> out;
            for (auto& r : p.job.recipients)
                out.push_back({RemoteResult::Kind::Deferred, r.index, "451 4.3.2 shutting down", "", false});
            p.done(std::move(out));
        }
    }
    // Waits until `n` jobs are pending and takes them.
    std::vector<Pending> take(std::size_t n) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return pending_.size() >= n; })) return {};
        std::vector<Pending> out;
        out.swap(pending_);
        return out;
    }
    // Waits for a job of message `id` and takes it (jobs of other messages stay pending).
    std::optional<Pending> take_for(queue::QueueId id) {
        std::unique_lock lock(mu_);
        auto has = [&] {
            return std::find_if(pending_.begin(), pending_.end(), [&](auto& p) { return p.job.id == id; }) != pending_.end();
        };
        if (!cv_.wait_for(lock, std::chrono::seconds(20), has)) return std::nullopt;
        auto it = std::find_if(pending_.begin(), pending_.end(), [&](auto& p) { return p.job.id == id; });
        Pending out = std::move(*it);
        pending_.erase(it);
        return out;
    }
    std::size_t total() {
        std::lock_guard lock(mu_);
        return total_;
    }
    std::size_t total_for(queue::QueueId id) {
        std::lock_guard lock(mu_);
        return per_id_[id];
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Pending> pending_;
    std::size_t total_ = 0;
    std::map<queue::QueueId, std::size_t> per_id_;
};

RemoteResult result(RemoteResult::Kind kind, std::size_t index, std::string reply, bool relayed = false) {
    return {kind, index, std::move(reply), "mx.remote.example [192.0.2.7]", relayed};
}

class SchedulerTest : public DeliveryTest {
protected:
    void start() {
        options.coalesce = std::chrono::milliseconds(0);
        recording = std::make_unique<RecordingSpool>(*spool);
        local = std::make_unique<LocalDelivery>(*dir, *store);
        scheduler = std::make_unique<Scheduler>(*recording, *local, &transport, options, [this] { return now.load(); });
        scheduler->start({});
    }
    void TearDown() override {
        if (scheduler) scheduler->stop();
        DeliveryTest::TearDown();
    }
    // The clock moved: the scheduler looks at its queue again.
    void advance(std::int64_t seconds) {
        now += seconds;
        scheduler->wake();
    }
    queue::QueuedMessage send(std::vector<queue::Recipient> rcpts, std::string from = "sender@remote.example") {
        queue::Envelope e;
        e.mail_from = std::move(from);
        e.received_at = now.load();
        e.recipients = std::move(rcpts);
        std::promise<Result<queue::QueueId>> p;
        auto f = p.get_future();
        spool->submit(e, "Subject: s\r\n\r\nbody\r\n", [&p](Result<queue::QueueId> r) { p.set_value(r); });
        auto id = f.get();
        EXPECT_TRUE(id);
        queue::QueuedMessage m;
        m.id = *id;
        m.envelope = e;
        m.states.resize(e.recipients.size());
        m.size = 21;
        scheduler->enqueue(m, nullptr);
        return m;
    }
    template <class P>
    bool eventually(P pred) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!pred() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return pred();
    }
    // Notices queued so far (messages from <>), with their text.
    std::vector<std::pair<queue::Envelope, std::string>> notices() {
        std::vector<std::pair<queue::Envelope, std::string>> out;
        for (auto& [id, env] : recording->submitted())
            if (env.mail_from.empty()) out.emplace_back(env, recording->read_message(id).value_or(""));
        return out;
    }
    Status status(queue::QueueId id, std::size_t r) {
        auto s = recording->last(id, r);
        return s ? s->status : Status::Pending;
    }

    SchedulerOptions options;
    std::atomic<std::int64_t> now{1'800'000'000};
    FakeTransport transport;
    std::unique_ptr<RecordingSpool> recording;
    std::unique_ptr<LocalDelivery> local;
    std::unique_ptr<Scheduler> scheduler;
};

queue::Recipient rcpt(std::string address, smtp::DsnNotify notify = {}) { return {std::move(address), notify, ""}; }

TEST_F(SchedulerTest, OneJobPerDomainAndEachOutcomeRecorded) {
    start();
    auto m = send({rcpt("a@one.example"), rcpt("b@two.example"), rcpt("c@one.example"), rcpt("alice@example.org")});
    auto jobs = transport.take(2);
    ASSERT_EQ(jobs.size(), 2u);
    ASSERT_TRUE(eventually([&] { return count("alice@example.org") == 1; })) << "the local recipient is not held up";
    std::sort(jobs.begin(), jobs.end(), [](auto& x, auto& y) { return x.job.domain < y.job.domain; });
    EXPECT_EQ(jobs[0].job.domain, "one.example");
    ASSERT_EQ(jobs[0].job.recipients.size(), 2u) << "one transaction for both recipients of one domain";
    EXPECT_EQ(jobs[0].job.recipients[0].address, "a@one.example");
    EXPECT_EQ(jobs[0].job.recipients[1].index, 2u);
    EXPECT_EQ(jobs[0].job.sender, "sender@remote.example");
    ASSERT_TRUE(jobs[0].job.body);
    EXPECT_EQ(jobs[1].job.domain, "two.example");

    jobs[0].done({result(RemoteResult::Kind::Delivered, 0, "250 2.0.0 ok"),
                  result(RemoteResult::Kind::Failed, 2, "550 5.1.1 <c@one.example>: no such user")});
    jobs[1].done({result(RemoteResult::Kind::Deferred, 1, "451 4.7.1 greylisted")});
    ASSERT_TRUE(eventually([&] { return status(m.id, 1) == Status::Deferred; }));
    EXPECT_EQ(status(m.id, 0), Status::Delivered);
    EXPECT_EQ(status(m.id, 2), Status::Failed);
    EXPECT_EQ(status(m.id, 3), Status::Delivered);
    auto deferred = recording->last(m.id, 1);
    EXPECT_EQ(deferred->last_reply, "451 4.7.1 greylisted");
    EXPECT_EQ(deferred->attempts, 1u);
    // The first retry: queue.first_retry (300 s) +-10 %.
    EXPECT_GE(deferred->next_attempt, now + 270);
    EXPECT_LE(deferred->next_attempt, now + 330);

    // One failure notice, from <> to the sender, naming the failed recipient and the reply.
    ASSERT_TRUE(eventually([&] { return notices().size() == 1; }));
    auto [env, text] = notices()[0];
    ASSERT_EQ(env.recipients.size(), 1u);
    EXPECT_EQ(env.recipients[0].address, "sender@remote.example");
    EXPECT_NE(text.find("c@one.example"), std::string::npos);
    EXPECT_NE(text.find("550 5.1.1"), std::string::npos);
    EXPECT_EQ(text.find("a@one.example"), std::string::npos) << "delivered recipients are not in a bounce";
}

TEST_F(SchedulerTest, RetriesOnScheduleWarnsOnceAfterFourHoursAndBouncesAfterTheLifetime) {
    options.queue_lifetime = 10 * kHour;
    start();
    const std::int64_t t0 = now;
    auto m = send({rcpt("x@slow.example")});
    auto defer = [&] {  // (the notices to the remote sender go to the relay too: left pending)
        auto job = transport.take_for(m.id);
        if (!job) return false;
        job->done({result(RemoteResult::Kind::Deferred, 0, "421 4.4.2 mx.slow.example: try later")});
        return true;
    };
    ASSERT_TRUE(defer());
    ASSERT_TRUE(eventually([&] { return status(m.id, 0) == Status::Deferred; }));
    // Not due yet: nothing is sent before the retry time.
    advance(200);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(transport.total_for(m.id), 1u);
    advance(200);  // 400 s: past the first retry (300 +-30)
    ASSERT_TRUE(defer());
    ASSERT_TRUE(eventually([&] { return recording->last(m.id, 0)->attempts == 2; }));
    auto s = *recording->last(m.id, 0);
    EXPECT_GE(s.next_attempt - now, 810) << "later retries every queue.retry_interval (900 s +-10 %)";
    EXPECT_LE(s.next_attempt - now, 990);
    EXPECT_TRUE(notices().empty()) << "no delay notice before queue.delay_warning";

    // Four hours after arrival, still deferred: one delay notice, remembered in the spool.
    now = t0 + 4 * kHour + 1;
    advance(0);
    ASSERT_TRUE(defer());
    ASSERT_TRUE(eventually([&] { return notices().size() == 1; }));
    EXPECT_NE(notices()[0].second.find("delayed"), std::string::npos);
    ASSERT_TRUE(eventually([&] { return recording->last(m.id, 0)->delay_notified; }));
    now = t0 + 5 * kHour;
    advance(0);
    ASSERT_TRUE(defer());
    ASSERT_TRUE(eventually([&] { return recording->last(m.id, 0)->attempts == 4; }));
    EXPECT_EQ(notices().size(), 1u) << "the delay notice is sent once";
    EXPECT_LE(recording->last(m.id, 0)->next_attempt, t0 + 10 * kHour) << "never retried past the lifetime";

    // Past the lifetime: failed without another attempt, and the mail goes back to the sender.
    now = t0 + 10 * kHour;
    advance(0);
    ASSERT_TRUE(eventually([&] { return status(m.id, 0) == Status::Failed; }));
    EXPECT_EQ(transport.total_for(m.id), 4u);
    EXPECT_TRUE(recording->last(m.id, 0)->last_reply.starts_with("550 5.4.7 message expired"));
    ASSERT_TRUE(eventually([&] { return notices().size() == 2; }));
    EXPECT_NE(notices()[1].second.find("x@slow.example"), std::string::npos);
    EXPECT_NE(notices()[1].second.find("421 4.4.2 mx.slow.example: try later"), std::string::npos)
        << "the last reply is in the bounce";
}

// A local recipient that fails at delivery time (gone since RCPT) bounces like a remote one,
// in our own words (no Remote-MTA, Diagnostic-Code "X-Tern;").
TEST_F(SchedulerTest, LocalFailureAtDeliveryBounces) {
    start();
    auto m = send({rcpt("ghost@example.org"), rcpt("alice@example.org")});
    ASSERT_TRUE(eventually([&] { return status(m.id, 0) == Status::Failed; }));
    ASSERT_TRUE(eventually([&] { return notices().size() == 1; }));
    // The notice is queued before the batch's states are written: wait for them.
    ASSERT_TRUE(eventually([&] { return status(m.id, 1) == Status::Delivered; }));
    const std::string text = notices()[0].second;  // a copy: notices() returns a temporary
    EXPECT_NE(text.find("Final-Recipient: rfc822; ghost@example.org"), std::string::npos) << text;
    EXPECT_NE(text.find("Status: 5.1.1"), std::string::npos) << text;
    EXPECT_NE(text.find("Diagnostic-Code: X-Tern; 550 5.1.1"), std::string::npos) << text;
    EXPECT_EQ(text.find("Remote-MTA"), std::string::npos) << text;
    EXPECT_EQ(text.find("alice@example.org"), std::string::npos) << "the delivered recipient is not in it";
}

TEST_F(SchedulerTest, NotifyNeverAndTheNullSenderGetNoNotices) {
    start();
    smtp::DsnNotify never;
    never.specified = never.never = true;
    auto a = send({rcpt("x@one.example", never)});
    auto b = send({rcpt("y@one.example")}, "");
    auto jobs = transport.take(2);
    ASSERT_EQ(jobs.size(), 2u);
    for (auto& j : jobs) j.done({result(RemoteResult::Kind::Failed, 0, "550 5.1.1 no such user")});
    ASSERT_TRUE(eventually([&] { return status(a.id, 0) == Status::Failed && status(b.id, 0) == Status::Failed; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(notices().empty());
}

TEST_F(SchedulerTest, SuccessNoticeOnlyWhenTheNextHopCannotCarryTheRequest) {
    start();
    smtp::DsnNotify success;
    success.specified = success.success = true;
    auto m = send({rcpt("x@one.example", success), rcpt("y@two.example", success)});
    auto jobs = transport.take(2);
    ASSERT_EQ(jobs.size(), 2u);
    std::sort(jobs.begin(), jobs.end(), [](auto& x, auto& y) { return x.job.domain < y.job.domain; });
    EXPECT_EQ(jobs[0].job.recipients[0].notify, "SUCCESS") << "NOTIFY is passed on";
    jobs[0].done({result(RemoteResult::Kind::Delivered, 0, "250 ok", /*relayed=*/true)});
    jobs[1].done({result(RemoteResult::Kind::Delivered, 1, "250 ok", /*relayed=*/false)});
    ASSERT_TRUE(eventually([&] { return status(m.id, 1) == Status::Delivered; }));
    ASSERT_TRUE(eventually([&] { return notices().size() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(notices().size(), 1u);
    EXPECT_NE(notices()[0].second.find("relayed"), std::string::npos);
    EXPECT_NE(notices()[0].second.find("x@one.example"), std::string::npos);
    EXPECT_EQ(notices()[0].second.find("y@two.example"), std::string::npos)
        << "a next hop with DSN sends the success notice itself";
}

TEST_F(SchedulerTest, HoldReleaseAndDeleteByTheOperator) {
    start();
    auto m = send({rcpt("x@one.example")});
    // While the relay has the recipient, hold leaves it alone.
    auto jobs = transport.take(1);
    ASSERT_EQ(jobs.size(), 1u);
    auto held = scheduler->control(queue::QueueOp::Hold, m.id);
    ASSERT_TRUE(held);
    EXPECT_EQ(*held, 0u);
    jobs[0].done({result(RemoteResult::Kind::Deferred, 0, "451 later")});
    ASSERT_TRUE(eventually([&] { return status(m.id, 0) == Status::Deferred; }));

    held = scheduler->control(queue::QueueOp::Hold, m.id);
    ASSERT_TRUE(held);
    EXPECT_EQ(*held, 1u);
    EXPECT_EQ(status(m.id, 0), Status::Held);
    advance(kHour);  // due long ago, but held
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(transport.total(), 1u);

    ASSERT_TRUE(scheduler->control(queue::QueueOp::Release, m.id));
    ASSERT_EQ(transport.take(1).size(), 1u) << "released: tried at once";
    // The job is out; delete waits for nothing and changes nothing of it.
    auto other = send({rcpt("y@two.example")});
    auto jobs2 = transport.take(1);
    ASSERT_EQ(jobs2.size(), 1u);
    jobs2[0].done({result(RemoteResult::Kind::Deferred, 0, "451 later")});
    ASSERT_TRUE(eventually([&] { return status(other.id, 0) == Status::Deferred; }));
    auto deleted = scheduler->control(queue::QueueOp::Delete, other.id);
    ASSERT_TRUE(deleted);
    EXPECT_EQ(*deleted, 1u);
    EXPECT_EQ(status(other.id, 0), Status::Failed);
    EXPECT_EQ(recording->last(other.id, 0)->last_reply, queue::kDeletedReply);
    EXPECT_TRUE(notices().empty()) << "a deleted message is not bounced";
    auto unknown = scheduler->control(queue::QueueOp::Delete, other.id);
    ASSERT_FALSE(unknown) << "gone from the queue";
    EXPECT_EQ(unknown.error().code, ENOENT);
}

TEST_F(SchedulerTest, StopRecordsWhatTheRelayAnswersWhileStopping) {
    start();
    auto m = send({rcpt("x@one.example")});
    ASSERT_TRUE(eventually([&] { return transport.total() == 1; }));
    scheduler->stop();
    auto s = recording->last(m.id, 0);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, Status::Deferred);
    EXPECT_EQ(s->last_reply, "451 4.3.2 shutting down");
}

TEST_F(SchedulerTest, WithoutARelayRemoteRecipientsWait) {
    options.coalesce = std::chrono::milliseconds(0);
    recording = std::make_unique<RecordingSpool>(*spool);
    local = std::make_unique<LocalDelivery>(*dir, *store);
    scheduler = std::make_unique<Scheduler>(*recording, *local, nullptr, options, [this] { return now.load(); });
    scheduler->start({});
    auto m = send({rcpt("x@one.example")});
    ASSERT_TRUE(eventually([&] { return status(m.id, 0) == Status::Deferred; }));
    EXPECT_TRUE(recording->last(m.id, 0)->last_reply.starts_with("451 4.4.0 no relay configured"));
}

}  // namespace
}  // namespace tern::delivery
