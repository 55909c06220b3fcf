// Server side of SASL mechanisms (RFC 4422): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
// SCRAM-SHA-256 (RFC 5802, RFC 7677), plus base64 (RFC 4648) and the SCRAM credential format the
// directory stores. Pure: decoded bytes in, challenges and verdict requests out; the caller does
// the password check (slow: yescrypt) off the I/O thread. Must never log or keep a password longer
// than the step that hands it over, and never accept a proof without a constant-time compare.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::sasl {

// RFC 4648 §4 base64; decode rejects anything non-canonical except that it tolerates no padding? No:
// decode requires correct padding and the standard alphabet; whitespace is an error.
std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

// What the directory keeps for SCRAM-SHA-256 (RFC 5802 §3): never the password itself.
struct ScramCredentials {
    std::string salt;                        // raw bytes
    std::uint32_t iterations = 4096;         // RFC 7677 §4: at least 4096
    std::array<std::uint8_t, 32> stored_key{};  // H(ClientKey)
    std::array<std::uint8_t, 32> server_key{};  // HMAC(SaltedPassword, "Server Key")
    bool operator==(const ScramCredentials&) const = default;
};
// SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations) and the keys derived from it.
ScramCredentials derive_scram(std::string_view password, std::string_view salt, std::uint32_t iterations);
// RFC 5803-style text form: "SCRAM-SHA-256$<iterations>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>".
std::string format_scram(const ScramCredentials& c);
std::optional<ScramCredentials> parse_scram(std::string_view text);

// One step of an exchange, as the protocol layer must act on it.
struct Step {
    enum class Kind {
        Challenge,       // send `data` (raw bytes; the protocol base64-encodes) and wait for a response
        VerifyPassword,  // check authcid/password (PLAIN, LOGIN), then call Mechanism::verified()
        NeedScram,       // look up SCRAM credentials of `authcid`, then call Mechanism::credentials()
        Success,         // authenticated as `authcid` (authorization identity `authzid`, may be empty)
        Failure,         // authentication failed; `data` is a short reason for the log (never secrets)
    } kind = Kind::Failure;
    std::string data;
    std::string authcid;
    std::string authzid;
    std::string password;  // only with VerifyPassword
};

class Mechanism {
public:
    virtual ~Mechanism() = default;
    // `initial` is the decoded initial response if the client sent one (RFC 4954 §4; "=" means empty).
    virtual Step start(std::optional<std::string_view> initial) = 0;
    virtual Step respond(std::string_view response) = 0;  // decoded client response
    // Answer to VerifyPassword.
    virtual Step verified(bool ok) { return ok ? Step{Step::Kind::Success} : Step{Step::Kind::Failure, "bad password"}; }
    // Answer to NeedScram: the stored credentials, or nullopt for an unknown user (the mechanism then
    // goes on with fake credentials so the client cannot tell unknown users from wrong passwords).
    virtual Step credentials(std::optional<ScramCredentials> creds) { (void)creds; return Step{Step::Kind::Failure}; }
};

// "PLAIN", "LOGIN", "SCRAM-SHA-256" (case-insensitive); nullptr for anything else.
// `fake_secret` keys the deterministic fake SCRAM salt for unknown users.
std::unique_ptr<Mechanism> make_mechanism(std::string_view name, std::string_view fake_secret = "tern");
// The names to advertise, in preference order.
std::vector<std::string> mechanism_names();

}  // namespace tern::sasl
