// Per-client bookkeeping of the network layer, pure enough to test without sockets: the key a
// client address is counted under (an IPv6 /64 as one client) and the bounded table of recent
// failed logins. Must never grow without bound, whatever addresses the clients come from.
#pragma once
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace tern::net {

// The key a client is counted under for per-IP limits (connections, failed logins): the IPv4
// address; for IPv6 its /64 prefix ("2001:db8:1:2::/64"), since one end site usually gets a
// whole /64 and can pick any address in it (RFC 6177 §2, RFC 7421); an IPv4-mapped IPv6 address
// (::ffff:192.0.2.1, RFC 4291 §2.5.5.2) as the IPv4 address it is.
std::string client_key(const boost::asio::ip::address& address);
// The same for an address in text form; text that is not an address is its own key.
std::string client_key(const std::string& address);

// Failed logins per client key within a sliding window, across sessions and protocols. Bounded:
// at most `max_clients` keys (the one whose last failure is oldest is evicted first) and at most
// `per_client` remembered failures per key (the newest). Expired keys are pruned on every
// insert, oldest first, so the table holds only what the window can still count. Times come
// from the caller (a steady clock in the server, anything in tests). Not thread-safe: the
// server guards it with its mutex.
class FailedLogins {
public:
    using Clock = std::chrono::steady_clock;
    explicit FailedLogins(Clock::duration window = std::chrono::minutes(10), std::size_t max_clients = 65536,
                          std::size_t per_client = 64);

    // Records one failure of `key` at `now`; returns its failures within the window, this one included.
    std::size_t add(const std::string& key, Clock::time_point now);
    // Failures of `key` within the window ending at `now`.
    std::size_t recent(const std::string& key, Clock::time_point now);
    std::size_t clients() const { return entries_.size(); }

private:
    struct Entry {
        std::vector<Clock::time_point> times;  // ascending
        std::list<std::string>::iterator order;
    };
    void prune(Clock::time_point now);  // drops keys whose newest failure left the window

    Clock::duration window_;
    std::size_t max_clients_;
    std::size_t per_client_;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> order_;  // keys by last failure, oldest first
};

}  // namespace tern::net
