// The queue scheduler: takes committed messages, hands each recipient to a delivery agent in
// batches, records the outcome in the spool and keeps retry times (RFC 5321 §4.5.4.1). Queue
// storage (spool) and scheduling are separate, as in OpenSMTPD. Must never mark a recipient
// Delivered before the store has durably accepted the message.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "delivery/local.hpp"
#include "queue/control.hpp"
#include "queue/spool.hpp"

namespace tern::delivery {

struct SchedulerOptions {
    std::size_t batch_messages = 256;          // messages per store transaction
    std::uint64_t batch_bytes = 64u << 20;     // message bytes per store transaction (at least one message)
    // Wait this long for a batch to fill. Each store transaction costs a fixed ~50 us of CPU
    // and an fsync that competes with the spool's group commits, which clients wait on: with
    // 50 ms instead of 5, the delivery thread used 26-28 instead of 38-42 us of CPU per message
    // under smtp-source load (10 sessions, 4 KB). A message waits at most this long longer.
    std::chrono::milliseconds coalesce{50};
    std::int64_t retry_interval = 15 * 60;     // seconds between attempts for deferred recipients
    std::int64_t temp_failure_retry = 60;      // after a local store failure
    // While mail waits for a retry, its spool segment would keep every later one alive; this
    // often the scheduler asks the spool to copy waiting messages forward (Spool::compact).
    std::int64_t compact_interval = 60 * 60;
    // The longest a recipient stays queued (config queue.lifetime; RFC 5321 §4.5.4.1: "at least
    // 4-5 days"). A recipient that was tried before and is due again after this long since the
    // message arrived is marked Failed instead of tried again.
    std::int64_t queue_lifetime = 5 * 24 * 60 * 60;
    // Redelivery keys (a crash between the store's commit and the spool's record of it must not
    // deliver twice; an alias with a local and a remote member is retried for the remote one and
    // must not store the local copy again) are needed while the message may be tried again: they
    // are kept for queue_lifetime plus this margin, and older ones are forgotten every
    // prune_interval. Keys then outlive every retry of their message.
    std::int64_t redelivery_key_margin = 2 * 24 * 60 * 60;
    std::int64_t prune_interval = 60 * 60;
    std::int64_t redelivery_key_retention() const { return queue_lifetime + redelivery_key_margin; }
};

class Scheduler {
public:
    Scheduler(queue::Spool& spool, LocalDelivery& local, SchedulerOptions options = {},
              std::function<std::int64_t()> now = nullptr);
    ~Scheduler();

    // Starts the delivery thread with the messages the spool recovered.
    void start(std::vector<queue::QueuedMessage> recovered);
    // A message just committed; `body` saves reading it back from the spool.
    // `body` (may be null) is the message in memory, wrapped by base::bytes_from_string.
    void enqueue(queue::QueuedMessage message, base::ByteSourceRef body);
    // Finishes the batch in progress, then stops. Undelivered mail stays in the spool.
    void stop();

    std::size_t queued() const;  // messages not yet final

    // An operator's queue operation (`ternd queue retry|hold|release|delete`, through the control
    // socket) on message `id`, or on every queued message when `id` is empty. The changed states
    // are written to the spool before it returns. Returns how many messages changed; ENOENT when
    // `id` is not in the queue.
    Result<std::size_t> control(queue::QueueOp op, std::optional<queue::QueueId> id);

private:
    struct Entry {
        queue::QueuedMessage message;
        base::ByteSourceRef body;  // may be null: opened from the spool (read in ranges) when needed
        std::int64_t due = 0;
    };
    void run();
    void deliver_batch(std::vector<Entry>& batch);

    queue::Spool& spool_;
    LocalDelivery& local_;
    SchedulerOptions options_;
    std::function<std::int64_t()> now_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Entry> ready_;                      // due now
    std::multimap<std::int64_t, Entry> waiting_;    // due later, by time
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::delivery
