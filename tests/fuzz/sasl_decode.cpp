// libFuzzer target: SASL base64, the stored SCRAM credential format, and the PLAIN, LOGIN and
// SCRAM-SHA-256 mechanisms driven by arbitrary client responses. Must never crash, accept a
// non-canonical base64 or credential string, or report Success that the caller did not grant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/sasl/sasl.hpp"

using namespace tern::sasl;

static void check(bool ok) {
    if (!ok) std::abort();
}

// Input layout: byte 0 picks the mechanism and options; the rest is split at 0x01 bytes into client
// responses (the first is the initial response when bit 2 of byte 0 is set).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    if (auto d = base64_decode(in)) check(base64_encode(*d) == in);  // strict: only canonical input
    auto round = base64_decode(base64_encode(in));
    check(round && *round == in);
    if (auto c = parse_scram(in)) check(format_scram(*c) == in);

    if (in.empty()) return 0;
    const auto opts = static_cast<unsigned char>(in[0]);
    std::vector<std::string_view> responses;
    for (std::string_view rest = in.substr(1);;) {
        const auto cut = rest.find('\x01');
        responses.push_back(rest.substr(0, cut));
        if (cut == std::string_view::npos) break;
        rest.remove_prefix(cut + 1);
    }

    static const ScramCredentials creds = *derive_scram("pencil", "salt-for-fuzzing", 1);
    const char* names[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};
    const int which = opts % 3;
    auto m = which == 2 ? make_scram_for_test("fixed-server-nonce") : make_mechanism(names[which]);
    check(m != nullptr);
    const bool known_user = opts & 8;    // SCRAM: real credentials or the unknown-user path
    const bool password_ok = opts & 16;  // PLAIN/LOGIN: the caller's verdict
    std::size_t next = 0;
    Step s = (opts & 4) ? m->start(responses[next++]) : m->start(std::nullopt);
    bool granted = false;
    for (int steps = 0; steps < 16; ++steps) {
        if (s.kind != Step::Kind::VerifyPassword) check(s.password.empty());
        if (s.kind == Step::Kind::Challenge) {
            if (next >= responses.size()) break;
            s = m->respond(responses[next++]);
        } else if (s.kind == Step::Kind::VerifyPassword) {
            check(which != 2 && !s.authcid.empty() && !s.password.empty());
            granted = password_ok;
            s = m->verified(password_ok);
        } else if (s.kind == Step::Kind::NeedScram) {
            check(which == 2);
            s = m->credentials(known_user ? std::optional(creds) : std::nullopt);
        } else {
            if (s.kind == Step::Kind::Success) {
                // PLAIN/LOGIN succeed only on the caller's word; SCRAM never for an unknown user.
                check(which == 2 ? known_user : granted);
                check(!s.authcid.empty());
            }
            // A finished exchange stays finished.
            check(m->respond("x").kind == Step::Kind::Failure);
            break;
        }
    }
    return 0;
}
