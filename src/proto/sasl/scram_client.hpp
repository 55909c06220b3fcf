// Client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding ("n,,"): builds the
// client-first and client-final messages and checks the server's signature. Pure apart from
// OpenSSL (PBKDF2, HMAC, random nonce). Must never report success before the server proved it
// knows the key (ServerSignature), never keep SaltedPassword, and never log the password.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::sasl {

class ScramClient {
public:
    // `client_nonce` empty: 24 printable characters from RAND_bytes; tests pass RFC 7677's.
    // Iteration counts below `min_iterations` (RFC 7677 §4: at least 4096) or above
    // `max_iterations` (a hostile server making us spin) are refused.
    ScramClient(std::string user, std::string password, std::string client_nonce = {},
                std::uint32_t min_iterations = 4096, std::uint32_t max_iterations = 1'000'000);
    ~ScramClient();
    ScramClient(const ScramClient&) = delete;
    ScramClient& operator=(const ScramClient&) = delete;

    // client-first-message (RFC 5802 §7): "n,,n=<saslname>,r=<nonce>" (raw, not base64).
    Result<std::string> first();
    // server-first-message in -> client-final-message out ("c=biws,r=...,p=...").
    Result<std::string> final(std::string_view server_first);
    // server-final-message: "v=<ServerSignature>" must match; "e=..." is the server's refusal.
    Result<void> verify(std::string_view server_final);
    bool verified() const { return state_ == State::Done; }

private:
    enum class State { Start, SentFirst, SentFinal, Done, Failed };
    std::string user_, password_, nonce_, first_bare_, server_signature_;
    std::uint32_t min_iter_, max_iter_;
    State state_ = State::Start;
};

// RFC 5802 §5.1: "," -> "=2C", "=" -> "=3D".
std::string scram_escape_name(std::string_view name);

}  // namespace tern::sasl
