// libFuzzer target: replies and forwards drafted from arbitrary original messages (mua/compose),
// then built. Must never crash, and every message built must be transportable: CRLF only, no line
// over 998 octets, no Bcc field in the header, no raw 8-bit header unless SMTPUTF8, and a reply's thread fields made of message ids only.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mua/compose.hpp"

using namespace tern;

static void check(bool ok) {
    if (!ok) std::abort();
}

static void check_wire(const std::string& m) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n') check(i > 0 && m[i - 1] == '\r');
        if (m[i] == '\r') {
            check(i + 1 < m.size() && m[i + 1] == '\n');
            line = 0;
            ++i;
            continue;
        }
        check(++line <= 998);
    }
    check(m.ends_with("\r\n"));
    // The header section only: a forwarded original may carry a Bcc field of its own.
    const std::string header = m.substr(0, m.find("\r\n\r\n") + 2);
    check(!header.starts_with("Bcc:") && header.find("\r\nBcc:") == std::string::npos);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const int mode = in.ConsumeIntegralInRange(0, 3);
    const std::string rendered = in.ConsumeRandomLengthString(512);
    const std::string original = in.ConsumeRemainingBytesAsString();
    mua::Draft d;
    if (mode < 2) {
        d = mua::reply_draft(original, rendered, "Alice <alice@example.org>", mode == 1);
        for (const auto& r : d.references) check(r.size() > 2 && r.front() == '<' && r.back() == '>');
        check(d.in_reply_to.empty() || d.in_reply_to.front() == '<');
    } else {
        d = mua::forward_draft(original, rendered, mode == 3);
        d.from = "alice@example.org";
        d.to = {"bob@example.net"};
    }
    d.bcc = {"hidden@example.com"};
    d.date = 1700000000;
    d.unique = 1;
    auto built = mua::build_message(d);
    if (built) {
        check_wire(built->message);
        // Raw 8-bit octets in the header only for a non-ASCII address (RFC 6532, SMTPUTF8).
        const std::string header = built->message.substr(0, built->message.find("\r\n\r\n"));
        bool ascii = true;
        for (char c : header) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
        check(ascii || built->needs_smtputf8);
    }
    return 0;
}
