// The relay with its real resolver (c-ares) against a dnsmasq the test starts on a free loopback
// port: MX order with the first MX refusing connections, a smarthost given by name, and DNS
// verdicts (NXDOMAIN, Null MX) as results. The same scripted SMTP server as relay_test.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "../net/dnsmasq.hpp"
#include "fake_smtp.hpp"
#include "relay/relay.hpp"

using namespace tern;
using namespace std::chrono_literals;
using delivery::RemoteResult;
using Kind = RemoteResult::Kind;

namespace {

using test_dns::Dnsmasq;
using test_dns::kDnsmasq;

// The records every test here asks for.
std::vector<std::string> records() {
    return {"--mx-host=two.test,mx1.two.test,10", "--mx-host=two.test,mx2.two.test,20",
            "--host-record=mx1.two.test,127.0.0.2", "--host-record=mx2.two.test,127.0.0.3",
            "--host-record=smart.test,127.0.0.1", "--host-record=mx1.example.test,127.0.0.2",
            "--mx-host=nullmx.test,.,0"};
}


struct Answers {
    std::mutex m;
    std::condition_variable cv;
    std::map<std::uint64_t, std::vector<RemoteResult>> results;
    std::function<void(std::vector<RemoteResult>)> done(std::uint64_t id) {
        return [this, id](std::vector<RemoteResult> r) {
            std::lock_guard l(m);
            results[id] = std::move(r);
            cv.notify_all();
        };
    }
    std::vector<RemoteResult> wait(std::uint64_t id) {
        std::unique_lock l(m);
        cv.wait_for(l, 30s, [&] { return results.contains(id); });
        return results[id];
    }
};

delivery::RemoteJob job(std::uint64_t id, std::string domain) {
    delivery::RemoteJob j;
    j.id = id;
    j.domain = domain;
    j.sender = "alice@origin.test";
    j.recipients.push_back({0, "bob@" + domain, "", ""});
    j.body = base::bytes_from_string("Subject: dns\r\n\r\nhi\r\n");
    return j;
}

struct RelayDns : ::testing::Test {
    static void SetUpTestSuite() {
        ASSERT_EQ(access(kDnsmasq, X_OK), 0) << "dnsmasq missing: run scripts/deps.sh test";
        server = new Dnsmasq(records());
    }
    static void TearDownTestSuite() {
        delete server;
        server = nullptr;
    }
    void SetUp() override { ASSERT_GT(server->port(), 0) << "dnsmasq did not start"; }
    relay::Options options(int smtp_port) {
        relay::Options o;
        o.helo_name = "relay.origin.test";
        o.resolver = "127.0.0.1:" + std::to_string(server->port());
        o.port = static_cast<std::uint16_t>(smtp_port);
        o.ipv4_only = true;
        o.connect_timeout = 5s;
        o.idle_reuse = 0ms;
        return o;
    }
    static Dnsmasq* server;
};
Dnsmasq* RelayDns::server = nullptr;

TEST_F(RelayDns, SecondMxAfterTheFirstRefusesConnections) {
    relay::testing::FakeSmtp smtp({}, "127.0.0.3");
    ASSERT_TRUE(smtp.ok());
    auto r = relay::Relay::create(options(smtp.port()));  // nothing listens on 127.0.0.2 at that port
    ASSERT_TRUE(r) << r.error().message;
    Answers a;
    (*r)->deliver(job(1, "two.test"), a.done(1));
    auto res = a.wait(1);
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].kind, Kind::Delivered) << res[0].reply;
    EXPECT_EQ(res[0].remote_mta, "mx2.two.test [127.0.0.3]");
    (*r)->stop();
    EXPECT_EQ(smtp.messages().size(), 1u);
}

TEST_F(RelayDns, SmarthostByName) {
    relay::testing::FakeSmtp smtp({});
    auto o = options(25);
    o.smarthost = delivery::HostPort{"smart.test", static_cast<std::uint16_t>(smtp.port())};
    auto r = relay::Relay::create(o);
    ASSERT_TRUE(r) << r.error().message;
    Answers a;
    (*r)->deliver(job(1, "anywhere.example"), a.done(1));
    auto res = a.wait(1);
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].kind, Kind::Delivered) << res[0].reply;
    EXPECT_EQ(res[0].remote_mta, "smart.test [127.0.0.1]");
}

TEST_F(RelayDns, DnsVerdicts) {
    auto r = relay::Relay::create(options(25));
    ASSERT_TRUE(r) << r.error().message;
    Answers a;
    (*r)->deliver(job(1, "nosuch.test"), a.done(1));
    (*r)->deliver(job(2, "nullmx.test"), a.done(2));
    auto one = a.wait(1), two = a.wait(2);
    ASSERT_EQ(one.size(), 1u);
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(one[0].kind, Kind::Failed);
    EXPECT_TRUE(one[0].reply.starts_with("550 5.1.2 ")) << one[0].reply;
    EXPECT_EQ(two[0].kind, Kind::Failed);
    EXPECT_TRUE(two[0].reply.starts_with("556 5.1.10 ")) << two[0].reply;
}

}  // namespace
