// The relay engine (see relay.hpp): destinations with their queues and connection slots, one
// coroutine per outbound connection driving a client::smtp::Session, timeouts, STARTTLS and
// reuse. Everything runs on the relay's one io_context thread; deliver() and stop() post to it.
// Must never run protocol logic here (the session decides), never block, and never report a
// recipient Delivered without the session's 2xx to its RCPT and to the end of the data.
#include "relay/relay.hpp"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "base/log.hpp"
#include "base/thread.hpp"
#include "client/smtp/session.hpp"
#include "net/dns.hpp"
#include "queue/inspect.hpp"

namespace tern::relay {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using delivery::RemoteJob;
using delivery::RemoteResult;
namespace smtp = client::smtp;

std::optional<TlsPolicy> parse_tls_policy(std::string_view text) {
    if (text == "none") return TlsPolicy::None;
    if (text == "opportunistic") return TlsPolicy::Opportunistic;
    if (text == "required") return TlsPolicy::Required;
    if (text == "implicit") return TlsPolicy::Implicit;
    return std::nullopt;
}

namespace {

using Done = std::function<void(std::vector<RemoteResult>)>;

struct JobState {
    RemoteJob job;
    Done done;
    bool answered = false;
};
using JobPtr = std::shared_ptr<JobState>;

struct Conn;

// An idle connection waiting (relay.idle_reuse) for another message to the same destination. It
// reads meanwhile, so a server that ends the session (421, close) is noticed before a message is
// put on it; a job handed over or the end of the wait cancels that read.
struct IdleSlot {
    explicit IdleSlot(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    std::weak_ptr<Conn> conn;
    JobPtr handed;  // set by pump() before it wakes the connection
    void wake();
};

struct Destination {
    std::string key;                 // the domain, or "[smarthost]"
    std::deque<JobPtr> waiting;      // jobs without a connection yet
    std::size_t active = 0;          // connections (being) opened
    bool degraded = false;           // the last connection reached no host: one at a time
    std::list<std::shared_ptr<IdleSlot>> idle;
};

// One outbound connection: a socket that may become TLS, and a deadline that closes it.
struct Conn {
    explicit Conn(asio::io_context& io) : plain(io), timer(io) {}
    std::optional<tcp::socket> plain;
    std::unique_ptr<ssl::stream<tcp::socket>> tls;
    asio::steady_timer timer;
    std::uint64_t generation = 0;  // which deadline is current
    bool timed_out = false;

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
    void close() {
        boost::system::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }
};

void IdleSlot::wake() {
    timer.cancel();
    if (auto c = conn.lock()) {
        boost::system::error_code ignored;
        c->socket().cancel(ignored);
    }
}

void arm(const std::shared_ptr<Conn>& c, std::chrono::milliseconds d) {
    const std::uint64_t g = ++c->generation;
    c->timed_out = false;
    c->timer.expires_after(d);
    c->timer.async_wait([c, g](boost::system::error_code ec) {
        if (ec || g != c->generation) return;
        c->timed_out = true;
        c->close();  // whatever waits on the socket fails now
    });
}
void disarm(const std::shared_ptr<Conn>& c) {
    ++c->generation;
    c->timer.cancel();
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "550 5.1.1 <x>: no such user": one line, as a DSN's Diagnostic-Code and the log want it.
std::string format(const smtp::Status& s) {
    std::string out = std::to_string(s.code);
    if (!s.enhanced.empty()) out += " " + s.enhanced;
    if (!s.text.empty()) {
        std::string text = s.text;
        std::replace(text.begin(), text.end(), '\n', ' ');
        out += " " + text;
    }
    return out;
}

bool wants_success(std::string_view notify) {
    std::string n(notify);
    for (auto& c : n)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return n.find("SUCCESS") != std::string::npos;
}

// The callback APIs of the resolver as awaitables; the answer is posted, never run inline.
template <class T, class Start>
asio::awaitable<T> await_callback(asio::io_context& io, Start start) {
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        [&io, start = std::move(start)](auto handler) mutable {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            start([&io, h](T value) {
                asio::post(io, [h, v = std::move(value)]() mutable { (*h)(std::move(v)); });
            });
        },
        asio::use_awaitable);
}

}  // namespace

struct Relay::Impl {
    Options options;
    std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::unique_ptr<net::DnsResolver> resolver;
    std::shared_ptr<ssl::context> tls_context;
    std::thread thread;
    std::mt19937 rng{std::random_device{}()};

