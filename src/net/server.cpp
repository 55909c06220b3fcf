// Asio side of the server: acceptors, per-connection coroutines (co_await read; session.advance();
// co_await write), idle deadlines, connection limits and graceful shutdown on SIGTERM/SIGINT.
// Must never run protocol logic here, and never close a connection that is waiting for its
// message to be committed: the client gets its 250 (or 451) first.
#include "net/server.hpp"

#include <atomic>
#include <cstring>
#include <boost/asio.hpp>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <map>

#include "base/log.hpp"
#include "base/thread.hpp"
#include "net/client_limits.hpp"
#include "net/stream.hpp"

namespace tern::net {

namespace asio = boost::asio;
using asio::ip::tcp;

// A connection's idle deadline without a timer operation per read or write. Reads, writes and
// handshakes only move `deadline` forward (a clock read); one timer sleeps until the deadline,
// and when it wakes early (the deadline moved) it sleeps again. When the deadline has passed it
// cancels the socket's pending operations and marks the connection `expired`. (Racing a timer
// against every read and write with `||` cost two coroutine branches, a timer arm and a
// cancellation per operation: a measurable share of a POP3 RETR.)
struct Watchdog {
    explicit Watchdog(asio::any_io_executor ex) : timer(std::move(ex)) {}
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::seconds idle{0};
    Stream* stream = nullptr;  // null once the connection is finished
    bool reading = false;      // waiting for client input: shutdown may interrupt it
    bool expired = false;      // the deadline passed (the socket's operations were cancelled)
    bool woken = false;        // shutdown interrupted a read

    std::chrono::steady_clock::time_point armed;  // when the timer will wake

    void touch() { deadline = std::chrono::steady_clock::now() + idle; }
    // A deadline that may be earlier than the one the timer sleeps towards: wake it to re-arm.
    void set_deadline(std::chrono::steady_clock::time_point d) {
        deadline = d;
        if (d < armed) timer.cancel();
    }
    // Whether the client is still receiving what we wrote: the kernel's send queue (SIOCOUTQ)
    // holds unacknowledged bytes and shrank since the last look. Progress per write_some() is
    // coarse with a large (autotuned, up to megabytes) send buffer: the kernel wakes a writer
    // only once a third of it has drained, and after the last write_some of a reply (a RETR) the
    // rest still drains while we wait for the next command, which the client cannot send before
    // it has read the reply. Asked only when a deadline passes; a client that stops reading gets
    // at most one more idle period.
    int last_outq = -1;
    bool draining() {
        int queued = 0;
        if (!stream || ::ioctl(stream->socket().native_handle(), SIOCOUTQ, &queued) != 0) return false;
        if (queued <= 0) {
            // Emptied since the last look, which still saw data queued: the client was taking
            // data during the period that just ended, so it gets one more idle period from now
            // (not from our last write). Empty at the previous look too, or never seen holding
            // data since the last write (a small reply), is idleness.
            bool emptied = last_outq > 0;
            last_outq = 0;
            return emptied;
        }
        bool shrank = last_outq < 0 || queued < last_outq;
        last_outq = queued;
        return shrank;
    }
    void cancel_io() {
        boost::system::error_code ignored;
        if (stream) stream->socket().cancel(ignored);
    }
    void wake_reader() {
        if (stream && reading) {
            woken = true;
            cancel_io();
        }
    }
    static asio::awaitable<void> run(std::shared_ptr<Watchdog> self) {
        while (self->stream) {
            self->armed = self->deadline;
            self->timer.expires_at(self->armed);
            co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!self->stream) break;
            if (std::chrono::steady_clock::now() < self->deadline) continue;  // moved on: sleep again
            if (self->draining()) {
                self->touch();  // still taking what we wrote: not idle yet
                continue;
            }
            self->expired = true;
            self->cancel_io();
            self->touch();  // the same time again for the goodbye to be written, then the end
        }
    }
};

// Messages up to this size reach the scheduler from memory (see commit()).
constexpr std::size_t kInlineBody = 1 << 20;

// An IMAP connection as the change notices see it: lives on the connection's thread.
struct MailWatch {
    asio::any_io_executor executor;
    std::shared_ptr<Watchdog> watchdog;
    bool idle = false;     // waiting in IDLE: a notice interrupts the read
    bool changed = false;  // a notice came since the session last looked
    void notify() {
        changed = true;
        if (idle && watchdog->reading) watchdog->cancel_io();
    }
};

