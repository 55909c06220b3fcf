// The relay with its real resolver (c-ares) against a dnsmasq the test starts on a free loopback
// port: MX order with the first MX refusing connections, a smarthost given by name, and DNS
// verdicts (NXDOMAIN, Null MX) as results. The same scripted SMTP server as relay_test.cpp.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "fake_smtp.hpp"
#include "relay/relay.hpp"

using namespace tern;
using namespace std::chrono_literals;
using delivery::RemoteResult;
using Kind = RemoteResult::Kind;

namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

// A free port on 127.0.0.1 for both UDP and TCP (dnsmasq binds both), as the kernel hands it out.
int free_port() {
    for (int attempt = 0; attempt < 20; ++attempt) {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) { close(u); continue; }
        socklen_t l = sizeof a;
        getsockname(u, reinterpret_cast<sockaddr*>(&a), &l);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        bool ok = bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        close(t);
        close(u);
        if (ok) return ntohs(a.sin_port);
    }
    return -1;
}

// One UDP query for "mx1.example.test" A; true once dnsmasq answers it.
bool answers(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const unsigned char q[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'm', 'x', '1', 7, 'e', 'x', 'a', 'm',
                               'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    sendto(s, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{s, POLLIN, 0};
    bool ok = false;
    if (poll(&p, 1, 200) == 1) {
        unsigned char buf[512];
        ok = recv(s, buf, sizeof buf, 0) > 12 && buf[0] == 0x12 && buf[1] == 0x34;
    }
    close(s);
    return ok;
}

class Dnsmasq {
public:
    Dnsmasq() {
        for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) start();
    }
    ~Dnsmasq() { stop(); }
    int port() const { return pid_ > 0 ? port_ : -1; }

private:
    void start() {
        port_ = free_port();
        if (port_ < 0) return;
        std::vector<std::string> args = {
            kDnsmasq, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
            "--port=" + std::to_string(port_), "--listen-address=127.0.0.1", "--bind-interfaces",
            "--local=/test/", "--local-ttl=300",
            "--mx-host=two.test,mx1.two.test,10", "--mx-host=two.test,mx2.two.test,20",
            "--host-record=mx1.two.test,127.0.0.2", "--host-record=mx2.two.test,127.0.0.3",
            "--host-record=smart.test,127.0.0.1", "--host-record=mx1.example.test,127.0.0.2",
            "--mx-host=nullmx.test,.,0"};
        pid_ = fork();
        if (pid_ == 0) {
            int devnull = open("/dev/null", O_RDWR);
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(kDnsmasq, argv.data());
            _exit(127);
        }
        // Wait until it answers (or exits, e.g. the port was taken meanwhile): no fixed sleeps.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            if (answers(port_)) return;
        }
        stop();
    }
    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int status = 0;
            waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }
    pid_t pid_ = -1;
    int port_ = -1;
};


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
        server = new Dnsmasq();
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
