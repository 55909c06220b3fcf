// The local delivery agent: resolves recipients through the directory (aliases, plus-addressing,
// catch-all) and appends messages to the store, many per transaction. Must never deliver outside
// the resolved accounts, and never report success before the store commit returned.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "directory/directory.hpp"
#include "queue/spool.hpp"
#include "store/store.hpp"

namespace tern::delivery {

// One recipient of one queued message, as the scheduler hands it over.
struct Job {
    queue::QueueId id = 0;
    std::size_t recipient = 0;             // index into the envelope's recipients
    const queue::Envelope* envelope = nullptr;
    base::ByteSourceRef message;           // the queued message (Received: included), read in ranges
};

struct Outcome {
    // Remote: not a local address at all; the scheduler hands it to the relay.
    enum class Kind { Delivered, Failed, Deferred, Remote } kind = Kind::Deferred;
    std::string reply;                     // e.g. "550 5.1.1 user unknown"
    // Delivered: remote addresses an alias also forwards to; the scheduler queues a copy for them
    // (a new message with the same sender) before it records the recipient delivered.
    std::vector<std::string> forward;
};

class LocalDelivery {
public:
    LocalDelivery(directory::Directory& dir, store::MailStore& store) : dir_(dir), store_(store) {}
    // Delivers every job it can in one store transaction; the result parallels `jobs`.
    std::vector<Outcome> deliver(const std::vector<Job>& jobs, std::int64_t now);
    // Forgets redelivery keys older than `before` (MailStore::forget_delivered_before).
    Result<std::uint64_t> forget_redelivery_keys(std::int64_t before) { return store_.forget_delivered_before(before); }

private:
    directory::Directory& dir_;
    store::MailStore& store_;
};

}  // namespace tern::delivery