struct Server::Impl {
    Options options;
    SmtpServices smtp;
    pop3::Pop3Host* pop3_host = nullptr;
    ImapServices imap;
    // IMAP commands run here, not on the I/O threads: nearly all of them read or write the store
    // (a SEARCH over a large mailbox, a COPY waiting for the writer lock).
    std::unique_ptr<asio::thread_pool> imap_pool;
    std::mutex watch_mutex;  // guards watches
    std::multimap<std::string, std::weak_ptr<MailWatch>, std::less<>> watches;  // by account
    asio::io_context io{1};  // concurrency hint 1: run by one thread only (others may still post to it)
    // One io_context per core, each run by one thread (no strands): a connection lives on one
    // context for its whole life, so its session is only ever touched by that thread. `io` is
    // the first; it also holds the acceptors and signals.
    std::vector<std::unique_ptr<asio::io_context>> extra_contexts;
    // Every context accepts on every listening socket (each through its own dup() of the
    // descriptor), so a connection lives on the thread that accepted it: no hand-off to another
    // thread, and whichever thread is idle takes the next client.
    std::vector<std::pair<std::unique_ptr<tcp::acceptor>, config::Listener>> extra_acceptors;
    asio::thread_pool workers{2};  // password hashing and directory lookups, off the I/O thread
    // Store writes of the sessions (POP3 expunge): they wait for the store's writer lock, which a
    // delivery batch holds through its fsync, so never on an I/O thread. One thread: the writes
    // take one lock anyway, and password checks never queue behind a disk.
    asio::thread_pool store_thread{1};
    asio::signal_set signals{io, SIGINT, SIGTERM};
    asio::signal_set hangup{io, SIGHUP};
    std::function<void()> reload;
    // Failed logins per client key (IPv4 address, IPv6 /64), across sessions and protocols;
    // bounded in time (10 minutes) and in size.
    FailedLogins auth_failures{std::chrono::minutes(10)};
    std::vector<std::pair<tcp::acceptor, config::Listener>> acceptors;
    // The I/O threads share what follows; each connection stays on its own context's thread.
    std::mutex mutex;  // guards live, per_ip, connections, auth_failures
    // Every connection's watchdog, with its context's executor: shutdown wakes those reading.
    std::list<std::pair<std::weak_ptr<Watchdog>, asio::any_io_executor>> live;
    std::map<std::string, std::uint64_t> per_ip;
    std::uint64_t connections = 0;
    std::atomic<std::uint64_t> next_id{0};
    std::atomic<bool> stopping{false};
    std::unique_ptr<ControlServer> control;  // `ternd queue hold ID` & co. while we run

    Impl(Options o, SmtpServices s) : options(std::move(o)), smtp(std::move(s)) {}

    void begin_shutdown() {
        if (stopping.exchange(true)) return;
        std::lock_guard lock(mutex);
        log::info("shutting down: closing listeners, finishing ", connections, " sessions");
        for (auto& [a, l] : acceptors) {
            boost::system::error_code ec;
            a.close(ec);
        }
        for (auto& [a, l] : extra_acceptors)  // closed on their own threads
            asio::post(a->get_executor(), [acc = a.get()] {
                boost::system::error_code ec;
                acc->close(ec);
            });
        // Runs on each connection's own thread: a session waiting for input is woken (and says
        // goodbye); one that is busy notices `stopping` before its next read.
        for (auto& [watchdog, executor] : live)
            asio::post(executor, [w = watchdog] {
                if (auto alive = w.lock()) alive->wake_reader();
            });
        signals.cancel();
        hangup.cancel();
        if (control) control->close();
    }

    // `key` is the client's client_key() (its IPv4 address or IPv6 /64).
    bool ip_blocked(const std::string& key) {
        std::lock_guard lock(mutex);
        return auth_failures.recent(key, std::chrono::steady_clock::now()) >= options.auth_failures_per_ip;
    }

