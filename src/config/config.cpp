// The configuration schema and its TOML loader. Each key is declared once in kSchema with its
// type, default text and meaning; parsing, validation and the reference doc all read that table.
// Must never accept a value out of its range or a key it does not know.
#include "config/config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <functional>
#include <sstream>
#include <toml++/toml.h>

namespace tern::config {
namespace {

struct Key {
    const char* name;     // "limits.message_size"
    const char* type;     // for the reference
    const char* def;      // default, as text
    const char* meaning;
    std::function<Result<void>(Config&, const toml::node&)> apply;
};

Result<void> set_uint(std::uint64_t& field, const toml::node& n, std::uint64_t min, std::uint64_t max,
                      const char* name) {
    auto v = n.value<std::int64_t>();
    if (!v || *v < 0 || static_cast<std::uint64_t>(*v) < min || static_cast<std::uint64_t>(*v) > max)
        return fail(std::string(name) + ": expected an integer from " + std::to_string(min) + " to " +
                    std::to_string(max));
    field = static_cast<std::uint64_t>(*v);
    return {};
}

template <std::uint64_t Config::*Field, std::uint64_t Min, std::uint64_t Max>
Key uint_key(const char* name, const char* def, const char* meaning) {
    return Key{name, "integer", def, meaning, [name](Config& c, const toml::node& n) {
                   return set_uint(c.*Field, n, Min, Max, name);
               }};
}

// The mail store keeps a message body in one SQLite BLOB, and SQLite refuses values (and rows)
// over SQLITE_MAX_LENGTH, 1,000,000,000 bytes by default (https://sqlite.org/limits.html): a
// larger message would be accepted with 250 and then fail to store on every retry. The maximum
// leaves 1 MiB for what is added to the message (Received:, Return-Path:) and the row's header.
constexpr std::uint64_t kSqliteMaxLength = 1'000'000'000;
constexpr std::uint64_t kMaxMessageSize = kSqliteMaxLength - (1u << 20);

// "127.0.0.1:53" or "[::1]:53": a numeric address and a port from 1 to 65535.
bool resolver_spec_ok(const std::string& spec) {
    std::string addr, port;
    int family = AF_INET;
    if (!spec.empty() && spec[0] == '[') {
        auto close = spec.find("]:");
        if (close == std::string::npos) return false;
        addr = spec.substr(1, close - 1);
        port = spec.substr(close + 2);
        family = AF_INET6;
    } else {
        auto colon = spec.rfind(':');
        if (colon == std::string::npos) return false;
        addr = spec.substr(0, colon);
        port = spec.substr(colon + 1);
    }
    unsigned char buf[16];
    if (inet_pton(family, addr.c_str(), buf) != 1) return false;
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    return ec == std::errc{} && end == port.data() + port.size() && p >= 1 && p <= 65535;
}

const std::vector<Key>& schema() {
    static const std::vector<Key> keys = {
        {"server.data_dir", "string", "\"tern-data\"", "Directory holding the spool, store and directory databases.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty()) return fail("server.data_dir: expected a non-empty string");
             c.data_dir = *v;
             return {};
         }},
        {"server.hostname", "string", "the machine's host name",
         "Name used in the SMTP greeting, EHLO reply and Received: headers.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty() || v->find_first_of(" \r\n\t") != std::string::npos)
                 return fail("server.hostname: expected a host name");
             c.hostname = *v;
             return {};
         }},
        {"server.listen", "array of strings",
         "[\"smtp=127.0.0.1:2525\", \"submission=127.0.0.1:2587\", \"pop3=127.0.0.1:2110\", \"imap=127.0.0.1:2143\"]",
         "Listeners as PROTO=ADDR:PORT; PROTO is smtp, submission, submissions, pop3, pop3s, imap or imaps.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto* arr = n.as_array();
             if (!arr) return fail("server.listen: expected an array of strings");
             std::vector<Listener> out;
             for (auto& item : *arr) {
                 auto s = item.value<std::string>();
                 if (!s) return fail("server.listen: expected an array of strings");
                 auto l = parse_listener(*s);
                 if (!l) return std::unexpected(l.error());
                 out.push_back(*l);
             }
             c.listeners = std::move(out);
             return {};
         }},
        uint_key<&Config::io_threads, 0, 256>("server.io_threads", "0",
            "Threads running sessions (each with its own event loop, accepting for itself); 0: one per CPU."),
        uint_key<&Config::command_line, 512, 65536>("limits.command_line", "512",
            "Longest SMTP command line in octets, CRLF included (RFC 5321 §4.5.3.1.4: at least 512)."),
        uint_key<&Config::message_size, 1024, kMaxMessageSize>("limits.message_size", "52428800",
            "Largest message in octets, advertised with SIZE (RFC 1870); larger ones get 552. At most "
            "998951424: the mail store keeps a message in one SQLite value (at most 10^9 bytes) with "
            "room for the Received: and Return-Path: headers."),
        uint_key<&Config::recipients, 1, 100000>("limits.recipients", "100",
            "Recipients per message; extras get 452 (RFC 5321 §4.5.3.1.8 asks for at least 100)."),
        uint_key<&Config::bad_commands, 1, 1000>("limits.bad_commands", "20",
            "Erroneous commands per session before 421 and disconnect."),
        uint_key<&Config::idle_timeout, 1, 86400>("limits.idle_timeout", "300",
            "Seconds a session may stay idle. RFC 5321 §4.5.3.2.7 asks for at least 5 minutes; "
            "lower values (for tests) are accepted with a warning."),
        uint_key<&Config::pop3_idle_timeout, 1, 86400>("limits.pop3_idle_timeout", "600",
            "Seconds a POP3 session may stay idle (RFC 1939 §3: at least 10 minutes; lower values for tests)."),
        uint_key<&Config::imap_idle_timeout, 1, 86400>("limits.imap_idle_timeout", "1800",
            "Seconds a logged-in IMAP session may stay idle, IDLE included (RFC 9051 §5.4: at least 30 "
            "minutes; lower values for tests). Before login the limit is 60 seconds."),
        uint_key<&Config::search_index, 0, 1>("imap.search_index", "1",
            "1: keep a search index (<data>/search.db, SQLite FTS5 trigrams of the decoded text) so that "
            "IMAP SEARCH BODY/TEXT and header keys read only messages that may match; results are the "
            "same either way. 0: no index (SEARCH reads every message)."),
        uint_key<&Config::min_data_rate, 0, (1ull << 30)>("limits.min_data_rate", "500",
            "Slowest average rate (octets per second) of a message transfer (DATA or BDAT) after a grace "
            "of limits.idle_timeout: a message may take the idle timeout plus one second per this many "
            "octets, then 421 4.4.2. Keeps trickling clients from holding connections; 0: no bound. "
            "(Every command line must also be complete within the idle timeout of its first octet.)"),
        uint_key<&Config::max_hops, 2, 1000>("limits.max_hops", "50",
            "Received: header fields a message may carry, ours included; a message arriving with this "
            "many or more is a mail loop and is refused at the end of the data with 554 5.4.6, never "
            "queued (RFC 5321 §6.3; Postfix's hopcount_limit)."),
        uint_key<&Config::connections, 1, 1000000>("limits.connections", "1000",
            "Concurrent connections in total; further ones get 421 and are closed."),
        uint_key<&Config::connections_per_ip, 1, 1000000>("limits.connections_per_ip", "50",
            "Concurrent connections from one client IP address (an IPv6 /64 counts as one address)."),
        uint_key<&Config::queue_lifetime, 1, 30 * 86400>("queue.lifetime", "432000",
            "Seconds a recipient may stay queued (deferred) after the message arrived; after that "
            "it fails and the sender gets the mail back in a failure notice (RFC 5321 §4.5.4.1: at "
            "least 4-5 days). Default 5 days; values under a day (for tests) are accepted with a warning."),
        uint_key<&Config::queue_first_retry, 1, 86400>("queue.first_retry", "300",
            "Seconds after the first failed attempt before the next one (+-10 % jitter)."),
        uint_key<&Config::queue_retry_interval, 1, 86400>("queue.retry_interval", "900",
            "Seconds between later attempts for a deferred recipient (+-10 % jitter): about every "
            "15 minutes by default, never past queue.lifetime."),
        uint_key<&Config::queue_delay_warning, 1, 30 * 86400>("queue.delay_warning", "14400",
            "Seconds after arrival when the sender of a message still deferred gets one delay notice "
            "(RFC 3464 Action: delayed; unless NOTIFY says otherwise). Default 4 hours; a value at or "
            "above queue.lifetime sends none."),
        uint_key<&Config::queue_bounce_return_limit, 0, 100ull << 20>("queue.bounce_return_limit", "262144",
            "Octets of the original message a failure notice returns in full (RET=FULL or unspecified); "
            "a larger message is returned as its header section only, and the notice says so."),
        {"tls.cert", "string", "self-signed, generated in <data>/tls", "PEM certificate chain (leaf first). Reloaded on SIGHUP.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty()) return fail("tls.cert: expected a file name");
             c.tls_cert = *v;
             return {};
         }},
        {"tls.key", "string", "self-signed, generated in <data>/tls", "PEM private key of tls.cert.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty()) return fail("tls.key: expected a file name");
             c.tls_key = *v;
             return {};
         }},
        {"auth.allow_plaintext", "boolean", "false",
         "Allow passwords (AUTH, USER/PASS) before TLS. Off by default (RFC 8314); for tests and trusted links.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<bool>();
             if (!v) return fail("auth.allow_plaintext: expected true or false");
             c.allow_plaintext_auth = *v;
             return {};
         }},
        uint_key<&Config::auth_failures_per_ip, 1, 1000000>("auth.failures_per_ip", "10",
            "Failed logins from one client IP (an IPv6 /64 counts as one) within 10 minutes after which its "
            "logins are refused."),
        uint_key<&Config::login_cache, 0, 86400>("auth.login_cache", "900",
            "Seconds a successful password login is remembered, so repeated logins skip the yescrypt "
            "check (as an in-memory HMAC, never the password; a password change ends it). 0: off."),
        {"server.user", "string", "\"tern\" when started as root",
         "Unprivileged user ternd switches to right after binding its ports (when started as root).",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty()) return fail("server.user: expected a user name");
             c.run_as = *v;
             return {};
         }},
        {"log.level", "string", "\"info\"", "debug, info, warn or error.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || (*v != "debug" && *v != "info" && *v != "warn" && *v != "error"))
                 return fail("log.level: expected debug, info, warn or error");
             c.log_level = *v;
             return {};
         }},
        {"imap.summaries", "boolean", "true",
         "Keep each message's ENVELOPE, BODY and BODYSTRUCTURE in the store (computed at IMAP APPEND, for "
         "delivered mail soon after it is stored, on a background thread, or at the first FETCH that needs them) and answer FETCH from them without reading the message. false: "
         "every such FETCH parses the message again (for comparisons; kept summaries stay in the store).",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<bool>();
             if (!v) return fail("imap.summaries: expected true or false");
             c.imap_summaries = *v;
             return {};
         }},
        {"log.trace", "boolean", "false",
         "Log every session's dialogue (C:/S: lines), passwords and AUTH payloads masked.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<bool>();
             if (!v) return fail("log.trace: expected true or false");
             c.trace = *v;
             return {};
         }},
        {"dns.resolver", "string", "/etc/resolv.conf's servers",
         "DNS server for outbound routing (MX, A, AAAA lookups) as ADDR:PORT, e.g. \"127.0.0.1:5353\" or "
         "\"[::1]:53\"; overrides /etc/resolv.conf (tests use a DNS server on loopback).",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || !resolver_spec_ok(*v)) return fail("dns.resolver: expected ADDR:PORT, e.g. 127.0.0.1:53 or [::1]:53");
             c.dns_resolver = *v;
             return {};
         }},
        // relay.*: outbound delivery (issue 8). Kept together.
        {"relay.smarthost", "string", "\"\" (MX routing)",
         "Send all outbound mail to this host as \"host:port\" (\"host\" means port 25, \"[v6]:port\") instead "
         "of the recipient domains' MX hosts. relay.routes still win for their domains.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v) return fail("relay.smarthost: expected \"host:port\"");
             if (v->empty()) {
                 c.relay_smarthost.reset();
                 return {};
             }
             auto h = parse_relay_host(*v);
             if (!h) return fail("relay.smarthost: " + h.error().message);
             c.relay_smarthost = *h;
             return {};
         }},
        {"relay.smarthost_tls", "string", "\"opportunistic\"",
         "TLS to the smarthost: opportunistic (STARTTLS when offered), required (no STARTTLS: the mail waits), "
         "implicit (TLS from the first byte, port 465) or none. Certificates are not verified.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || (*v != "opportunistic" && *v != "required" && *v != "implicit" && *v != "none"))
                 return fail("relay.smarthost_tls: expected opportunistic, required, implicit or none");
             c.relay_smarthost_tls = *v;
             return {};
         }},
        {"relay.smarthost_user", "string", "\"\" (no AUTH)",
         "User name for AUTH (PLAIN, else LOGIN) to the smarthost; sent only over TLS unless relay.smarthost_tls = \"none\".",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->find_first_of("\r\n") != std::string::npos) return fail("relay.smarthost_user: expected a user name");
             c.relay_smarthost_user = *v;
             return {};
         }},
        {"relay.smarthost_password_file", "string", "\"\"",
         "File whose first line is the smarthost password (read at start, after dropping root). Needed with relay.smarthost_user.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v) return fail("relay.smarthost_password_file: expected a file name");
             c.relay_smarthost_password_file = *v;
             return {};
         }},
        {"relay.routes", "table", "{}",
         "Per-domain routes overriding MX and smarthost: a table of domain = \"host:port\", e.g. "
         "`routes = { \"example.net\" = \"10.0.0.5:25\" }`.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto* t = n.as_table();
             if (!t) return fail("relay.routes: expected a table of domain = \"host:port\"");
             std::map<std::string, RelayHost> routes;
             for (auto& [k, v] : *t) {
                 auto s = v.value<std::string>();
                 std::string domain(k.str());
                 for (auto& ch : domain)
                     if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
                 while (!domain.empty() && domain.back() == '.') domain.pop_back();
                 if (domain.empty() || domain.find_first_of(" @[]:") != std::string::npos)
                     return fail("relay.routes: bad domain '" + std::string(k.str()) + "'");
                 if (!s) return fail("relay.routes." + domain + ": expected \"host:port\"");
                 auto h = parse_relay_host(*s);
                 if (!h) return fail("relay.routes." + domain + ": " + h.error().message);
                 routes[domain] = *h;
             }
             c.relay_routes = std::move(routes);
             return {};
         }},
        {"relay.tls", "string", "\"opportunistic\"",
         "TLS to MX hosts and relay.routes hosts: opportunistic (STARTTLS when offered, certificates not "
         "verified, like Postfix's \"may\"), required (no TLS: the mail waits) or none.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || (*v != "opportunistic" && *v != "required" && *v != "none"))
                 return fail("relay.tls: expected opportunistic, required or none");
             c.relay_tls = *v;
             return {};
         }},
        uint_key<&Config::relay_port, 1, 65535>("relay.port", "25",
            "Port of MX hosts (25; another value is for tests)."),
        {"relay.source_address", "string", "\"\" (any)",
         "Local IP address outgoing connections are bound to (also treated as our own address in MX loop checks).",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             unsigned char buf[16];
             if (!v || (!v->empty() && inet_pton(AF_INET, v->c_str(), buf) != 1 && inet_pton(AF_INET6, v->c_str(), buf) != 1))
                 return fail("relay.source_address: expected an IP address");
             c.relay_source_address = *v;
             return {};
         }},
        {"relay.ipv4_only", "boolean", "false", "Connect to IPv4 addresses only (no AAAA lookups).",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<bool>();
             if (!v) return fail("relay.ipv4_only: expected true or false");
             c.relay_ipv4_only = *v;
             return {};
         }},
        uint_key<&Config::relay_connections, 1, 100000>("relay.connections", "100",
            "Outbound SMTP connections open at once, in total."),
        uint_key<&Config::relay_connections_per_destination, 1, 1000>("relay.connections_per_destination", "10",
            "Outbound connections open at once to one destination (a recipient domain, or the smarthost); "
            "a destination whose hosts cannot be reached gets one until a connection succeeds."),
        uint_key<&Config::relay_connect_timeout, 1, 3600>("relay.connect_timeout", "30",
            "Seconds to wait for a TCP connection to a mail host before trying the next one."),
        uint_key<&Config::relay_command_timeout, 1, 3600>("relay.command_timeout", "300",
            "Seconds to wait for the greeting and for the reply to each command (EHLO, STARTTLS, AUTH, "
            "MAIL, RCPT; 120 at most for DATA's 354) before the connection counts as failed: the mail "
            "is deferred, or the next host tried if nothing was sent yet (RFC 5321 §4.5.3.2: 5 minutes; "
            "lower values for tests)."),
        uint_key<&Config::relay_data_timeout, 1, 3600>("relay.data_timeout", "600",
            "Seconds to wait for the reply after the message data (RFC 5321 §4.5.3.2.6: 10 minutes), "
            "and at most 180 for each block of data to go out (§4.5.3.2.5)."),
        uint_key<&Config::relay_idle_reuse, 0, 3600>("relay.idle_reuse", "5",
            "Seconds a connection that finished a message waits for another message to the same destination "
            "before QUIT; 0: never reuse."),
        {"relay.helo_name", "string", "server.hostname", "Our name in EHLO/HELO to other servers.",
         [](Config& c, const toml::node& n) -> Result<void> {
             auto v = n.value<std::string>();
             if (!v || v->empty() || v->find_first_of(" \r\n\t") != std::string::npos)
                 return fail("relay.helo_name: expected a host name");
             c.relay_helo_name = *v;
             return {};
         }},
    };
    return keys;
}

