// c-ares driven from Asio: c-ares tells us (socket-state callback) which sockets it wants watched,
// Asio waits for readiness and a timer for c-ares' timeouts, ares_process_fd() does the work.
// Must never block the io thread, never cache a temporary failure, never call back re-entrantly.
#include "net/dns.hpp"

#include <arpa/inet.h>
#include <ares.h>
#include <ares_dns.h>

#include <algorithm>
#include <mutex>
#include <set>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace tern::net {

namespace asio = boost::asio;
using delivery::AddressAnswer;
using delivery::DnsStatus;
using delivery::Family;
using delivery::MxAnswer;
using delivery::MxRecord;

namespace {

constexpr int kTypeA = 1, kTypeMx = 15, kTypeAaaa = 28, kClassIn = 1;

std::uint16_t get16(const unsigned char* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t get32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Skips a (possibly compressed) name at `off`; returns the offset after it, or nullopt.
std::optional<std::size_t> skip_name(const unsigned char* buf, std::size_t len, std::size_t off) {
    char* name = nullptr;
    long enclen = 0;
    if (off >= len) return std::nullopt;
    if (ares_expand_name(buf + off, buf, static_cast<int>(len), &name, &enclen) != ARES_SUCCESS)
        return std::nullopt;
    ares_free_string(name);
    if (enclen <= 0 || off + static_cast<std::size_t>(enclen) > len) return std::nullopt;
    return off + static_cast<std::size_t>(enclen);
}

// RFC 1035 §4.1.1 RCODEs / c-ares statuses → the routing module's categories.
DnsStatus map_status(int status) {
    switch (status) {
        case ARES_SUCCESS: return DnsStatus::Ok;
        case ARES_ENOTFOUND: return DnsStatus::NxDomain;  // RCODE 3 (NXDOMAIN)
        case ARES_ENODATA: return DnsStatus::NoData;       // NOERROR, empty answer
        default: return DnsStatus::TempFail;               // SERVFAIL, REFUSED, timeout, ...
    }
}

std::once_flag g_ares_init;

}  // namespace

Result<std::vector<MxRecord>> parse_mx_response(const unsigned char* buf, std::size_t len) {
    // RFC 1035 §4.1: header (12 bytes), questions, answers (name, type, class, TTL, RDLENGTH, RDATA).
    if (buf == nullptr || len < 12) return fail("dns: short response");
    const std::size_t qd = get16(buf + 4), an = get16(buf + 6);
    std::size_t off = 12;
    for (std::size_t i = 0; i < qd; ++i) {
        auto next = skip_name(buf, len, off);
        if (!next || *next + 4 > len) return fail("dns: bad question");
        off = *next + 4;
    }
    std::vector<MxRecord> out;
    for (std::size_t i = 0; i < an; ++i) {
        auto next = skip_name(buf, len, off);
        if (!next || *next + 10 > len) return fail("dns: bad answer");
        off = *next;
        const std::uint16_t type = get16(buf + off), cls = get16(buf + off + 2);
        const std::uint32_t ttl = get32(buf + off + 4);
        const std::size_t rdlen = get16(buf + off + 8);
        off += 10;
        if (off + rdlen > len) return fail("dns: truncated record");
        if (type == kTypeMx && cls == kClassIn) {  // RFC 1035 §3.3.9: PREFERENCE, EXCHANGE
            if (rdlen < 3) return fail("dns: short MX");
            char* name = nullptr;
            long enclen = 0;
            if (ares_expand_name(buf + off + 2, buf, static_cast<int>(len), &name, &enclen) != ARES_SUCCESS)
                return fail("dns: bad MX exchange");
            MxRecord r;
            r.preference = get16(buf + off);
            r.host = name;  // the root name "." expands to "" (RFC 7505 Null MX)
            ares_free_string(name);
            // RFC 2181 §8: a TTL with the top bit set is treated as zero.
            r.ttl = (ttl & 0x80000000u) ? 0 : ttl;
            out.push_back(std::move(r));
        }
        off += rdlen;
    }
    return out;
}

struct DnsResolver::Impl : std::enable_shared_from_this<DnsResolver::Impl> {
    struct Watch {
        explicit Watch(asio::io_context& io, int fd) : sd(io, fd) {}
        asio::posix::stream_descriptor sd;
        bool want_read = false, want_write = false, reading = false, writing = false;
    };
    struct Cached {
        MxAnswer mx;
        AddressAnswer addr;
        std::chrono::steady_clock::time_point expires;
    };
    struct Query {
        std::weak_ptr<Impl> self;
        int type = 0;
        std::string name;
        std::function<void(int, const unsigned char*, int)> on_reply;
    };

