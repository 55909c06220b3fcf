// Server side of SASL mechanisms (RFC 4422): PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
// SCRAM-SHA-256 (RFC 5802, RFC 7677), plus base64 (RFC 4648) and the SCRAM credential format the
// directory stores. Pure: decoded bytes in, challenges and verdict requests out; the caller does
// the password check (slow: yescrypt) off the I/O thread. Must never log or keep a password longer
// than the step that hands it over, and never accept a proof without a constant-time compare.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::sasl {

// RFC 4648 §4 base64 with padding. Decoding is strict: the standard alphabet only, length a multiple
// of 4, "=" only as the final one or two characters, and zero pad bits (§3.5: canonical encoding), so
// every accepted input is exactly base64_encode() of its result. Whitespace is an error.
std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

// Iteration count for newly stored SCRAM-SHA-256 credentials and for the fake credentials offered for
// unknown users (the two must agree, or "i=" tells unknown users apart). RFC 7677 §4 asks for at least
// 4096; 10000 costs a client a few milliseconds per login (the server only runs PBKDF2 when a password
// is set) and makes an offline guess 2.4 times dearer than 4096.
inline constexpr std::uint32_t kScramIterations = 10000;
inline constexpr std::size_t kScramSaltBytes = 16;  // stored salt and fake salt have the same length

// What the directory keeps for SCRAM-SHA-256 (RFC 5802 §3): never the password itself.
struct ScramCredentials {
    std::string salt;                           // raw bytes
    std::uint32_t iterations = 4096;            // RFC 7677 §4: at least 4096
    std::array<std::uint8_t, 32> stored_key{};  // H(ClientKey)
    std::array<std::uint8_t, 32> server_key{};  // HMAC(SaltedPassword, "Server Key")
    bool operator==(const ScramCredentials&) const = default;
};
// SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations) and the keys derived from it
// (RFC 5802 §3). The password is used as given: ASCII passwords are their own SASLprep form; non-ASCII
// ones are not normalised (see scram.cpp). Fails for an empty salt, iterations 0 or > INT_MAX, or an
// OpenSSL error.
Result<ScramCredentials> derive_scram(std::string_view password, std::string_view salt,
                                      std::uint32_t iterations);
// The same with a fresh random salt of kScramSaltBytes and kScramIterations: what the directory stores.
Result<ScramCredentials> new_scram_credentials(std::string_view password);
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
    // Answer to VerifyPassword. Mechanisms that ask for it override this; the default fails, so a caller
    // that answers a question never asked (e.g. verified(true) during SCRAM) cannot authenticate anyone.
    virtual Step verified(bool ok) {
        (void)ok;
        Step s;  // Failure
        s.data = "unexpected verdict";
        return s;
    }
    // Answer to NeedScram: the stored credentials, or nullopt for an unknown user (the mechanism then
    // goes on with fake credentials so the client cannot tell unknown users from wrong passwords).
    virtual Step credentials(std::optional<ScramCredentials> creds) {
        (void)creds;
        Step s;  // Failure: only SCRAM asks for credentials
        s.data = "unexpected credentials";
        return s;
    }
};

// "PLAIN", "LOGIN", "SCRAM-SHA-256" (case-insensitive); nullptr for anything else.
// `fake_secret` keys the deterministic fake SCRAM salt for unknown users.
std::unique_ptr<Mechanism> make_mechanism(std::string_view name, std::string_view fake_secret = "tern");
// The names to advertise, in preference order.
std::vector<std::string> mechanism_names();

// Tests only: a SCRAM-SHA-256 server that uses `server_nonce` (printable, no ",") instead of fresh
// random bytes, so published exchanges (RFC 7677 §3) can be replayed exactly. Never use it in the server.
std::unique_ptr<Mechanism> make_scram_for_test(std::string server_nonce,
                                               std::string_view fake_secret = "tern");

}  // namespace tern::sasl
