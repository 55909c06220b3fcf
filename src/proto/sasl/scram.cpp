// SCRAM-SHA-256 (RFC 5802, RFC 7677) server side without channel binding, and the credential
// derivation and RFC 5803 text form the directory stores. Must never accept a proof without a
// constant-time compare, tell an unknown user apart from a wrong password, or keep SaltedPassword.
//
// SASLprep (RFC 4013) is not implemented in full: user names must be UTF-8 without control characters
// and are used byte for byte. For printable ASCII that is exactly what SASLprep yields; non-ASCII names
// and passwords are not normalised (NFKC) or mapped, so they only match when the client sends the same
// bytes the password was set with.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <openssl/rand.h>

#include <cerrno>
#include <charconv>
#include <climits>

#include "base/ascii.hpp"
#include "proto/sasl/internal.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::sasl {

namespace {

using Key = std::array<std::uint8_t, 32>;
constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
constexpr std::size_t kMaxMessage = 4096;      // a client-first or client-final message
constexpr std::size_t kServerNonceBytes = 18;  // 144 bits; base64 gives 24 printable characters

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// HMAC-SHA-256 (RFC 2104); false only on an OpenSSL error.
bool hmac(std::string_view key, std::string_view data, Key& out) {
    unsigned int len = 0;
    static const unsigned char kEmpty = 0;
    const unsigned char* k = key.empty() ? &kEmpty : bytes(key);
    return HMAC(EVP_sha256(), k, static_cast<int>(key.size()), bytes(data), data.size(), out.data(), &len) &&
           len == out.size();
}

bool sha256(std::string_view data, Key& out) {
    unsigned int len = 0;
    return EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
           len == out.size();
}

std::string_view view(const Key& k) {
    return {reinterpret_cast<const char*>(k.data()), k.size()};
}

bool to_key(std::string_view raw, Key& out) {
    if (raw.size() != out.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(raw[i]);
    return true;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

Result<ScramCredentials> derive_scram(std::string_view password, std::string_view salt,
                                      std::uint32_t iterations) {
    if (salt.empty()) return fail("SCRAM: empty salt", EINVAL);
    if (iterations == 0 || iterations > static_cast<std::uint32_t>(INT_MAX)) {
        return fail("SCRAM: iteration count out of range", EINVAL);
    }
    ScramCredentials c;
    c.salt = std::string(salt);
    c.iterations = iterations;
    // RFC 5802 §3: SaltedPassword = Hi(Normalize(password), salt, i), Hi being PBKDF2 with HMAC-H and
    // dkLen = the hash size; ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey);
    // ServerKey = HMAC(SaltedPassword, "Server Key").
    Key salted{}, client_key{};
    static const char kEmpty = 0;
    const char* pw = password.empty() ? &kEmpty : password.data();
    bool ok = PKCS5_PBKDF2_HMAC(pw, static_cast<int>(password.size()), bytes(salt),
                                static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                                static_cast<int>(salted.size()), salted.data()) == 1;
    ok = ok && hmac(view(salted), "Client Key", client_key) && sha256(view(client_key), c.stored_key) &&
         hmac(view(salted), "Server Key", c.server_key);
    OPENSSL_cleanse(salted.data(), salted.size());
    OPENSSL_cleanse(client_key.data(), client_key.size());
    if (!ok) return fail("SCRAM: key derivation failed (OpenSSL)", EIO);
    return c;
}

Result<ScramCredentials> new_scram_credentials(std::string_view password) {
    std::string salt(kScramSaltBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
        return fail("SCRAM: RAND_bytes failed", EIO);
    }
    return derive_scram(password, salt, kScramIterations);
}

std::string format_scram(const ScramCredentials& c) {
    // RFC 5803 §3: "SCRAM-SHA-256$" iter-count ":" base64(salt) "$" base64(StoredKey) ":" base64(ServerKey)
    return std::string(kPrefix) + std::to_string(c.iterations) + ":" + base64_encode(c.salt) + "$" +
           base64_encode(view(c.stored_key)) + ":" + base64_encode(view(c.server_key));
}

std::optional<ScramCredentials> parse_scram(std::string_view text) {
    if (!text.starts_with(kPrefix)) return std::nullopt;
    text.remove_prefix(kPrefix.size());
    const auto dollar = text.find('$');
    if (dollar == std::string_view::npos) return std::nullopt;
    const auto params = text.substr(0, dollar), keys = text.substr(dollar + 1);
    const auto c1 = params.find(':'), c2 = keys.find(':');
    if (c1 == std::string_view::npos || c2 == std::string_view::npos) return std::nullopt;
    ScramCredentials c;
    auto iter = parse_u32(params.substr(0, c1));
    auto salt = base64_decode(params.substr(c1 + 1));
    auto stored = base64_decode(keys.substr(0, c2));
    auto server = base64_decode(keys.substr(c2 + 1));
    if (!iter || *iter == 0 || *iter > static_cast<std::uint32_t>(INT_MAX)) return std::nullopt;
    if (!salt || salt->empty() || !stored || !server) return std::nullopt;
    if (!to_key(*stored, c.stored_key) || !to_key(*server, c.server_key)) return std::nullopt;
    c.iterations = *iter;
    c.salt = std::move(*salt);
    return c;
}

namespace detail {

namespace {

// RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); §5.1: any other "=" escape MUST fail.
std::optional<std::string> decode_saslname(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '=') {
            out += s[i];
            continue;
        }
        const auto esc = s.substr(i + 1, 2);
        if (esc == "2C") {
            out += ',';
        } else if (esc == "3D") {
            out += '=';
        } else {
            return std::nullopt;
        }
        i += 2;
    }
    // Our SASLprep subset (see the top of this file).
    if (out.size() > kMaxField || !valid_utf8(out) || !no_controls(out)) return std::nullopt;
    return out;
}

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ","), c-nonce = printable+.
bool valid_nonce(std::string_view n) {
    if (n.empty() || n.size() > kMaxField) return false;
    for (char ch : n) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7E || c == ',') return false;
    }
    return true;
}