    // A growing delay before a failed login is answered: 1, 2, 4, 8 s (more from a noisy IP).
    asio::awaitable<void> failure_delay(const std::string& key, unsigned session_failures) {
        unsigned exponent;
        {
            std::lock_guard lock(mutex);
            auto recent = auth_failures.add(key, std::chrono::steady_clock::now());
            exponent = std::min(3u, session_failures - 1 + static_cast<unsigned>(recent / 5));
        }
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(1u << exponent));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }

    asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, config::Listener listener);
    template <class S>
    asio::awaitable<void> drive(S& session, Stream& stream, const std::string& key, bool implicit_tls,
                                std::chrono::seconds idle, const char* tag);
    // `peer` is the client's address, `key` what it is counted under (client_key()).
    asio::awaitable<void> smtp_connection(tcp::socket socket, smtp::ListenerKind kind, std::string peer, std::string key);
    asio::awaitable<void> pop3_connection(tcp::socket socket, bool implicit_tls, std::string peer, std::string key);
    asio::awaitable<void> imap_connection(tcp::socket socket, bool implicit_tls, std::string peer, std::string key);
    asio::awaitable<Result<queue::QueueId>> commit(smtp::PendingCommit commit);
    void mail_changed(std::string_view account) {
        std::lock_guard lock(watch_mutex);
        auto [b, e] = watches.equal_range(account);
        for (auto it = b; it != e;) {
            if (auto w = it->second.lock()) {
                asio::post(w->executor, [w] { w->notify(); });
                ++it;
            } else {
                it = watches.erase(it);
            }
        }
    }
};

namespace {

smtp::ListenerKind kind_of(const std::string& proto) {
    if (proto == "submission") return smtp::ListenerKind::Submission;
    if (proto == "submissions") return smtp::ListenerKind::Submissions;
    return smtp::ListenerKind::Smtp;
}

// Writes all of `data`; false if the peer is gone.
asio::awaitable<bool> write_all(tcp::socket& socket, const std::string& data) {
    if (data.empty()) co_return true;
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return !ec;
}

}  // namespace

asio::awaitable<Result<queue::QueueId>> Server::Impl::commit(smtp::PendingCommit c) {
    auto executor = co_await asio::this_coro::executor;
    // Impl outlives every session, and its services are fixed once run() starts: no copies.
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<queue::QueueId>)>(
        [this, executor, &c](auto handler) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            auto envelope = c.envelope;  // the scheduler's copy; the spool takes the original
            auto size = c.message.size();
            // Small messages go to the scheduler from memory; big ones it reads back from the
            // spool rather than holding a second copy while it works.
            base::ByteSourceRef body;
            if (!c.message.spilled() && size <= kInlineBody) body = base::bytes_from_string(c.message.memory());
            smtp.spool->submit(
                std::move(c.envelope), std::move(c.message),
                [this, h, executor, envelope = std::move(envelope), size, body = std::move(body)](Result<queue::QueueId> r) mutable {
                    // Spool writer thread: the message is on disk (or failed). The session's
                    // reply goes first; the scheduler's hand-off can follow.
                    std::optional<queue::QueueId> id;
                    if (r) id = *r;
                    asio::post(executor, [h, r = std::move(r)]() mutable { std::move (*h)(std::move(r)); });
                    if (id && smtp.on_committed) {
                        queue::QueuedMessage m;
                        m.id = *id;
                        m.envelope = std::move(envelope);
                        m.states.resize(m.envelope.recipients.size());
                        m.size = size;
                        smtp.on_committed(std::move(m), std::move(body));
                    }
                });
        },
        asio::use_awaitable);
}

