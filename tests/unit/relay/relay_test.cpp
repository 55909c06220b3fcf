// The relay against scripted SMTP servers on loopback (fake_smtp.hpp) with fixed DNS answers:
// delivery and body fidelity, per-recipient results, the next MX after a refused greeting,
// connection failures, drops and stalls, reuse, per-destination isolation from a blackhole,
// STARTTLS, AUTH to a smarthost, route verdicts, session refusals and stop().
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "fake_smtp.hpp"
#include "relay/relay.hpp"

namespace tern::relay::testing {
namespace {

using delivery::RemoteJob;
using delivery::RemoteResult;
using Kind = RemoteResult::Kind;
using namespace std::chrono_literals;

struct Collector {
    std::mutex m;
    std::condition_variable cv;
    std::map<std::uint64_t, std::vector<RemoteResult>> results;
    std::vector<std::uint64_t> order;  // ids in the order they were answered
    int calls = 0;

    std::function<void(std::vector<RemoteResult>)> done(std::uint64_t id) {
        return [this, id](std::vector<RemoteResult> r) {
            std::lock_guard l(m);
            ++calls;
            results[id] = std::move(r);
            order.push_back(id);
            cv.notify_all();
        };
    }
    bool wait(std::size_t n, std::chrono::seconds limit = 30s) {
        std::unique_lock l(m);
        return cv.wait_for(l, limit, [&] { return results.size() >= n; });
    }
    bool wait_for(std::uint64_t id, std::chrono::seconds limit = 30s) {
        std::unique_lock l(m);
        return cv.wait_for(l, limit, [&] { return results.contains(id); });
    }
    std::vector<RemoteResult> get(std::uint64_t id) {
        std::lock_guard l(m);
        return results[id];
    }
};

RemoteJob make_job(std::uint64_t id, std::string domain, std::vector<std::string> locals, std::string body = "Subject: t\r\n\r\nhello\r\n") {
    RemoteJob j;
    j.id = id;
    j.domain = domain;
    j.sender = "alice@origin.test";
    for (std::size_t i = 0; i < locals.size(); ++i) j.recipients.push_back({i, locals[i] + "@" + domain, "", ""});
    j.body = base::bytes_from_string(std::move(body));
    return j;
}

// MX answers: each domain -> one MX host -> one address.
std::shared_ptr<delivery::StaticDns> dns_for(std::vector<std::tuple<std::string, std::string, std::string>> mx) {
    auto dns = std::make_shared<delivery::StaticDns>();
    for (auto& [domain, host, address] : mx) {
        auto& a = dns->mx_answers[domain];
        a.status = delivery::DnsStatus::Ok;
        a.records.push_back({static_cast<std::uint16_t>(10 * a.records.size() + 10), host, 300});
        dns->a_answers[host] = {delivery::DnsStatus::Ok, {address}, 300};
    }
    return dns;
}

Options options_for(int port, std::shared_ptr<const delivery::DnsView> dns) {
    Options o;
    o.helo_name = "relay.origin.test";
    o.port = static_cast<std::uint16_t>(port);
    o.ipv4_only = true;
    o.dns = std::move(dns);
    o.connect_timeout = 5s;
    o.idle_reuse = 100ms;
    o.timeouts.greeting = o.timeouts.command = o.timeouts.data_start = o.timeouts.data_block = o.timeouts.data_end = 10s;
    return o;
}

std::unique_ptr<Relay> start(Options o) {
    auto r = Relay::create(std::move(o));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? std::move(*r) : nullptr;
}

TEST(Relay, DeliversOneTransactionWithBodyFidelity) {
    FakeSmtp server({});
    ASSERT_TRUE(server.ok());
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    // A bare CR before ".\r\n", bare LFs, lines starting with "." and no final line end.
    const std::string body = "Subject: fidelity\r\n\r\nline\r.\r\nbare\nlf\n.dot first\r\n..two\r\n.\r\nend";
    relay->deliver(make_job(7, "good.test", {"bob", "carol"}, body), c.done(7));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(7);
    ASSERT_EQ(r.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(r[i].kind, Kind::Delivered);
        EXPECT_EQ(r[i].index, i);
        EXPECT_EQ(r[i].reply, "250 2.0.0 queued");
        EXPECT_EQ(r[i].remote_mta, "mx.good.test [127.0.0.1]");
        EXPECT_FALSE(r[i].relayed_without_dsn);
    }
    relay->stop();
    auto msgs = server.messages();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].rcpts.size(), 2u);
    EXPECT_EQ(msgs[0].mail_from, "MAIL FROM:<alice@origin.test>");
    EXPECT_EQ(msgs[0].data, "Subject: fidelity\r\n\r\nline\r\n.\r\nbare\r\nlf\r\n.dot first\r\n..two\r\n.\r\nend\r\n");
    EXPECT_EQ(server.connections(), 1);
}

