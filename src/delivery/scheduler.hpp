// The queue scheduler: takes committed messages, hands each recipient to local delivery (in
// batches) or to the relay (RemoteTransport, asynchronous), records outcomes in the spool, keeps
// the retry schedule (RFC 5321 §4.5.4.1) and sends the sender delivery status notifications
// (RFC 3464: bounces, delay warnings, success and "relayed" notices). Queue storage (spool) and
// scheduling are separate, as in OpenSMTPD. One thread owns every queued message's state; other
// threads talk to it through inboxes. Must never mark a recipient Delivered before the store or
// the next hop has durably accepted the message, never mark one Failed before its bounce is
// queued, and never send a notice for a message whose sender is the null path.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "delivery/dsn.hpp"
#include "delivery/local.hpp"
#include "delivery/transport.hpp"
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
    // The retry schedule (config queue.*). RFC 5321 §4.5.4.1: "the retry interval SHOULD be at
    // least 30 minutes", but the articles' MTA retries "about every 15 minutes", as Postfix
    // (5 min first, backing off) and sendmail do; both are configurable. Each interval gets
    // +-10 % jitter so that messages deferred together do not all come back together.
    std::int64_t first_retry = 5 * 60;         // after the first failed attempt
    std::int64_t retry_interval = 15 * 60;     // after every later one
    std::int64_t temp_failure_retry = 60;      // after a local store failure (our own problem)
    // A delay notice to the sender when a recipient is still deferred this long after arrival
    // (RFC 3464 Action "delayed"; "after four hours it will usually send you a piece of mail").
    std::int64_t delay_warning = 4 * 60 * 60;
    // While mail waits for a retry, its spool segment would keep every later one alive; this
    // often the scheduler asks the spool to copy waiting messages forward (Spool::compact).
    std::int64_t compact_interval = 60 * 60;
    // The longest a recipient stays queued (config queue.lifetime; RFC 5321 §4.5.4.1: "at least
    // 4-5 days"). A recipient that was tried before and is due again after this long since the
    // message arrived fails (5.4.7) and the sender gets the mail back.
    std::int64_t queue_lifetime = 5 * 24 * 60 * 60;
    // Redelivery keys (a crash between the store's commit and the spool's record of it must not
    // deliver twice; an alias with a local and a remote member is retried for the remote one and
    // must not store the local copy again) are needed while the message may be tried again: they
    // are kept for queue_lifetime plus this margin, and older ones are forgotten every
    // prune_interval. Keys then outlive every retry of their message.
    std::int64_t redelivery_key_margin = 2 * 24 * 60 * 60;
    std::int64_t prune_interval = 60 * 60;
    std::int64_t redelivery_key_retention() const { return queue_lifetime + redelivery_key_margin; }

    // Notices (DSNs) and forwarded copies.
    std::string hostname = "localhost";         // Reporting-MTA, MAILER-DAEMON@hostname
    std::filesystem::path spill_dir;            // large notices/copies spill here (the spool dir); empty: memory
    std::uint64_t bounce_return_limit = 256u << 10;  // RET=FULL content returned up to this size
};

class Scheduler {
public:
    // `remote` may be null: remote recipients then wait in the queue ("no relay configured").
    Scheduler(queue::Spool& spool, LocalDelivery& local, RemoteTransport* remote = nullptr,
              SchedulerOptions options = {}, std::function<std::int64_t()> now = nullptr);
    ~Scheduler();

    // Starts the delivery thread with the messages the spool recovered.
    void start(std::vector<queue::QueuedMessage> recovered);
    // A message just committed; `body` (may be null) saves reading it back from the spool.
    void enqueue(queue::QueuedMessage message, base::ByteSourceRef body);
    // Finishes the batch in progress, ends remote deliveries (the relay answers what it has not
    // finished as deferred), records every outcome, then stops. Undelivered mail stays queued.
    void stop();

    std::size_t queued() const;  // messages not yet final (as of the thread's last pass)
    // Makes the thread look at the clock again now (tests that move an injected clock).
    void wake();

