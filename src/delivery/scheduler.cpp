// Scheduler thread: batches due messages for local delivery, hands remote recipients to the relay,
// records outcomes in the spool and sends notices. Must never drop a message: anything not final
// stays in entries_ with a due time or a relay job out.
#include "delivery/scheduler.hpp"

#include <algorithm>
#include <chrono>

#include "base/log.hpp"
#include "base/thread.hpp"
#include "delivery/dsn.hpp"
#include "queue/inspect.hpp"

namespace tern::delivery {

using queue::RecipientState;
using Status = RecipientState::Status;

namespace {
// A message whose only unfinished recipients are on hold is due "never" (until released).
constexpr std::int64_t kNever = INT64_MAX / 4;

bool waiting(const RecipientState& s) { return s.status == Status::Pending || s.status == Status::Deferred; }

std::int64_t next_due(const queue::QueuedMessage& m, const std::vector<bool>& busy) {
    std::int64_t due = kNever;
    for (std::size_t r = 0; r < m.states.size(); ++r)
        if (waiting(m.states[r]) && !(r < busy.size() && busy[r])) due = std::min(due, m.states[r].next_attempt);
    return due;
}

std::string domain_of(const std::string& address) {
    auto at = address.rfind('@');
    std::string d = at == std::string::npos ? std::string() : address.substr(at + 1);
    for (char& c : d)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return d;
}

std::string notify_text(const smtp::DsnNotify& n) {
    if (!n.specified) return "";
    if (n.never) return "NEVER";
    std::string out;
    auto add = [&](bool on, const char* word) {
        if (!on) return;
        if (!out.empty()) out += ',';
        out += word;
    };
    add(n.success, "SUCCESS");
    add(n.failure, "FAILURE");
    add(n.delay, "DELAY");
    return out;
}

// "5 days", "4 hours", "90 seconds".
std::string duration_text(std::int64_t seconds) {
    auto unit = [](std::int64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
    if (seconds >= 86400 && seconds % 86400 == 0) return unit(seconds / 86400, "day");
    if (seconds >= 3600 && seconds % 3600 == 0) return unit(seconds / 3600, "hour");
    if (seconds >= 60 && seconds % 60 == 0) return unit(seconds / 60, "minute");
    return unit(seconds, "second");
}

std::string ret_text(smtp::DsnRet r) {
    switch (r) {
        case smtp::DsnRet::Full: return "FULL";
        case smtp::DsnRet::Hdrs: return "HDRS";
        default: return "";
    }
}
}  // namespace

Scheduler::Scheduler(queue::Spool& spool, LocalDelivery& local, RemoteTransport* remote, SchedulerOptions options,
                     std::function<std::int64_t()> now)
    : spool_(spool), local_(local), remote_(remote), options_(std::move(options)), now_(std::move(now)) {
    if (!now_)
        now_ = [] {
            return std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start(std::vector<queue::QueuedMessage> recovered) {
    const std::int64_t now = now_();
    std::size_t n = 0;
    for (auto& m : recovered) {
        if (m.final()) continue;
        // A recipient deferred by our own trouble (451 4.3.0: the store or the spool failed, e.g.
        // a full disk) is tried at once after a restart, which is often what cured it.
        for (auto& s : m.states)
            if (waiting(s) && s.last_reply.starts_with("451 4.3.0")) s.next_attempt = std::min(s.next_attempt, now);
        take(std::move(m), nullptr, now);
        ++n;
    }
    if (n > 0) log::info("queue: ", n, " messages recovered from the spool");
    {
        std::lock_guard lock(mutex_);
        queued_ = entries_.size();
        running_ = true;
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
        incoming_.emplace_back(std::move(message), std::move(body));
        ++queued_;
        // Only the first message (the thread may be asleep) and a full batch need the thread:
        // while a batch fills, waking it for each message costs a context switch and changes nothing.
        wake = incoming_.size() == 1 || incoming_.size() >= options_.batch_messages;
    }
    if (wake) wake_.notify_one();
}

void Scheduler::stop() {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
    // Once the thread sends the relay nothing more, the relay can be stopped: it answers what it
    // has not finished, and the thread records those answers before it exits.
    wake_.wait(lock, [this] { return dispatch_closed_; });
    lock.unlock();
    if (remote_) remote_->stop();
    lock.lock();
    remote_stopped_ = true;
    wake_.notify_all();
    lock.unlock();
    thread_.join();
}

void Scheduler::wake() {
    {
        std::lock_guard lock(mutex_);
        poked_ = true;
    }
    wake_.notify_one();
}

std::size_t Scheduler::queued() const {
    std::lock_guard lock(mutex_);
    return queued_;
}

Result<std::size_t> Scheduler::control(queue::QueueOp op, std::optional<queue::QueueId> id) {
    auto request = std::make_unique<Request>(Request{op, id, {}});
    auto result = request->done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (!running_ || stopping_) return fail("the scheduler is not running", EAGAIN);
        requests_.push_back(std::move(request));
    }
    wake_.notify_one();
    return result.get();
}

void Scheduler::take(queue::QueuedMessage message, base::ByteSourceRef body, std::int64_t now) {
    if (message.envelope.received_at == 0) message.envelope.received_at = now;  // age unknown: from now
    const auto id = message.id;
    Entry e;
    e.busy.assign(message.states.size(), false);
    e.message = std::move(message);
    e.body = std::move(body);
    auto [it, fresh] = entries_.insert_or_assign(id, std::move(e));
    (void)fresh;
    settle(id);
}

void Scheduler::settle(queue::QueueId id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (e.scheduled) {
        schedule_.erase({e.due, id});
        e.scheduled = false;
    }
    if (e.jobs_out > 0) return;  // the relay's answer settles it
    if (e.message.final()) {
        entries_.erase(it);
        return;
    }
    e.due = next_due(e.message, e.busy);
    const std::int64_t now = now_();
    if (e.due <= now) {
        ready_.push_back(id);
        return;
    }
    e.body.reset();  // deferred mail is read back from the spool when due
    schedule_.insert({e.due, id});
    e.scheduled = true;
}

void Scheduler::run() {
    std::int64_t last_compact = now_();
    std::int64_t last_prune = 0;  // the first pass prunes what an earlier run left
    bool closing = false;
    for (;;) {
        std::vector<std::pair<queue::QueuedMessage, base::ByteSourceRef>> incoming;
        std::vector<RemoteAnswer> answers;
        std::vector<std::unique_ptr<Request>> requests;
        {
            std::unique_lock lock(mutex_);
            auto has_work = [&] {
                return poked_ || !incoming_.empty() || !answers_.empty() || !requests_.empty() || stopping_ != closing ||
                       (closing && remote_stopped_);
            };
            if (!has_work() && !closing) {
                std::int64_t now = now_();
                if (!ready_.empty()) {
                    // Under load, let a batch fill for a moment: one store transaction (one fsync)
                    // for many messages leaves the disk to the spool's group commits.
                    if (ready_.size() < options_.batch_messages && options_.coalesce.count() > 0)
                        wake_.wait_for(lock, options_.coalesce, [&] {
                            return stopping_ || !answers_.empty() || !requests_.empty() ||
                                   ready_.size() + incoming_.size() >= options_.batch_messages;
                        });
                } else if (schedule_.empty()) {
                    wake_.wait(lock, has_work);
                } else {
                    auto wait = std::clamp<std::int64_t>(schedule_.begin()->first - now, 1, 3600);
                    wake_.wait_for(lock, std::chrono::seconds(wait), has_work);
                }
            } else if (closing && !remote_stopped_ && answers_.empty()) {
                wake_.wait(lock, [&] { return remote_stopped_ || !answers_.empty(); });
            }
            poked_ = false;
            incoming.swap(incoming_);
            answers.swap(answers_);
            requests.swap(requests_);
            if (stopping_ && !closing) {
                closing = true;
                dispatch_closed_ = true;
                wake_.notify_all();
            }
        }
        const std::int64_t now = now_();
        for (auto& [m, body] : incoming) take(std::move(m), std::move(body), now);
        for (auto& a : answers) apply_remote(a);
        for (auto& r : requests) r->done.set_value(apply_request(*r));
        if (closing) {
            std::lock_guard lock(mutex_);
            queued_ = entries_.size();
            if (remote_stopped_ && answers_.empty()) {
                for (auto& r : requests_) r->done.set_value(fail("the scheduler stopped", EAGAIN));
                requests_.clear();
                running_ = false;
                return;
            }
            continue;
        }

        if (now - last_prune >= options_.prune_interval) {
            last_prune = now;
            // Every message that might still be tried arrived less than queue_lifetime ago (or
            // was never tried, and so stored nothing), and its keys are younger still.
            auto r = local_.forget_redelivery_keys(now - options_.redelivery_key_retention());
            if (!r) log::warn("store: pruning redelivery keys failed: ", r.error().message);
            else if (*r > 0) log::info("store: forgot ", *r, " redelivery keys older than ",
                                       options_.redelivery_key_retention() / 86400, " days");
        }
        if (!schedule_.empty() && now - last_compact >= options_.compact_interval) {
            last_compact = now;
            if (auto r = spool_.compact(); !r) log::warn("queue: spool compaction failed: ", r.error().message);
        }
        while (!schedule_.empty() && schedule_.begin()->first <= now) {
            auto [due, id] = *schedule_.begin();
            schedule_.erase(schedule_.begin());
            if (auto it = entries_.find(id); it != entries_.end()) {
                it->second.scheduled = false;
                ready_.push_back(id);
            }
        }
        // A batch is bounded in messages and in bytes (the store writes each body once, however
        // many accounts it goes to).
        while (!ready_.empty()) {
            std::vector<queue::QueueId> batch;
            std::uint64_t bytes = 0;
            while (!ready_.empty() && batch.size() < options_.batch_messages) {
                auto it = entries_.find(ready_.front());
                if (it == entries_.end()) {
                    ready_.pop_front();
                    continue;
                }
                if (!batch.empty() && bytes + it->second.message.size > options_.batch_bytes) break;
                bytes += it->second.message.size;
                batch.push_back(ready_.front());
                ready_.pop_front();
            }
            // A message may be listed twice (a retry request while it was ready).
            std::sort(batch.begin(), batch.end());
            batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
            deliver_batch(batch);
            if (ready_.size() < options_.batch_messages) break;  // let the rest coalesce
        }
        std::lock_guard lock(mutex_);
        queued_ = entries_.size() + incoming_.size();
    }
}

std::int64_t Scheduler::retry_after(const RecipientState& s, const queue::Envelope& env, std::int64_t now) {
    std::int64_t interval = s.attempts <= 1 ? options_.first_retry : options_.retry_interval;
    // +-10 % jitter (RFC 5321 §4.5.4.1 wants retries spread out, not synchronised).
    std::int64_t spread = interval / 10;
    if (spread > 0) interval += std::uniform_int_distribution<std::int64_t>(-spread, spread)(rng_);
    std::int64_t next = now + std::max<std::int64_t>(1, interval);
    // No later than the end of the queue lifetime: then the recipient fails and the sender hears.
    const std::int64_t deadline = env.received_at + options_.queue_lifetime;
    return std::max(now + 1, std::min(next, deadline));
}

void Scheduler::record(Entry& e, std::size_t r, Outcome::Kind kind, const std::string& reply, std::int64_t now,
                       std::vector<Notice>& notices, const std::string& remote_mta) {
    auto& s = e.message.states[r];
    const auto& rcpt = e.message.envelope.recipients[r];
    s.attempts++;
    s.last_reply = reply;
    switch (kind) {
        case Outcome::Kind::Delivered:
            s.status = Status::Delivered;
            // RFC 3461 §4.1: a success notice only when asked for.
            if (rcpt.notify.specified && rcpt.notify.success) notices.push_back({Notice::Action::Delivered, r, remote_mta});
            break;
        case Outcome::Kind::Failed:
            s.status = Status::Failed;
            log::warn("queue: ", queue::format_queue_id(e.message.id), " to <", rcpt.address, "> failed: ", reply);
            notices.push_back({Notice::Action::Failed, r, remote_mta});
            break;
        case Outcome::Kind::Deferred:
        case Outcome::Kind::Remote:
            s.status = Status::Deferred;
            s.next_attempt = reply.starts_with("451 4.3.0") ? now + options_.temp_failure_retry
                                                             : retry_after(s, e.message.envelope, now);
            // RFC 3464 "delayed": once, when it has waited delay_warning and is still queued.
            if (!s.delay_notified && now - e.message.envelope.received_at >= options_.delay_warning &&
                s.next_attempt < e.message.envelope.received_at + options_.queue_lifetime)
                notices.push_back({Notice::Action::Delayed, r, remote_mta});
            break;
    }
}

void Scheduler::deliver_batch(const std::vector<queue::QueueId>& ids) {
    const std::int64_t now = now_();
    std::vector<Job> jobs;
    std::vector<std::pair<queue::QueueId, std::size_t>> where;  // job -> (message, recipient)
    std::map<queue::QueueId, std::vector<Notice>> notices;
    std::map<queue::QueueId, std::vector<std::size_t>> changed;
    for (auto id : ids) {
        auto& e = entries_.at(id);
        // RFC 5321 §4.5.4.1: give up on a recipient that is still not delivered after the queue
        // lifetime. One that was never tried (the server was down all along) gets one attempt.
        const bool expired = now - e.message.envelope.received_at >= options_.queue_lifetime;
        bool any_due = false;
        for (std::size_t r = 0; r < e.message.states.size(); ++r) {
            auto& s = e.message.states[r];
            if (e.busy[r] || !waiting(s) || s.next_attempt > now) continue;
            if (expired && s.attempts > 0) {
                s.status = Status::Failed;
                s.last_reply = "550 5.4.7 message expired: not delivered within " +
                               duration_text(options_.queue_lifetime) + " (queue.lifetime); last attempt: " +
                               s.last_reply;
                log::warn("queue: ", queue::format_queue_id(id), " to <", e.message.envelope.recipients[r].address,
                          "> failed: ", s.last_reply);
                notices[id].push_back({Notice::Action::Failed, r, {}});
                changed[id].push_back(r);
                continue;
            }
            any_due = true;
        }
        if (!any_due) continue;
        if (!e.body) {
            // Opened, not read: the store and the relay read it in bounded chunks, so a large
            // message is never whole in memory here. Its checksum is verified on opening.
            auto body = spool_.open_message(id);
            if (!body) {
                log::error("queue: cannot read message ", queue::format_queue_id(id), ": ", body.error().message);
                for (std::size_t r = 0; r < e.message.states.size(); ++r) {
                    auto& s = e.message.states[r];
                    if (e.busy[r] || !waiting(s) || s.next_attempt > now) continue;
                    s.next_attempt = now + options_.temp_failure_retry;  // not an attempt: no count
                }
                continue;
            }
            e.body = std::move(*body);
        }
        for (std::size_t r = 0; r < e.message.states.size(); ++r) {
            const auto& s = e.message.states[r];
            if (e.busy[r] || !waiting(s) || s.next_attempt > now) continue;
            jobs.push_back(Job{id, r, &e.message.envelope, e.body});
            where.emplace_back(id, r);
        }
    }
    auto outcomes = local_.deliver(jobs, now);

    // Remote recipients, grouped per message and domain: one relay job each.
    std::map<std::pair<queue::QueueId, std::string>, RemoteJob> remote;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        auto [id, r] = where[j];
        auto& e = entries_.at(id);
        auto& outcome = outcomes[j];
        if (outcome.kind == Outcome::Kind::Remote) {
            if (!remote_) {
                record(e, r, Outcome::Kind::Deferred, "451 4.4.0 no relay configured: remote delivery is off; kept in queue",
                       now, notices[id]);
                changed[id].push_back(r);
                continue;
            }
            const auto& rcpt = e.message.envelope.recipients[r];
            auto key = std::make_pair(id, domain_of(rcpt.address));
            auto [it, fresh] = remote.try_emplace(key);
            RemoteJob& job = it->second;
            if (fresh) {
                const auto& env = e.message.envelope;
                job.id = id;
                job.domain = key.second;
                job.sender = env.mail_from;
                job.body = e.body;
                job.smtputf8 = env.smtputf8;
                job.eight_bit = env.body == smtp::BodyType::EightBitMime || env.body == smtp::BodyType::BinaryMime;
                job.ret = ret_text(env.ret);
                job.envid = env.envid;
            }
            job.recipients.push_back({r, rcpt.address, notify_text(rcpt.notify), rcpt.orcpt});
            continue;
        }
        if (outcome.kind == Outcome::Kind::Delivered && !outcome.forward.empty()) {
            // An alias with remote members: their copy is queued (durably) before the recipient is
            // recorded delivered; if that fails, the recipient is tried again (the local copies
            // are not stored twice: redelivery keys).
            if (auto q = queue_forward(e, r, outcome.forward); !q) {
                record(e, r, Outcome::Kind::Deferred, "451 4.3.0 cannot queue the forwarded copy: " + q.error().message,
                       now, notices[id]);
                changed[id].push_back(r);
                continue;
            }
        }
        record(e, r, outcome.kind, outcome.reply, now, notices[id]);
        changed[id].push_back(r);
    }
    for (auto id : ids) {
        auto& e = entries_.at(id);
        notify_and_record(e, std::move(notices[id]), changed[id]);
    }
    for (auto& [key, job] : remote) {
        auto& e = entries_.at(key.first);
        for (const auto& rc : job.recipients) e.busy[rc.index] = true;
        e.jobs_out++;
        const auto id = key.first;
        remote_->deliver(std::move(job), [this, id](std::vector<RemoteResult> results) {
            {
                std::lock_guard lock(mutex_);
                answers_.push_back(RemoteAnswer{id, std::move(results)});
            }
            wake_.notify_one();
        });
    }
    for (auto id : ids) settle(id);
}

void Scheduler::apply_remote(RemoteAnswer& answer) {
    auto it = entries_.find(answer.id);
    if (it == entries_.end()) return;  // cannot happen: an entry with a job out is kept
    Entry& e = it->second;
    const std::int64_t now = now_();
    std::vector<Notice> notices;
    std::vector<std::size_t> changed;
    for (const auto& res : answer.results) {
        if (res.index >= e.busy.size() || !e.busy[res.index]) continue;
        e.busy[res.index] = false;
        Outcome::Kind kind = res.kind == RemoteResult::Kind::Delivered ? Outcome::Kind::Delivered
                             : res.kind == RemoteResult::Kind::Failed  ? Outcome::Kind::Failed
                                                                       : Outcome::Kind::Deferred;
        record(e, res.index, kind, res.reply, now, notices, res.remote_mta);
        // RFC 3461 §5.2.2: the next hop cannot carry a NOTIFY=SUCCESS request further; we answer it.
        const auto& rcpt = e.message.envelope.recipients[res.index];
        if (kind == Outcome::Kind::Delivered && res.relayed_without_dsn && rcpt.notify.specified && rcpt.notify.success) {
            for (auto& n : notices)
                if (n.recipient == res.index && n.action == Notice::Action::Delivered) n.action = Notice::Action::Relayed;
        } else if (kind == Outcome::Kind::Delivered) {
            // Delivered to a next hop that takes the DSN request on: the success notice is its job.
            std::erase_if(notices, [&](const Notice& n) {
                return n.recipient == res.index && n.action == Notice::Action::Delivered;
            });
        }
        changed.push_back(res.index);
    }
    if (e.jobs_out > 0) e.jobs_out--;
    if (e.jobs_out == 0)
        for (std::size_t r = 0; r < e.busy.size(); ++r)
            if (e.busy[r]) {
                e.busy[r] = false;  // a recipient the relay did not answer: try it again later
                record(e, r, Outcome::Kind::Deferred, "451 4.4.0 no result from the relay", now, notices);
                changed.push_back(r);
            }
    notify_and_record(e, std::move(notices), changed);
    settle(answer.id);
}

Result<std::size_t> Scheduler::apply_request(const Request& request) {
    const std::int64_t now = now_();
    std::size_t count = 0;
    bool found = false;
    std::vector<queue::QueueId> touched;
    for (auto& [id, e] : entries_) {
        if (request.id && id != *request.id) continue;
        found = true;
        auto changes = queue::apply(request.op, e.message, now);
        std::erase_if(changes, [&](const auto& c) { return e.busy[c.first]; });
        for (auto& [r, state] : changes) {
            e.message.states[r] = state;
            spool_.update(id, r, state);
        }
        if (!changes.empty()) {
            ++count;
            touched.push_back(id);
            log::info("queue: ", queue::format_queue_id(id), ": ", queue::op_name(request.op), " by the operator (",
                      changes.size(), changes.size() == 1 ? " recipient)" : " recipients)");
        }
    }
    if (request.id && !found)
        return fail("message " + queue::format_queue_id(*request.id) + " is not in the queue", ENOENT);
    for (auto id : touched) settle(id);
    if (auto r = spool_.flush(); !r) return std::unexpected(r.error());
    return count;
}

Result<queue::QueueId> Scheduler::submit_and_wait(queue::Envelope envelope, queue::IncomingBody body,
                                                  std::uint64_t size) {
    std::promise<Result<queue::QueueId>> committed;
    auto done = committed.get_future();
    auto env_copy = envelope;
    spool_.submit(std::move(envelope), std::move(body),
                  [&committed](Result<queue::QueueId> r) { committed.set_value(std::move(r)); });
    auto id = done.get();
    if (!id) return id;
    queue::QueuedMessage m;
    m.id = *id;
    m.envelope = std::move(env_copy);
    m.states.assign(m.envelope.recipients.size(), RecipientState{});
    m.size = size;
    take(std::move(m), nullptr, now_());
    return id;
}

Result<void> Scheduler::queue_forward(Entry& e, std::size_t r, const std::vector<std::string>& to) {
    const auto& env = e.message.envelope;
    const auto& rcpt = env.recipients[r];
    queue::Envelope fwd;
    fwd.mail_from = env.mail_from;  // the original sender hears of failures (RFC 5321 §3.4)
    for (const auto& a : to) {
        queue::Recipient x;
        x.address = a;
        x.notify = rcpt.notify;
        x.orcpt = rcpt.orcpt.empty() ? "rfc822;" + rcpt.address : rcpt.orcpt;  // RFC 3461 §4.2
        fwd.recipients.push_back(std::move(x));
    }
    fwd.ret = env.ret;
    fwd.envid = env.envid;
    fwd.body = env.body;
    fwd.smtputf8 = env.smtputf8;
    fwd.client_ip = "127.0.0.1";
    fwd.helo = options_.hostname;
    fwd.received_at = now_();
    // Copied in bounded chunks (a spill file past the memory limit), never whole in memory.
    queue::IncomingBody body = options_.spill_dir.empty() ? queue::IncomingBody::in_memory({})
                                                          : queue::IncomingBody(options_.spill_dir);
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(e.body->size(), 1u << 20)), '\0');
    for (std::uint64_t done = 0; done < e.body->size();) {
        auto n = e.body->read(done, std::span<char>(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), e.body->size() - done))));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("the queued message ended early", EIO);
        if (auto a = body.append(std::string_view(buf.data(), *n)); !a) return a;
        done += *n;
    }
    if (auto f = body.finish(); !f) return f;
    auto id = submit_and_wait(std::move(fwd), std::move(body), e.body->size());
    if (!id) return std::unexpected(id.error());
    log::info("queue: ", queue::format_queue_id(e.message.id), " to <", rcpt.address, ">: forwarded to ", to.size(),
              " remote address(es) as ", queue::format_queue_id(*id));
    return {};
}