TEST(Relay, PerRecipientReplies) {
    Script s;
    s.rcpt_reply = [](const std::string& rcpt) -> std::string {
        if (rcpt.starts_with("later@")) return "451 4.2.0 try again later";
        if (rcpt.starts_with("nobody@")) return "550 5.1.1 <nobody@good.test>: no such user";
        return "250 2.1.5 ok";
    };
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "good.test", {"later", "nobody", "bob"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_EQ(r[0].reply, "451 4.2.0 try again later");
    EXPECT_EQ(r[1].kind, Kind::Failed);
    EXPECT_EQ(r[1].reply, "550 5.1.1 <nobody@good.test>: no such user");
    EXPECT_EQ(r[1].remote_mta, "mx.good.test [127.0.0.1]");
    EXPECT_EQ(r[2].kind, Kind::Delivered);
    relay->stop();
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_EQ(server.messages()[0].rcpts.size(), 1u);
}

TEST(Relay, RefusedDataFailsEveryRecipient) {
    Script s;
    s.data_end_reply = "552 5.3.4 message too big for me";
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a", "b"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    for (auto& x : c.get(1)) {
        EXPECT_EQ(x.kind, Kind::Failed);
        EXPECT_EQ(x.reply, "552 5.3.4 message too big for me");
    }
}

