// The search index's writer thread (see indexer.hpp), which also keeps new messages' summaries.
// Must never hold its mutex while it reads the store or writes the index, never give up on an
// account for good after one failure, and never let a summary stop the index (a cache fill).
#include "search/indexer.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/log.hpp"
#include "base/thread.hpp"

namespace tern::search {

Indexer::Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, IndexerOptions options)
    : Indexer(store, std::move(index), std::move(extract), Summarize{}, options) {}

Indexer::Indexer(store::MailStore& store, std::unique_ptr<Index> index, Extract extract, Summarize summarize,
                 IndexerOptions options)
    : store_(store),
      index_(std::move(index)),
      extract_(std::move(extract)),
      summarize_(std::move(summarize)),
      options_(options) {}

Indexer::~Indexer() { stop(); }

void Indexer::start() {
    if (thread_.joinable()) return;
    if (auto accounts = index_ ? index_->accounts() : Result<std::vector<std::string>>{}) {
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
        const std::uint64_t before = counters_.indexed.load(), summed = counters_.summarized.load();
        auto r = index_account(account);
        const std::uint64_t n = counters_.indexed.load() - before, k = counters_.summarized.load() - summed;
        if (std::max(n, k) >= 1000 || (n + k > 0 && log::trace_enabled())) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            log::info("search index: ", account, ": ", n, " messages indexed, ", k, " summaries kept in ",
                      ms.count(), " ms");
        }
        if (!r) {
            log::warn("search index: ", account, ": ", r.error().message);
            // The index is derived data: a damaged one starts again (refilled from the store).
            // Then wait a little, so that a disk that stays full is not a busy loop.
            if (index_ && !index_->intact()) {
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
    if (!index_) return;
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
        if (boxes.error().code == ENOENT) {  // account deleted
            {
                std::lock_guard lock(mu_);
                summary_marks_.erase(account);
            }
            return index_ ? index_->drop_mailboxes_except(account, {}) : Result<void>{};
        }
        return std::unexpected(boxes.error());
    }
    std::vector<std::int64_t> live;
    for (const auto& b : *boxes) {
        if (b.noselect) continue;
        if (!index_) {  // summaries only: nothing to do for a mailbox with no UID past its mark
            std::lock_guard lock(mu_);
            auto& marks = summary_marks_[account];
            if (auto m = marks.find(b.id); m != marks.end() && m->second.uidvalidity == b.uidvalidity &&
                                           m->second.through + 1 >= b.uidnext) {
                live.push_back(b.id);
                continue;
            }
        }
        auto h = store_.open_mailbox(account, b.name);
        if (!h) continue;  // deleted or renamed meanwhile: the next notice finds it
        live.push_back(h->id);
        const std::uint32_t uidnext = h->id == b.id && h->uidvalidity == b.uidvalidity ? b.uidnext : 0;
        if (auto r = index_ ? index_mailbox(account, *h) : summarize_mailbox(account, *h, uidnext); !r) {
            if (r.error().code == ENOENT) continue;  // the mailbox went meanwhile
            return r;
        }
        std::lock_guard lock(mu_);
        if (stopping_) return {};
    }
    if (!index_) {  // the marks of mailboxes deleted (or renamed away from INBOX) go
        std::sort(live.begin(), live.end());
        std::lock_guard lock(mu_);
        std::erase_if(summary_marks_[account],
                      [&](const auto& m) { return !std::binary_search(live.begin(), live.end(), m.first); });
        return {};
    }
    return index_->drop_mailboxes_except(account, live);
}

Result<void> Indexer::summaries_from_now(const std::string& account) {
    auto boxes = store_.list_mailboxes(account);
    if (!boxes) return std::unexpected(boxes.error());
    std::lock_guard lock(mu_);
    auto& marks = summary_marks_[account];
    for (const auto& b : *boxes)
        if (!b.noselect) marks[b.id] = SummaryMark{b.uidvalidity, b.uidnext - 1};
    return {};
}

bool Indexer::wants_summary(const store::MailboxHandle& box, std::uint32_t uid) {
    if (!summarize_) return false;
    auto kept = store_.summary(box, uid);
    return kept && !*kept;  // (a damaged or old blob is replaced by FETCH, as before)
}

void Indexer::summarize_into(const base::ByteSource& message, std::uint32_t uid,
                             std::vector<std::pair<std::uint32_t, std::string>>& out) {
    // Unreadable, unparsable or too large: none kept, FETCH deals with it as before.
    if (auto blob = summarize_(message); blob && *blob) out.emplace_back(uid, std::move(**blob));
}

void Indexer::keep_summaries(const store::MailboxHandle& box, std::vector<std::pair<std::uint32_t, std::string>>& items) {
    if (items.empty()) return;
    // A cache fill: on failure the first FETCH computes them, as before (never a reason to stop).
    if (auto r = store_.set_summaries(box, items); !r)
        log::warn("message summaries: ", box.account, ": ", r.error().message);
    else
        counters_.summarized += items.size();
    items.clear();
}

// Without an index: the messages past the mark that have no summary are read and summarized.
// `uidnext`: as listed before; every UID below it was stored then, so the mark may go up to it even
// when the last messages were expunged (no look at the mailbox on the next notice).
Result<void> Indexer::summarize_mailbox(const std::string& account, const store::MailboxHandle& box,
                                        std::uint32_t uidnext) {
    std::uint32_t through = 0;
    {
        std::lock_guard lock(mu_);
        auto& marks = summary_marks_[account];
        // A mailbox not seen before (made since the start, or a re-created one) is new mail.
        if (auto m = marks.find(box.id); m != marks.end() && m->second.uidvalidity == box.uidvalidity)
            through = m->second.through;
    }
    if (through == UINT32_MAX) return {};
    auto msgs = store_.list_messages(box, through + 1);
    if (!msgs) return std::unexpected(msgs.error());
    std::vector<std::pair<std::uint32_t, std::string>> items;
    for (std::size_t i = 0; i < msgs->size(); i += options_.batch) {
        std::size_t end = std::min(msgs->size(), i + options_.batch);
        for (std::size_t k = i; k < end; ++k) {
            const std::uint32_t uid = (*msgs)[k].uid;
            if (!wants_summary(box, uid)) continue;  // kept at APPEND, shared with a copy, or gone
            if (auto src = store_.open_message(box, uid)) summarize_into(**src, uid, items);
        }
        keep_summaries(box, items);
        std::lock_guard lock(mu_);
        summary_marks_[account][box.id] = SummaryMark{box.uidvalidity, (*msgs)[end - 1].uid};
        if (stopping_) return {};
    }
    if (uidnext > through + 1) {
        std::lock_guard lock(mu_);
        auto& mark = summary_marks_[account][box.id];
        if (mark.uidvalidity == box.uidvalidity) mark.through = std::max(mark.through, uidnext - 1);
        else mark = SummaryMark{box.uidvalidity, uidnext - 1};
    }
    return {};
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
    std::vector<std::pair<std::uint32_t, std::string>> summaries;
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
            } else {
                // The message is open for its text: its summary, if it has none, costs a parse.
                if (wants_summary(box, d.uid)) summarize_into(**src, d.uid, summaries);
                if (auto t = extract_(**src, options_.max_text)) {
                    d.text = std::move(t->text);
                    d.complete = t->complete;
                } else {
                    d.complete = false;  // unreadable or unparsable: a candidate for every needle
                }
            }
            docs.push_back(std::move(d));
        }
        // Summaries first: should the index's write fail, the batch is read again, and what
        // was kept is not computed twice.
        keep_summaries(box, summaries);
        if (auto r = index_->add(account, box.id, docs, (*msgs)[end - 1].uid); !r) return r;
        counters_.indexed += docs.size();
        std::lock_guard lock(mu_);
        if (stopping_) return {};
    }
    return {};
}

std::optional<Candidates> Indexer::candidates(const store::MailboxHandle& box, std::span<const std::string> needles) {
    if (!index_) return std::nullopt;
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
