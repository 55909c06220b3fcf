// The mail client's accounts: who the user is on which servers, kept in
// $XDG_CONFIG_HOME/tern/accounts.toml (mode 0600, written atomically). Must never write the file
// readable by others, and never print a password (see describe()).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::mua {

enum class Tls { Implicit, StartTls, None };
std::string_view tls_name(Tls t);             // "implicit", "starttls", "none"
std::optional<Tls> parse_tls(std::string_view s);

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    Tls tls = Tls::Implicit;
};
// "HOST:PORT", "[v6]:PORT" or "HOST" (port 0: the protocol's default for the TLS mode).
Result<Endpoint> parse_endpoint(std::string_view text, Tls tls);
std::string endpoint_text(const Endpoint& e);  // "host:port (tls)"

struct Account {
    std::string name;
    std::string address;            // the user's mail address (From)
    std::string display_name;       // optional, for From
    std::string login;              // user name on the servers ("" = the address)
    std::string password;           // stored in the 0600 file, or ""
    std::string password_command;   // run with /bin/sh -c; its first output line is the password
    std::optional<Endpoint> imap, pop3, smtp;
    std::string ca_file;            // trust this CA (PEM) instead of the system's
    std::string fingerprint;        // or accept exactly this certificate: SHA-256, hex
    bool apop = false;              // POP3: log in with APOP when the server offers it
    bool allow_plaintext = false;   // send the password without TLS (tls = none only)

    const std::string& user() const { return login.empty() ? address : login; }
};

// Every account, in the file's order (the first is the default). A missing file: none.
Result<std::vector<Account>> load_accounts(const std::filesystem::path& config_dir);
// Writes them all (0600, temp file + fsync + rename).
Result<void> save_accounts(const std::filesystem::path& config_dir, const std::vector<Account>& accounts);
// The named account, or the first when `name` is empty.
Result<Account> find_account(const std::filesystem::path& config_dir, std::string_view name);
// The password: the stored one, else the command's first line of output.
Result<std::string> account_password(const Account& a);
// A name usable as a directory and a TOML key: letters, digits, '.', '-', '_', 1-64 characters.
bool valid_account_name(std::string_view name);

}  // namespace tern::mua