// RFC 5321 §3.1, §5.1: a refused greeting (5xx, or 421 = "not now") or a 4xx to EHLO: the next MX.
void next_mx_after(const std::string& greeting) {
    Script refusing;
    refusing.greeting = greeting;
    FakeSmtp first(refusing, "127.0.0.2");
    ASSERT_TRUE(first.ok());
    FakeSmtp second({}, "127.0.0.3", first.port());
    ASSERT_TRUE(second.ok()) << "port " << first.port() << " taken on 127.0.0.3";
    auto dns = dns_for({{"two.test", "mx1.two.test", "127.0.0.2"}, {"two.test", "mx2.two.test", "127.0.0.3"}});
    auto relay = start(options_for(first.port(), dns));
    Collector c;
    relay->deliver(make_job(1, "two.test", {"bob"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Delivered) << greeting << ": " << r[0].reply;
    EXPECT_EQ(r[0].remote_mta, "mx2.two.test [127.0.0.3]");
    relay->stop();
    EXPECT_EQ(first.connections(), 1);
    EXPECT_EQ(first.messages().size(), 0u);
    EXPECT_EQ(second.messages().size(), 1u);
}

TEST(Relay, RefusedGreetingMovesToTheNextMx) { next_mx_after("554 5.7.1 no service for you"); }
TEST(Relay, TemporaryGreetingMovesToTheNextMx) { next_mx_after("421 4.3.2 too busy, try another"); }
TEST(Relay, TemporaryGreetingOtherThan421MovesToTheNextMx) { next_mx_after("450 4.3.2 not now"); }

TEST(Relay, EveryHostFailingDefersWithTheLastReason) {
    Script refusing;
    refusing.greeting = "554 5.7.1 no service for you";
    FakeSmtp only(refusing);
    auto relay = start(options_for(only.port(), dns_for({{"bad.test", "mx.bad.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "bad.test", {"bob"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_TRUE(r[0].reply.starts_with("451 4.4.0 ")) << r[0].reply;
    EXPECT_NE(r[0].reply.find("554 5.7.1 no service for you"), std::string::npos) << r[0].reply;
    EXPECT_EQ(r[0].remote_mta, "mx.bad.test [127.0.0.1]");

    // Nobody listening: connection refused, a reply made up.
    int closed_port = 0;
    {
        FakeSmtp gone({});
        closed_port = gone.port();
    }
    auto relay2 = start(options_for(closed_port, dns_for({{"gone.test", "mx.gone.test", "127.0.0.1"}})));
    relay2->deliver(make_job(2, "gone.test", {"bob"}), c.done(2));
    ASSERT_TRUE(c.wait(2));
    r = c.get(2);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_TRUE(r[0].reply.starts_with("451 4.4.1 connect to mx.gone.test[127.0.0.1]:")) << r[0].reply;
    EXPECT_EQ(r[0].remote_mta, "");
}

TEST(Relay, ConnectionClosedMidDataDefersAndDeliversNothing) {
    Script s;
    s.close_mid_data = true;
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    std::string body = "Subject: x\r\n\r\n";
    for (int i = 0; i < 3000; ++i) body += std::string(70, 'x') + "\r\n";
    relay->deliver(make_job(1, "good.test", {"a", "b"}, body), c.done(1));
    ASSERT_TRUE(c.wait(1));
    for (auto& x : c.get(1)) {
        EXPECT_EQ(x.kind, Kind::Deferred) << x.reply;
        EXPECT_TRUE(x.reply.starts_with("451 ")) << x.reply;
    }
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(Relay, StalledServerTimesOut) {
    Script s;
    s.stall_at_mail = true;
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.timeouts.command = 1s;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_NE(r[0].reply.find("timed out"), std::string::npos) << r[0].reply;
}

TEST(Relay, SilentGreetingTimesOutAndDefers) {
    Script s;
    s.greeting_delay = 1500ms;
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.timeouts.greeting = 300ms;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_NE(r[0].reply.find("timed out waiting for a reply from mx.good.test[127.0.0.1]"), std::string::npos) << r[0].reply;
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(Relay, ReusesOneConnectionForQueuedJobs) {
    FakeSmtp server({});
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.connections_per_destination = 1;
    o.idle_reuse = 2s;
    auto relay = start(o);
    Collector c;
    for (std::uint64_t id = 1; id <= 3; ++id) relay->deliver(make_job(id, "good.test", {"r" + std::to_string(id)}), c.done(id));
    ASSERT_TRUE(c.wait(3));
    // A fourth job arrives while the connection idles (relay.idle_reuse) and takes it too.
    relay->deliver(make_job(4, "good.test", {"r4"}), c.done(4));
    ASSERT_TRUE(c.wait(4));
    for (std::uint64_t id = 1; id <= 4; ++id) EXPECT_EQ(c.get(id)[0].kind, Kind::Delivered);
    relay->stop();
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(server.messages().size(), 4u);
    EXPECT_EQ(relay->connections_opened(), 1u);
}

// A server that ends an idle connection (its own idle timeout: 421, then close) is noticed while
// the connection waits for reuse: the next message goes on a fresh connection instead of failing
// on the dead one.
TEST(Relay, AConnectionCarriesAtMostMessagesPerConnection) {
    FakeSmtp server({});
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.connections_per_destination = 1;
    o.messages_per_connection = 2;
    o.idle_reuse = 2s;
    auto relay = start(o);
    Collector c;
    for (std::uint64_t id = 1; id <= 5; ++id) relay->deliver(make_job(id, "good.test", {"r"}), c.done(id));
    ASSERT_TRUE(c.wait(5));
    for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_EQ(c.get(id)[0].kind, Kind::Delivered);
    relay->stop();
    EXPECT_EQ(server.messages().size(), 5u);
    EXPECT_EQ(server.connections(), 3);
}

TEST(Relay, ServerClosingAnIdleConnectionIsNoticed) {
    Script s;
    s.after_message = "421 4.4.2 fake.test idle timeout";
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.connections_per_destination = 1;
    o.idle_reuse = 5s;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    std::this_thread::sleep_for(300ms);  // the 421 and the close arrive meanwhile
    relay->deliver(make_job(2, "good.test", {"b"}), c.done(2));
    ASSERT_TRUE(c.wait(2));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Delivered);
    EXPECT_EQ(c.get(2)[0].kind, Kind::Delivered) << c.get(2)[0].reply;
    relay->stop();
    EXPECT_EQ(server.messages().size(), 2u);
    EXPECT_EQ(server.connections(), 2);
}

TEST(Relay, BlackholeDestinationDoesNotDelayOthers) {
    // A listening socket whose accept queue is full: the kernel drops further SYNs, so a connect
    // hangs until relay.connect_timeout.
    int hole = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(hole, 0), 0);
    socklen_t len = sizeof a;
    ::getsockname(hole, reinterpret_cast<sockaddr*>(&a), &len);
    std::vector<int> fillers;
    for (int i = 0; i < 2; ++i) {
        int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
        fillers.push_back(f);
    }
    std::this_thread::sleep_for(200ms);

    FakeSmtp server({});
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.routes["black.test"] = delivery::HostPort{"127.0.0.1", ntohs(a.sin_port)};
    o.connect_timeout = 3s;
    o.connections_per_destination = 2;
    o.connections = 3;  // the blackhole may hold two of them; the third is enough for good.test
    auto relay = start(o);
    Collector c;
    for (std::uint64_t id = 1; id <= 4; ++id) relay->deliver(make_job(id, "black.test", {"x"}), c.done(id));
    for (std::uint64_t id = 10; id < 13; ++id) relay->deliver(make_job(id, "good.test", {"y"}), c.done(id));
    ASSERT_TRUE(c.wait_for(12));
    {
        std::lock_guard l(c.m);
        // Every good.test job was answered before any black.test job.
        ASSERT_GE(c.order.size(), 3u);
        for (std::size_t i = 0; i < 3; ++i) EXPECT_GE(c.order[i], 10u) << i;
    }
    ASSERT_TRUE(c.wait(7));
    for (std::uint64_t id = 10; id < 13; ++id) EXPECT_EQ(c.get(id)[0].kind, Kind::Delivered);
    for (std::uint64_t id = 1; id <= 4; ++id) {
        auto r = c.get(id);
        EXPECT_EQ(r[0].kind, Kind::Deferred);
        EXPECT_NE(r[0].reply.find("timed out"), std::string::npos) << r[0].reply;
    }
    relay->stop();
    for (int f : fillers) ::close(f);
    ::close(hole);
}

TEST(Relay, StartTlsWhenOffered) {
    Script s;
    s.starttls = true;
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.idle_reuse = 5s;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Delivered) << c.get(1)[0].reply;
    // The second message is handed to the idle TLS connection (its idle read is cancelled).
    std::this_thread::sleep_for(100ms);
    relay->deliver(make_job(2, "good.test", {"b"}), c.done(2));
    ASSERT_TRUE(c.wait(2));
    EXPECT_EQ(c.get(2)[0].kind, Kind::Delivered) << c.get(2)[0].reply;
    relay->stop();
    ASSERT_EQ(server.messages().size(), 2u);
    EXPECT_TRUE(server.messages()[0].tls);
    EXPECT_TRUE(server.messages()[1].tls);
    EXPECT_EQ(server.connections(), 1);
}

TEST(Relay, FailedOpportunisticTlsFallsBackToPlainText) {
    Script s;
    s.broken_tls = true;
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Delivered) << c.get(1)[0].reply;
    relay->stop();
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_FALSE(server.messages()[0].tls);
    EXPECT_EQ(server.connections(), 2);
}

TEST(Relay, FailedRequiredTlsDefers) {
    Script s;
    s.broken_tls = true;
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.tls = TlsPolicy::Required;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Deferred);
    EXPECT_TRUE(c.get(1)[0].reply.starts_with("451 4.7.0 TLS handshake failed")) << c.get(1)[0].reply;
    relay->stop();
    EXPECT_EQ(server.messages().size(), 0u);
    EXPECT_EQ(server.connections(), 1);
}

TEST(Relay, RequiredTlsWithoutStartTlsDefers) {
    FakeSmtp server({});
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.tls = TlsPolicy::Required;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_TRUE(r[0].reply.starts_with("451 4.7.0")) << r[0].reply;
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(Relay, SmarthostWithAuth) {
    Script s;
    s.starttls = true;
    s.auth_user = "relayuser";
    s.auth_password = "pw";
    FakeSmtp server(s);
    auto o = options_for(25, std::make_shared<delivery::StaticDns>());
    o.smarthost = delivery::HostPort{"127.0.0.1", static_cast<std::uint16_t>(server.port())};
    o.smarthost_user = "relayuser";
    o.smarthost_password = "pw";
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "anywhere.test", {"a"}), c.done(1));
    relay->deliver(make_job(2, "elsewhere.test", {"b"}), c.done(2));
    ASSERT_TRUE(c.wait(2));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Delivered) << c.get(1)[0].reply;
    EXPECT_EQ(c.get(2)[0].kind, Kind::Delivered) << c.get(2)[0].reply;
    relay->stop();
    ASSERT_EQ(server.messages().size(), 2u);
    EXPECT_EQ(server.messages()[0].auth, "relayuser");
    EXPECT_TRUE(server.messages()[0].tls);
}

TEST(Relay, SmarthostRefusingCredentialsDefers) {
    Script s;
    s.starttls = true;
    s.auth_user = "relayuser";
    s.auth_password = "right";
    FakeSmtp server(s);
    auto o = options_for(25, std::make_shared<delivery::StaticDns>());
    o.smarthost = delivery::HostPort{"127.0.0.1", static_cast<std::uint16_t>(server.port())};
    o.smarthost_user = "relayuser";
    o.smarthost_password = "wrong";
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "anywhere.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Deferred);
    EXPECT_TRUE(r[0].reply.starts_with("451 4.7.0 ")) << r[0].reply;
    EXPECT_NE(r[0].reply.find("535 5.7.8"), std::string::npos) << r[0].reply;
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(Relay, SmarthostWithImplicitTls) {
    Script s;
    s.implicit_tls = true;
    s.auth_user = "relayuser";
    s.auth_password = "pw";
    FakeSmtp server(s);
    auto o = options_for(25, std::make_shared<delivery::StaticDns>());
    o.smarthost = delivery::HostPort{"127.0.0.1", static_cast<std::uint16_t>(server.port())};
    o.smarthost_tls = TlsPolicy::Implicit;
    o.smarthost_user = "relayuser";
    o.smarthost_password = "pw";
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "anywhere.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Delivered) << c.get(1)[0].reply;
    relay->stop();
    ASSERT_EQ(server.messages().size(), 1u);
    EXPECT_TRUE(server.messages()[0].tls);
    EXPECT_EQ(server.messages()[0].auth, "relayuser");
}

TEST(Relay, ConnectionsPerDestinationIsALimit) {
    Script s;
    s.rcpt_reply = [](const std::string&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));  // keep each connection busy a while
        return std::string("250 2.1.5 ok");
    };
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}}));
    o.connections_per_destination = 2;
    o.idle_reuse = 0ms;
    auto relay = start(o);
    Collector c;
    for (std::uint64_t id = 1; id <= 8; ++id) relay->deliver(make_job(id, "good.test", {"r"}), c.done(id));
    ASSERT_TRUE(c.wait(8));
    for (std::uint64_t id = 1; id <= 8; ++id) EXPECT_EQ(c.get(id)[0].kind, Kind::Delivered);
    relay->stop();
    EXPECT_EQ(server.messages().size(), 8u);
    EXPECT_LE(server.most_at_once(), 2);
    EXPECT_EQ(server.connections(), 2);  // queued jobs went on the open connections
}

