// The network layer: Asio listeners, one C++20 coroutine per connection, idle timeouts,
// connection limits and graceful shutdown. Sessions (src/session) do all protocol work; this
// layer only moves bytes. Must never block the I/O thread on disk (the spool commits on its own
// thread) and never leave a client without an answer when it stops.
#pragma once
#include <filesystem>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"
#include "net/control.hpp"
#include "net/tls.hpp"
#include "queue/spool.hpp"
#include "session/imap/session.hpp"
#include "session/pop3/session.hpp"
#include "session/smtp/session.hpp"

namespace tern::net {

struct Options {
    std::string hostname;
    smtp::Limits smtp_limits;
    std::filesystem::path spill_dir;  // where message bodies spill once past memory: the spool directory
    std::uint64_t max_connections = 1000;
    std::uint64_t max_connections_per_ip = 50;
    TlsManager* tls = nullptr;          // STARTTLS and implicit TLS need it; null: no TLS at all
    bool allow_plaintext_auth = false;  // AUTH/USER/PASS before TLS (tests, trusted networks)
    std::string scram_secret;           // keys fake SCRAM salts for unknown users
    unsigned auth_failures_per_ip = 10; // failed logins per client IP within 10 minutes, then refused
    unsigned pop3_idle_timeout = 0;     // 0: 600 s (RFC 1939 §3 autologout: at least 10 minutes)
    unsigned imap_idle_timeout = 0;     // 0: 1800 s (RFC 9051 §5.4: at least 30 minutes after login)
    bool imap_summaries = true;         // imap::SessionConfig::summaries
    unsigned imap_threads = 4;          // threads running IMAP commands (they read and write the store)
    unsigned imap_poll_seconds = 30;    // an IDLE session re-checks its mailbox this often (changes
                                        // made by other processes; this one's wake it at once)
    unsigned io_threads = 0;            // threads running sessions; 0: one per CPU
    std::uint64_t min_data_rate = 500;  // octets/s a DATA/BDAT transfer must average after the
                                        // idle timeout's grace (see drive()); 0: no bound
};

// What SMTP (and, for logins, POP3) connections need from the rest of the server.
struct SmtpServices {
    smtp::SessionHost* host = nullptr;
    queue::Spool* spool = nullptr;
    // Called on the spool's writer thread once a message is durable.
    // `body` is the committed message when it is small enough to keep in memory (the
    // scheduler then need not read it back from the spool), else null.
    std::function<void(queue::QueuedMessage, base::ByteSourceRef body)> on_committed;
    // Run on a worker thread (slow: yescrypt, SQLite); must be thread-safe.
    std::function<bool(const std::string& user, const std::string& password)> verify_password;
    std::function<std::optional<sasl::ScramCredentials>(const std::string& user)> scram_credentials;
};

// What IMAP connections need: the mail store (sessions call it from the IMAP threads) and the
// login-name mapping.
struct ImapServices {
    store::MailStore* store = nullptr;
    imap::ImapHost* host = nullptr;
};

class Server {
public:
    Server(Options options, SmtpServices smtp);
    ~Server();

    // Replaces options and services (after binding, before run(): ports are bound as root, the
    // rest is opened after dropping privileges).
    void configure(Options options, SmtpServices smtp, pop3::Pop3Host* pop3 = nullptr, ImapServices imap = {});
    // Thread-safe: the account's mail changed (the store's change listener calls this); IMAP
    // sessions of that account that wait in IDLE wake and send the updates.
    void mail_changed(std::string_view account);
    // Binds every listener; fails (naming the address) if any cannot be bound.
    Result<void> listen(const std::vector<config::Listener>& listeners);
    // Runs until SIGTERM/SIGINT (or stop()), then finishes open sessions and returns.
    void run();
    // Thread-safe request to stop, as SIGTERM does.
    void stop();
    // Called on SIGHUP (on the I/O thread): e.g. reload the TLS certificate.
    void on_reload(std::function<void()> fn);
    // Serves the control socket `path` (net/control.hpp) on the first I/O context while run()
    // runs; closed at shutdown. Call after taking the data directory's lock, before run().
    Result<void> serve_control(const std::filesystem::path& path, ControlHandler handler);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
