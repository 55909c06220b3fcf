// Unit tests of the network layer's per-client bookkeeping: client keys (IPv6 /64, IPv4-mapped)
// and the bounded failed-login table, with times passed in (no clock, no sockets).
#include "net/client_limits.hpp"

#include <gtest/gtest.h>

namespace tern::net {
namespace {

using namespace std::chrono_literals;
using Clock = FailedLogins::Clock;

TEST(ClientKey, Ipv4IsItself) {
    EXPECT_EQ(client_key("192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(client_key("127.0.0.1"), "127.0.0.1");
}

TEST(ClientKey, Ipv6CountsPerSlash64) {
    EXPECT_EQ(client_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
    EXPECT_EQ(client_key("2001:db8:1:2:ffff:eeee:dddd:cccc"), "2001:db8:1:2::/64");
    EXPECT_NE(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
    EXPECT_EQ(client_key("::1"), "::/64");
}

TEST(ClientKey, Ipv4MappedIsTheIpv4Address) {
    EXPECT_EQ(client_key("::ffff:192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(client_key(boost::asio::ip::make_address("::ffff:10.1.2.3")), "10.1.2.3");
}

TEST(ClientKey, NonAddressIsItsOwnKey) { EXPECT_EQ(client_key("not an address"), "not an address"); }

TEST(FailedLogins, CountsWithinTheWindow) {
    FailedLogins t(10min);
    Clock::time_point t0{};
    EXPECT_EQ(t.add("a", t0), 1u);
    EXPECT_EQ(t.add("a", t0 + 1min), 2u);
    EXPECT_EQ(t.add("b", t0 + 2min), 1u);
    EXPECT_EQ(t.recent("a", t0 + 5min), 2u);
    EXPECT_EQ(t.recent("a", t0 + 10min + 30s), 1u);  // the first one left the window
    EXPECT_EQ(t.recent("a", t0 + 12min), 0u);
    EXPECT_EQ(t.recent("nobody", t0), 0u);
}

TEST(FailedLogins, ExpiredClientsArePrunedWithoutComingBack) {
    // The old table forgot an address only when that same address failed again.
    FailedLogins t(10min, 1000000);
    Clock::time_point t0{};
    for (int i = 0; i < 1000; ++i) t.add("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
    EXPECT_EQ(t.clients(), 1000u);
    t.add("192.0.2.1", t0 + 11min);  // any later failure prunes everyone who expired
    EXPECT_EQ(t.clients(), 1u);
}

TEST(FailedLogins, TableIsCappedOldestFirst) {
    FailedLogins t(10min, 3);
    Clock::time_point t0{};
    t.add("a", t0);
    t.add("b", t0 + 1s);
    t.add("c", t0 + 2s);
    t.add("a", t0 + 3s);  // a is now the most recent; b the stalest
    t.add("d", t0 + 4s);
    EXPECT_EQ(t.clients(), 3u);
    EXPECT_EQ(t.recent("b", t0 + 5s), 0u);
    EXPECT_EQ(t.recent("a", t0 + 5s), 2u);
    EXPECT_EQ(t.recent("c", t0 + 5s), 1u);
    EXPECT_EQ(t.recent("d", t0 + 5s), 1u);
}

TEST(FailedLogins, FailuresPerClientAreCapped) {
    FailedLogins t(10min, 10, 5);
    Clock::time_point t0{};
    std::size_t last = 0;
    for (int i = 0; i < 100; ++i) last = t.add("a", t0 + std::chrono::seconds(i));
    EXPECT_EQ(last, 5u);
    EXPECT_EQ(t.recent("a", t0 + 100s), 5u);
}

TEST(FailedLogins, ManyIpv6AddressesOfOneSlash64AreOneClient) {
    FailedLogins t;
    Clock::time_point t0{};
    std::size_t n = 0;
    for (int i = 1; i <= 20; ++i) n = t.add(client_key("2001:db8:5:6::" + std::to_string(i)), t0);
    EXPECT_EQ(n, 20u);
    EXPECT_EQ(t.clients(), 1u);
}

}  // namespace
}  // namespace tern::net
