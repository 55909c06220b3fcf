// Outbound routing rules (RFC 5321 §5.1, RFC 7505), pure: DNS answers in, targets or a verdict out.
// Must never do I/O nor route mail for a local domain out; every rule cites its RFC section.
#include "delivery/route.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace tern::delivery {

namespace {

bool contains(const std::vector<std::string>& list, std::string_view name) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& s) { return normalize_name(s) == name; });
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

struct HostAddrs {
    std::vector<std::string> addresses;  // IPv6 first, then IPv4
    bool temp_fail = false;
};

HostAddrs host_addresses(const std::string& host, const DnsView& dns, bool ipv4_only) {
    HostAddrs out;
    if (is_ip_literal(host)) {
        out.addresses.push_back(host);
        return out;
    }
    if (!ipv4_only) {
        auto six = dns.addresses(host, Family::V6);
        if (six.status == DnsStatus::TempFail) out.temp_fail = true;
        if (six.status == DnsStatus::Ok) out.addresses = six.addresses;
    }
    auto four = dns.addresses(host, Family::V4);
    if (four.status == DnsStatus::TempFail) out.temp_fail = true;
    if (four.status == DnsStatus::Ok)
        out.addresses.insert(out.addresses.end(), four.addresses.begin(), four.addresses.end());
    return out;
}

RouteResult temporary(std::string reply) {
    return RouteResult{RouteResult::Kind::Temporary, {}, std::move(reply)};
}
RouteResult permanent(std::string reply) {
    return RouteResult{RouteResult::Kind::Permanent, {}, std::move(reply)};
}

// A configured route (smarthost or per-domain override): that host as given, no MX lookup.
RouteResult configured(const HostPort& hp, const DnsView& dns, const RouteConfig& config) {
    auto addrs = host_addresses(hp.host, dns, config.ipv4_only);
    if (addrs.addresses.empty()) {
        if (addrs.temp_fail) return temporary("451 4.4.3 relay host " + hp.host + ": DNS lookup failed");
        return permanent("550 5.4.4 relay host " + hp.host + " has no address");
    }
    RouteResult r{RouteResult::Kind::Targets, {}, {}};
    for (auto& a : addrs.addresses) r.targets.push_back(Target{hp.host, a, hp.port, 0});
    return r;
}

}  // namespace

RouteResult route(std::string_view domain_in, const DnsView& dns, const RouteConfig& config,
                  std::mt19937& rng) {
    const std::string domain = normalize_name(domain_in);

    // Mail for a local domain is delivered here, never routed out (issue 8; RFC 5321 §5.1 loop rule).
    if (contains(config.local_domains, domain))
        return RouteResult{RouteResult::Kind::Local, {}, "local domain"};

    // Configured routes: a per-domain override first, then the smarthost for everything else.
    if (auto it = config.overrides.find(domain); it != config.overrides.end())
        return configured(it->second, dns, config);
    if (config.smarthost) return configured(*config.smarthost, dns, config);

    const MxAnswer mx = dns.mx(domain);
    // RFC 5321 §5.1: a temporary DNS error means try again later ("4.4.3 directory server failure").
    if (mx.status == DnsStatus::TempFail)
        return temporary("451 4.4.3 DNS lookup of " + domain + " failed; will retry");
    // RFC 5321 §5.1 / RFC 3463: a name that does not exist is a permanent failure.
    if (mx.status == DnsStatus::NxDomain)
        return permanent("550 5.1.2 bad destination system address: " + domain + " does not exist");

    std::vector<MxRecord> records;
    if (mx.status == DnsStatus::Ok) {
        for (const auto& r : mx.records) {
            MxRecord n = r;
            n.host = normalize_name(r.host);
            records.push_back(std::move(n));
        }
        // RFC 7505 §3, §4.1: a single MX of preference 0 with target "." is a Null MX: the domain
        // accepts no mail; RFC 7505 §4.2: fail with 556 5.1.10 without trying.
        bool null_mx = std::any_of(records.begin(), records.end(),
                                   [](const MxRecord& r) { return r.host.empty(); });
        if (null_mx && records.size() == 1)
            return permanent("556 5.1.10 " + domain + " does not accept mail (null MX)");
        // RFC 7505 §3: a Null MX beside other MX records is a misconfiguration; use the others.
        std::erase_if(records, [](const MxRecord& r) { return r.host.empty(); });
    }

    // RFC 5321 §5.1: no MX records: the domain itself is the implicit MX, preference 0.
    const bool implicit = records.empty();
    if (implicit) records.push_back(MxRecord{0, domain, 0});

    // RFC 5321 §5.1: MX hosts sorted by preference, randomised among equal preferences.
    std::shuffle(records.begin(), records.end(), rng);
    std::stable_sort(records.begin(), records.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });

    // Resolve each host once.
    std::vector<HostAddrs> addrs;
    addrs.reserve(records.size());
    for (const auto& r : records) addrs.push_back(host_addresses(r.host, dns, config.ipv4_only));

    // RFC 5321 §5.1: if we are one of the MX hosts (by name or address), discard that host and
    // every host of equal or greater preference value; nothing left is a routing loop.
    std::optional<std::uint16_t> self_pref;
    for (std::size_t i = 0; i < records.size(); ++i) {
        bool self = contains(config.self_names, records[i].host) ||
                    std::any_of(addrs[i].addresses.begin(), addrs[i].addresses.end(),
                                [&](const std::string& a) { return contains(config.self_addresses, a); });
        if (self && (!self_pref || records[i].preference < *self_pref)) self_pref = records[i].preference;
    }

    RouteResult out{RouteResult::Kind::Targets, {}, {}};
    bool temp_fail = false;
    bool any_candidate = false;
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (self_pref && records[i].preference >= *self_pref) continue;
        any_candidate = true;
        // RFC 5321 §5.1: an MX host without addresses is skipped; the next one is tried.
        if (addrs[i].temp_fail) temp_fail = true;
        for (const auto& a : addrs[i].addresses)
            out.targets.push_back(Target{records[i].host, a, 25, records[i].preference});
    }
    if (!any_candidate)  // RFC 5321 §5.1: the best MX is us: a loop (RFC 3463 5.4.6)
        return permanent("554 5.4.6 mail for " + domain + " loops back to myself");
    if (out.targets.empty()) {
        if (temp_fail) return temporary("451 4.4.3 address lookup for " + domain + "'s mail hosts failed");
        // RFC 5321 §5.1: no MX and no address records: the domain cannot receive mail.
        if (implicit) return permanent("550 5.1.2 bad destination system address: " + domain + " has no address");
        return permanent("554 5.4.4 no mail host of " + domain + " has an address");
    }
    return out;
}

}  // namespace tern::delivery
