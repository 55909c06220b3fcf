// The c-ares resolver against a dnsmasq it starts itself on 127.0.0.1 and a free port: MX, A/AAAA,
// NXDOMAIN, NODATA, Null MX, TTL caching with an injected clock, a dead server as a temporary
// failure; plus the pure MX response parser on truncated input.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "delivery/route.hpp"
#include "config/config.hpp"
#include "net/dns.hpp"
#include "dnsmasq.hpp"

using namespace tern;
using delivery::DnsStatus;
using delivery::Family;

namespace {

using test_dns::Dnsmasq;
using test_dns::free_port;
using test_dns::kDnsmasq;

// The records every test here asks for.
std::vector<std::string> records() {
    return {"--mx-host=example.test,mx1.example.test,10", "--mx-host=example.test,mx2.example.test,20",
            "--host-record=mx1.example.test,127.0.0.2,::2", "--mx-host=nullmx.test,.,0",
            "--host-record=noemx.test,127.0.0.9"};
}

// Runs the io_context until `done` is set or 15 s pass (a bound, not a speed assertion).
template <class T>
std::optional<T> wait_for(boost::asio::io_context& io, std::optional<T>& slot) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    io.restart();
    while (!slot && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
    return slot;
}

struct DnsTest : ::testing::Test {
    static void SetUpTestSuite() {
        ASSERT_EQ(access(kDnsmasq, X_OK), 0) << "dnsmasq missing: run scripts/deps.sh test";
        server = new Dnsmasq(records());
    }
    static void TearDownTestSuite() {
        delete server;
        server = nullptr;
    }
    void SetUp() override { ASSERT_GT(server->port(), 0) << "dnsmasq did not start"; }

    std::unique_ptr<net::DnsResolver> resolver(net::DnsResolver::Clock clock = {}) {
        net::DnsResolver::Options o;
        o.server = "127.0.0.1:" + std::to_string(server->port());
        o.clock = std::move(clock);
        auto r = net::DnsResolver::create(io, o);
        EXPECT_TRUE(r.has_value());
        return r ? std::move(*r) : nullptr;
    }
    delivery::MxAnswer mx(net::DnsResolver& r, const std::string& name) {
        std::optional<delivery::MxAnswer> out;
        r.mx(name, [&](delivery::MxAnswer a) { out = std::move(a); });
        auto got = wait_for(io, out);
        EXPECT_TRUE(got.has_value());
        return got.value_or(delivery::MxAnswer{});
    }
    delivery::AddressAnswer addr(net::DnsResolver& r, const std::string& name, Family f) {
        std::optional<delivery::AddressAnswer> out;
        r.addresses(name, f, [&](delivery::AddressAnswer a) { out = std::move(a); });
        auto got = wait_for(io, out);
        EXPECT_TRUE(got.has_value());
        return got.value_or(delivery::AddressAnswer{});
    }

    boost::asio::io_context io;
    static Dnsmasq* server;
};
Dnsmasq* DnsTest::server = nullptr;

}  // namespace

TEST_F(DnsTest, MxLookup) {
    auto r = resolver();
    auto a = mx(*r, "Example.Test.");
    ASSERT_EQ(a.status, DnsStatus::Ok);
    ASSERT_EQ(a.records.size(), 2u);
    std::sort(a.records.begin(), a.records.end(), [](auto& x, auto& y) { return x.preference < y.preference; });
    EXPECT_EQ(a.records[0].preference, 10);
    EXPECT_EQ(a.records[0].host, "mx1.example.test");
    EXPECT_EQ(a.records[1].host, "mx2.example.test");
    EXPECT_EQ(a.records[0].ttl, 300u);
}

TEST_F(DnsTest, AAndAaaa) {
    auto r = resolver();
    auto v4 = addr(*r, "mx1.example.test", Family::V4);
    ASSERT_EQ(v4.status, DnsStatus::Ok);
    EXPECT_EQ(v4.addresses, std::vector<std::string>{"127.0.0.2"});
    EXPECT_EQ(v4.ttl, 300u);
    auto v6 = addr(*r, "mx1.example.test", Family::V6);
    ASSERT_EQ(v6.status, DnsStatus::Ok);
    EXPECT_EQ(v6.addresses, std::vector<std::string>{"::2"});
}

TEST_F(DnsTest, NxDomainAndNoData) {
    auto r = resolver();
    EXPECT_EQ(mx(*r, "nope.test").status, DnsStatus::NxDomain);
    EXPECT_EQ(addr(*r, "nope.test", Family::V4).status, DnsStatus::NxDomain);
    EXPECT_EQ(mx(*r, "mx1.example.test").status, DnsStatus::NoData);
    EXPECT_EQ(addr(*r, "noemx.test", Family::V6).status, DnsStatus::NoData);
}

