// Client keys (IPv6 /64 as one client) and the bounded failed-login table; see client_limits.hpp.
// Must never do I/O or read a clock itself: the caller passes the time.
#include "net/client_limits.hpp"

#include <algorithm>

namespace tern::net {

std::string client_key(const boost::asio::ip::address& address) {
    if (address.is_v4()) return address.to_string();
    auto v6 = address.to_v6();
    // RFC 4291 §2.5.5.2: an IPv4-mapped address is that IPv4 client (a dual-stack listener).
    if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);  // the /64 prefix (RFC 6177 §2)
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

std::string client_key(const std::string& address) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(address, ec);
    if (ec) return address;
    return client_key(a);
}

FailedLogins::FailedLogins(Clock::duration window, std::size_t max_clients, std::size_t per_client)
    : window_(window), max_clients_(std::max<std::size_t>(1, max_clients)), per_client_(std::max<std::size_t>(1, per_client)) {}

void FailedLogins::prune(Clock::time_point now) {
    auto cutoff = now - window_;
    while (!order_.empty()) {
        auto it = entries_.find(order_.front());
        if (it->second.times.back() >= cutoff) break;  // the rest failed later still
        entries_.erase(it);
        order_.pop_front();
    }
}

std::size_t FailedLogins::add(const std::string& key, Clock::time_point now) {
    prune(now);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= max_clients_) {  // full of live keys: forget the stalest one
            entries_.erase(order_.front());
            order_.pop_front();
        }
        it = entries_.emplace(key, Entry{}).first;
        it->second.order = order_.insert(order_.end(), key);
    } else {
        order_.splice(order_.end(), order_, it->second.order);  // now the most recent failure
    }
    auto& times = it->second.times;
    times.push_back(std::max(now, times.empty() ? now : times.back()));  // stays ascending
    if (times.size() > per_client_) times.erase(times.begin(), times.end() - static_cast<std::ptrdiff_t>(per_client_));
    return recent(key, now);
}

std::size_t FailedLogins::recent(const std::string& key, Clock::time_point now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return 0;
    auto cutoff = now - window_;
    auto& times = it->second.times;
    times.erase(times.begin(), std::lower_bound(times.begin(), times.end(), cutoff));
    if (times.empty()) {
        order_.erase(it->second.order);
        entries_.erase(it);
        return 0;
    }
    return times.size();
}

}  // namespace tern::net