const Key* find_key(std::string_view name) {
    for (auto& k : schema())
        if (name == k.name) return &k;
    return nullptr;
}

Result<Config> apply_table(const toml::table& root, Config c) {
    for (auto& [section, node] : root) {
        auto* table = node.as_table();
        if (!table) return fail("unknown key '" + std::string(section.str()) + "' (expected a [section])");
        for (auto& [key, value] : *table) {
            std::string full = std::string(section.str()) + "." + std::string(key.str());
            const Key* k = find_key(full);
            if (!k) return fail("unknown configuration key '" + full + "'");
            if (auto r = k->apply(c, value); !r) return std::unexpected(r.error());
        }
    }
    return c;
}

}  // namespace

bool valid_resolver(const std::string& spec) { return resolver_spec_ok(spec); }

Result<RelayHost> parse_relay_host(std::string_view spec) {
    RelayHost h;
    std::string_view port;
    if (!spec.empty() && spec.front() == '[') {
        auto close = spec.find(']');
        if (close == std::string_view::npos) return fail("'" + std::string(spec) + "': expected [address]:port");
        h.host = std::string(spec.substr(1, close - 1));
        std::string_view rest = spec.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return fail("'" + std::string(spec) + "': expected [address]:port");
            port = rest.substr(1);
            if (port.empty()) return fail("'" + std::string(spec) + "': missing port");
        }
        unsigned char buf[16];
        if (inet_pton(AF_INET6, h.host.c_str(), buf) != 1) return fail("'" + std::string(spec) + "': bad IPv6 address");
    } else {
        auto colon = spec.rfind(':');
        if (colon != std::string_view::npos) {
            if (spec.find(':') != colon) return fail("'" + std::string(spec) + "': an IPv6 address goes in brackets");
            port = spec.substr(colon + 1);
            if (port.empty()) return fail("'" + std::string(spec) + "': missing port");
        }
        h.host = std::string(spec.substr(0, colon));
    }
    if (h.host.empty() || h.host.find_first_of(" \t\r\n/@") != std::string::npos)
        return fail("'" + std::string(spec) + "': expected host:port");
    if (!port.empty()) {
        unsigned p = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
            return fail("'" + std::string(spec) + "': bad port");
        h.port = static_cast<std::uint16_t>(p);
    }
    return h;
}