TEST_F(DnsTest, NullMx) {
    auto r = resolver();
    auto a = mx(*r, "nullmx.test");
    ASSERT_EQ(a.status, DnsStatus::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].host, "");  // the form delivery::route() reads as a Null MX (RFC 7505)
    EXPECT_EQ(a.records[0].preference, 0);
}

TEST_F(DnsTest, AnswersAreCachedForTheirTtl) {
    auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    auto r = resolver([&] { return now; });
    EXPECT_EQ(mx(*r, "example.test").status, DnsStatus::Ok);
    EXPECT_EQ(r->queries_sent(), 1u);
    now += std::chrono::seconds(100);
    auto second = mx(*r, "example.test");  // from the cache, TTL counting down
    EXPECT_EQ(r->queries_sent(), 1u);
    ASSERT_EQ(second.records.size(), 2u);
    EXPECT_EQ(second.records[0].ttl, 200u);
    now += std::chrono::seconds(201);       // past the 300 s TTL: asked again
    EXPECT_EQ(mx(*r, "example.test").status, DnsStatus::Ok);
    EXPECT_EQ(r->queries_sent(), 2u);
    // Negative answers are cached too (RFC 2308), addresses per family.
    EXPECT_EQ(addr(*r, "nope.test", Family::V4).status, DnsStatus::NxDomain);
    EXPECT_EQ(addr(*r, "nope.test", Family::V4).status, DnsStatus::NxDomain);
    EXPECT_EQ(r->queries_sent(), 3u);
}

TEST_F(DnsTest, CacheIsBounded) {
    net::DnsResolver::Options o;
    o.server = "127.0.0.1:" + std::to_string(server->port());
    o.max_entries = 2;
    auto made = net::DnsResolver::create(io, o);
    ASSERT_TRUE(made.has_value());
    auto& r = **made;
    EXPECT_EQ(addr(r, "mx1.example.test", Family::V4).status, DnsStatus::Ok);
    EXPECT_EQ(addr(r, "mx1.example.test", Family::V6).status, DnsStatus::Ok);
    EXPECT_EQ(addr(r, "mx1.example.test", Family::V4).status, DnsStatus::Ok);
    EXPECT_EQ(r.queries_sent(), 2u);  // both cached
    EXPECT_EQ(mx(r, "example.test").status, DnsStatus::Ok);  // a third entry: the cache starts over
    EXPECT_EQ(addr(r, "mx1.example.test", Family::V4).status, DnsStatus::Ok);
    EXPECT_EQ(r.queries_sent(), 4u);
}

TEST_F(DnsTest, PrefetchGathersWhatRouteNeeds) {
    auto r = resolver();
    std::optional<std::shared_ptr<delivery::StaticDns>> got;
    r->prefetch_for_route("example.test", false, [&](std::shared_ptr<delivery::StaticDns> d) { got = d; });
    ASSERT_TRUE(wait_for(io, got));
    const delivery::StaticDns& dns = **got;  // what delivery::route() will read
    EXPECT_EQ(dns.mx("example.test").records.size(), 2u);
    EXPECT_EQ(dns.addresses("mx1.example.test", Family::V4).addresses, std::vector<std::string>{"127.0.0.2"});
    EXPECT_EQ(dns.addresses("mx1.example.test", Family::V6).addresses, std::vector<std::string>{"::2"});
    EXPECT_EQ(dns.addresses("mx2.example.test", Family::V4).status, DnsStatus::NxDomain);
    EXPECT_EQ(dns.addresses("mx2.example.test", Family::V6).status, DnsStatus::NxDomain);
    // No MX: the domain's own addresses are fetched (RFC 5321 §5.1 implicit MX); IPv4 only: no AAAA.
    std::optional<std::shared_ptr<delivery::StaticDns>> implicit;
    r->prefetch_for_route("noemx.test", true, [&](std::shared_ptr<delivery::StaticDns> d) { implicit = d; });
    ASSERT_TRUE(wait_for(io, implicit));
    EXPECT_EQ((*implicit)->mx("noemx.test").status, DnsStatus::NoData);
    EXPECT_EQ((*implicit)->addresses("noemx.test", Family::V4).addresses, std::vector<std::string>{"127.0.0.9"});
    EXPECT_TRUE((*implicit)->aaaa_answers.empty());
}