    std::mutex mutex;      // guards stopped (deliver() and stop() may come from any thread)
    bool stopped = false;
    std::atomic<std::uint64_t> opened{0};

    // The io thread's state.
    bool stopping = false;
    std::map<std::string, std::shared_ptr<Destination>, std::less<>> destinations;
    std::set<JobPtr> live;                      // accepted and not answered
    std::set<std::shared_ptr<Conn>> conns;      // open connections (closed by stop)
    std::size_t total_active = 0;

    explicit Impl(Options o) : options(std::move(o)) {}

    ~Impl() {
        // The thread is gone. What the io_context still holds (suspended coroutines) is destroyed
        // with it, after the state they point to has let go of its sockets and timers.
        destinations.clear();
        conns.clear();
        live.clear();
        resolver.reset();
        io.reset();
    }

    std::string destination_key(const std::string& domain) const {
        if (options.routes.contains(domain)) return domain;
        if (options.smarthost) return "[smarthost]";
        return domain;
    }

    // ---- answers ----

    void answer(const JobPtr& j, std::vector<RemoteResult> results, const std::string& relay_text) {
        if (j->answered) return;
        j->answered = true;
        live.erase(j);
        const std::string id = queue::format_queue_id(j->job.id);
        for (std::size_t i = 0; i < results.size() && i < j->job.recipients.size(); ++i) {
            const char* status = results[i].kind == RemoteResult::Kind::Delivered ? "sent"
                                 : results[i].kind == RemoteResult::Kind::Failed  ? "bounced"
                                                                                  : "deferred";
            log::info("relay: ", id, " to=<", j->job.recipients[i].address, "> relay=", relay_text, " status=", status,
                      " (", results[i].reply, ")");
        }
        auto done = std::move(j->done);
        if (done) done(std::move(results));
    }

    void answer_all(const JobPtr& j, RemoteResult::Kind kind, const std::string& reply, const std::string& mta,
                    const std::string& relay_text) {
        std::vector<RemoteResult> results;
        for (const auto& r : j->job.recipients) {
            RemoteResult x;
            x.kind = kind;
            x.index = r.index;
            x.reply = reply;
            x.remote_mta = mta;
            results.push_back(std::move(x));
        }
        answer(j, std::move(results), relay_text);
    }

    // ---- destinations and slots ----

    void accept(JobPtr j) {
        live.insert(j);
        if (stopping) {
            answer_all(j, RemoteResult::Kind::Deferred, "451 4.3.2 shutting down", "", "none");
            return;
        }
        if (j->job.recipients.empty()) {
            answer(j, {}, "none");
            return;
        }
        const std::string key = destination_key(j->job.domain);
        auto& entry = destinations[key];
        if (!entry) {
            entry = std::make_shared<Destination>();
            entry->key = key;
        }
        const std::shared_ptr<Destination> d = entry;  // the map entry may go while d is in use
        d->waiting.push_back(std::move(j));
        pump(d);
    }

    // Hands waiting jobs to idle connections, then opens connections while the limits allow.
    void pump(std::shared_ptr<Destination> d) {
        if (stopping) return;
        while (!d->waiting.empty() && !d->idle.empty()) {
            auto slot = d->idle.front();
            d->idle.pop_front();
            slot->handed = d->waiting.front();
            d->waiting.pop_front();
            slot->wake();
        }
        const std::size_t limit = d->degraded ? 1 : std::max<std::size_t>(1, options.connections_per_destination);
        while (!d->waiting.empty() && d->active < limit && total_active < std::max<std::size_t>(1, options.connections)) {
            JobPtr j = d->waiting.front();
            d->waiting.pop_front();
            ++d->active;
            ++total_active;
            // Started from a fresh handler, never inside this loop: a connection that ends at
            // once (a routing verdict) calls slot_freed(), which may erase destinations.
            asio::post(*io, [this, d, j = std::move(j)]() mutable {
                asio::co_spawn(*io, connection(d, std::move(j)), [](std::exception_ptr e) {
                    if (!e) return;
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        log::error("relay: connection task failed: ", x.what());
                    }
                });
            });
        }
    }

