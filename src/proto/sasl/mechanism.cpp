// The SASL mechanism registry: which mechanisms exist, the order they are advertised in, and the
// factory the protocol layers (SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH) call. Must never offer a
// mechanism this module does not implement (no -PLUS variants: we do no channel binding).
#include "base/ascii.hpp"
#include "proto/sasl/internal.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::sasl {

namespace {

// RFC 4422 §3.1: mechanism names are case-insensitive (upper-case by convention).
using ascii::iequals;

}  // namespace

std::unique_ptr<Mechanism> make_mechanism(std::string_view name, std::string_view fake_secret) {
    if (iequals(name, "SCRAM-SHA-256")) return detail::make_scram(fake_secret, "");
    if (iequals(name, "PLAIN")) return detail::make_plain();
    if (iequals(name, "LOGIN")) return detail::make_login();
    return nullptr;
}

std::vector<std::string> mechanism_names() {
    // Strongest first: SCRAM never sends the password; PLAIN and LOGIN need TLS (the caller's rule).
    return {"SCRAM-SHA-256", "PLAIN", "LOGIN"};
}

std::unique_ptr<Mechanism> make_scram_for_test(std::string server_nonce, std::string_view fake_secret) {
    return detail::make_scram(fake_secret, std::move(server_nonce));
}

}  // namespace tern::sasl
