// The search index's writer thread (see indexer.hpp). Must never hold its mutex while it reads the
// store or writes the index, and never give up on an account for good after one failure.
#include "search/indexer.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/log.hpp"
#include "base/thread.hpp"

namespace tern::search {

Indexer::Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, IndexerOptions options)
    : store_(store), index_(std::move(index)), extract_(std::move(extract)), options_(options) {}

Indexer::~Indexer() { stop(); }

void Indexer::start() {
    if (thread_.joinable()) return;
    if (auto accounts = index_->accounts()) {
        std::lock_guard lock(mu_);
        for (auto& a : *accounts) pending_.insert(std::move(a));
    }
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Indexer::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Indexer::notify(std::string_view account) {
    {
        std::lock_guard lock(mu_);
        if (pending_.find(account) == pending_.end()) pending_.emplace(account);
    }
    cv_.notify_one();
}

bool Indexer::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return idle_cv_.wait_for(lock, timeout, [&] { return pending_.empty() && !busy_; });
}

void Indexer::run() {
    base::name_this_thread("tern-index");
    base::lower_this_thread_priority(5);
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        std::string account = std::move(pending_.extract(pending_.begin()).value());
        busy_ = true;
        lock.unlock();
        const auto started = std::chrono::steady_clock::now();
        const std::uint64_t before = counters_.indexed.load();
        auto r = index_account(account);
        if (std::uint64_t n = counters_.indexed.load() - before; n >= 1000 || (n > 0 && log::trace_enabled())) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            log::info("search index: ", account, ": ", n, " messages indexed in ", ms.count(), " ms");
        }
        if (!r) {
            log::warn("search index: ", account, ": ", r.error().message);
            // The index is derived data: a damaged one starts again (refilled from the store).
            // Then wait a little, so that a disk that stays full is not a busy loop.
            if (!index_->intact()) {
                log::warn("search index damaged: building it anew");
                if (auto rb = index_->rebuild(); !rb) log::warn("search index: rebuild: ", rb.error().message);
                counters_.rebuilds++;
                if (auto accounts = index_->accounts()) {
                    std::lock_guard relock(mu_);
                    for (auto& a : *accounts) pending_.insert(std::move(a));
                }
            }
            lock.lock();
            cv_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_; });
            pending_.insert(account);
            lock.unlock();
        }
        compact_if_needed();
        lock.lock();
        busy_ = false;
        if (pending_.empty()) idle_cv_.notify_all();
    }
}

void Indexer::compact_if_needed() {
    // Removed messages leave their trigrams behind (a contentless table): once they outnumber the
    // live rows (and are many), the file starts again and is refilled from the store. Meanwhile
    // the index answers nothing (every message a candidate), so SEARCH stays right.
    auto s = index_->stats();
    if (!s || s->garbage < options_.compact_garbage || s->garbage < s->docs) return;
    auto accounts = index_->accounts();
    if (!accounts) return;
    log::info("search index: ", s->garbage, " removed messages outnumber ", s->docs, " live ones: rebuilding");
    if (auto r = index_->rebuild(); !r) {
        log::warn("search index: rebuild: ", r.error().message);
        return;
    }
    counters_.rebuilds++;
    std::lock_guard lock(mu_);
    for (auto& a : *accounts) pending_.insert(std::move(a));
}

Result<void> Indexer::index_account(const std::string& account) {
    auto boxes = store_.list_mailboxes(account);
    if (!boxes) {
        if (boxes.error().code == ENOENT) return index_->drop_mailboxes_except(account, {});  // account deleted
        return std::unexpected(boxes.error());
    }
    std::vector<std::int64_t> live;
    for (const auto& b : *boxes) {
        if (b.noselect) continue;
        auto h = store_.open_mailbox(account, b.name);
        if (!h) continue;  // deleted or renamed meanwhile: the next notice finds it
        live.push_back(h->id);
        if (auto r = index_mailbox(account, *h); !r) {
            if (r.error().code == ENOENT) continue;  // the mailbox went meanwhile
            return r;
        }
        std::lock_guard lock(mu_);
        if (stopping_) return {};
    }
    return index_->drop_mailboxes_except(account, live);
}

Result<void> Indexer::index_mailbox(const std::string& account, const store::MailboxHandle& box) {
    auto mark = index_->mark(account, box.id);
    if (!mark) return std::unexpected(mark.error());
    if (!mark->known || mark->uidvalidity != box.uidvalidity) {
        if (auto r = index_->reset_mailbox(account, box.id, box.uidvalidity); !r) return r;
        *mark = MailboxMark{true, box.uidvalidity, 0, 0};
    }
    // Expunged messages out first (space only: a UID is never reused, so a stale row can only
    // make a message of no session's view a candidate).
    auto info = store_.mailbox_info(box);
    if (!info) return std::unexpected(info.error());
    if (info->highest_modseq > mark->swept_modseq) {
        auto gone = store_.expunged_since(box, mark->swept_modseq);
        if (!gone) return std::unexpected(gone.error());
        if (auto r = index_->remove(account, box.id, *gone, info->highest_modseq); !r) return r;
        counters_.removed += gone->size();
    }
    if (mark->indexed_through == UINT32_MAX) return {};
    auto msgs = store_.list_messages(box, mark->indexed_through + 1);
    if (!msgs) return std::unexpected(msgs.error());
    std::vector<Doc> docs;
    for (std::size_t i = 0; i < msgs->size(); i += options_.batch) {
        docs.clear();
        std::size_t end = std::min(msgs->size(), i + options_.batch);
        for (std::size_t k = i; k < end; ++k) {
            Doc d;
            d.uid = (*msgs)[k].uid;
            auto src = store_.open_message(box, d.uid);
            if (!src) {
                if (src.error().code == ENOENT) continue;  // expunged since the listing
                d.complete = false;
            } else if (auto t = extract_(**src, options_.max_text)) {
                d.text = std::move(t->text);
                d.complete = t->complete;
            } else {
                d.complete = false;  // unreadable or unparsable: a candidate for every needle
            }
            docs.push_back(std::move(d));
        }
        if (auto r = index_->add(account, box.id, docs, (*msgs)[end - 1].uid); !r) return r;
        counters_.indexed += docs.size();
        std::lock_guard lock(mu_);
        if (stopping_) return {};
    }
    return {};
}

std::optional<Candidates> Indexer::candidates(const store::MailboxHandle& box, std::span<const std::string> needles) {
    auto c = index_->candidates(box.account, box.id, box.uidvalidity, needles);
    if (!c) {
        log::warn("search index: query: ", c.error().message);
        return std::nullopt;
    }
    if (!*c) {
        // Not indexed yet (mail that came before the index, say): catch up for next time.
        bool usable = std::all_of(needles.begin(), needles.end(), [](const std::string& n) { return usable_needle(n); });
        if (usable && !needles.empty()) notify(box.account);
        return std::nullopt;
    }
    counters_.answered++;
    // Mail another process stored (`ternd import`) raises no notice here: a search is the cue
    // to look (a pass over an up-to-date account reads a few rows).
    notify(box.account);
    return std::move(*c);
}

}  // namespace tern::search