// A destination whose connections reach no host gets one connection at a time (and what waits
// for it is deferred with the same reason) until a connection succeeds.
TEST(Relay, FailingDestinationGetsOneConnection) {
    Script s;
    s.greeting = "421 4.3.2 not now";
    s.greeting_delay = 300ms;
    FakeSmtp server(s);
    auto o = options_for(server.port(), dns_for({{"busy.test", "mx.busy.test", "127.0.0.1"}}));
    o.connections_per_destination = 3;
    auto relay = start(o);
    Collector c;
    relay->deliver(make_job(1, "busy.test", {"a"}), c.done(1));
    ASSERT_TRUE(c.wait(1));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Deferred);
    for (std::uint64_t id = 2; id <= 5; ++id) relay->deliver(make_job(id, "busy.test", {"a"}), c.done(id));
    ASSERT_TRUE(c.wait(5));
    for (std::uint64_t id = 2; id <= 5; ++id) {
        EXPECT_EQ(c.get(id)[0].kind, Kind::Deferred);
        EXPECT_EQ(c.get(id)[0].reply, "421 4.3.2 not now");
    }
    relay->stop();
    EXPECT_EQ(server.most_at_once(), 1);
    EXPECT_EQ(server.connections(), 2);
}

TEST(Relay, RelayedWithoutDsnWhenThePeerLacksIt) {
    Script s;
    s.extensions = {"PIPELINING", "8BITMIME"};
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    auto job = make_job(1, "good.test", {"a", "b"});
    job.recipients[0].notify = "SUCCESS,FAILURE";
    job.recipients[1].notify = "FAILURE";
    relay->deliver(std::move(job), c.done(1));
    ASSERT_TRUE(c.wait(1));
    auto r = c.get(1);
    EXPECT_EQ(r[0].kind, Kind::Delivered);
    EXPECT_TRUE(r[0].relayed_without_dsn);
    EXPECT_FALSE(r[1].relayed_without_dsn);
}

