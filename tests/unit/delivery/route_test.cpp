// The outbound routing rules (RFC 5321 §5.1, RFC 7505) against a fake DNS (StaticDns) and a fixed
// RNG seed: MX order, implicit MX, Null MX, NXDOMAIN, temporary failures, loops, configured routes.
#include <gtest/gtest.h>

#include <set>

#include "delivery/route.hpp"

using namespace tern::delivery;

namespace {

AddressAnswer ok(std::vector<std::string> a) { return AddressAnswer{DnsStatus::Ok, std::move(a), 300}; }
AddressAnswer nodata() { return AddressAnswer{DnsStatus::NoData, {}, 0}; }

struct RouteTest : ::testing::Test {
    StaticDns dns;
    RouteConfig cfg;
    std::mt19937 rng{42};
    RouteResult run(std::string_view d) { return route(d, dns, cfg, rng); }
};

std::vector<std::string> hosts(const RouteResult& r) {
    std::vector<std::string> out;
    for (auto& t : r.targets) out.push_back(t.host + "/" + t.address);
    return out;
}

}  // namespace

TEST_F(RouteTest, MxOrderedByPreferenceThenEachHostsAddressesV6First) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{20, "mx2.example.org.", 60}, {10, "MX1.example.org", 60}}};
    dns.a_answers["mx1.example.org"] = ok({"192.0.2.1"});
    dns.aaaa_answers["mx1.example.org"] = ok({"2001:db8::1"});
    dns.a_answers["mx2.example.org"] = ok({"192.0.2.2"});
    dns.aaaa_answers["mx2.example.org"] = nodata();
    auto r = run("Example.ORG.");
    ASSERT_EQ(r.kind, RouteResult::Kind::Targets);
    EXPECT_EQ(hosts(r), (std::vector<std::string>{"mx1.example.org/2001:db8::1", "mx1.example.org/192.0.2.1",
                                                  "mx2.example.org/192.0.2.2"}));
    EXPECT_EQ(r.targets[0].port, 25);
    EXPECT_EQ(r.targets[2].preference, 20);
}

TEST_F(RouteTest, Ipv4OnlySkipsAaaa) {
    cfg.ipv4_only = true;
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "mx1.example.org", 60}}};
    dns.a_answers["mx1.example.org"] = ok({"192.0.2.1"});
    dns.aaaa_answers["mx1.example.org"] = ok({"2001:db8::1"});
    EXPECT_EQ(hosts(run("example.org")), (std::vector<std::string>{"mx1.example.org/192.0.2.1"}));
}

TEST_F(RouteTest, EqualPreferencesAreRandomisedByTheInjectedRng) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "a.example.org", 60}, {10, "b.example.org", 60},
                                                             {10, "c.example.org", 60}, {5, "first.example.org", 60}}};
    for (auto h : {"a", "b", "c", "first"}) {
        dns.a_answers[std::string(h) + ".example.org"] = ok({std::string("192.0.2.") + (h[0] == 'f' ? "9" : "1")});
        dns.aaaa_answers[std::string(h) + ".example.org"] = nodata();
    }
    std::set<std::string> second_hosts;
    std::mt19937 seeded{1};
    for (int i = 0; i < 50; ++i) {
        auto r = route("example.org", dns, cfg, seeded);
        ASSERT_EQ(r.targets.size(), 4u);
        EXPECT_EQ(r.targets[0].host, "first.example.org");  // lowest preference always first
        second_hosts.insert(r.targets[1].host);
    }
    EXPECT_EQ(second_hosts.size(), 3u);  // all three equal hosts came second at some point
    // The same seed gives the same order.
    std::mt19937 s1{7}, s2{7};
    EXPECT_EQ(hosts(route("example.org", dns, cfg, s1)), hosts(route("example.org", dns, cfg, s2)));
}

TEST_F(RouteTest, NoMxUsesTheDomainsOwnAddressesAsImplicitMx) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::NoData, {}};
    dns.a_answers["example.org"] = ok({"192.0.2.7"});
    dns.aaaa_answers["example.org"] = nodata();
    auto r = run("example.org");
    ASSERT_EQ(r.kind, RouteResult::Kind::Targets);
    EXPECT_EQ(hosts(r), (std::vector<std::string>{"example.org/192.0.2.7"}));
}

TEST_F(RouteTest, NoMxAndNoAddressIsPermanent) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::NoData, {}};
    dns.a_answers["example.org"] = nodata();
    dns.aaaa_answers["example.org"] = nodata();
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Permanent);
    EXPECT_EQ(r.reply.substr(0, 9), "550 5.1.2");
}

TEST_F(RouteTest, NxDomainIsPermanent512) {
    auto r = run("nowhere.example");
    EXPECT_EQ(r.kind, RouteResult::Kind::Permanent);
    EXPECT_EQ(r.reply.substr(0, 9), "550 5.1.2");
}

TEST_F(RouteTest, NullMxIsPermanent556_5110) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{0, ".", 60}}};
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Permanent);
    EXPECT_EQ(r.reply.substr(0, 10), "556 5.1.10");
}

TEST_F(RouteTest, NullMxBesideRealMxIsIgnored) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{0, ".", 60}, {10, "mx.example.org", 60}}};
    dns.a_answers["mx.example.org"] = ok({"192.0.2.1"});
    dns.aaaa_answers["mx.example.org"] = nodata();
    EXPECT_EQ(hosts(run("example.org")), (std::vector<std::string>{"mx.example.org/192.0.2.1"}));
}

