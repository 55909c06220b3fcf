// Asynchronous DNS (MX, A, AAAA) with c-ares driven by Asio, with a cache that honours TTLs, for
// outbound routing; answers come out as delivery/route.hpp's plain structs. Must never block a
// thread on a lookup, and never cache a temporary failure.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/result.hpp"
#include "delivery/route.hpp"  // plain structs only (header-only use: no link dependency)

namespace tern::net {

// Parses the answer section of a raw DNS response into MX records (with TTLs); pure, bounds-
// checked (the bytes come from the network). A "." exchange (RFC 7505 Null MX) becomes "".
Result<std::vector<delivery::MxRecord>> parse_mx_response(const unsigned char* buf, std::size_t len);

class DnsResolver {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    struct Options {
        std::string server;                              // "ADDR:PORT" overrides /etc/resolv.conf
        std::chrono::milliseconds timeout{2000};         // per try
        int tries = 2;
        std::chrono::seconds negative_ttl{60};           // NXDOMAIN / NODATA (RFC 2308 §5)
        std::chrono::seconds max_ttl{86400};             // cap on any cached answer
        std::size_t max_entries = 100000;                // cache bound
        Clock clock;                                     // default: steady_clock::now
    };

    // All calls (and the callbacks) run on `io`'s thread; the resolver is not thread-safe.
    static Result<std::unique_ptr<DnsResolver>> create(boost::asio::io_context& io, Options options);
    ~DnsResolver();
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    void mx(std::string_view domain, std::function<void(delivery::MxAnswer)> done);
    void addresses(std::string_view host, delivery::Family family,
                   std::function<void(delivery::AddressAnswer)> done);

    // Looks up everything delivery::route() may ask for `domain` (MX, then each host's A/AAAA,
    // or the domain's own A/AAAA when it has no MX) and hands back the answers.
    void prefetch_for_route(std::string_view domain, bool ipv4_only,
                            std::function<void(std::shared_ptr<delivery::StaticDns>)> done);

    std::size_t queries_sent() const;  // cache misses: queries handed to c-ares (for tests)

    struct Impl;
private:
    explicit DnsResolver(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace tern::net
