// A scripted SMTP server for the relay's tests: listens on a loopback address and port, serves each
// connection on its own thread with blocking sockets (and OpenSSL after STARTTLS), answers as the
// test's Script says and records what arrived (dot-stuffing undone). Must never outlive its test:
// the destructor stops every thread, whatever the client does.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tls.hpp"

namespace tern::relay::testing {

struct Script {
    std::string greeting = "220 fake.test ESMTP";
    std::chrono::milliseconds greeting_delay{0};  // wait this long before the greeting
    std::vector<std::string> extensions = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN"};
    std::function<std::string(const std::string& rcpt)> rcpt_reply;  // default "250 2.1.5 ok"
    std::string data_end_reply = "250 2.0.0 queued";
    bool close_mid_data = false;   // drop the connection after the first line of data
    bool stall_at_mail = false;    // never answer MAIL
    std::string after_message;     // sent (e.g. "421 4.4.2 idle") after each accepted message, then close
    bool starttls = false;         // offer STARTTLS (a self-signed certificate)
    bool implicit_tls = false;     // TLS from the first byte (port 465 style)
    bool broken_tls = false;       // offer STARTTLS, answer 220, then send garbage instead of TLS
    std::string auth_user;         // offer AUTH PLAIN LOGIN (after TLS) and accept this user...
    std::string auth_password;     // ...with this password; anything else gets 535
};

struct Received {
    std::string mail_from;
    std::vector<std::string> rcpts;
    std::string data;   // as the client meant it: CRLF lines, dot-stuffing undone, without "."
    bool tls = false;
    std::string auth;   // the user that authenticated, or ""
};

class FakeSmtp {
public:
    // port 0: any free port.
    explicit FakeSmtp(Script script, std::string address = "127.0.0.1", int port = 0)
        : script_(std::move(script)) {
        // OpenSSL writes with write(2): a client that already closed must not kill the test
        // binary with SIGPIPE (the relay's own sockets send with MSG_NOSIGNAL through Asio).
        ::signal(SIGPIPE, SIG_IGN);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        socklen_t l = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &l);
        port_ = ntohs(a.sin_port);
        if (script_.starttls || script_.implicit_tls) setup_tls();
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakeSmtp() {
        stop_ = true;
        if (acceptor_.joinable()) acceptor_.join();
        std::vector<std::thread> ts;
        {
            std::lock_guard l(mutex_);
            ts.swap(threads_);
        }
        for (auto& t : ts) t.join();
        if (fd_ >= 0) ::close(fd_);
        if (ctx_) SSL_CTX_free(ctx_);
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    bool ok() const { return fd_ >= 0; }
    int port() const { return port_; }
    int connections() const { return connections_.load(); }
    int most_at_once() const { return most_.load(); }  // the most connections open at one time
    std::vector<Received> messages() {
        std::lock_guard l(mutex_);
        return messages_;
    }
    std::vector<std::string> commands() {
        std::lock_guard l(mutex_);
        return commands_;
    }

private:
    struct Io {
        int fd = -1;
        SSL* ssl = nullptr;
        std::string in;
    };

    void setup_tls() {
        dir_ = std::filesystem::temp_directory_path() / ("tern-fake-smtp-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
        std::filesystem::create_directories(dir_);
        auto files = net::ensure_self_signed(dir_, "fake.test");
        if (!files) return;
        ctx_ = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate_chain_file(ctx_, files->cert.c_str());
        SSL_CTX_use_PrivateKey_file(ctx_, files->key.c_str(), SSL_FILETYPE_PEM);
    }

    void accept_loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) != 1) continue;
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            ++connections_;
            std::lock_guard l(mutex_);
            threads_.emplace_back([this, c] { serve(c); });
        }
    }

    bool write(Io& io, const std::string& s) {
        if (io.ssl) return SSL_write(io.ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size());
        return ::send(io.fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    }
    // One line without its CRLF; false when the client went away or the server stops.
    bool line(Io& io, std::string& out) {
        for (;;) {
            if (auto e = io.in.find("\r\n"); e != std::string::npos) {
                out = io.in.substr(0, e);
                io.in.erase(0, e + 2);
                return true;
            }
            if (stop_) return false;
            if (!io.ssl || SSL_pending(io.ssl) == 0) {
                pollfd p{io.fd, POLLIN, 0};
                if (::poll(&p, 1, 50) != 1) continue;
            }
            char buf[4096];
            int n = io.ssl ? SSL_read(io.ssl, buf, sizeof buf) : static_cast<int>(::recv(io.fd, buf, sizeof buf, 0));
            if (n <= 0) return false;
            io.in.append(buf, static_cast<std::size_t>(n));
        }
    }
    void record(const std::string& cmd) {
        std::lock_guard l(mutex_);
        commands_.push_back(cmd);
    }

    void serve(int fd) {
        const int now = ++open_;
        for (int m = most_.load(); now > m && !most_.compare_exchange_weak(m, now);) {
        }
        serve_connection(fd);
        --open_;
    }

    void serve_connection(int fd) {
        Io io;
        io.fd = fd;
        if (script_.implicit_tls) {
            io.ssl = SSL_new(ctx_);
            SSL_set_fd(io.ssl, fd);
            if (SSL_accept(io.ssl) != 1) {
                SSL_free(io.ssl);
                ::close(fd);
                return;
            }
        }
        Received cur;
        std::string auth_user;
        bool stalled = false;
        std::this_thread::sleep_for(script_.greeting_delay);
        write(io, script_.greeting + "\r\n");
        std::string l;
        while (line(io, l)) {
            record(l);
            std::string verb = l.substr(0, l.find(' '));
            for (auto& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (stalled) continue;
            if (verb == "EHLO" || verb == "HELO") {
                std::vector<std::string> ext = script_.extensions;
                if ((script_.starttls || script_.broken_tls) && !io.ssl) ext.push_back("STARTTLS");
                if (!script_.auth_user.empty() && (io.ssl || !script_.starttls)) ext.push_back("AUTH LOGIN PLAIN");
                std::string r = "250";
                r += ext.empty() ? " " : "-";
                r += "fake.test\r\n";
                for (std::size_t i = 0; i < ext.size(); ++i) r += (i + 1 == ext.size() ? "250 " : "250-") + ext[i] + "\r\n";
                write(io, r);
            } else if (verb == "STARTTLS" && script_.broken_tls) {
                write(io, "220 2.0.0 go ahead\r\nthis is not a TLS server hello, not at all\r\n");
                break;
            } else if (verb == "STARTTLS" && ctx_ && !io.ssl) {
                write(io, "220 2.0.0 go ahead\r\n");
                io.in.clear();
                io.ssl = SSL_new(ctx_);
                SSL_set_fd(io.ssl, fd);
                if (SSL_accept(io.ssl) != 1) break;
            } else if (verb == "AUTH") {
                std::string expect = std::string(1, '\0') + script_.auth_user + std::string(1, '\0') + script_.auth_password;
                std::string given = l.size() > 11 ? l.substr(11) : "";
                if (l.rfind("AUTH PLAIN ", 0) == 0 && given == b64(expect)) {
                    auth_user = script_.auth_user;
                    write(io, "235 2.7.0 ok\r\n");
                } else {
                    write(io, "535 5.7.8 Authentication credentials invalid\r\n");
                }
            } else if (verb == "MAIL") {
                if (script_.stall_at_mail) {
                    stalled = true;
                    continue;
                }
                cur = Received{};
                cur.mail_from = l;
                write(io, "250 2.1.0 ok\r\n");
            } else if (verb == "RCPT") {
                auto b = l.find('<'), e = l.find('>');
                std::string rcpt = b != std::string::npos && e != std::string::npos ? l.substr(b + 1, e - b - 1) : l;
                std::string reply = script_.rcpt_reply ? script_.rcpt_reply(rcpt) : "250 2.1.5 ok";
                if (reply[0] == '2') cur.rcpts.push_back(l);
                write(io, reply + "\r\n");
            } else if (verb == "DATA") {
                if (cur.rcpts.empty()) {
                    write(io, "554 5.5.1 no valid recipients\r\n");
                    continue;
                }
                write(io, "354 go ahead\r\n");
                std::string d;
                bool ended = false;
                while (line(io, d)) {
                    if (script_.close_mid_data) break;
                    if (d == ".") {
                        ended = true;
                        break;
                    }
                    if (!d.empty() && d[0] == '.') d.erase(0, 1);  // RFC 5321 §4.5.2
                    cur.data += d + "\r\n";
                }
                if (!ended) break;
                cur.tls = io.ssl != nullptr;
                cur.auth = auth_user;
                if (script_.data_end_reply[0] == '2') {
                    std::lock_guard lk(mutex_);
                    messages_.push_back(cur);
                }
                write(io, script_.data_end_reply + "\r\n");
                if (!script_.after_message.empty()) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    write(io, script_.after_message + "\r\n");
                    break;
                }
            } else if (verb == "QUIT") {
                write(io, "221 2.0.0 bye\r\n");
                break;
            } else if (verb == "RSET" || verb == "NOOP") {
                write(io, "250 2.0.0 ok\r\n");
            } else {
                write(io, "502 5.5.2 what\r\n");
            }
        }
        if (io.ssl) {
            SSL_shutdown(io.ssl);
            SSL_free(io.ssl);
        }
        ::close(fd);
    }

    static std::string b64(const std::string& in) {
        static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string out;
        std::size_t i = 0;
        for (; i + 2 < in.size(); i += 3) {
            unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                         static_cast<unsigned char>(in[i + 2]);
            out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
        }
        if (i + 1 == in.size()) {
            unsigned v = static_cast<unsigned char>(in[i]) << 16;
            out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
        } else if (i + 2 == in.size()) {
            unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
            out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
        }
        return out;
    }

    Script script_;
    int fd_ = -1;
    int port_ = 0;
    std::filesystem::path dir_;
    SSL_CTX* ctx_ = nullptr;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> open_{0};
    std::atomic<int> most_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> threads_;
    std::vector<Received> messages_;
    std::vector<std::string> commands_;
};

}  // namespace tern::relay::testing
