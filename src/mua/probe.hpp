// Finding an account's servers from its address alone (`tern account add NAME --address A`): the
// usual host names and ports are tried in order of preference (implicit TLS first, RFC 8314 §5.1)
// and the first that answers like the right protocol wins. Must never settle on a server whose
// certificate fails verification, nor on clear text when a TLS port answered.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mua/account.hpp"
#include "mua/connection.hpp"

namespace tern::mua {

struct ProbeResult {
    std::optional<Endpoint> imap, pop3, smtp;
    std::vector<std::string> tried;  // "imap.example.org:993 (implicit): <why not>", for the user
};

// Tries candidate_hosts(domain, proto) for each protocol, or only `host` when it is given.
ProbeResult probe_servers(const std::string& domain, const std::string& host, const TlsTrust& trust,
                          std::chrono::seconds timeout = std::chrono::seconds(5));

// The host names worth trying for `domain` for each protocol.
std::vector<std::string> candidate_hosts(const std::string& domain, const std::string& proto);

}  // namespace tern::mua