TEST(Relay, SessionRefusalsFailTheMessage) {
    Script s;
    s.extensions = {"PIPELINING", "SIZE 100"};  // no 8BITMIME
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a"}, "Subject: big\r\n\r\n" + std::string(200, 'x') + "\r\n"), c.done(1));
    relay->deliver(make_job(2, "good.test", {"a"}, "Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n"), c.done(2));
    auto utf8 = make_job(3, "good.test", {"a"});
    utf8.smtputf8 = true;
    relay->deliver(std::move(utf8), c.done(3));
    ASSERT_TRUE(c.wait(3));
    EXPECT_EQ(c.get(3)[0].kind, Kind::Failed);
    EXPECT_TRUE(c.get(3)[0].reply.starts_with("553 5.6.7 ")) << c.get(3)[0].reply;
    EXPECT_EQ(c.get(1)[0].kind, Kind::Failed);
    EXPECT_TRUE(c.get(1)[0].reply.starts_with("552 5.3.4 ")) << c.get(1)[0].reply;
    EXPECT_EQ(c.get(2)[0].kind, Kind::Failed);
    EXPECT_TRUE(c.get(2)[0].reply.starts_with("554 5.6.3 ")) << c.get(2)[0].reply;
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(Relay, RouteVerdicts) {
    auto dns = std::make_shared<delivery::StaticDns>();
    dns->mx_answers["tempfail.test"] = {delivery::DnsStatus::TempFail, {}};
    dns->mx_answers["nullmx.test"] = {delivery::DnsStatus::Ok, {{0, ".", 300}}};
    auto relay = start(options_for(25, dns));
    Collector c;
    relay->deliver(make_job(1, "nosuch.test", {"a"}), c.done(1));
    relay->deliver(make_job(2, "tempfail.test", {"a"}), c.done(2));
    relay->deliver(make_job(3, "nullmx.test", {"a"}), c.done(3));
    ASSERT_TRUE(c.wait(3));
    EXPECT_EQ(c.get(1)[0].kind, Kind::Failed);
    EXPECT_TRUE(c.get(1)[0].reply.starts_with("550 5.1.2 ")) << c.get(1)[0].reply;
    EXPECT_EQ(c.get(2)[0].kind, Kind::Deferred);
    EXPECT_TRUE(c.get(2)[0].reply.starts_with("451 4.4.3 ")) << c.get(2)[0].reply;
    EXPECT_EQ(c.get(3)[0].kind, Kind::Failed);
    EXPECT_TRUE(c.get(3)[0].reply.starts_with("556 5.1.10 ")) << c.get(3)[0].reply;
}

TEST(Relay, StopAnswersUnfinishedJobs) {
    Script s;
    s.stall_at_mail = true;
    FakeSmtp server(s);
    auto relay = start(options_for(server.port(), dns_for({{"good.test", "mx.good.test", "127.0.0.1"}})));
    Collector c;
    relay->deliver(make_job(1, "good.test", {"a", "b"}), c.done(1));
    for (int i = 0; i < 200 && server.commands().empty(); ++i) std::this_thread::sleep_for(10ms);
    relay->stop();
    ASSERT_EQ(c.calls, 1);
    for (auto& x : c.get(1)) {
        EXPECT_EQ(x.kind, Kind::Deferred);
        EXPECT_EQ(x.reply, "451 4.3.2 shutting down");
    }
    // After stop(): answered at once, never twice.
    relay->deliver(make_job(2, "good.test", {"a"}), c.done(2));
    EXPECT_EQ(c.calls, 2);
    relay.reset();
    EXPECT_EQ(c.calls, 2);
}

}  // namespace
}  // namespace tern::relay::testing