TEST(DnsDeadServer, TimesOutAsTemporaryAndIsNotCached) {
    boost::asio::io_context io;
    net::DnsResolver::Options o;
    o.server = "127.0.0.1:" + std::to_string(free_port());  // nothing listens there
    o.timeout = std::chrono::milliseconds(200);
    o.tries = 2;
    auto r = net::DnsResolver::create(io, o);
    ASSERT_TRUE(r.has_value());
    for (int i = 1; i <= 2; ++i) {
        std::optional<delivery::MxAnswer> out;
        (*r)->mx("example.test", [&](delivery::MxAnswer a) { out = std::move(a); });
        ASSERT_TRUE(wait_for(io, out)) << "no answer within the bound";
        EXPECT_EQ(out->status, DnsStatus::TempFail);
        EXPECT_EQ((*r)->queries_sent(), static_cast<std::size_t>(i));  // never cached
    }
}

TEST(DnsResolverConfig, BadServerAddressIsAnError) {
    boost::asio::io_context io;
    net::DnsResolver::Options o;
    o.server = "not an address";
    EXPECT_FALSE(net::DnsResolver::create(io, o).has_value());
}

TEST(ParseMx, ValidResponseAndEveryTruncationIsSafe) {
    // Header: id, flags, QD=1, AN=1; question example.test MX IN; answer: pointer to 12, MX IN,
    // TTL 60, RDLENGTH 7, pref 10, "mx" + pointer to "example.test".
    const std::vector<unsigned char> msg = {
        0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
        0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 'm', 'x', 0xc0, 12};
    auto ok = net::parse_mx_response(msg.data(), msg.size());
    ASSERT_TRUE(ok.has_value());
    ASSERT_EQ(ok->size(), 1u);
    EXPECT_EQ((*ok)[0].host, "mx.example.test");
    EXPECT_EQ((*ok)[0].preference, 10);
    EXPECT_EQ((*ok)[0].ttl, 60u);
    for (std::size_t n = 0; n < msg.size(); ++n) {
        std::vector<unsigned char> cut(msg.begin(), msg.begin() + static_cast<long>(n));
        EXPECT_FALSE(net::parse_mx_response(cut.data(), cut.size()).has_value()) << n;
    }
}

TEST(DnsDeadServer, SilentServerTimesOutAsTemporary) {
    // A bound UDP socket that never answers: c-ares' own timeout (driven by the Asio timer) fires.
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &l);
    boost::asio::io_context io;
    net::DnsResolver::Options o;
    o.server = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    o.timeout = std::chrono::milliseconds(200);
    o.tries = 2;
    auto r = net::DnsResolver::create(io, o);
    ASSERT_TRUE(r.has_value());
    std::optional<delivery::AddressAnswer> out;
    (*r)->addresses("example.test", Family::V4, [&](delivery::AddressAnswer x) { out = std::move(x); });
    ASSERT_TRUE(wait_for(io, out)) << "no answer within the bound";
    EXPECT_EQ(out->status, DnsStatus::TempFail);
    unsigned char buf[512];
    EXPECT_GT(recv(s, buf, sizeof buf, MSG_DONTWAIT), 0);  // the query did reach the silent server
    close(s);
}

TEST(DnsResolverConfig, ConfigKeyTakesAddrPort) {
    auto c = config::load_string("[dns]\nresolver = \"127.0.0.1:5353\"\n");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->dns_resolver, "127.0.0.1:5353");
    auto v6 = config::load_string("[dns]\nresolver = \"[::1]:53\"\n");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->dns_resolver, "[::1]:53");
    for (auto bad : {"127.0.0.1", "localhost:53", "127.0.0.1:0", "127.0.0.1:70000", "::1:53", "[::1]53", ""})
        EXPECT_FALSE(config::load_string(std::string("[dns]\nresolver = \"") + bad + "\"\n").has_value()) << bad;
    // What the key accepts, the resolver accepts.
    boost::asio::io_context io;
    net::DnsResolver::Options o;
    o.server = v6->dns_resolver;
    EXPECT_TRUE(net::DnsResolver::create(io, o).has_value());
}

TEST(DnsDeadServer, DestroyingTheResolverWithAQueryInFlightNeverCallsBack) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &l);
    boost::asio::io_context io;
    net::DnsResolver::Options o;
    o.server = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    o.timeout = std::chrono::milliseconds(100);
    auto r = net::DnsResolver::create(io, o);
    ASSERT_TRUE(r.has_value());
    bool called = false;
    (*r)->mx("example.test", [&](delivery::MxAnswer) { called = true; });
    io.run_one_for(std::chrono::milliseconds(10));  // the query is sent, its socket watched
    r->reset();                                      // pending waits are cancelled, fds not double-closed
    io.restart();
    io.run_for(std::chrono::milliseconds(300));      // past the c-ares timeout: nothing may fire
    EXPECT_FALSE(called);
    close(s);
}