    Impl(asio::io_context& io_, Options opt_) : io(io_), opt(std::move(opt_)), timer(io_) {}

    asio::io_context& io;
    Options opt;
    ares_channel channel = nullptr;
    asio::steady_timer timer;
    std::map<int, std::shared_ptr<Watch>> watches;
    std::map<std::pair<int, std::string>, Cached> cache;
    std::size_t sent = 0;
    bool closing = false;

    std::chrono::steady_clock::time_point now() const { return opt.clock(); }

    static void sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<Impl*>(data);
        if (!readable && !writable) {  // c-ares is about to close fd: stop watching, don't close it
            auto it = self->watches.find(fd);
            if (it == self->watches.end()) return;
            boost::system::error_code ec;
            it->second->sd.cancel(ec);
            it->second->sd.release();
            self->watches.erase(it);
            return;
        }
        if (self->closing) return;
        auto& w = self->watches[fd];
        if (!w) w = std::make_shared<Watch>(self->io, fd);
        w->want_read = readable != 0;
        w->want_write = writable != 0;
        self->arm(fd, w);
    }

    void arm(int fd, const std::shared_ptr<Watch>& w) {
        std::weak_ptr<Impl> weak = weak_from_this();
        if (w->want_read && !w->reading) {
            w->reading = true;
            w->sd.async_wait(asio::posix::descriptor_base::wait_read,
                             [weak, w, fd](const boost::system::error_code& ec) {
                                 w->reading = false;
                                 auto self = weak.lock();
                                 if (ec || !self || self->closing) return;
                                 self->ready(fd, w, fd, ARES_SOCKET_BAD);
                             });
        }
        if (w->want_write && !w->writing) {
            w->writing = true;
            w->sd.async_wait(asio::posix::descriptor_base::wait_write,
                             [weak, w, fd](const boost::system::error_code& ec) {
                                 w->writing = false;
                                 auto self = weak.lock();
                                 if (ec || !self || self->closing) return;
                                 self->ready(fd, w, ARES_SOCKET_BAD, fd);
                             });
        }
    }

    void ready(int fd, const std::shared_ptr<Watch>& w, ares_socket_t r, ares_socket_t wr) {
        ares_process_fd(channel, r, wr);
        auto it = watches.find(fd);
        if (it != watches.end() && it->second == w) arm(fd, w);  // still wanted: wait again
        reset_timer();
    }

