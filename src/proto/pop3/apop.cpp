// APOP digest computation and check (RFC 1939 §7) with OpenSSL's EVP MD5. Must never short-circuit
// the digest comparison on the first differing byte, nor keep the secret beyond the call.
#include "proto/pop3/apop.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace tern::pop3 {

std::string md5_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 0xF]);
    }
    return out;
}

std::string apop_digest(std::string_view timestamp, std::string_view secret) {
    std::string buf;
    buf.reserve(timestamp.size() + secret.size());
    buf.append(timestamp).append(secret);
    std::string d = md5_hex(buf);
    OPENSSL_cleanse(buf.data(), buf.size());
    return d;
}

bool apop_verify(std::string_view timestamp, std::string_view secret, std::string_view client_digest) {
    std::string expected = apop_digest(timestamp, secret);
    if (expected.empty() || client_digest.size() != expected.size()) return false;
    std::string given(client_digest);
    for (auto& c : given)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace tern::pop3
