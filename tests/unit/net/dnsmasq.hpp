// Test helper shared by the resolver tests (tests/unit/net) and the relay's DNS tests
// (tests/unit/relay): a private dnsmasq on a free loopback port with given records, started and
// waited for without fixed sleeps, stopped by the destructor. Test code only.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::test_dns {

inline constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

// A free port on 127.0.0.1 for both UDP and TCP (dnsmasq binds both), as the kernel hands it out.
inline int free_port() {
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
inline bool answers(int port) {
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

// dnsmasq on 127.0.0.1:port() serving `records` (--mx-host / --host-record arguments) for
// names under .test, nothing else (no upstream, no /etc/hosts). The records must include an A
// record for mx1.example.test: answers() asks for it to know the server is up.
class Dnsmasq {
public:
    explicit Dnsmasq(std::vector<std::string> records) : records_(std::move(records)) {
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
            "--local=/test/", "--local-ttl=300"};
        args.insert(args.end(), records_.begin(), records_.end());
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
    std::vector<std::string> records_;
    pid_t pid_ = -1;
    int port_ = -1;
};

}  // namespace tern::test_dns
