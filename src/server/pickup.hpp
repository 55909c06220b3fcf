// The maildrop pickup (Postfix's pickup + cleanup for `ternd sendmail`): a thread of the running
// server that watches <data>/maildrop (inotify, and a scan every second), turns each finished
// file into a spool submission (queue/maildrop.hpp prepares it), hands the committed message to
// the scheduler as SMTP does, and only then unlinks the file. A file it cannot use goes to
// maildrop/bad/ with a log line. Must never unlink a file before its message is durable in the
// spool, never follow a link or read a non-regular file, and never trust the identity a file
// claims: the submitting user is the file's owner.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "queue/spool.hpp"

namespace tern::server {

// <data>/maildrop: mode 1733 (anyone may create a file, nobody but its owner and the server
// may rename or remove it, nobody but the server may list it), and maildrop/bad (0700). Creates
// what is missing and sets the modes (the caller owns the data directory).
Result<void> prepare_maildrop(const std::filesystem::path& data);

struct PickupOptions {
    std::filesystem::path maildrop;   // <data>/maildrop
    std::filesystem::path spill_dir;  // the spool directory (large bodies spill there on their way in)
    std::string hostname;
    std::uint64_t message_size = 50ull << 20;          // limits.message_size, on the message as submitted
    std::chrono::milliseconds interval{1000};           // rescan period (inotify wakes it earlier)
    std::chrono::seconds stale_temporary{24 * 3600};    // a tmp-* file this old is an abandoned submission
};

class Pickup {
public:
    using Committed = std::function<void(queue::QueuedMessage, base::ByteSourceRef body)>;
    Pickup(PickupOptions options, queue::Spool& spool, Committed on_committed);
    ~Pickup();
    Pickup(const Pickup&) = delete;
    Pickup& operator=(const Pickup&) = delete;

    void start();
    // Finishes the file in progress (its commit), then stops. Files not yet picked up wait.
    void stop();

    // One pass over the maildrop (tests; the thread calls it). Returns the files queued.
    std::size_t scan();

private:
    enum class Outcome { Queued, Bad, Later };
    Outcome pick(const std::string& name);
    void set_aside(const std::string& name, const std::string& why);
    void run();

    PickupOptions options_;
    queue::Spool& spool_;
    Committed on_committed_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    int wake_fd_ = -1;     // eventfd: stop() wakes the thread
    int inotify_fd_ = -1;  // new names in the maildrop wake it too (-1: polling only)
    std::set<std::string> ignored_;  // entries that could be neither used nor moved nor removed (pickup thread only)
};

}  // namespace tern::server
