// libFuzzer target: RFC 5321 mailbox / path parsing on arbitrary bytes, with canonical round trip.
// Must never crash, accept CR/LF/NUL/ill-formed UTF-8, or parse to something str() cannot reproduce.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/smtp/address.hpp"

using namespace tern::smtp;

static void check(bool ok) {
    if (!ok) std::abort();
}

static bool clean(std::string_view s) {
    for (unsigned char c : s)
        if (c < 32 || c == 127) return false;
    return true;
}

static void check_mailbox(const Mailbox& m, bool utf8) {
    check(clean(m.local) && clean(m.domain));
    if (!utf8) {
        for (unsigned char c : m.local + m.domain) check(c < 0x80);
    }
    std::string text = m.str();
    auto again = parse_mailbox(text, utf8);
    check(again.has_value() && *again == m);
    check(again->str() == text);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (bool utf8 : {false, true}) {
        if (auto m = parse_mailbox(in, utf8)) check_mailbox(*m, utf8);
        std::string_view rest;
        if (auto p = parse_path(in, utf8, &rest)) {
            check(rest.data() >= in.data() && rest.data() + rest.size() == in.data() + in.size());
            if (p->mailbox) {
                check_mailbox(*p->mailbox, utf8);
                std::string wire = "<" + p->mailbox->str() + ">";
                std::string_view rest2;
                auto again = parse_path(wire, utf8, &rest2);
                check(again.has_value() && again->mailbox == p->mailbox && rest2.empty());
            } else {
                check(in.substr(0, 2) == "<>");
            }
        }
    }
    return 0;
}
