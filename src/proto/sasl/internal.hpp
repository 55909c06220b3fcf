// Helpers shared by the SASL mechanism implementations in src/proto/sasl; not part of the module's API.
// Must never be included from outside src/proto/sasl, and never log what it validates (it sees passwords).
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "proto/sasl/sasl.hpp"

namespace tern::sasl::detail {

// RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets. LOGIN and SCRAM use the same cap
// for identities so every mechanism accepts the same names.
inline constexpr std::size_t kMaxField = 255;

// Well-formed UTF-8 (RFC 3629 §4): no overlong forms, surrogates or code points above U+10FFFF.
bool valid_utf8(std::string_view s);
// No C0 control, DEL or NUL anywhere.
bool no_controls(std::string_view s);
// Overwrites a string's bytes (OPENSSL_cleanse, which the optimiser must not elide) and clears it.
void wipe(std::string& s);

inline Step failure(std::string reason) {
    Step s;
    s.kind = Step::Kind::Failure;
    s.data = std::move(reason);
    return s;
}
inline Step challenge(std::string data) {
    Step s;
    s.kind = Step::Kind::Challenge;
    s.data = std::move(data);
    return s;
}

std::unique_ptr<Mechanism> make_plain();
std::unique_ptr<Mechanism> make_login();
std::unique_ptr<Mechanism> make_scram(std::string_view fake_secret, std::string server_nonce);

}  // namespace tern::sasl::detail