    void slot_freed(std::shared_ptr<Destination> d) {
        --d->active;
        --total_active;
        if (stopping) return;
        pump(d);
        // A slot under the total limit may now be free for another destination.
        std::vector<std::shared_ptr<Destination>> others;
        for (auto& [key, other] : destinations)
            if (other != d && !other->waiting.empty()) others.push_back(other);
        for (auto& other : others) pump(other);
        if (d->active == 0 && d->waiting.empty() && d->idle.empty() && (!d->degraded || destinations.size() > 10000))
            destinations.erase(d->key);
    }

    // ---- routing ----

    asio::awaitable<std::shared_ptr<const delivery::DnsView>> lookup(const std::string& domain) {
        if (options.dns) co_return options.dns;
        auto& io_ref = *io;
        std::optional<delivery::HostPort> configured;
        if (auto it = options.routes.find(domain); it != options.routes.end()) configured = it->second;
        else if (options.smarthost) configured = options.smarthost;
        if (!configured) {
            co_return co_await await_callback<std::shared_ptr<delivery::StaticDns>>(io_ref, [&](auto cb) {
                resolver->prefetch_for_route(domain, options.ipv4_only, cb);
            });
        }
        auto dns = std::make_shared<delivery::StaticDns>();
        if (is_ip_literal(configured->host)) co_return dns;
        const std::string host = delivery::normalize_name(configured->host);
        dns->a_answers[host] = co_await await_callback<delivery::AddressAnswer>(io_ref, [&](auto cb) {
            resolver->addresses(host, delivery::Family::V4, cb);
        });
        if (!options.ipv4_only)
            dns->aaaa_answers[host] = co_await await_callback<delivery::AddressAnswer>(io_ref, [&](auto cb) {
                resolver->addresses(host, delivery::Family::V6, cb);
            });
        co_return dns;
    }

    // ---- one connection ----

    struct Attempt {
        bool next_target = false;  // nothing of the current job reached this host: try the next
        std::string reason;        // why (a temporary reply) when next_target
        std::string mta;           // "host [addr]" when the host itself answered
        bool tls_failed = false;   // the STARTTLS handshake failed
    };

    asio::awaitable<void> connection(std::shared_ptr<Destination> d, JobPtr job) {
        co_await run_connection(d, job);
        slot_freed(d);
    }

