// One blocking client connection for the mail client: TCP (Boost.Asio), implicit TLS or a later
// STARTTLS upgrade (OpenSSL), a timeout on every wait, and the `--trace` dialogue. The protocol
// sessions (src/client/*) stay pure; this only moves bytes. Must never accept a certificate that
// neither the system's (or the account's) CAs nor the pinned fingerprint vouch for, and never use
// plaintext bytes read before a handshake after it.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mua/account.hpp"

namespace tern::mua {

struct TlsTrust {
    std::string ca_file;      // PEM; "" = the system's CAs
    std::string fingerprint;  // SHA-256 of the server's certificate (hex, colons optional): pin it
};

// The `--trace` sink: gets "C: ..." / "S: ..." lines (the caller masks secrets in what it sends).
using TraceSink = std::function<void(std::string_view line)>;

// Splits `bytes` into lines and hands each to `sink` with `prefix` (CRLF removed; a long literal
// shown as its first line and a count, not dumped).
void trace_lines(const TraceSink& sink, std::string_view prefix, std::string_view bytes);

// "AB:CD:..." (upper-case hex, colon-separated) — the form `ternd serve` prints.
std::string normalize_fingerprint(std::string_view text);

class Connection {
public:
    // Resolves and connects (each address in turn); for Tls::Implicit, does the handshake.
    static Result<std::unique_ptr<Connection>> open(const Endpoint& endpoint, const TlsTrust& trust,
                                                    std::chrono::seconds timeout = std::chrono::seconds(60));
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Result<void> write(std::string_view bytes);
    // Up to `max` bytes appended to `out`; 0 appended means the peer closed.
    Result<std::size_t> read_some(std::string& out, std::size_t max = 64 * 1024);
    // The TLS handshake after a STARTTLS/STLS exchange.
    Result<void> start_tls();
    bool tls_active() const;
    std::string peer_fingerprint() const;  // "" before TLS

private:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern::mua
