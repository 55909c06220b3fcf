// SCRAM-SHA-256 client (RFC 5802 §3, §7; RFC 7677): message building and the server-signature check.
// Must never accept a server-final-message without a constant-time compare of its signature, and
// never keep SaltedPassword or the password past the exchange.
#include "proto/sasl/scram_client.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>

#include "proto/sasl/internal.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::sasl {

namespace {

using Key = std::array<std::uint8_t, 32>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
std::string_view view(const Key& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

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

// RFC 5802 §7: printable = %x21-2B / %x2D-7E.
bool printable(std::string_view s) {
    if (s.empty()) return false;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7E || c == ',') return false;
    }
    return true;
}

}  // namespace

std::string scram_escape_name(std::string_view name) {
    std::string out;
    for (char c : name) {
        if (c == ',') out += "=2C";
        else if (c == '=') out += "=3D";
        else out += c;
    }
    return out;
}

ScramClient::ScramClient(std::string user, std::string password, std::string client_nonce,
                         std::uint32_t min_iterations, std::uint32_t max_iterations)
    : user_(std::move(user)), password_(std::move(password)), nonce_(std::move(client_nonce)),
      min_iter_(min_iterations), max_iter_(max_iterations) {}

ScramClient::~ScramClient() { detail::wipe(password_); }

Result<std::string> ScramClient::first() {
    if (state_ != State::Start) return fail("SCRAM: first() called twice");
    // Our SASLprep subset (as the server's, scram.cpp): UTF-8, no control characters.
    if (user_.empty() || user_.size() > detail::kMaxField || !detail::valid_utf8(user_) ||
        !detail::no_controls(user_)) {
        state_ = State::Failed;
        return fail("SCRAM: unusable user name");
    }
    if (nonce_.empty()) {
        unsigned char raw[18];
        if (RAND_bytes(raw, sizeof raw) != 1) return fail("SCRAM: RAND_bytes failed");
        nonce_ = base64_encode({reinterpret_cast<const char*>(raw), sizeof raw});
    }
    if (!printable(nonce_)) return fail("SCRAM: bad client nonce");
    // RFC 5802 §7: client-first-message = gs2-header client-first-message-bare; "n,," = no channel
    // binding, no authzid.
    first_bare_ = "n=" + scram_escape_name(user_) + ",r=" + nonce_;
    state_ = State::SentFirst;
    return "n,," + first_bare_;
}

Result<std::string> ScramClient::final(std::string_view server_first) {
    if (state_ != State::SentFirst) return fail("SCRAM: server-first-message out of order");
    state_ = State::Failed;
    if (server_first.size() > 4096) return fail("SCRAM: server-first-message too long");
    // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
    if (server_first.starts_with("m=")) return fail("SCRAM: mandatory extension not supported");
    std::string_view r, s, i;
    std::size_t start = 0, field = 0;
    for (;;) {
        const auto comma = server_first.find(',', start);
        const auto f = server_first.substr(start, comma == std::string_view::npos ? comma : comma - start);
        if (field == 0 && f.starts_with("r=")) r = f.substr(2);
        else if (field == 1 && f.starts_with("s=")) s = f.substr(2);
        else if (field == 2 && f.starts_with("i=")) i = f.substr(2);
        else if (field < 3) return fail("SCRAM: malformed server-first-message");
        ++field;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (field < 3) return fail("SCRAM: malformed server-first-message");
    // §5.1: the server's nonce starts with ours and adds at least one printable character.
    if (!printable(r) || r.size() <= nonce_.size() || !r.starts_with(nonce_)) {
        return fail("SCRAM: server nonce does not extend the client nonce");
    }
    auto salt = base64_decode(s);
    if (!salt || salt->empty()) return fail("SCRAM: bad salt");
    std::uint32_t iterations = 0;
    auto [p, ec] = std::from_chars(i.data(), i.data() + i.size(), iterations);
    if (i.empty() || ec != std::errc() || p != i.data() + i.size()) return fail("SCRAM: bad iteration count");
    if (iterations < min_iter_ || iterations > max_iter_) return fail("SCRAM: iteration count out of range");

    // RFC 5802 §3.
    Key salted{}, client_key{}, stored{}, signature{}, server_key{}, server_sig{};
    static const char kEmpty = 0;
    const char* pw = password_.empty() ? &kEmpty : password_.data();
    const std::string without_proof = "c=biws,r=" + std::string(r);  // base64("n,,") = "biws"
    const std::string auth_message = first_bare_ + "," + std::string(server_first) + "," + without_proof;
    bool ok = PKCS5_PBKDF2_HMAC(pw, static_cast<int>(password_.size()), bytes(*salt),
                                static_cast<int>(salt->size()), static_cast<int>(iterations), EVP_sha256(),
                                static_cast<int>(salted.size()), salted.data()) == 1;
    ok = ok && hmac(view(salted), "Client Key", client_key) && sha256(view(client_key), stored) &&
         hmac(view(stored), auth_message, signature) && hmac(view(salted), "Server Key", server_key) &&
         hmac(view(server_key), auth_message, server_sig);
    Key proof{};
    for (std::size_t k = 0; k < proof.size(); ++k) proof[k] = static_cast<std::uint8_t>(client_key[k] ^ signature[k]);
    OPENSSL_cleanse(salted.data(), salted.size());
    OPENSSL_cleanse(client_key.data(), client_key.size());
    OPENSSL_cleanse(server_key.data(), server_key.size());
    detail::wipe(password_);
    if (!ok) return fail("SCRAM: OpenSSL error");
    server_signature_ = base64_encode(view(server_sig));
    state_ = State::SentFinal;
    return without_proof + ",p=" + base64_encode(view(proof));
}

Result<void> ScramClient::verify(std::string_view server_final) {
    if (state_ != State::SentFinal) return fail("SCRAM: server-final-message out of order");
    state_ = State::Failed;
    // server-final-message = (server-error / verifier) ["," extensions]
    if (server_final.starts_with("e=")) return fail("SCRAM: server said " + std::string(server_final.substr(2, 64)));
    if (!server_final.starts_with("v=")) return fail("SCRAM: malformed server-final-message");
    auto v = server_final.substr(2, server_final.find(',') == std::string_view::npos
                                        ? std::string_view::npos
                                        : server_final.find(',') - 2);
    if (v.size() != server_signature_.size() ||
        CRYPTO_memcmp(v.data(), server_signature_.data(), v.size()) != 0) {
        return fail("SCRAM: the server's signature does not match (not the real server?)");
    }
    state_ = State::Done;
    return {};
}

}  // namespace tern::sasl