std::vector<Listener> default_listeners() {
    return {{"smtp", "127.0.0.1", 2525}, {"submission", "127.0.0.1", 2587}, {"pop3", "127.0.0.1", 2110},
            {"imap", "127.0.0.1", 2143}};
}

bool known_protocol(std::string_view p) {
    for (auto k : {"smtp", "submission", "submissions", "pop3", "pop3s", "imap", "imaps"})
        if (p == k) return true;
    return false;
}

Result<Listener> parse_listener(std::string_view spec) {
    auto eq = spec.find('=');
    auto colon = spec.rfind(':');
    if (eq == std::string_view::npos || colon == std::string_view::npos || colon < eq)
        return fail("listener '" + std::string(spec) + "': expected PROTO=ADDR:PORT");
    Listener l;
    l.proto = std::string(spec.substr(0, eq));
    if (!known_protocol(l.proto)) return fail("listener '" + std::string(spec) + "': unknown protocol '" + l.proto + "'");
    std::string_view addr = spec.substr(eq + 1, colon - eq - 1);
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
    if (addr.empty()) return fail("listener '" + std::string(spec) + "': missing address");
    l.address = std::string(addr);
    std::string_view port = spec.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535)
        return fail("listener '" + std::string(spec) + "': bad port");
    l.port = static_cast<std::uint16_t>(value);
    return l;
}

// Debian's toml++ is built with exceptions; they are caught here and never leave this module.
Result<Config> load_string(std::string_view text, Config base) {
    try {
        return apply_table(toml::parse(text), std::move(base));
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << "configuration: line " << e.source().begin.line << ": " << e.description();
        return fail(msg.str());
    }
}

Result<Config> load_file(const std::filesystem::path& file, Config base) {
    try {
        return apply_table(toml::parse_file(file.string()), std::move(base));
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << file.string() << ":" << e.source().begin.line << ": " << e.description();
        return fail(msg.str());
    }
}

std::string reference() {
    std::ostringstream out;
    out << "| key | type | default | meaning |\n|---|---|---|---|\n";
    for (auto& k : schema()) out << "| `" << k.name << "` | " << k.type << " | `" << k.def << "` | " << k.meaning << " |\n";
    return out.str();
}

}  // namespace tern::config
