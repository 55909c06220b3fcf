// Server configuration: one schema table (config.cpp) feeds TOML parsing, validation, defaults
// and the generated reference (docs/CONFIGURATION.md, `ternd config reference`). Sessions get an
// immutable snapshot, never a global. Must never silently ignore an unknown key.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::config {

struct Listener {
    std::string proto;    // smtp, submission, submissions, pop3, pop3s, imap, imaps
    std::string address;  // "127.0.0.1", "::1"
    std::uint16_t port = 0;
    bool operator==(const Listener&) const = default;
};

// A relay host as configured: "host:port", "host" (port 25), "[v6]:port".
struct RelayHost {
    std::string host;
    std::uint16_t port = 25;
    bool operator==(const RelayHost&) const = default;
};

struct Config {
    std::filesystem::path data_dir = "tern-data";
    std::string hostname;                   // empty: the machine's host name
    std::vector<Listener> listeners;        // empty: default_listeners()

    // SMTP limits (RFC 5321 §4.5.3).
    std::uint64_t command_line = 512;
    std::uint64_t message_size = 50ull << 20;
    std::uint64_t recipients = 100;
    std::uint64_t bad_commands = 20;
    std::uint64_t idle_timeout = 300;       // seconds; RFC 5321 §4.5.3.2.7 asks for >= 5 minutes
    std::uint64_t connections = 1000;
    std::uint64_t connections_per_ip = 50;
    std::uint64_t pop3_idle_timeout = 600;  // RFC 1939 §3: autologout after at least 10 minutes
    std::uint64_t imap_idle_timeout = 1800; // RFC 9051 §5.4: autologout after at least 30 minutes
    std::uint64_t search_index = 1;         // 1: keep <data>/search.db for IMAP SEARCH (issue 9)
    bool imap_summaries = true;             // FETCH ENVELOPE/BODYSTRUCTURE from kept summaries (imap.summaries)
    std::uint64_t min_data_rate = 500;      // octets/s a DATA/BDAT transfer averages after the idle grace; 0: off
    std::uint64_t max_hops = 50;            // Received: fields a message may carry, ours included (RFC 5321 §6.3)

    std::uint64_t queue_lifetime = 5 * 86400;  // seconds a recipient may stay queued (queue.lifetime)
    std::uint64_t queue_first_retry = 300;     // queue.first_retry
    std::uint64_t queue_retry_interval = 900;  // queue.retry_interval
    std::uint64_t queue_delay_warning = 4 * 3600;  // queue.delay_warning
    std::uint64_t queue_bounce_return_limit = 256u << 10;  // queue.bounce_return_limit

    std::string tls_cert;                   // PEM chain; empty: self-signed in <data>/tls
    std::string tls_key;
    bool allow_plaintext_auth = false;      // passwords before TLS (RFC 8314 says no)
    std::uint64_t auth_failures_per_ip = 10;
    std::uint64_t io_threads = 0;           // 0: one per CPU
    std::uint64_t login_cache = 900;        // seconds a successful password login is remembered; 0: off
    std::string run_as;                     // user to drop to when started as root
    std::string dns_resolver;               // "ADDR:PORT" for outbound DNS; empty: /etc/resolv.conf

    // relay.* (issue 8): outbound delivery to other domains.
    std::optional<RelayHost> relay_smarthost;             // empty: MX routing
    std::string relay_smarthost_tls = "opportunistic";    // opportunistic | required | implicit | none
    std::string relay_smarthost_user;
    std::string relay_smarthost_password_file;
    std::map<std::string, RelayHost> relay_routes;        // lower-case domain -> host
    std::string relay_tls = "opportunistic";              // opportunistic | required | none
    std::uint64_t relay_port = 25;
    std::string relay_source_address;                     // "" = any
    bool relay_ipv4_only = false;
    std::uint64_t relay_connections = 100;
    std::uint64_t relay_connections_per_destination = 10;
    std::uint64_t relay_connect_timeout = 30;             // seconds
    std::uint64_t relay_idle_reuse = 5;                   // seconds
    std::uint64_t relay_command_timeout = 300;            // seconds (relay.command_timeout)
    std::uint64_t relay_data_timeout = 600;               // seconds (relay.data_timeout)
    std::string relay_helo_name;                          // "" = server.hostname

    std::string log_level = "info";
    bool trace = false;
};

// The defaults of a first start: loopback, unprivileged ports.
std::vector<Listener> default_listeners();

// "smtp=127.0.0.1:2525", "imap=[::1]:2143".
Result<Listener> parse_listener(std::string_view spec);
bool known_protocol(std::string_view proto);

// "127.0.0.1:53" or "[::1]:53" (dns.resolver, `ternd serve --resolver`).
bool valid_resolver(const std::string& spec);

// "mx.example.net:587", "mx.example.net" (port 25), "[2001:db8::1]:25" (relay.smarthost, relay.routes).
Result<RelayHost> parse_relay_host(std::string_view spec);

// Applies a TOML file on top of `base` (usually the defaults). Unknown keys are errors.
Result<Config> load_file(const std::filesystem::path& file, Config base = {});
Result<Config> load_string(std::string_view toml_text, Config base = {});

// Markdown reference of every key: name, type, default, meaning.
std::string reference();

}  // namespace tern::config
