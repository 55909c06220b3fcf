// `tern pop`: the POP3 download of the classic articles (RFC 1939): every message into the local
// INBOX, then DELE; or, with keep, leave them and use UIDL to skip what was already downloaded.
// Must never DELE a message whose copy is not committed to the cache, and never report deletions
// the server did not confirm with +OK to QUIT (RFC 1939 §6).
#pragma once
#include <cstddef>
#include <string>

#include "base/result.hpp"
#include "mua/account.hpp"
#include "mua/cache.hpp"
#include "mua/connection.hpp"

namespace tern::mua {

struct PopOptions {
    bool keep = false;
    TraceSink trace;
    std::string folder = "INBOX";
};

struct PopReport {
    std::size_t on_server = 0;     // messages the maildrop held
    std::size_t downloaded = 0;    // new copies in the cache
    std::size_t skipped = 0;       // already downloaded before (UIDL)
    std::size_t deleted = 0;       // DELE'd and confirmed by QUIT's +OK
    bool tls = false;
    std::string login;             // "APOP", "SCRAM-SHA-256", "PLAIN", "USER/PASS"
};

Result<PopReport> pop_download(const Account& account, Cache& cache, const PopOptions& options);

}  // namespace tern::mua