// The one read/act/write loop every protocol session runs through (SMTP, POP3): sessions are
// pure state machines, this drives their requests (TLS, password checks, commits) and deadlines.
template <class S>
asio::awaitable<void> Server::Impl::drive(S& session, Stream& stream, const std::string& key, bool implicit_tls,
                                          std::chrono::seconds idle, const char* tag) {
    auto executor = co_await asio::this_coro::executor;
    auto watchdog = std::make_shared<Watchdog>(executor);
    watchdog->idle = idle;
    watchdog->stream = &stream;
    watchdog->touch();
    asio::co_spawn(executor, Watchdog::run(watchdog), asio::detached);
    std::list<std::pair<std::weak_ptr<Watchdog>, asio::any_io_executor>>::iterator registered;
    {
        std::lock_guard lock(mutex);
        registered = live.insert(live.end(), {watchdog, executor});
    }
    // Runs on every way out of this coroutine: the watchdog stops and shutdown forgets us.
    struct Finish {
        Impl* self;
        std::shared_ptr<Watchdog> w;
        decltype(registered) it;
        ~Finish() {
            w->stream = nullptr;
            w->timer.cancel();
            std::lock_guard lock(self->mutex);
            self->live.erase(it);
        }
    } finish{this, watchdog, registered};

    std::array<char, 4096> buffer;
    using Next = typename S::Next;
    std::shared_ptr<MailWatch> watch;  // IMAP, once logged in: change notices for its account
    // Every write and handshake runs against the idle deadline too: a client that stops reading
    // (or stalls a TLS handshake) is dropped like an idle one. Shutdown wakes only sessions that
    // wait for input (see the read below), so a reply being written is never cut short.
    auto write = [&](std::string_view data) -> asio::awaitable<bool> {
        if (data.empty()) co_return true;
        watchdog->touch();
        // Each chunk the client took moves the deadline: only a write that stops progressing
        // for the idle time is cancelled by the watchdog, not a long one to a slow reader.
        co_return co_await stream.write(data, [&] {
            watchdog->touch();
            watchdog->last_outq = -1;  // a new reply to drain: draining() starts afresh
        });
    };
    auto handshake = [&]() -> asio::awaitable<bool> {
        watchdog->touch();
        auto ec = co_await stream.handshake(options.tls->context());
        co_return !ec;
    };

    // RFC 8314 §3.3: on implicit-TLS ports the handshake comes before the greeting.
    if (implicit_tls && !co_await handshake()) {
        log::info(tag, "[", session.id(), "] TLS handshake failed or timed out");
        co_return;
    }
    if (!co_await write(session.greeting())) co_return;
    unsigned failures_seen = 0;
    // Deadlines beyond the idle one, against clients that keep a slot by trickling bytes (each
    // byte used to move the idle deadline, so one every few seconds held a connection for ever).
    // Chosen like Postfix's smtpd_timeout with smtpd_per_record_deadline and
    // smtpd_min_data_rate, so that a slow but real client on a bad mobile link still gets through:
    //  - a command line (SMTP, POP3, and AUTH exchange lines) must be complete within the idle
    //    timeout of its first byte, not of its last one: a few hundred octets need no minutes;
    //  - a message (DATA, or the BDAT chunks of one transaction) may take the idle timeout plus
    //    one second per `min_data_rate` octets received (500 by default: 50 MB in ~28 hours, while
    //    even 2G/EDGE moves several KB/s): a minimum average rate after a grace period, which
    //    a client that pauses now and then keeps, and one that trickles a byte a second does not.
    // Either ends the session like the idle timeout: 421 4.4.2 (RFC 5321 §4.5.3.2, RFC 3463),
    // "-ERR" for POP3. The session tells which bytes are a message only through
    // receiving_message() (SMTP); POP3 has no message phase.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> line_start;     // first byte of the unfinished command line
    std::optional<Clock::time_point> message_start;  // this transaction's first DATA/BDAT octet was awaited
    std::uint64_t message_bytes = 0;                 // octets read since message_start
    Clock::time_point last_input = Clock::now();     // when the last read completed
    bool last_had_lf = false;                        // it held a line end
    bool last_unfinished = false;                    // it ended inside a line
    for (;;) {
        // Sessions run on the I/O thread, store reads included: the store is WAL-mode SQLite,
        // where readers never wait for writers. (Moving POP3 to the worker pool cost 25-40% of
        // its throughput in bench/pop3_bench.sh.) Store writes go to store_thread (Expunge).
        typename S::Action action;
        if constexpr (requires { S::kRunsOffIoThread; }) {
            // IMAP: the command runs on the IMAP pool (it calls the store), then we are back here.
            if (watch) watch->changed = false;  // the session looks at the mailbox now
            action = co_await asio::co_spawn(
                *imap_pool, [&]() -> asio::awaitable<typename S::Action> { co_return session.advance(); },
                asio::use_awaitable);
            if (!watch && session.authenticated()) {
                watch = std::make_shared<MailWatch>(MailWatch{executor, watchdog});
                std::lock_guard lock(watch_mutex);
                watches.emplace(session.account(), watch);
            }
            idle = session.idle_timeout();  // RFC 9051 §5.4: longer once logged in
            watchdog->idle = idle;
        } else {
            action = session.advance();
        }
        if (session.auth_failures() > failures_seen) {
            failures_seen = session.auth_failures();
            co_await failure_delay(key, failures_seen);
        }
        if (!co_await write(action.output)) co_return;
        if constexpr (requires { Next::Commit; }) {
            if (action.next == Next::Commit) {
                auto result = co_await commit(session.take_commit());
                session.committed(result);
                continue;
            }
        }
        if constexpr (requires { Next::Continue; }) {
            if (action.next == Next::Continue) continue;
        }
        if constexpr (requires { Next::Expunge; }) {
            if (action.next == Next::Expunge) {
                // RFC 1939 §6 UPDATE: the expunge waits for the store's writer lock (a delivery
                // batch and its fsync, an admin import), so it runs on the store thread while this
                // I/O thread serves its other connections; the session answers QUIT afterwards.
                auto request = session.take_expunge();
                auto result = co_await asio::co_spawn(
                    store_thread,
                    [&]() -> asio::awaitable<Result<void>> { co_return pop3_host->expunge(request.account, request.uids); },
                    asio::use_awaitable);
                session.expunged(result);
                continue;
            }
        }
        if (action.next == Next::Close) co_return;
        if constexpr (requires { Next::StartCompress; }) {
            if (action.next == Next::StartCompress) {
                // RFC 4978 §3: the OK just written went out uncompressed; all after it is deflated.
                if (!stream.start_compress(session.take_unread())) {
                    log::info(tag, "[", session.id(), "] input pipelined behind COMPRESS: closing");
                    co_return;
                }
                continue;
            }
        }
        if (action.next == Next::StartTls) {
            if (!co_await handshake()) {
                log::info(tag, "[", session.id(), "] TLS handshake failed or timed out");
                co_return;
            }
            session.tls_started();
            continue;
        }
        if (action.next == Next::VerifyPassword) {
            auto check = session.take_password_check();
            bool verified = false;
            // A client IP with too many recent failures is refused without a check, on the same
            // path (and after the same delay) as a wrong password.
            if (!ip_blocked(key) && smtp.verify_password)
                verified = co_await asio::co_spawn(
                    workers, [&]() -> asio::awaitable<bool> { co_return smtp.verify_password(check.user, check.password); },
                    asio::use_awaitable);
            check.password.assign(check.password.size(), '\0');
            session.password_checked(verified);
            continue;
        }
        if (action.next == Next::LookupScram) {
            std::string user = session.scram_user();
            std::optional<sasl::ScramCredentials> creds;
            if (!ip_blocked(key) && smtp.scram_credentials)
                creds = co_await asio::co_spawn(
                    workers,
                    [&]() -> asio::awaitable<std::optional<sasl::ScramCredentials>> { co_return smtp.scram_credentials(user); },
                    asio::use_awaitable);
            session.scram_credentials(std::move(creds));
            continue;
        }
        if constexpr (requires { session.set_logins_refused(true); }) session.set_logins_refused(ip_blocked(key));
        // No suspension between this check and the read below: a shutdown wake posted to this
        // thread runs either before the check (seen here) or during the read (interrupts it).
        if (stopping) {
            co_await write(session.shutdown_reply());
            co_return;
        }
        auto now = Clock::now();
        auto deadline = now + idle;
        const char* bound = nullptr;  // which deadline is the nearest, when not the idle one
        bool in_message = false;
        if constexpr (requires { session.receiving_message(); }) {
            in_message = session.receiving_message();
            if (!session.in_transaction()) message_start.reset();
            else if (in_message && !message_start) {
                message_start = now;
                message_bytes = 0;
            }
        }
        bool partial_line = !in_message && (session.buffered() > 0 || last_unfinished);
        if (!partial_line) line_start.reset();
        else if (!line_start || last_had_lf) line_start = last_input;  // the line began in the last read
        if (line_start && *line_start + idle < deadline) {
            deadline = *line_start + idle;
            bound = "command line not complete within the idle timeout";
        }
        if (message_start && options.min_data_rate) {
            auto allowed = *message_start + idle + std::chrono::seconds(message_bytes / options.min_data_rate);
            if (allowed < deadline) {
                deadline = allowed;
                bound = "message data slower than limits.min_data_rate";
            }
        }
        watchdog->set_deadline(deadline);
        watchdog->expired = false;  // a firing while nothing waited (a long commit) is stale now
        // IMAP IDLE (RFC 9051 §6.3.13): a change notice, or the poll timer (changes made by other
        // processes), interrupts the read so the session can send the updates.
        std::optional<asio::steady_timer> poll;
        bool idling = false;
        if constexpr (requires { Next::Idle; }) {
            idling = action.next == Next::Idle && watch;
            if (idling) {
                if (watch->changed) continue;  // a notice came while the command ran
                watch->idle = true;
                poll.emplace(executor, std::chrono::seconds(std::max(1u, options.imap_poll_seconds)));
                poll->async_wait([w = watch](const boost::system::error_code& ec) {
                    if (!ec && w->idle) w->notify();
                });
            }
        }
        watchdog->reading = true;
        auto [ec, n] = co_await stream.read_some(asio::buffer(buffer));
        watchdog->reading = false;
        if (idling) {
            watch->idle = false;
            poll->cancel();
            if (ec == asio::error::operation_aborted && watch->changed && !watchdog->expired && !watchdog->woken)
                continue;  // woken by a change: advance() sends the updates, then we wait again
        }
        if (watchdog->expired || watchdog->woken) {
            if (watchdog->expired && bound) log::info(tag, "[", session.id(), "] ", bound);
            // Idle timeout, or shutdown woke us. (Not a ?: inside co_await: g++ 12 destroys such
            // temporaries twice.)
            std::string bye;
            if (watchdog->expired) bye = session.timeout_reply();
            else bye = session.shutdown_reply();
            co_await write(bye);
            co_return;
        }
        if (ec) co_return;  // peer closed or reset; an unfinished transaction is simply dropped
        last_input = Clock::now();
        if (message_start) message_bytes += n;
        last_had_lf = std::memchr(buffer.data(), '\n', n) != nullptr;
        last_unfinished = n > 0 && buffer[n - 1] != '\n';
        session.receive(std::string_view(buffer.data(), n));
    }
}