TEST_F(RouteTest, ServfailOrTimeoutIsTemporary443) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::TempFail, {}};
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Temporary);
    EXPECT_EQ(r.reply.substr(0, 9), "451 4.4.3");
}

TEST_F(RouteTest, MxHostWithoutAddressesIsSkipped) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "dead.example.org", 60}, {20, "mx.example.org", 60}}};
    dns.a_answers["mx.example.org"] = ok({"192.0.2.1"});
    dns.aaaa_answers["mx.example.org"] = nodata();
    EXPECT_EQ(hosts(run("example.org")), (std::vector<std::string>{"mx.example.org/192.0.2.1"}));
}

TEST_F(RouteTest, AllMxHostsWithoutAddressesIsPermanentUnlessTemporaryLookupFailure) {
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "dead.example.org", 60}}};
    EXPECT_EQ(run("example.org").kind, RouteResult::Kind::Permanent);
    dns.a_answers["dead.example.org"] = AddressAnswer{DnsStatus::TempFail, {}, 0};
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Temporary);
    EXPECT_EQ(r.reply.substr(0, 9), "451 4.4.3");
}

TEST_F(RouteTest, MxPointingAtUsDropsThatAndLessPreferredHosts) {
    cfg.self_names = {"mail.us.example"};
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "primary.example.org", 60},
                                                             {20, "mail.us.example", 60},
                                                             {30, "tertiary.example.org", 60}}};
    dns.a_answers["primary.example.org"] = ok({"192.0.2.1"});
    dns.a_answers["tertiary.example.org"] = ok({"192.0.2.3"});
    dns.a_answers["mail.us.example"] = ok({"198.51.100.1"});
    EXPECT_EQ(hosts(run("example.org")), (std::vector<std::string>{"primary.example.org/192.0.2.1"}));
}

TEST_F(RouteTest, BestMxIsUsByNameIsALoop546) {
    cfg.self_names = {"Mail.Us.Example."};
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "mail.us.example", 60}, {20, "backup.example.org", 60}}};
    dns.a_answers["mail.us.example"] = ok({"198.51.100.1"});
    dns.a_answers["backup.example.org"] = ok({"192.0.2.3"});
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Permanent);
    EXPECT_EQ(r.reply.substr(0, 9), "554 5.4.6");
}

TEST_F(RouteTest, BestMxIsUsByAddressIsALoop) {
    cfg.self_addresses = {"127.0.0.2"};
    dns.mx_answers["example.org"] = MxAnswer{DnsStatus::Ok, {{10, "other-name.example.org", 60}}};
    dns.a_answers["other-name.example.org"] = ok({"127.0.0.2"});
    auto r = run("example.org");
    EXPECT_EQ(r.kind, RouteResult::Kind::Permanent);
    EXPECT_EQ(r.reply.substr(0, 9), "554 5.4.6");
}

TEST_F(RouteTest, LocalDomainsAreNeverRoutedOut) {
    cfg.local_domains = {"us.example"};
    cfg.smarthost = HostPort{"192.0.2.50", 587};
    dns.mx_answers["us.example"] = MxAnswer{DnsStatus::Ok, {{10, "mx.elsewhere.example", 60}}};
    dns.a_answers["mx.elsewhere.example"] = ok({"192.0.2.1"});
    auto r = run("US.example");
    EXPECT_EQ(r.kind, RouteResult::Kind::Local);
    EXPECT_TRUE(r.targets.empty());
}

TEST_F(RouteTest, SmarthostTakesEverythingWithItsPortAndNoMxLookup) {
    cfg.smarthost = HostPort{"relay.provider.example", 587};
    dns.a_answers["relay.provider.example"] = ok({"203.0.113.5"});
    dns.aaaa_answers["relay.provider.example"] = nodata();
    auto r = run("nxdomain-would-bounce.example");
    ASSERT_EQ(r.kind, RouteResult::Kind::Targets);
    ASSERT_EQ(r.targets.size(), 1u);
    EXPECT_EQ(r.targets[0].address, "203.0.113.5");
    EXPECT_EQ(r.targets[0].port, 587);
    EXPECT_EQ(r.targets[0].host, "relay.provider.example");
}

TEST_F(RouteTest, PerDomainOverrideBeatsSmarthostAndTakesIpLiterals) {
    cfg.smarthost = HostPort{"relay.provider.example", 587};
    cfg.overrides["partner.example"] = HostPort{"127.0.0.3", 2525};
    auto r = run("Partner.Example");
    ASSERT_EQ(r.kind, RouteResult::Kind::Targets);
    ASSERT_EQ(r.targets.size(), 1u);
    EXPECT_EQ(r.targets[0].address, "127.0.0.3");
    EXPECT_EQ(r.targets[0].port, 2525);
}

TEST_F(RouteTest, SmarthostLookupFailureIsTemporary) {
    cfg.smarthost = HostPort{"relay.provider.example", 587};
    dns.a_answers["relay.provider.example"] = AddressAnswer{DnsStatus::TempFail, {}, 0};
    EXPECT_EQ(run("example.org").kind, RouteResult::Kind::Temporary);
}