    void reset_timer() {
        if (closing) return;
        timeval tv{};
        timeval* t = ares_timeout(channel, nullptr, &tv);
        if (t == nullptr) {
            timer.cancel();
            return;
        }
        timer.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
        std::weak_ptr<Impl> weak = weak_from_this();
        timer.async_wait([weak](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || self->closing) return;
            ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles timeouts
            self->reset_timer();
        });
    }

    static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
        std::unique_ptr<Query> q(static_cast<Query*>(arg));
        if (status == ARES_EDESTRUCTION) return;  // resolver going away: no callbacks
        if (q->self.expired()) return;
        q->on_reply(status, abuf, alen);
    }

    void send(int type, const std::string& name, std::function<void(int, const unsigned char*, int)> on_reply) {
        ++sent;
        auto* q = new Query{weak_from_this(), type, name, std::move(on_reply)};
        ares_query(channel, name.c_str(), kClassIn, type, &Impl::on_answer, q);
        reset_timer();
    }

    std::uint32_t capped(std::uint32_t ttl) const {
        return static_cast<std::uint32_t>(std::min<std::int64_t>(ttl, opt.max_ttl.count()));
    }

    std::uint32_t remaining(std::chrono::steady_clock::time_point expires) const {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(expires - now()).count();
        return static_cast<std::uint32_t>(std::max<std::int64_t>(left, 0));
    }

    void remember(int type, const std::string& name, DnsStatus status, std::uint32_t ttl, Cached entry) {
        if (status == DnsStatus::TempFail) return;  // never cache a temporary failure
        std::uint32_t t = status == DnsStatus::Ok ? capped(ttl)
                                                  : static_cast<std::uint32_t>(opt.negative_ttl.count());
        if (t == 0) return;  // RFC 1035 §3.2.1: TTL 0 means use once, do not cache
        entry.expires = now() + std::chrono::seconds(t);
        if (cache.size() >= opt.max_entries) {  // bounded: drop what expired, else start over
            std::erase_if(cache, [&](const auto& kv) { return now() >= kv.second.expires; });
            if (cache.size() >= opt.max_entries) cache.clear();
        }
        cache[{type, name}] = std::move(entry);
    }

    const Cached* lookup(int type, const std::string& name) {
        auto it = cache.find({type, name});
        if (it == cache.end()) return nullptr;
        if (now() >= it->second.expires) {
            cache.erase(it);
            return nullptr;
        }
        return &it->second;
    }
};

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(asio::io_context& io, Options options) {
    std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
    auto impl = std::make_shared<Impl>(io, std::move(options));
    ares_options ao{};
    ao.sock_state_cb = &Impl::sock_state;
    ao.sock_state_cb_data = impl.get();
    ao.timeout = static_cast<int>(impl->opt.timeout.count());
    ao.tries = impl->opt.tries;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (int rc = ares_init_options(&impl->channel, &ao, mask); rc != ARES_SUCCESS)
        return fail(std::string("dns: c-ares init: ") + ares_strerror(rc));
    if (!impl->opt.server.empty()) {
        if (int rc = ares_set_servers_ports_csv(impl->channel, impl->opt.server.c_str()); rc != ARES_SUCCESS) {
            ares_destroy(impl->channel);
            impl->channel = nullptr;
            return fail("dns: bad resolver address '" + impl->opt.server + "': " + ares_strerror(rc));
        }
    }
    return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

DnsResolver::DnsResolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsResolver::~DnsResolver() {
    if (!impl_) return;
    impl_->closing = true;
    impl_->timer.cancel();
    if (impl_->channel) ares_destroy(impl_->channel);  // pending queries end with ARES_EDESTRUCTION
    for (auto& [fd, w] : impl_->watches) {             // any left: never close c-ares' sockets
        boost::system::error_code ec;
        w->sd.cancel(ec);
        w->sd.release();
    }
    impl_->watches.clear();
}

std::size_t DnsResolver::queries_sent() const { return impl_->sent; }

void DnsResolver::mx(std::string_view domain, std::function<void(MxAnswer)> done) {
    const std::string name = delivery::normalize_name(domain);
    if (auto* c = impl_->lookup(kTypeMx, name)) {
        MxAnswer a = c->mx;
        for (auto& r : a.records) r.ttl = std::min(r.ttl, impl_->remaining(c->expires));
        asio::post(impl_->io, [a = std::move(a), done = std::move(done)]() mutable { done(std::move(a)); });
        return;
    }
    std::weak_ptr<Impl> weak = impl_;
    impl_->send(kTypeMx, name, [weak, name, done = std::move(done)](int status, const unsigned char* buf, int len) {
        auto self = weak.lock();
        if (!self) return;
        MxAnswer a;
        a.status = map_status(status);
        std::uint32_t ttl = UINT32_MAX;
        if (a.status == DnsStatus::Ok) {
            auto parsed = parse_mx_response(buf, static_cast<std::size_t>(std::max(len, 0)));
            if (!parsed) a.status = DnsStatus::TempFail;
            else if (parsed->empty()) a.status = DnsStatus::NoData;
            else a.records = std::move(*parsed);
            for (auto& r : a.records) ttl = std::min(ttl, r.ttl);
        }
        self->remember(kTypeMx, name, a.status, ttl, Impl::Cached{a, {}, {}});
        asio::post(self->io, [a = std::move(a), done]() mutable { done(std::move(a)); });
    });
}

void DnsResolver::addresses(std::string_view host, Family family, std::function<void(AddressAnswer)> done) {
    const std::string name = delivery::normalize_name(host);
    const int type = family == Family::V4 ? kTypeA : kTypeAaaa;
    if (auto* c = impl_->lookup(type, name)) {
        AddressAnswer a = c->addr;
        a.ttl = std::min(a.ttl, impl_->remaining(c->expires));
        asio::post(impl_->io, [a = std::move(a), done = std::move(done)]() mutable { done(std::move(a)); });
        return;
    }
    std::weak_ptr<Impl> weak = impl_;
    impl_->send(type, name, [weak, name, type, done = std::move(done)](int status, const unsigned char* buf, int len) {
        auto self = weak.lock();
        if (!self) return;
        AddressAnswer a;
        a.status = map_status(status);
        if (a.status == DnsStatus::Ok) {
            std::uint32_t ttl = UINT32_MAX;
            char text[INET6_ADDRSTRLEN];
            int n = 64;
            int rc;
            if (type == kTypeA) {
                ares_addrttl rr[64];
                rc = ares_parse_a_reply(buf, len, nullptr, rr, &n);
                for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
                    inet_ntop(AF_INET, &rr[i].ipaddr, text, sizeof text);
                    a.addresses.emplace_back(text);
                    ttl = std::min(ttl, static_cast<std::uint32_t>(std::max(rr[i].ttl, 0)));
                }
            } else {
                ares_addr6ttl rr[64];
                rc = ares_parse_aaaa_reply(buf, len, nullptr, rr, &n);
                for (int i = 0; rc == ARES_SUCCESS && i < n; ++i) {
                    inet_ntop(AF_INET6, &rr[i].ip6addr, text, sizeof text);
                    a.addresses.emplace_back(text);
                    ttl = std::min(ttl, static_cast<std::uint32_t>(std::max(rr[i].ttl, 0)));
                }
            }
            if (rc == ARES_ENODATA || (rc == ARES_SUCCESS && a.addresses.empty())) a.status = DnsStatus::NoData;
            else if (rc != ARES_SUCCESS) a.status = DnsStatus::TempFail;
            else a.ttl = ttl;
        }
        self->remember(type, name, a.status, a.ttl, Impl::Cached{{}, a, {}});
        asio::post(self->io, [a = std::move(a), done]() mutable { done(std::move(a)); });
    });
}

