// Scheduler thread: batches due messages for local delivery and records outcomes in the spool.
// Must never drop a message: anything not final goes back to the waiting list with a due time.
#include "delivery/scheduler.hpp"

#include <chrono>

#include "base/log.hpp"
#include "base/thread.hpp"

namespace tern::delivery {

using queue::RecipientState;

namespace {
// A message whose only unfinished recipients are on hold is due "never" (until released).
constexpr std::int64_t kNever = INT64_MAX / 4;

std::int64_t next_due(const queue::QueuedMessage& m) {
    std::int64_t due = kNever;
    for (auto& s : m.states)
        if (s.status == RecipientState::Status::Pending || s.status == RecipientState::Status::Deferred)
            due = std::min(due, s.next_attempt);
    return due;
}
}  // namespace

Scheduler::Scheduler(queue::Spool& spool, LocalDelivery& local, SchedulerOptions options,
                     std::function<std::int64_t()> now)
    : spool_(spool), local_(local), options_(options), now_(std::move(now)) {
    if (!now_)
        now_ = [] {
            return std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start(std::vector<queue::QueuedMessage> recovered) {
    {
        std::lock_guard lock(mutex_);
        std::int64_t now = now_();
        for (auto& m : recovered) {
            // The earliest retry time of its pending recipients (a held message waits for release).
            std::int64_t due = next_due(m);
            if (m.final()) continue;
            if (m.envelope.received_at == 0) m.envelope.received_at = now;  // age unknown: from now
            Entry e{std::move(m), nullptr, due};
            if (due <= now) ready_.push_back(std::move(e));
            else waiting_.emplace(due, std::move(e));
        }
        if (!recovered.empty()) log::info("queue: ", ready_.size() + waiting_.size(), " messages recovered from the spool");
    }
    thread_ = std::thread([this] {
        // Delivery is background work: it yields the CPU to the I/O and spool threads, whose
        // latency the clients wait on (see base/thread.hpp).
        base::name_this_thread("tern-deliver");
        base::lower_this_thread_priority(5);
        run();
    });
}

void Scheduler::enqueue(queue::QueuedMessage message, base::ByteSourceRef body) {
    bool wake;
    {
        std::lock_guard lock(mutex_);
        if (message.envelope.received_at == 0) message.envelope.received_at = now_();  // age unknown: from now
        ready_.push_back(Entry{std::move(message), std::move(body), 0});
        // Only the first message (the thread may be asleep on an empty queue) and a full batch
        // need the thread: while a batch fills, waking it for each message costs a context
        // switch per message and changes nothing.
        wake = ready_.size() == 1 || ready_.size() >= options_.batch_messages;
    }
    if (wake) wake_.notify_one();
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::size_t Scheduler::queued() const {
    std::lock_guard lock(mutex_);
    return ready_.size() + waiting_.size();
}

Result<std::size_t> Scheduler::control(queue::QueueOp op, std::optional<queue::QueueId> id) {
    std::size_t changed = 0;
    bool found = false;
    {
        std::lock_guard lock(mutex_);
        const std::int64_t now = now_();
        auto visit = [&](Entry& e) {
            if (id && e.message.id != *id) return;
            found = true;
            auto changes = queue::apply(op, e.message, now);
            for (auto& [r, state] : changes) {
                e.message.states[r] = state;
                spool_.update(e.message.id, r, state);
            }
            if (!changes.empty()) ++changed;
            e.due = next_due(e.message);
        };
        for (auto& e : ready_) visit(e);
        std::vector<Entry> moved;
        for (auto it = waiting_.begin(); it != waiting_.end();) {
            visit(it->second);
            if (it->second.due <= now || it->second.message.final()) {
                moved.push_back(std::move(it->second));
                it = waiting_.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& e : moved)
            if (!e.message.final()) ready_.push_back(std::move(e));
        std::erase_if(ready_, [](const Entry& e) { return e.message.final(); });
    }
    if (id && !found) return fail("message " + std::to_string(*id) + " is not in the queue", ENOENT);
    if (auto r = spool_.flush(); !r) return std::unexpected(r.error());
    wake_.notify_one();
    return changed;
}

void Scheduler::run() {
    std::unique_lock lock(mutex_);
    std::int64_t last_compact = now_();
    std::int64_t last_prune = 0;  // the first pass prunes what an earlier run left
    while (!stopping_) {
        std::int64_t now = now_();
        if (now - last_prune >= options_.prune_interval) {
            last_prune = now;
            lock.unlock();
            // Every message that might still be tried arrived less than queue_lifetime ago (or
            // was never tried, and so stored nothing), and its keys are younger still.
            auto r = local_.forget_redelivery_keys(now - options_.redelivery_key_retention());
            if (!r) log::warn("store: pruning redelivery keys failed: ", r.error().message);
            else if (*r > 0) log::info("store: forgot ", *r, " redelivery keys older than ",
                                       options_.redelivery_key_retention() / 86400, " days");
            lock.lock();
            continue;
        }
        if (!waiting_.empty() && now - last_compact >= options_.compact_interval) {
            last_compact = now;
            lock.unlock();
            if (auto r = spool_.compact(); !r) log::warn("queue: spool compaction failed: ", r.error().message);
            lock.lock();
            continue;
        }
        while (!waiting_.empty() && waiting_.begin()->first <= now) {
            ready_.push_back(std::move(waiting_.begin()->second));
            waiting_.erase(waiting_.begin());
        }
        if (ready_.empty()) {
            if (waiting_.empty()) wake_.wait(lock);
            else wake_.wait_for(lock, std::chrono::seconds(std::clamp<std::int64_t>(waiting_.begin()->first - now, 1, 3600)));
            continue;
        }
        // Under load, let a batch fill for a moment: one store transaction (one fsync) for many
        // messages leaves the disk to the spool's group commits, which the clients wait for.
        if (ready_.size() < options_.batch_messages && options_.coalesce.count() > 0)
            wake_.wait_for(lock, options_.coalesce, [this] { return stopping_ || ready_.size() >= options_.batch_messages; });
        // A batch is bounded in messages and in bytes (the store writes each body once, however
        // many accounts it goes to).
        std::vector<Entry> batch;
        std::size_t n = 0;
        std::uint64_t bytes = 0;
        while (n < ready_.size() && n < options_.batch_messages && (n == 0 || bytes + ready_[n].message.size <= options_.batch_bytes)) {
            bytes += ready_[n].message.size;
            ++n;
        }
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) batch.push_back(std::move(ready_[i]));
        ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
        lock.unlock();
        deliver_batch(batch);
        lock.lock();
        for (auto& e : batch)
            if (!e.message.final()) {
                e.body.reset();  // deferred mail is read back from the spool when due
                waiting_.emplace(e.due, std::move(e));
            }
    }
}

void Scheduler::deliver_batch(std::vector<Entry>& batch) {
    std::int64_t now = now_();
    std::vector<Job> jobs;
    std::vector<std::pair<std::size_t, std::size_t>> where;  // job -> (entry, recipient)
    for (std::size_t e = 0; e < batch.size(); ++e) {
        auto& entry = batch[e];
        // RFC 5321 §4.5.4.1: give up on a recipient that is still not delivered after the queue
        // lifetime. One that was never tried (the server was down all along) gets one attempt.
        const bool expired = now - entry.message.envelope.received_at >= options_.queue_lifetime;
        bool any_due = false;
        for (std::size_t r = 0; r < entry.message.states.size(); ++r) {
            auto& s = entry.message.states[r];
            bool due = s.status == RecipientState::Status::Pending ||
                       (s.status == RecipientState::Status::Deferred && s.next_attempt <= now);
            if (!due) continue;
            if (expired && s.attempts > 0) {
                // TODO(issue 8, relay): send the sender a failure notice (RFC 3464 DSN).
                s.status = RecipientState::Status::Failed;
                s.last_reply = "550 5.4.7 message expired: not delivered within " +
                               std::to_string(options_.queue_lifetime / 86400) + " days (queue.lifetime); last attempt: " +
                               s.last_reply;
                log::warn("queue: ", entry.message.id, " to <", entry.message.envelope.recipients[r].address,
                          "> failed: ", s.last_reply);
                spool_.update(entry.message.id, r, s);
                continue;
            }
            any_due = true;
        }
        if (!any_due) continue;
        if (!entry.body) {
            // Opened, not read: the store reads it in bounded chunks, so a large message is
            // never whole in memory here. Its checksum is verified on opening.
            auto body = spool_.open_message(entry.message.id);
            if (!body) {
                log::error("queue: cannot read message ", entry.message.id, ": ", body.error().message);
                entry.due = now + options_.temp_failure_retry;
                continue;
            }
            entry.body = std::move(*body);
        }
        for (std::size_t r = 0; r < entry.message.states.size(); ++r) {
            auto& s = entry.message.states[r];
            bool due = s.status == RecipientState::Status::Pending ||
                       (s.status == RecipientState::Status::Deferred && s.next_attempt <= now);
            if (!due) continue;
            jobs.push_back(Job{entry.message.id, r, &entry.message.envelope, entry.body});
            where.emplace_back(e, r);
        }
    }
    auto outcomes = local_.deliver(jobs, now);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        auto [e, r] = where[j];
        auto& s = batch[e].message.states[r];
        s.attempts++;
        s.last_reply = outcomes[j].reply;
        switch (outcomes[j].kind) {
            case Outcome::Kind::Delivered: s.status = RecipientState::Status::Delivered; break;
            case Outcome::Kind::Failed:
                // TODO(relay issue): a failure notice (RFC 3464 DSN) goes back to the sender.
                s.status = RecipientState::Status::Failed;
                log::warn("queue: ", jobs[j].id, " to <", jobs[j].envelope->recipients[r].address, "> failed: ", s.last_reply);
                break;
            case Outcome::Kind::Deferred:
                s.status = RecipientState::Status::Deferred;
                s.next_attempt = now + (s.last_reply.starts_with("451 4.3.0") ? options_.temp_failure_retry
                                                                               : options_.retry_interval);
                break;
        }
        spool_.update(jobs[j].id, r, s);
    }
    // Next due time of every entry still waiting.
    for (auto& entry : batch) {
        std::int64_t due = next_due(entry.message);
        entry.due = due == kNever ? kNever : std::max(due, entry.due);
    }
}

}  // namespace tern::delivery
