// The relay: remote delivery (delivery::RemoteTransport) over SMTP on its own io_context thread.
// Jobs are grouped per destination, routed (MX or configured hosts), and delivered by the pure
// client session (client/smtp) over Asio sockets, with STARTTLS, AUTH to a smarthost, per-reply
// timeouts, connection limits and reuse. Must never block its thread, never let one destination's
// dead hosts hold up another's mail, and never answer a job twice or not at all.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "delivery/route.hpp"
#include "delivery/transport.hpp"

namespace tern::relay {

// relay.tls / relay.smarthost_tls.
enum class TlsPolicy {
    None,           // never STARTTLS
    Opportunistic,  // STARTTLS when offered, no certificate check (Postfix "may")
    Required,       // no TLS, no mail: the connection fails temporarily (Postfix "encrypt")
    Implicit,       // TLS from the first byte (port 465, RFC 8314 §3.3); smarthost only
};
std::optional<TlsPolicy> parse_tls_policy(std::string_view text);  // "none", "opportunistic", ...

// RFC 5321 §4.5.3.2: how long to wait for each reply (and for each block of data to go out).
struct Timeouts {
    std::chrono::milliseconds greeting{std::chrono::minutes(5)};    // §4.5.3.2.1 (220)
    std::chrono::milliseconds command{std::chrono::minutes(5)};     // §4.5.3.2.2-3: EHLO, MAIL, RCPT, ..., TLS handshake
    std::chrono::milliseconds data_start{std::chrono::minutes(2)};  // §4.5.3.2.4: the 354
    std::chrono::milliseconds data_block{std::chrono::minutes(3)};  // §4.5.3.2.5: each write of data
    std::chrono::milliseconds data_end{std::chrono::minutes(10)};   // §4.5.3.2.6: the reply to "."
};

struct Options {
    std::string helo_name = "localhost";
    std::optional<delivery::HostPort> smarthost;            // everything goes there (relay.smarthost)
    TlsPolicy smarthost_tls = TlsPolicy::Opportunistic;
    std::string smarthost_user;                              // AUTH to the smarthost when set
    std::string smarthost_password;
    std::map<std::string, delivery::HostPort, std::less<>> routes;  // domain -> host:port (relay.routes)
    TlsPolicy tls = TlsPolicy::Opportunistic;               // MX hosts and relay.routes hosts
    std::uint16_t port = 25;                                 // the port of MX hosts
    std::string source_address;                              // bind outgoing connections here; "" = any
    bool ipv4_only = false;
    std::size_t connections = 100;                           // in total
    std::size_t connections_per_destination = 10;
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds idle_reuse{std::chrono::seconds(5)};  // an idle connection waits this long for a message
    // Messages one connection carries before QUIT, so that a busy destination gives its slots
    // back to the total now and then (Postfix: smtp_connection_reuse_count_limit).
    std::size_t messages_per_connection = 100;
    Timeouts timeouts;
    std::string resolver;                                    // "ADDR:PORT"; "" = /etc/resolv.conf
    std::vector<std::string> self_names;                     // our host names (MX loop detection)
    // Fixed DNS answers instead of the c-ares resolver (tests).
    std::shared_ptr<const delivery::DnsView> dns;
};

class Relay final : public delivery::RemoteTransport {
public:
    // Starts the relay's thread ("tern-relay") and its resolver.
    static Result<std::unique_ptr<Relay>> create(Options options);
    ~Relay() override;  // stop()
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    void deliver(delivery::RemoteJob job, std::function<void(std::vector<delivery::RemoteResult>)> done) override;
    // Closes every connection, answers every unfinished job Deferred "451 4.3.2", joins the thread.
    // A deliver() after stop() is answered at once (Deferred) on the caller's thread.
    void stop() override;

    // For tests and logs: connections opened so far (TCP connects that succeeded).
    std::uint64_t connections_opened() const;

    struct Impl;

private:
    explicit Relay(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern::relay
