// The search index's writer (issue 9): a background thread that brings <data>/search.db up to
// date with the mail store -- new messages (UID above the mailbox's mark) decoded and added,
// expunged ones and deleted mailboxes removed -- whenever the store reports a change for an
// account, and at start for every account the index knows. Also the sessions' way to ask it.
// Must never block a store writer (notify() only queues), never make a search miss a message
// (see Index), and never stop the server: a failing index is rebuilt or left unused.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "search/index.hpp"
#include "store/store.hpp"

namespace tern::search {

// The searchable text of one message, decoded and folded as the matcher sees it (the session's
// imap::index_text, passed in so that this module stays below the session).
struct ExtractedText {
    std::string text;
    bool complete = true;
};
using Extract = std::function<Result<ExtractedText>(const base::ByteSource& message, std::size_t max_bytes)>;

struct IndexerOptions {
    std::size_t max_text = 1u << 20;  // indexed text per message; beyond it: always a candidate
    std::size_t batch = 200;          // messages per index transaction
    std::uint64_t compact_garbage = 10000;  // rebuild when this many removed (and more than live)
};

class Indexer {
public:
    Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, IndexerOptions options = {});
    ~Indexer();  // stops the thread
    Indexer(const Indexer&) = delete;
    Indexer& operator=(const Indexer&) = delete;

    // Starts the thread; it first catches up with every account the index has rows for.
    void start();
    void stop();
    // The account's mail changed (the store's change listener): cheap, never blocks on the index.
    void notify(std::string_view account);

    // nullopt: no pruning (needle unusable, mailbox not indexed yet -- its account is then queued --
    // or the index failed). Otherwise see Candidates: a message is a candidate when it may contain
    // any of `needles` (folded).
    std::optional<Candidates> candidates(const store::MailboxHandle& box, std::span<const std::string> needles);

    // Waits until nothing is queued and the thread is idle (tests, benches). False on timeout.
    bool wait_idle(std::chrono::milliseconds timeout);
    // Brings one account up to date on the calling thread (tests; the thread does the same).
    Result<void> index_account(const std::string& account);

    struct Counters {
        std::atomic<std::uint64_t> indexed{0};   // messages added
        std::atomic<std::uint64_t> removed{0};   // expunged messages removed
        std::atomic<std::uint64_t> answered{0};  // candidates() calls the index answered
        std::atomic<std::uint64_t> rebuilds{0};
    };
    const Counters& counters() const { return counters_; }
    Index& index() { return *index_; }

private:
    void run();
    void compact_if_needed();
    Result<void> index_mailbox(const std::string& account, const store::MailboxHandle& box);

    store::MailStore& store_;
    std::unique_ptr<Index> index_;
    Extract extract_;
    IndexerOptions options_;
    Counters counters_;
    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::set<std::string, std::less<>> pending_;
    bool busy_ = false, stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::search
