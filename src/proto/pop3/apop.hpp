// APOP digest (RFC 1939 §7): MD5 over the greeting's timestamp followed by the shared secret, in
// lower-case hex. Pure apart from OpenSSL's digest. Must never compare digests in variable time
// nor log the secret.
#pragma once
#include <string>
#include <string_view>

namespace tern::pop3 {

// Lower-case hex MD5 of `data` (OpenSSL EVP); empty only if OpenSSL fails.
std::string md5_hex(std::string_view data);
// md5_hex(timestamp + secret), e.g. "<1896.697170952@dbc.mtview.ca.us>" + "tanstaaf".
std::string apop_digest(std::string_view timestamp, std::string_view secret);
// True when `client_digest` (hex, either case) equals apop_digest(timestamp, secret). The comparison
// of equal-length digests runs in constant time (CRYPTO_memcmp).
bool apop_verify(std::string_view timestamp, std::string_view secret, std::string_view client_digest);

}  // namespace tern::pop3
