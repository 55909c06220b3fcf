// The durable mail queue (spool): accepted messages and per-recipient delivery state, kept in
// append-only segment files of versioned, self-delimiting, checksummed records
// (docs/ARCHITECTURE.md "Spool format"). Concurrent submissions share one fdatasync (group
// commit). Must never report a submission committed before its record is on disk (RFC 5321 §6.1),
// and never trust a record that is incomplete or fails its checksum.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "queue/envelope.hpp"
#include "queue/incoming.hpp"

namespace tern::queue {

using QueueId = std::uint64_t;

// Per-recipient state. Pending = not yet attempted / retry due at next_attempt. Held = put on
// hold by the operator (`ternd queue hold`): never tried until released, still not final.
struct RecipientState {
    enum class Status : std::uint8_t { Pending = 0, Delivered = 1, Failed = 2, Deferred = 3, Held = 4 };
    Status status = Status::Pending;
    std::int64_t next_attempt = 0;  // unix seconds; 0 = as soon as possible
    std::uint32_t attempts = 0;
    std::string last_reply;         // last diagnostic, e.g. "550 5.1.1 no such user" (attempt log)
    bool delay_notified = false;    // the sender was sent a delay warning for it (RFC 3464 "delayed")
    bool operator==(const RecipientState&) const = default;
};

struct QueuedMessage {
    QueueId id = 0;
    Envelope envelope;
    std::vector<RecipientState> states;  // parallel to envelope.recipients
    std::uint64_t size = 0;              // message octets
    bool final() const;                  // every recipient Delivered or Failed
};

// A message body opened from the spool (Spool::open_message): read in ranges from its segment,
// its record's checksum verified once when opened. body_crc32c() is the CRC-32C of the body octets
// alone (record::crc32c), computed during that verification: a content fingerprint for free.
class SpooledBody : public base::ByteSource {
public:
    virtual std::uint32_t body_crc32c() const = 0;
};

struct SpoolOptions {
    std::filesystem::path dir;                          // e.g. <data>/spool
    std::uint64_t segment_bytes = 64ull * 1024 * 1024;  // start a new segment past this size
    bool fsync = true;                                  // tests of the in-memory path may turn it off; never in production
    // Tests only: called before each "zero_fill" chunk, "write" and "fdatasync" of a commit; a
    // non-zero errno makes that step fail as if the system call had.
    std::function<int(const char* op)> inject_fault;
};

class Spool {
public:
    using CommitCallback = std::function<void(Result<QueueId>)>;

    // Opens (creating if needed) the spool directory and replays every segment: a torn or
    // corrupt tail record is discarded; messages with a non-final recipient are recovered.
    static Result<std::unique_ptr<Spool>> open(SpoolOptions options);
    virtual ~Spool() = default;

    // Messages found on open that still have work to do (call once after open).
    virtual std::vector<QueuedMessage> recovered() = 0;

    // Appends the message and envelope. `done` runs on the spool's writer thread after the
    // record is fsynced (group commit: many submissions share one fdatasync), or with an error:
    // code ENOSPC when the disk is full (the spool takes mail again as soon as there is room).
    // A body spilled to a file (IncomingBody) is copied into the segment in bounded chunks.
    // `done` must be quick and must not call flush() or compact() (they fail with EDEADLK there).
    virtual void submit(Envelope envelope, IncomingBody body, CommitCallback done) = 0;
    // The same for a body whole in memory.
    void submit(Envelope envelope, std::string message, CommitCallback done) {
        submit(std::move(envelope), IncomingBody::in_memory(std::move(message)), std::move(done));
    }

    // Records a recipient's new state. Durable no later than the next group commit or flush();
    // losing it in a crash may only cause a duplicate delivery, never a loss.
    virtual void update(QueueId id, std::size_t recipient, const RecipientState& state) = 0;

    // Blocks until every record appended so far is on disk.
    virtual Result<void> flush() = 0;

    // Reads the message body back whole (tests; delivery uses open_message), its CRC checked.
    virtual Result<std::string> read_message(QueueId id) = 0;
    // Opens the message body for reading in ranges (pread from its segment, never whole in
    // memory), after checking its record's CRC-32C in bounded chunks: fails with EBADMSG when the
    // record was damaged on disk, ENOENT when there is no such message. The source (a SpooledBody)
    // keeps the segment file open, so it stays readable after compaction moved the message or the
    // segment was unlinked.
    virtual Result<base::ByteSourceRef> open_message(QueueId id) = 0;

    // Copies every live message whose records sit in an older segment into the active segment (a new
    // Message record with the same id and its current states), syncs, then unlinks the old segments
    // that no longer hold live data. Keeps a few long-deferred messages from pinning old segments.
    virtual Result<void> compact() = 0;

    // Group commits that wrote data so far (each is one fdatasync when options.fsync); for tests.
    virtual std::uint64_t sync_count() const = 0;

    // Stops the writer thread after committing what is pending.
    virtual void close() = 0;
};

}  // namespace tern::queue
