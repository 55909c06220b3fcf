// Domains, accounts, aliases and credentials. The embedded backend is <data>/directory.db
// (SQLite); admin commands write it while the server runs, and every lookup reads it afresh, so
// the server sees changes without a restart. Thread-safe. Must never store a password in clear,
// and never let alias expansion loop or grow without bound.
#pragma once
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::directory {

struct Alias {
    std::string source;                // "alias@example.org" or catch-all "@example.org"
    std::vector<std::string> targets;  // local accounts or remote addresses
};

// The outcome of looking up a recipient address (RFC 5321 §3.6 aliases and forwarding).
struct Resolution {
    enum class Kind { NotLocal, Unknown, Ok } kind = Kind::NotLocal;
    std::vector<std::string> accounts;  // local accounts to deliver into (deduplicated)
    std::vector<std::string> remote;    // remote addresses the alias forwards to
};

class Directory {
public:
    virtual ~Directory() = default;

    virtual Result<void> add_domain(std::string_view domain) = 0;
    virtual Result<void> remove_domain(std::string_view domain) = 0;
    virtual Result<std::vector<std::string>> list_domains() = 0;
    virtual Result<bool> is_local_domain(std::string_view domain) = 0;

    // `address` must be in a local domain. The password is hashed with yescrypt (crypt(3)), and
    // SCRAM-SHA-256 credentials (random salt, sasl::kScramIterations) are derived from it and stored too;
    // set_password replaces both.
    virtual Result<void> add_user(std::string_view address, std::string_view password) = 0;
    virtual Result<void> remove_user(std::string_view address) = 0;
    virtual Result<void> set_password(std::string_view address, std::string_view password) = 0;
    virtual Result<std::vector<std::string>> list_users() = 0;
    virtual Result<bool> user_exists(std::string_view address) = 0;
    // Constant work whether or not the user exists (a dummy hash is checked for unknown users).
    virtual Result<bool> verify_password(std::string_view address, std::string_view password) = 0;
    // Stored SCRAM-SHA-256 credentials (RFC 5802 §3). nullopt: no such user, or a user created before
    // schema 2 whose password has not been set since (SCRAM then fails like a wrong password; PLAIN works).
    virtual Result<std::optional<sasl::ScramCredentials>> scram_credentials(std::string_view address) = 0;
    // APOP (RFC 1939 §7) shared secret. By protocol design the server must be able to recover it (it
    // computes MD5(timestamp secret)), so it is stored as given, separately from the password, and must
    // never be logged. No control characters, at most 255 octets; an empty secret removes it. ENOENT: no
    // such user.
    virtual Result<void> set_apop_secret(std::string_view address, std::string_view secret) = 0;
    // nullopt: no such user, or no APOP secret set (APOP must then be refused).
    virtual Result<std::optional<std::string>> apop_secret(std::string_view address) = 0;

    virtual Result<void> add_alias(std::string_view source, const std::vector<std::string>& targets) = 0;
    // Removes the given targets, or the whole alias when `targets` is empty.
    virtual Result<void> remove_alias(std::string_view source, const std::vector<std::string>& targets) = 0;
    virtual Result<std::vector<Alias>> list_aliases() = 0;

    // Resolves a recipient: exact user, then exact alias, then plus-addressing (user+tag -> user,
    // RFC 5233 subaddress), then catch-all "@domain". Aliases expand recursively up to a bounded
    // depth and fan-out. Addresses compare case-insensitively. Exceeding the depth (8) or fan-out
    // (1000 targets) is an error (ELOOP / E2BIG), not Unknown: it is a misconfiguration.
    virtual Result<Resolution> resolve(std::string_view address) = 0;
};

// Canonical form used as account key: local part and domain lower-cased (ASCII).
std::string canonical_address(std::string_view address);

struct DirectoryOptions {
    // How long a successful password login is remembered (login_cache.hpp); 0: never. The server
    // sets it from auth.login_cache; admin commands never verify passwords and leave it off.
    std::chrono::seconds login_cache_ttl{0};
    std::size_t login_cache_entries = 100000;
    // Cached recipient resolutions are checked against the database (PRAGMA data_version, a read
    // transaction) only when the change counter that every Directory write bumps has moved, and
    // at least this often regardless: a write made without this library (the sqlite3 shell) is
    // seen within this interval. Zero: check on every lookup.
    std::chrono::milliseconds recheck_interval{1000};
};

Result<std::unique_ptr<Directory>> open_sqlite_directory(const std::filesystem::path& data_dir,
                                                         const DirectoryOptions& options = {});

}  // namespace tern::directory