    asio::awaitable<void> run_connection(std::shared_ptr<Destination> d, JobPtr job) {
        const std::string domain = job->job.domain;
        auto dns = co_await lookup(domain);
        if (stopping) co_return;
        delivery::RouteConfig rc;
        rc.self_names = options.self_names;
        if (!options.source_address.empty()) rc.self_addresses.push_back(options.source_address);
        rc.smarthost = options.smarthost;
        rc.overrides = options.routes;
        rc.ipv4_only = options.ipv4_only;
        delivery::RouteResult route = delivery::route(domain, *dns, rc, rng);
        const bool smarthost = !options.routes.contains(domain) && options.smarthost;
        const bool configured = smarthost || options.routes.contains(domain);

        if (route.kind != delivery::RouteResult::Kind::Targets) {
            // RFC 5321 §5.1: a permanent routing verdict (no such domain, Null MX, loop) fails the
            // recipients; anything else (DNS trouble) waits. It holds for the destination's queue too.
            const bool permanent = route.kind == delivery::RouteResult::Kind::Permanent;
            const auto kind = permanent ? RemoteResult::Kind::Failed : RemoteResult::Kind::Deferred;
            std::string reply = route.reply;
            if (route.kind == delivery::RouteResult::Kind::Local) reply = "451 4.3.0 " + domain + " routes to this host";
            std::vector<JobPtr> all{job};
            while (!d->waiting.empty()) {
                all.push_back(d->waiting.front());
                d->waiting.pop_front();
            }
            for (auto& j : all) answer_all(j, kind, reply, "", "none");
            co_return;
        }
        for (auto& t : route.targets)
            if (!configured) t.port = options.port;  // relay.port for MX hosts (25; tests use another)

        const TlsPolicy policy = smarthost ? options.smarthost_tls
                                           : (options.tls == TlsPolicy::Implicit ? TlsPolicy::Required : options.tls);
        Attempt last;
        for (std::size_t i = 0; i < route.targets.size(); ++i) {
            const auto& target = route.targets[i];
            if (stopping || job->answered) co_return;
            Attempt a = co_await attempt(d, target, job, policy, smarthost);
            if (a.next_target && a.tls_failed && policy == TlsPolicy::Opportunistic && !stopping && !job->answered) {
                // RFC 7435 §3: opportunistic TLS that fails falls back to what works without it
                // (Postfix "may" does the same): the same host again, in plain text.
                log::info("relay: ", queue::format_queue_id(job->job.id), " ", target.host, "[", target.address, "]:",
                          target.port, ": ", a.reason, "; trying again without TLS");
                a = co_await attempt(d, target, job, TlsPolicy::None, smarthost);
            }
            if (!a.next_target) co_return;
            last = std::move(a);
            log::info("relay: ", queue::format_queue_id(job->job.id), " ", target.host, "[", target.address, "]:",
                      target.port, ": ", last.reason, i + 1 < route.targets.size() ? "; trying the next host" : "");
        }
        if (stopping || job->answered) co_return;
        // RFC 5321 §5.1: every host failed: the message waits for the next try.
        d->degraded = true;
        if (last.reason.empty()) last.reason = "451 4.4.4 no host to try";
        answer_all(job, RemoteResult::Kind::Deferred, last.reason, last.mta, "none");
        // No other connection of this destination got through either: what waits for it would
        // only wait for the same dead hosts (Postfix: "delivery temporarily suspended").
        if (d->active == 1) {
            while (!d->waiting.empty()) {
                JobPtr j = d->waiting.front();
                d->waiting.pop_front();
                answer_all(j, RemoteResult::Kind::Deferred, last.reason, last.mta, "none");
            }
        }
    }

    smtp::Message message_of(const JobPtr& j) {
        smtp::Message m;
        m.tag = j->job.id;
        m.sender = j->job.sender;
        for (const auto& r : j->job.recipients) m.recipients.push_back({r.address, r.notify, r.orcpt});
        m.body = j->job.body;
        m.smtputf8 = j->job.smtputf8;
        m.ret = j->job.ret;
        m.envid = j->job.envid;
        return m;
    }

    asio::awaitable<boost::system::error_code> handshake(const std::shared_ptr<Conn>& c, const delivery::Target& t) {
        c->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(*c->plain), *tls_context);
        c->plain.reset();
        // RFC 6066 §3: SNI carries a host name, never an address literal.
        if (!is_ip_literal(t.host)) SSL_set_tlsext_host_name(c->tls->native_handle(), t.host.c_str());
        arm(c, options.timeouts.command);
        auto [ec] = co_await c->tls->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
        disarm(c);
        if (ec && c->timed_out) ec = asio::error::timed_out;
        co_return ec;
    }

    asio::awaitable<Attempt> attempt(std::shared_ptr<Destination> d, const delivery::Target& t, JobPtr& job,
                                     TlsPolicy policy, bool smarthost) {
        const std::string mta = t.host + " [" + t.address + "]";
        const std::string where = t.host + "[" + t.address + "]:" + std::to_string(t.port);
        auto c = std::make_shared<Conn>(*io);
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(t.address, ec);
        if (ec) co_return Attempt{true, "451 4.4.0 bad address " + t.address, ""};
        c->plain->open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
        if (!ec && !options.source_address.empty()) {
            const auto source = asio::ip::make_address(options.source_address, ec);
            if (!ec && source.is_v4() == address.is_v4()) c->plain->bind(tcp::endpoint(source, 0), ec);
        }
        if (ec) co_return Attempt{true, "451 4.4.0 cannot open a socket to " + where + ": " + ec.message(), ""};
        conns.insert(c);
        Attempt result = co_await converse(d, t, job, policy, smarthost, c, address, mta, where);
        conns.erase(c);
        disarm(c);
        c->close();
        co_return result;
    }

