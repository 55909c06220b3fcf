// Server probing (see probe.hpp). A port counts when the connection (and, for implicit TLS, the
// verified handshake) succeeds and the greeting is the protocol's: "* OK" (IMAP, RFC 9051 §7.1.1),
// "+OK" (POP3, RFC 1939 §4), "220" (SMTP, RFC 5321 §4.2).
#include "mua/probe.hpp"

namespace tern::mua {

namespace {

struct Candidate {
    std::uint16_t port;
    Tls tls;
};

std::optional<std::string> greeting_ok(Connection& c, std::string_view want) {
    std::string in;
    while (in.find('\n') == std::string::npos && in.size() < 4096) {
        auto n = c.read_some(in, 4096);
        if (!n) return n.error().message;
        if (*n == 0) return std::string("closed without a greeting");
    }
    if (!in.starts_with(want)) return "greeting is not " + std::string(want) + ": " + in.substr(0, in.find('\r'));
    return std::nullopt;
}

std::optional<Endpoint> try_proto(const std::vector<std::string>& hosts, const std::vector<Candidate>& ports,
                                  std::string_view greeting, const TlsTrust& trust, std::chrono::seconds timeout,
                                  std::vector<std::string>& tried) {
    for (auto& port : ports) {
        for (auto& host : hosts) {
            Endpoint e{host, port.port, port.tls};
            auto c = Connection::open(e, trust, timeout);
            if (!c) {
                tried.push_back(endpoint_text(e) + ": " + c.error().message);
                continue;
            }
            if (auto why = greeting_ok(**c, greeting)) {
                tried.push_back(endpoint_text(e) + ": " + *why);
                continue;
            }
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::string> candidate_hosts(const std::string& domain, const std::string& proto) {
    std::vector<std::string> out{domain};
    if (proto == "imap") out.push_back("imap." + domain);
    if (proto == "pop3") out.push_back("pop." + domain);
    if (proto == "smtp") out.push_back("smtp." + domain);
    out.push_back("mail." + domain);
    return out;
}

ProbeResult probe_servers(const std::string& domain, const std::string& host, const TlsTrust& trust,
                          std::chrono::seconds timeout) {
    ProbeResult r;
    auto hosts = [&](const std::string& proto) {
        return host.empty() ? candidate_hosts(domain, proto) : std::vector<std::string>{host};
    };
    // RFC 8314 §5.1: implicit TLS preferred over STARTTLS.
    r.imap = try_proto(hosts("imap"), {{993, Tls::Implicit}, {143, Tls::StartTls}}, "* OK", trust, timeout, r.tried);
    r.pop3 = try_proto(hosts("pop3"), {{995, Tls::Implicit}, {110, Tls::StartTls}}, "+OK", trust, timeout, r.tried);
    r.smtp = try_proto(hosts("smtp"), {{465, Tls::Implicit}, {587, Tls::StartTls}}, "220", trust, timeout, r.tried);
    return r;
}

}  // namespace tern::mua