asio::awaitable<void> Server::Impl::smtp_connection(tcp::socket socket, smtp::ListenerKind kind, std::string peer,
                                                    std::string key) {
    char id[17];
    std::snprintf(id, sizeof id, "%08llX", static_cast<unsigned long long>(++next_id));
    smtp::SessionConfig cfg;
    cfg.hostname = options.hostname;
    cfg.kind = kind;
    cfg.limits = options.smtp_limits;
    cfg.spill_dir = options.spill_dir;
    cfg.tls_available = options.tls != nullptr && kind != smtp::ListenerKind::Submissions;
    cfg.tls_active = kind == smtp::ListenerKind::Submissions;
    cfg.allow_plaintext_auth = options.allow_plaintext_auth;
    cfg.scram_secret = options.scram_secret;
    smtp::Session session(cfg, *smtp.host, peer, id);
    log::info("smtp[", id, "] connect from ", peer);
    Stream stream(std::move(socket));
    co_await drive(session, stream, key, cfg.tls_active, std::chrono::seconds(cfg.limits.idle_timeout_seconds), "smtp");
    stream.close();
    log::info("smtp[", id, "] disconnect");
}

asio::awaitable<void> Server::Impl::pop3_connection(tcp::socket socket, bool implicit_tls, std::string peer,
                                                    std::string key) {
    char id[17];
    std::snprintf(id, sizeof id, "%08llX", static_cast<unsigned long long>(++next_id));
    pop3::SessionConfig cfg;
    cfg.hostname = options.hostname;
    // RFC 1939 §7: the APOP timestamp must be unique per greeting.
    cfg.unique_token = std::to_string(::getpid()) + "." + id + "." +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count());
    cfg.tls_available = options.tls != nullptr && !implicit_tls;
    cfg.tls_active = implicit_tls;
    cfg.allow_plaintext_auth = options.allow_plaintext_auth;
    cfg.sasl_fake_secret = options.scram_secret;
    cfg.limits.idle_timeout_seconds = options.pop3_idle_timeout ? options.pop3_idle_timeout : 600;
    pop3::Session session(cfg, *pop3_host, id);
    log::info("pop3[", id, "] connect from ", peer);
    Stream stream(std::move(socket));
    co_await drive(session, stream, key, implicit_tls, std::chrono::seconds(cfg.limits.idle_timeout_seconds), "pop3");
    session.abort();  // after QUIT a no-op; otherwise unlock and delete nothing (RFC 1939 §6)
    stream.close();
    log::info("pop3[", id, "] disconnect");
}