    asio::awaitable<Attempt> converse(std::shared_ptr<Destination> d, const delivery::Target& t, JobPtr& job,
                                      TlsPolicy policy, bool smarthost, std::shared_ptr<Conn> c,
                                      asio::ip::address address, std::string mta, std::string where) {
        // RFC 5321 §5.1: a refused or timed-out connection: the next host.
        arm(c, options.connect_timeout);
        auto [cec] = co_await c->plain->async_connect(tcp::endpoint(address, t.port), asio::as_tuple(asio::use_awaitable));
        disarm(c);
        if (stopping) co_return Attempt{};
        if (cec)
            co_return Attempt{true, "451 4.4.1 connect to " + where + ": " + (c->timed_out ? "timed out" : cec.message()), ""};
        ++opened;
        boost::system::error_code ignored;
        c->plain->set_option(tcp::no_delay(true), ignored);  // whole commands per write; no Nagle wait
        if (policy == TlsPolicy::Implicit) {
            if (auto hec = co_await handshake(c, t))
                co_return Attempt{true, "451 4.7.0 TLS handshake with " + where + " failed: " + hec.message(), mta};
        }

        smtp::Options so;
        so.helo_name = options.helo_name;
        so.tls_possible = policy != TlsPolicy::None;
        so.require_tls = policy == TlsPolicy::Required;
        so.implicit_tls = policy == TlsPolicy::Implicit;
        if (smarthost && !options.smarthost_user.empty()) {
            so.auth_user = options.smarthost_user;
            so.auth_password = options.smarthost_password;
            so.auth_without_tls = policy == TlsPolicy::None;
        }
        smtp::Session s(std::move(so));
        s.add(message_of(job));
        std::uint64_t mark = s.mails_sent();  // MAIL commands before the current job's
        bool retry_here = false;              // the current job never reached the peer
        std::string buf(16 * 1024, '\0');

        auto take = [&] {
            for (auto& o : s.take_outcomes()) {
                if (!job || job->answered) continue;
                // The connection ended before this job's MAIL went out (a refused or 421 greeting,
                // a 4xx to EHLO, TLS or AUTH trouble): nothing of it reached the peer, whatever
                // reply the session quotes. (A refusal of the session's own, like SIZE, comes
                // while the connection is still open.)
                if (s.end() != smtp::ConnectionEnd::Open && s.mails_sent() == mark) {
                    retry_here = true;  // decided when the connection is over
                    continue;
                }
                std::vector<RemoteResult> results;
                for (std::size_t i = 0; i < job->job.recipients.size(); ++i) {
                    RemoteResult r;
                    r.index = job->job.recipients[i].index;
                    r.remote_mta = mta;
                    if (i >= o.recipients.size()) {
                        r.reply = "451 4.3.0 no outcome";
                        results.push_back(std::move(r));
                        continue;
                    }
                    const smtp::Status& st = o.recipients[i].status;
                    r.reply = format(st);
                    // A refusal the session made up itself (SIZE, 8BITMIME, SMTPUTF8) is our
                    // words, not the host's: the DSN then says so (no Remote-MTA "said").
                    if (!st.from_server) r.remote_mta.clear();
                    if (st.accepted()) {
                        r.kind = RemoteResult::Kind::Delivered;
                        // RFC 3461 §5.2.2: the next hop cannot pass NOTIFY=SUCCESS on.
                        r.relayed_without_dsn = !s.capabilities().dsn && wants_success(job->job.recipients[i].notify);
                    } else if (st.permanent()) {
                        r.kind = RemoteResult::Kind::Failed;
                    } else {
                        r.kind = RemoteResult::Kind::Deferred;
                    }
                    results.push_back(std::move(r));
                }
                d->degraded = false;  // this host took (or answered for) a message
                answer(job, std::move(results), where);
            }
        };

        for (;;) {
            if (stopping) co_return Attempt{};
            smtp::Session::Action a = s.advance();
            if (!a.output.empty()) {
                arm(c, a.next == smtp::Session::Next::Write ? options.timeouts.data_block : options.timeouts.command);
                bool ok = co_await write_all(c, a.output);
                disarm(c);
                if (!ok && a.next != smtp::Session::Next::Close) {
                    s.connection_lost(c->timed_out ? "timed out sending to " + where : "write to " + where + " failed");
                    take();
                    continue;
                }
            }
            take();
            if (a.next == smtp::Session::Next::Close) break;
            if (a.next == smtp::Session::Next::Write) continue;
            if (a.next == smtp::Session::Next::StartTls) {
                if (auto hec = co_await handshake(c, t)) s.tls_failed(where + ": " + hec.message());
                else s.tls_started();
                continue;
            }
            if (a.next == smtp::Session::Next::Idle) {
                // Reuse: the next message for this destination goes on this connection.
                JobPtr next;
                std::optional<std::string> lost;  // the server ended the session while idle
                if (s.mails_sent() >= std::max<std::size_t>(1, options.messages_per_connection)) {
                    // enough for one connection: QUIT; what waits gets a fresh slot
                } else if (!d->waiting.empty()) {
                    next = d->waiting.front();
                    d->waiting.pop_front();
                } else if (options.idle_reuse.count() > 0 && !stopping) {
                    auto slot = std::make_shared<IdleSlot>(*io);
                    slot->conn = c;
                    slot->timer.expires_after(options.idle_reuse);
                    slot->timer.async_wait([slot](boost::system::error_code ec) {
                        if (!ec) slot->wake();
                    });
                    d->idle.push_back(slot);
                    auto [ec, n] = co_await read_some(c, buf);
                    slot->timer.cancel();
                    d->idle.remove(slot);
                    next = std::move(slot->handed);
                    if (!ec) s.receive(std::string_view(buf.data(), n));  // a 421 on idle timeout, say
                    else if (ec != asio::error::operation_aborted) lost = "closed by " + where + " while idle: " + ec.message();
                }
                if (stopping) co_return Attempt{};  // stop() answered the jobs
                if (next) {
                    job = std::move(next);
                    mark = s.mails_sent();
                    s.add(message_of(job));  // goes back to the queue if the session is over
                } else if (!lost) {
                    s.finish();
                }
                if (lost) s.connection_lost(*lost);
                continue;
            }
            // Next::Read: wait for a reply, as long as RFC 5321 §4.5.3.2 says for it.
            const smtp::Waiting w = s.waiting_for();
            const auto limit = w == smtp::Waiting::Greeting    ? options.timeouts.greeting
                               : w == smtp::Waiting::DataStart ? options.timeouts.data_start
                               : w == smtp::Waiting::DataEnd   ? options.timeouts.data_end
                                                               : options.timeouts.command;
            arm(c, limit);
            auto [ec, n] = co_await read_some(c, buf);
            disarm(c);
            if (ec) {
                s.connection_lost(c->timed_out ? "timed out waiting for a reply from " + where
                                               : "connection to " + where + " lost: " + ec.message());
            } else {
                s.receive(std::string_view(buf.data(), n));
            }
        }
        take();

        if (!retry_here || !job || job->answered) co_return Attempt{};
        // The connection ended before the current job's MAIL went out.
        if (s.mails_sent() > 0) {
            // An earlier message went through here: the job goes back to the queue for a fresh
            // connection (this host works; it closed an idle session, for instance).
            d->waiting.push_front(job);
            co_return Attempt{};
        }
        const smtp::Status& st = s.end_status();
        Attempt a{true, "", st.from_server ? mta : std::string(), s.end() == smtp::ConnectionEnd::TlsFailed};
        const bool tls_or_auth = s.end() == smtp::ConnectionEnd::TlsUnavailable || s.end() == smtp::ConnectionEnd::TlsFailed ||
                                 s.end() == smtp::ConnectionEnd::AuthFailed;
        if (st.temporary()) {
            a.reason = format(st);
        } else {
            // A 5xx greeting or a refused AUTH ends only this connection (RFC 5321 §3.1): the
            // recipients wait, with the host's words.
            a.reason = std::string("451 ") + (tls_or_auth ? "4.7.0 " : "4.4.0 ") + where +
                       (s.end() == smtp::ConnectionEnd::AuthFailed ? " refused our credentials: " : " refused the session: ") +
                       format(st);
        }
        if (s.end() == smtp::ConnectionEnd::AuthFailed)
            log::warn("relay: authentication to ", where, " failed: ", format(st));
        co_return a;
    }