    // An operator's queue operation (`ternd queue retry|hold|release|delete`, through the control
    // socket) on message `id`, or on every queued message when `id` is empty. Recipients being
    // delivered by the relay right now are left as they are. The changed states are written to
    // the spool before it returns. Returns how many messages changed; ENOENT when `id` is not in
    // the queue.
    Result<std::size_t> control(queue::QueueOp op, std::optional<queue::QueueId> id);

private:
    struct Entry {
        queue::QueuedMessage message;
        base::ByteSourceRef body;      // may be null: opened from the spool (read in ranges) when needed
        std::vector<bool> busy;        // recipient handed to the relay, result not back yet
        std::size_t jobs_out = 0;      // relay jobs not answered yet
        std::int64_t due = 0;          // while in schedule_
        bool scheduled = false;
    };
    // A change to report to the sender (RFC 3464 Action).
    struct Notice {
        enum class Action { Failed, Delayed, Delivered, Relayed } action = Action::Failed;
        std::size_t recipient = 0;
        std::string remote_mta;
    };
    static DsnRecipient::Action dsn_action(Notice::Action a) {
        switch (a) {
            case Notice::Action::Failed: return DsnRecipient::Action::Failed;
            case Notice::Action::Delayed: return DsnRecipient::Action::Delayed;
            case Notice::Action::Delivered: return DsnRecipient::Action::Delivered;
            case Notice::Action::Relayed: return DsnRecipient::Action::Relayed;
        }
        return DsnRecipient::Action::Failed;
    }
    struct Request {
        queue::QueueOp op;
        std::optional<queue::QueueId> id;
        std::promise<Result<std::size_t>> done;
    };
    struct RemoteAnswer {
        queue::QueueId id = 0;
        std::vector<RemoteResult> results;
    };

    void run();
    void take(queue::QueuedMessage message, base::ByteSourceRef body, std::int64_t now);
    void deliver_batch(const std::vector<queue::QueueId>& ids);
    void apply_remote(RemoteAnswer& answer);
    Result<std::size_t> apply_request(const Request& request);
    // Records the new state of recipient `r` after an attempt that ended with `kind`/`reply`, and
    // what the sender must hear of it.
    void record(Entry& e, std::size_t r, Outcome::Kind kind, const std::string& reply, std::int64_t now,
                std::vector<Notice>& notices, const std::string& remote_mta = {});
    // Queues the notices for one message (one DSN per kind), then writes its states. A failure
    // notice that cannot be queued leaves its recipient deferred, to fail (and notify) again later.
    void notify_and_record(Entry& e, std::vector<Notice> notices, const std::vector<std::size_t>& changed);
    Result<queue::QueueId> submit_and_wait(queue::Envelope envelope, queue::IncomingBody body, std::uint64_t size);
    Result<void> queue_forward(Entry& e, std::size_t r, const std::vector<std::string>& to);
    void settle(queue::QueueId id);  // reschedule or forget an entry with no job out
    std::int64_t retry_after(const queue::RecipientState& s, const queue::Envelope& env, std::int64_t now);

    queue::Spool& spool_;
    LocalDelivery& local_;
    RemoteTransport* remote_;
    SchedulerOptions options_;
    std::function<std::int64_t()> now_;
    std::mt19937 rng_{std::random_device{}()};

    // Owned by the scheduler thread (no lock):
    std::map<queue::QueueId, Entry> entries_;
    std::set<std::pair<std::int64_t, queue::QueueId>> schedule_;  // (due, id) of waiting entries
    std::deque<queue::QueueId> ready_;                             // due now

    // Inboxes, under mutex_:
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::pair<queue::QueuedMessage, base::ByteSourceRef>> incoming_;
    std::vector<RemoteAnswer> answers_;
    std::vector<std::unique_ptr<Request>> requests_;
    std::size_t queued_ = 0;
    bool stopping_ = false;
    bool poked_ = false;
    bool dispatch_closed_ = false;   // the thread saw stopping_ and sends the relay nothing more
    bool remote_stopped_ = false;    // the relay has answered everything it will
    bool running_ = false;
    std::thread thread_;
};

}  // namespace tern::delivery