asio::awaitable<void> Server::Impl::imap_connection(tcp::socket socket, bool implicit_tls, std::string peer,
                                                    std::string key) {
    char id[17];
    std::snprintf(id, sizeof id, "%08llX", static_cast<unsigned long long>(++next_id));
    imap::SessionConfig cfg;
    cfg.hostname = options.hostname;
    cfg.tls_available = options.tls != nullptr && !implicit_tls;
    cfg.tls_active = implicit_tls;
    cfg.allow_plaintext_auth = options.allow_plaintext_auth;
    cfg.sasl_fake_secret = options.scram_secret;
    cfg.compress_available = true;  // Stream::start_compress (RFC 4978)
    if (options.imap_idle_timeout) cfg.limits.idle_after_login = std::chrono::seconds(options.imap_idle_timeout);
    cfg.summaries = options.imap_summaries;
    imap::Session session(cfg, *imap.store, *imap.host, id);
    log::info("imap[", id, "] connect from ", peer);
    Stream stream(std::move(socket));
    co_await drive(session, stream, key, implicit_tls, session.idle_timeout(), "imap");
    session.abort();
    stream.close();
    log::info("imap[", id, "] disconnect");
}

asio::awaitable<void> Server::Impl::accept_loop(tcp::acceptor& acceptor, config::Listener listener) {
    auto context = acceptor.get_executor();
    tcp::endpoint endpoint;  // filled by accept(2) itself: no getpeername(2) per connection
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(endpoint, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (stopping || ec == asio::error::operation_aborted) co_return;
            // Out of descriptors (EMFILE/ENFILE) or memory: back off instead of spinning, and
            // say so at most once a second.
            log::warn("accept on ", listener.address, ":", listener.port, ": ", ec.message());
            asio::steady_timer pause(acceptor.get_executor(),
                                     std::chrono::milliseconds(ec == asio::error::no_descriptors ? 1000 : 50));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        std::string ip = endpoint.address().to_string();
        bool is_pop3 = listener.proto == "pop3" || listener.proto == "pop3s";
        bool is_imap = listener.proto == "imap" || listener.proto == "imaps";
        if ((is_imap && !imap.store) || (is_pop3 && !pop3_host)) {
            // A listener without its services (a test server): the protocol's own refusal
            // (RFC 9051 §7.1.5 BYE, RFC 2449 §8.1.2 [SYS/PERM]).
            static const std::string imap_refusal = "* BYE IMAP is not available\r\n";
            static const std::string pop3 = "-ERR [SYS/PERM] POP3 is not available\r\n";
            log::warn(listener.proto, " connection from ", ip, " refused: not available");
            const std::string& refusal = is_pop3 ? pop3 : imap_refusal;
            co_spawn(context, [s = std::move(socket), &refusal]() mutable -> asio::awaitable<void> {
                co_await write_all(s, refusal);
            }, asio::detached);
            continue;
        }
        // Counted per client key: an IPv6 /64 is one client (see client_key()).
        std::string key = client_key(endpoint.address());
        std::unique_lock lock(mutex);
        auto from_ip = per_ip.find(key);
        if (connections >= options.max_connections ||
            (from_ip != per_ip.end() && from_ip->second >= options.max_connections_per_ip)) {
            lock.unlock();
            // RFC 5321 §3.8: 421 and close when the service is not available to this client now.
            static const std::string busy = "421 4.7.0 Too many connections, try again later\r\n";
            log::warn("connection from ", ip, " refused: connection limit");
            co_spawn(context, [s = std::move(socket)]() mutable -> asio::awaitable<void> {
                co_await write_all(s, busy);
            }, asio::detached);
            continue;
        }
        ++connections;
        ++per_ip[key];
        lock.unlock();
        auto session = is_pop3   ? pop3_connection(std::move(socket), listener.proto == "pop3s", ip, key)
                       : is_imap ? imap_connection(std::move(socket), listener.proto == "imaps", ip, key)
                                 : smtp_connection(std::move(socket), kind_of(listener.proto), ip, key);
        co_spawn(context, std::move(session),
                 [this, key](std::exception_ptr e) {
                     if (e) {
                         try { std::rethrow_exception(e); }
                         catch (const std::exception& ex) { log::error("session error: ", ex.what()); }
                     }
                     std::lock_guard lock(mutex);
                     --connections;
                     if (--per_ip[key] == 0) per_ip.erase(key);
                 });
        // Let the new session start (its greeting) before accepting again, so that a burst of
        // clients spreads over the threads instead of piling onto the first one that woke.
        co_await asio::post(context, asio::use_awaitable);
    }
}