    asio::awaitable<bool> write_all(std::shared_ptr<Conn> c, std::string_view data) {
        boost::system::error_code ec;
        if (c->tls)
            std::tie(ec, std::ignore) = co_await asio::async_write(*c->tls, asio::buffer(data.data(), data.size()),
                                                                   asio::as_tuple(asio::use_awaitable));
        else
            std::tie(ec, std::ignore) = co_await asio::async_write(*c->plain, asio::buffer(data.data(), data.size()),
                                                                   asio::as_tuple(asio::use_awaitable));
        co_return !ec;
    }

    asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(std::shared_ptr<Conn> c, std::string& buf) {
        if (c->tls) co_return co_await c->tls->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        co_return co_await c->plain->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    }

    // ---- shutdown (on the io thread) ----

    void shut_down() {
        stopping = true;
        std::vector<JobPtr> jobs(live.begin(), live.end());
        for (auto& j : jobs) answer_all(j, RemoteResult::Kind::Deferred, "451 4.3.2 shutting down", "", "none");
        for (auto& [key, d] : destinations) {
            d->waiting.clear();
            for (auto& slot : d->idle) slot->timer.cancel();
        }
        for (auto& c : conns) c->close();
        work.reset();
        io->stop();
    }
};

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Relay::~Relay() {
    stop();
    if (impl_->thread.joinable()) {
        if (std::this_thread::get_id() == impl_->thread.get_id()) impl_->thread.detach();  // from a done()
        else impl_->thread.join();
    }
}