void DnsResolver::prefetch_for_route(std::string_view domain, bool ipv4_only,
                                     std::function<void(std::shared_ptr<delivery::StaticDns>)> done) {
    struct State {
        std::shared_ptr<delivery::StaticDns> dns = std::make_shared<delivery::StaticDns>();
        std::size_t pending = 0;
        std::function<void(std::shared_ptr<delivery::StaticDns>)> done;
    };
    auto st = std::make_shared<State>();
    st->done = std::move(done);
    const std::string name = delivery::normalize_name(domain);
    mx(name, [this, st, name, ipv4_only](MxAnswer a) {
        std::set<std::string> hosts;
        if (a.status == DnsStatus::Ok)
            for (auto& r : a.records)
                if (!r.host.empty()) hosts.insert(delivery::normalize_name(r.host));
        if (a.status == DnsStatus::NoData) hosts.insert(name);  // RFC 5321 §5.1 implicit MX
        st->dns->mx_answers[name] = std::move(a);
        if (hosts.empty()) {
            st->done(st->dns);
            return;
        }
        st->pending = hosts.size() * (ipv4_only ? 1 : 2);
        auto finish = [st] {
            if (--st->pending == 0) st->done(st->dns);
        };
        for (const auto& h : hosts) {
            addresses(h, Family::V4, [st, h, finish](AddressAnswer r) {
                st->dns->a_answers[h] = std::move(r);
                finish();
            });
            if (!ipv4_only)
                addresses(h, Family::V6, [st, h, finish](AddressAnswer r) {
                    st->dns->aaaa_answers[h] = std::move(r);
                    finish();
                });
        }
    });
}

}  // namespace tern::net