Server::Server(Options options, SmtpServices smtp) : impl_(std::make_unique<Impl>(std::move(options), std::move(smtp))) {}
Server::~Server() = default;

Result<void> Server::listen(const std::vector<config::Listener>& listeners) {
    for (const auto& l : listeners) {
        boost::system::error_code ec;
        auto address = asio::ip::make_address(l.address, ec);
        if (ec) return fail("listener " + l.proto + ": bad address '" + l.address + "'");
        tcp::endpoint endpoint(address, l.port);
        tcp::acceptor acceptor(impl_->io);
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(endpoint, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return fail("cannot listen on " + l.address + ":" + std::to_string(l.port) + " (" + l.proto + "): " + ec.message());
        impl_->acceptors.emplace_back(std::move(acceptor), l);
    }
    return {};
}

void Server::run() {
    auto& im = *impl_;
    for (auto& [acceptor, listener] : im.acceptors) co_spawn(im.io, im.accept_loop(acceptor, listener), asio::detached);
    im.signals.async_wait([&im](const boost::system::error_code& ec, int sig) {
        if (!ec) {
            log::info("signal ", sig, " received");
            im.begin_shutdown();
        }
    });
    std::function<void(const boost::system::error_code&, int)> on_hup = [&im, &on_hup](const boost::system::error_code& ec, int) {
        if (ec) return;
        log::info("SIGHUP received: reloading");
        if (im.reload) im.reload();
        im.hangup.async_wait(on_hup);
    };
    im.hangup.async_wait(on_hup);
    if (im.control) im.control->start();
    // The sessions' work spreads over the cores: one io_context and thread per core, each
    // accepting for itself. (A single io_context run by several threads would need a strand
    // per connection; with g++ 12 that crashed in Asio's handler bookkeeping.)
    unsigned wanted = im.options.io_threads ? im.options.io_threads : std::thread::hardware_concurrency();
    unsigned extra = std::max(1u, wanted) - 1;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (unsigned i = 0; i < extra; ++i) {
        im.extra_contexts.push_back(std::make_unique<asio::io_context>(1));
        guards.push_back(asio::make_work_guard(*im.extra_contexts.back()));
    }
    for (auto& c : im.extra_contexts) {
        for (auto& [acceptor, listener] : im.acceptors) {
            int fd = ::dup(acceptor.native_handle());
            boost::system::error_code ec;
            if (fd >= 0) {
                auto a = std::make_unique<tcp::acceptor>(*c);
                a->assign(acceptor.local_endpoint().protocol(), fd, ec);
                if (ec) ::close(fd);
                else {
                    co_spawn(*c, im.accept_loop(*a, listener), asio::detached);
                    im.extra_acceptors.emplace_back(std::move(a), listener);
                    continue;
                }
            }
            // Not fatal: the first context still accepts on this listener.
            log::warn("listener ", listener.proto, ": no second accepting thread (", ec ? ec.message() : "dup failed", ")");
        }
    }
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < im.extra_contexts.size(); ++i)
        threads.emplace_back([ctx = im.extra_contexts[i].get(), i] {
            base::name_this_thread("tern-io-" + std::to_string(i + 1));
            ctx->run();
        });
    base::name_this_thread("tern-io-0");
    im.io.run();
    guards.clear();  // the other contexts return once their sessions have finished
    for (auto& t : threads) t.join();
    im.workers.join();
    im.store_thread.join();
    if (im.imap_pool) im.imap_pool->join();
    im.control.reset();  // removes the socket file
}

void Server::on_reload(std::function<void()> fn) { impl_->reload = std::move(fn); }

Result<void> Server::serve_control(const std::filesystem::path& path, ControlHandler handler) {
    auto control = std::make_unique<ControlServer>(impl_->io, std::move(handler));
    if (auto r = control->listen(path); !r) return r;
    impl_->control = std::move(control);
    return {};
}

void Server::configure(Options options, SmtpServices smtp, pop3::Pop3Host* pop3, ImapServices imap) {
    impl_->options = std::move(options);
    impl_->smtp = std::move(smtp);
    impl_->pop3_host = pop3;
    impl_->imap = imap;
    if (imap.store && !impl_->imap_pool)
        impl_->imap_pool = std::make_unique<asio::thread_pool>(std::max(1u, impl_->options.imap_threads));
}

void Server::mail_changed(std::string_view account) { impl_->mail_changed(account); }

void Server::stop() {
    asio::post(impl_->io, [im = impl_.get()] { im->begin_shutdown(); });
}

}  // namespace tern::net