void Scheduler::notify_and_record(Entry& e, std::vector<Notice> notices, const std::vector<std::size_t>& changed) {
    const auto& env = e.message.envelope;
    const std::int64_t now = now_();
    // Never a notice about a notice (RFC 3461 §6.2, RFC 5321 §6.1: the null reverse-path), and
    // only what each recipient's NOTIFY asks for (RFC 3461 §4.1).
    std::erase_if(notices, [&](const Notice& n) {
        return env.mail_from.empty() || !should_notify(env.recipients[n.recipient].notify, dsn_action(n.action));
    });
    // Delayed recipients are marked notified whether or not the sender asked: one decision each.
    for (std::size_t r : changed) {
        auto& s = e.message.states[r];
        if (s.status == Status::Deferred && !s.delay_notified && now - env.received_at >= options_.delay_warning)
            s.delay_notified = true;
    }
    // One notice per kind of event (a bounce lists every failed recipient of this attempt).
    for (auto action : {Notice::Action::Failed, Notice::Action::Delayed, Notice::Action::Delivered,
                        Notice::Action::Relayed}) {
        DsnInput in;
        for (const auto& n : notices) {
            if (n.action != action) continue;
            const auto& rcpt = env.recipients[n.recipient];
            const auto& s = e.message.states[n.recipient];
            DsnRecipient d;
            d.address = rcpt.address;
            d.orcpt = rcpt.orcpt;
            d.action = dsn_action(action);
            d.reply = s.last_reply;
            d.remote_mta = n.remote_mta;
            d.last_attempt = now;
            if (action == Notice::Action::Delayed) d.retry_until = env.received_at + options_.queue_lifetime;
            in.recipients.push_back(std::move(d));
        }
        if (in.recipients.empty()) continue;
        in.reporting_mta = options_.hostname;
        in.envid = env.envid;
        in.original_sender = env.mail_from;
        in.queue_id_text = queue::format_queue_id(e.message.id);
        in.arrival = env.received_at;
        in.now = now;
        in.ret = env.ret;
        in.smtputf8 = env.smtputf8;
        in.original = e.body;
        if (!in.original)
            if (auto b = spool_.open_message(e.message.id)) in.original = *b;
        in.return_limit = options_.bounce_return_limit;
        in.unique = rng_();
        in.unique = (in.unique << 32) ^ rng_();
        const char* what = action == Notice::Action::Failed    ? "failure"
                           : action == Notice::Action::Delayed ? "delay"
                           : action == Notice::Action::Relayed ? "relay"
                                                               : "success";
        Result<queue::QueueId> queued = fail("not built");
        if (auto dsn = build_dsn(in)) {
            queue::Envelope ne;  // RFC 3461 §6.2: from the null reverse-path, to the sender
            ne.recipients.push_back(queue::Recipient{env.mail_from, {}, ""});
            ne.body = dsn->eight_bit ? smtp::BodyType::EightBitMime : smtp::BodyType::Unspecified;
            ne.smtputf8 = dsn->smtputf8;
            ne.client_ip = "127.0.0.1";
            ne.helo = options_.hostname;
            ne.received_at = now;
            const auto size = dsn->message.size();
            queued = submit_and_wait(std::move(ne), queue::IncomingBody::in_memory(std::move(dsn->message)), size);
        } else {
            queued = std::unexpected(dsn.error());
        }
        if (queued) {
            log::info("queue: ", in.queue_id_text, ": ", what, " notice to <", env.mail_from, "> queued as ",
                      queue::format_queue_id(*queued));
            continue;
        }
        log::error("queue: ", in.queue_id_text, ": cannot queue the ", what, " notice: ", queued.error().message);
        // A bounce that was not queued: the recipient is not failed yet; it fails (and the
        // notice is tried) again at the next attempt. A delay notice is tried at the next one.
        for (const auto& n : notices) {
            if (n.action != action) continue;
            auto& s = e.message.states[n.recipient];
            if (action == Notice::Action::Failed) {
                s.status = Status::Deferred;
                s.next_attempt = now + options_.temp_failure_retry;
            } else if (action == Notice::Action::Delayed) {
                s.delay_notified = false;
            }
        }
    }
    for (std::size_t r : changed) spool_.update(e.message.id, r, e.message.states[r]);
}

}  // namespace tern::delivery
