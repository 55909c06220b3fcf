// The search index's writer (issue 9): a background thread that brings <data>/search.db up to
// date with the mail store -- new messages (UID above the mailbox's mark) decoded and added,
// expunged ones and deleted mailboxes removed -- whenever the store reports a change for an
// account, and at start for every account the index knows. Also the sessions' way to ask it.
// It also keeps the IMAP per-message summary of the new messages that have none (mail delivered
// by SMTP), read in the same pass; without an index it runs for the summaries alone.
// Must never block a store writer (notify() only queues), never make a search miss a message
// (see Index), and never stop the server: a failing index is rebuilt or left unused.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

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

// The per-message summary blob to keep for a message (the session's imap::summary_blob, passed in
// for the same reason), nullopt when none is to be kept; opaque here (MailStore::set_summaries).
using Summarize = std::function<Result<std::optional<std::string>>(const base::ByteSource& message)>;

struct IndexerOptions {
    std::size_t max_text = 1u << 20;  // indexed text per message; beyond it: always a candidate
    std::size_t batch = 200;          // messages per index (and summary) transaction
    std::uint64_t compact_garbage = 10000;  // rebuild when this many removed (and more than live)
};

class Indexer {
public:
    Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, IndexerOptions options = {});
    // With `summarize` (may be empty: no summaries), each new message read for the index that has
    // no summary gets one. `index` may be null (no search index): the thread then keeps summaries
    // alone, for the messages that arrive after summaries_from_now() (below).
    Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, Summarize summarize,
            IndexerOptions options = {});
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
    // Without an index: the messages the account's mailboxes hold now are left to FETCH (its
    // first use computes their summaries, as before); only those that come later get one here.
    // Called for every account before the store takes mail (serve.cpp). A mailbox it did not see
    // (an account or mailbox made later) is new: summarized from its first message.
    Result<void> summaries_from_now(const std::string& account);

    struct Counters {
        std::atomic<std::uint64_t> indexed{0};   // messages added
        std::atomic<std::uint64_t> removed{0};   // expunged messages removed
        std::atomic<std::uint64_t> answered{0};  // candidates() calls the index answered
        std::atomic<std::uint64_t> rebuilds{0};
        std::atomic<std::uint64_t> summarized{0};  // summaries kept
    };
    const Counters& counters() const { return counters_; }
    Index& index() { return *index_; }  // only with an index
    bool has_index() const { return index_ != nullptr; }

private:
    void run();
    void compact_if_needed();
    Result<void> index_mailbox(const std::string& account, const store::MailboxHandle& box);
    Result<void> summarize_mailbox(const std::string& account, const store::MailboxHandle& box, std::uint32_t uidnext);
    // Whether `uid`'s body has no summary yet (so one is to be made): false when it has one or
    // went meanwhile; a failed look-up counts as "has one" (FETCH makes it, as before).
    bool wants_summary(const store::MailboxHandle& box, std::uint32_t uid);
    void summarize_into(const base::ByteSource& message, std::uint32_t uid,
                        std::vector<std::pair<std::uint32_t, std::string>>& out);
    void keep_summaries(const store::MailboxHandle& box, std::vector<std::pair<std::uint32_t, std::string>>& items);

    store::MailStore& store_;
    std::unique_ptr<Index> index_;
    Extract extract_;
    Summarize summarize_;
    IndexerOptions options_;
    Counters counters_;
    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::set<std::string, std::less<>> pending_;
    // Without an index: per account, mailbox id -> (UIDVALIDITY, last UID looked at). Under mu_.
    struct SummaryMark {
        std::uint32_t uidvalidity = 0;
        std::uint32_t through = 0;
    };
    std::map<std::string, std::map<std::int64_t, SummaryMark>, std::less<>> summary_marks_;
    bool busy_ = false, stopping_ = false;
    std::thread thread_;
};

}  // namespace tern::search
