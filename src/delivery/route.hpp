// Outbound routing, pure: from a recipient domain, the DNS answers for it and the configured routes,
// the ordered list of hosts/addresses to try, or a verdict (bounce, retry later, local). Must never
// do I/O (DNS answers come through DnsView) and never route mail for a local domain out.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tern::delivery {

// ---- DNS answers, as a resolver maps them (plain structs: net/dns.hpp fills them) ----

enum class DnsStatus {
    Ok,        // records present
    NxDomain,  // the name does not exist (RCODE 3)
    NoData,    // the name exists, no records of that type
    TempFail,  // SERVFAIL, timeout, refused, no server reachable
};

struct MxRecord {
    std::uint16_t preference = 0;
    std::string host;            // "." (or "") for a Null MX (RFC 7505)
    std::uint32_t ttl = 0;
};

struct MxAnswer {
    DnsStatus status = DnsStatus::TempFail;
    std::vector<MxRecord> records;
};

struct AddressAnswer {
    DnsStatus status = DnsStatus::TempFail;
    std::vector<std::string> addresses;  // textual IPv4 (A) or IPv6 (AAAA)
    std::uint32_t ttl = 0;
};

enum class Family { V4, V6 };

// The answers route() may consult. A resolver prefetches into StaticDns (or implements this).
class DnsView {
public:
    virtual ~DnsView() = default;
    virtual MxAnswer mx(std::string_view domain) const = 0;
    virtual AddressAnswer addresses(std::string_view host, Family family) const = 0;
};

// Lower-case, without a trailing dot. Inline, like StaticDns: net/dns.cpp uses them without
// linking tern_delivery (net and delivery are siblings in the layering).
inline std::string normalize_name(std::string_view name) {
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    while (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

// Answers from maps, keyed by lower-case name without trailing dot; a missing name is NxDomain.
class StaticDns final : public DnsView {
public:
    std::map<std::string, MxAnswer, std::less<>> mx_answers;
    std::map<std::string, AddressAnswer, std::less<>> a_answers, aaaa_answers;
    MxAnswer mx(std::string_view domain) const override {
        auto it = mx_answers.find(normalize_name(domain));
        if (it == mx_answers.end()) return MxAnswer{DnsStatus::NxDomain, {}};
        return it->second;
    }
    AddressAnswer addresses(std::string_view host, Family family) const override {
        const auto& m = family == Family::V4 ? a_answers : aaaa_answers;
        auto it = m.find(normalize_name(host));
        if (it == m.end()) return AddressAnswer{DnsStatus::NxDomain, {}, 0};
        return it->second;
    }
};

// ---- configuration and result ----

struct HostPort {
    std::string host;            // a name or an IP literal
    std::uint16_t port = 25;
};

struct RouteConfig {
    std::vector<std::string> local_domains;     // mail for these never leaves
    std::vector<std::string> self_names;        // our own host names (loop detection)
    std::vector<std::string> self_addresses;    // our own addresses (loop detection)
    std::optional<HostPort> smarthost;          // everything goes there (unless overridden)
    std::map<std::string, HostPort, std::less<>> overrides;  // domain -> host:port
    bool ipv4_only = false;
};

struct Target {
    std::string host;            // the MX (or smarthost) name, for logs and TLS names
    std::string address;         // textual IP to connect to
    std::uint16_t port = 25;
    std::uint16_t preference = 0;
};

struct RouteResult {
    enum class Kind { Targets, Local, Permanent, Temporary } kind = Kind::Temporary;
    std::vector<Target> targets;  // Kind::Targets: in the order to try
    std::string reply;            // otherwise: e.g. "550 5.1.2 ..." for a DSN / the log
};

// Routes `domain` (the part after '@'). `rng` orders MX hosts of equal preference.
RouteResult route(std::string_view domain, const DnsView& dns, const RouteConfig& config,
                  std::mt19937& rng);

}  // namespace tern::delivery