// RFC 5802 §7: attr-val = ALPHA "=" value (extensions we do not know are ignored).
bool is_attr(std::string_view a) {
    return a.size() >= 2 && ((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')) && a[1] == '=';
}

// Splits "a,b,c" into its fields (no field may contain ",": every SCRAM value escapes or excludes it).
std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const auto comma = s.find(',', start);
        out.push_back(s.substr(start, comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

class Scram final : public Mechanism {
public:
    Scram(std::string_view fake_secret, std::string server_nonce)
        : fake_secret_(fake_secret), fixed_nonce_(std::move(server_nonce)) {}
    ~Scram() override {
        OPENSSL_cleanse(creds_.stored_key.data(), creds_.stored_key.size());
        OPENSSL_cleanse(creds_.server_key.data(), creds_.server_key.size());
        wipe(fake_secret_);
    }

    Step start(std::optional<std::string_view> initial) override {
        if (state_ != State::Start) return fail_here("SCRAM: start called twice");
        state_ = State::AwaitFirst;
        // RFC 5802 §5: the client speaks first; with no initial response the server sends an empty
        // challenge (RFC 4422 §5).
        if (!initial) return challenge("");
        return client_first(*initial);
    }

    Step respond(std::string_view response) override {
        if (state_ == State::AwaitFirst) return client_first(response);
        if (state_ == State::AwaitFinal) return client_final(response);
        return fail_here("SCRAM: unexpected response");
    }

    Step credentials(std::optional<ScramCredentials> creds) override {
        if (state_ != State::AwaitCreds) return fail_here("SCRAM: unexpected credentials");
        if (creds && (creds->salt.empty() || creds->iterations == 0)) creds.reset();  // unusable: fake it
        if (creds) {
            creds_ = std::move(*creds);
        } else if (!fake_credentials()) {
            return fail_here("SCRAM: OpenSSL error");
        }
        std::string server_nonce = fixed_nonce_;
        if (server_nonce.empty()) {
            unsigned char raw[kServerNonceBytes];
            if (RAND_bytes(raw, sizeof raw) != 1) return fail_here("SCRAM: RAND_bytes failed");
            server_nonce = base64_encode({reinterpret_cast<const char*>(raw), sizeof raw});
        }
        nonce_ = client_nonce_ + server_nonce;
        // RFC 5802 §7: server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
        server_first_ =
            "r=" + nonce_ + ",s=" + base64_encode(creds_.salt) + ",i=" + std::to_string(creds_.iterations);
        state_ = State::AwaitFinal;
        return challenge(server_first_);
    }

private:
    enum class State { Start, AwaitFirst, AwaitCreds, AwaitFinal, Done };

    Step fail_here(std::string reason) {
        state_ = State::Done;
        return failure(std::move(reason));
    }

    // Unknown user: the same salt length and iteration count a real user gets, the salt a deterministic
    // function of the name (a second attempt sees the same salt, as it would for a real user), keys random
    // so no proof can match (and fake_ makes sure of it).
    bool fake_credentials() {
        fake_ = true;
        Key mac{};
        // Keyed by the lower-cased name: real users are looked up case-insensitively, so
        // "Nobody" and "nobody" must get the same fake salt as "Alice" and "alice" get the same real one.
        if (!hmac(fake_secret_, ascii::to_lower(username_), mac)) return false;
        creds_.salt.assign(reinterpret_cast<const char*>(mac.data()), kScramSaltBytes);
        creds_.iterations = kScramIterations;
        return RAND_bytes(creds_.stored_key.data(), static_cast<int>(creds_.stored_key.size())) == 1 &&
               RAND_bytes(creds_.server_key.data(), static_cast<int>(creds_.server_key.size())) == 1;
    }

    // RFC 5802 §7: client-first-message = gs2-header client-first-message-bare
    //   gs2-header = gs2-cbind-flag "," [ authzid ] ","     gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
    //   client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    Step client_first(std::string_view msg) {
        if (msg.size() > kMaxMessage) return fail_here("SCRAM: client-first-message too long");
        if (msg.starts_with("p=")) {
            // RFC 5802 §6: the client requires channel binding; we advertise no -PLUS mechanism.
            return fail_here("SCRAM: channel binding requested but not offered");
        }
        // "y": the client could bind but thinks we cannot, which is true, so it is accepted (§6).
        if (!(msg.starts_with("n,") || msg.starts_with("y,"))) return fail_here("SCRAM: bad gs2 header");
        const auto end_authzid = msg.find(',', 2);
        if (end_authzid == std::string_view::npos) return fail_here("SCRAM: bad gs2 header");
        const auto authzid = msg.substr(2, end_authzid - 2);
        if (!authzid.empty()) {
            if (!authzid.starts_with("a=")) return fail_here("SCRAM: bad authzid");
            auto decoded = decode_saslname(authzid.substr(2));
            if (!decoded) return fail_here("SCRAM: bad authzid");
            authzid_ = std::move(*decoded);
        }
        gs2_header_ = std::string(msg.substr(0, end_authzid + 1));
        const auto bare = msg.substr(end_authzid + 1);
        const auto fields = split(bare);
        // §5.1: "m" is reserved; its presence MUST cause authentication failure.
        if (fields[0].starts_with("m=")) return fail_here("SCRAM: mandatory extension not supported");
        if (fields.size() < 2 || !fields[0].starts_with("n=") || !fields[1].starts_with("r=")) {
            return fail_here("SCRAM: malformed client-first-message");
        }
        for (std::size_t i = 2; i < fields.size(); ++i) {
            if (!is_attr(fields[i])) return fail_here("SCRAM: malformed extension");
        }
        auto user = decode_saslname(fields[0].substr(2));
        if (!user) return fail_here("SCRAM: bad user name");
        if (!valid_nonce(fields[1].substr(2))) return fail_here("SCRAM: bad client nonce");
        username_ = std::move(*user);
        client_nonce_ = std::string(fields[1].substr(2));
        client_first_bare_ = std::string(bare);
        state_ = State::AwaitCreds;
        Step s;
        s.kind = Step::Kind::NeedScram;
        s.authcid = username_;
        s.authzid = authzid_;
        return s;
    }

    // RFC 5802 §7: client-final-message = client-final-message-without-proof "," proof
    //   client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    Step client_final(std::string_view msg) {
        if (msg.size() > kMaxMessage) return fail_here("SCRAM: client-final-message too long");
        const auto proof_at = msg.rfind(",p=");
        if (proof_at == std::string_view::npos) return fail_here("SCRAM: no proof");
        const auto without_proof = msg.substr(0, proof_at);
        const auto fields = split(without_proof);
        if (fields.size() < 2 || !fields[0].starts_with("c=") || !fields[1].starts_with("r=")) {
            return fail_here("SCRAM: malformed client-final-message");
        }
        for (std::size_t i = 2; i < fields.size(); ++i) {
            if (!is_attr(fields[i])) return fail_here("SCRAM: malformed extension");
        }
        // §5.1/§7: without channel binding, c= is base64 of the gs2 header exactly as the client sent it
        // ("biws" for "n,,").
        auto cbind = base64_decode(fields[0].substr(2));
        if (!cbind || *cbind != gs2_header_) return fail_here("SCRAM: channel binding mismatch");
        if (fields[1].substr(2) != nonce_) return fail_here("SCRAM: nonce mismatch");
        auto proof = base64_decode(msg.substr(proof_at + 3));
        Key client_proof{};
        if (!proof || !to_key(*proof, client_proof)) return fail_here("SCRAM: malformed proof");

        // §3: AuthMessage = client-first-message-bare + "," + server-first-message + "," +
        //     client-final-message-without-proof; ClientSignature = HMAC(StoredKey, AuthMessage);
        //     ClientKey = ClientProof XOR ClientSignature; the proof holds when H(ClientKey) == StoredKey.
        const std::string auth_message =
            client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
        Key signature{}, client_key{}, stored{}, server_signature{};
        if (!hmac(view(creds_.stored_key), auth_message, signature)) return fail_here("SCRAM: OpenSSL error");
        for (std::size_t i = 0; i < client_key.size(); ++i) {
            client_key[i] = static_cast<std::uint8_t>(client_proof[i] ^ signature[i]);
        }
        const bool hashed = sha256(view(client_key), stored);
        OPENSSL_cleanse(client_key.data(), client_key.size());
        if (!hashed) return fail_here("SCRAM: OpenSSL error");
        const bool match = CRYPTO_memcmp(stored.data(), creds_.stored_key.data(), stored.size()) == 0;
        if (!match || fake_) return fail_here("SCRAM: invalid proof");
        // §3: ServerSignature = HMAC(ServerKey, AuthMessage); server-final-message = "v=" base64(it).
        if (!hmac(view(creds_.server_key), auth_message, server_signature)) {
            return fail_here("SCRAM: OpenSSL error");
        }
        state_ = State::Done;
        Step s;
        s.kind = Step::Kind::Success;
        s.data = "v=" + base64_encode(view(server_signature));
        s.authcid = username_;
        s.authzid = authzid_;
        return s;
    }

    State state_ = State::Start;
    std::string fake_secret_;
    std::string fixed_nonce_;  // tests only; empty: random
    bool fake_ = false;
    std::string gs2_header_, authzid_, username_, client_nonce_, client_first_bare_;
    std::string nonce_, server_first_;
    ScramCredentials creds_;
};

}  // namespace

std::unique_ptr<Mechanism> make_scram(std::string_view fake_secret, std::string server_nonce) {
    return std::make_unique<Scram>(fake_secret, std::move(server_nonce));
}

}  // namespace detail

}  // namespace tern::sasl