Result<std::unique_ptr<Relay>> Relay::create(Options options) {
    auto impl = std::make_unique<Impl>(std::move(options));
    if (!impl->options.dns) {
        net::DnsResolver::Options ro;
        ro.server = impl->options.resolver;
        auto r = net::DnsResolver::create(*impl->io, ro);
        if (!r) return fail("relay: DNS resolver: " + r.error().message);
        impl->resolver = std::move(*r);
    }
    try {
        // Opportunistic TLS without certificate checks (RFC 7435): better than plaintext, and
        // an MX's certificate rarely names the MX anyway. TLS 1.2 and later only.
        impl->tls_context = std::make_shared<ssl::context>(ssl::context::tls_client);
        impl->tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        impl->tls_context->set_verify_mode(ssl::verify_none);
    } catch (const std::exception& e) {
        return fail(std::string("relay: TLS context: ") + e.what());
    }
    impl->work.emplace(impl->io->get_executor());
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] {
        base::name_this_thread("tern-relay");
        raw->io->run();
    });
    return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

void Relay::deliver(RemoteJob job, Done done) {
    auto j = std::make_shared<JobState>();
    j->job = std::move(job);
    j->done = std::move(done);
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->stopped) {
            asio::post(*impl_->io, [impl = impl_.get(), j] { impl->accept(j); });
            return;
        }
    }
    // After stop(): answered here (the relay's thread is gone).
    std::vector<RemoteResult> results;
    for (const auto& r : j->job.recipients) results.push_back(RemoteResult{RemoteResult::Kind::Deferred, r.index, "451 4.3.2 shutting down", "", false});
    if (j->done) j->done(std::move(results));
}

void Relay::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopped) return;
        impl_->stopped = true;
    }
    if (!impl_->thread.joinable()) return;
    if (std::this_thread::get_id() == impl_->thread.get_id()) {  // from a done() callback: no join
        impl_->shut_down();
        return;
    }
    asio::post(*impl_->io, [impl = impl_.get()] { impl->shut_down(); });
    impl_->thread.join();
}

std::uint64_t Relay::connections_opened() const { return impl_->opened.load(); }

}  // namespace tern::relay
