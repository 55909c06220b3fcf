// libFuzzer target: modified UTF-7 (proto/imap/mutf7.hpp) and mailbox names (mailbox.hpp). Must
// never crash; a decoded name re-encodes to exactly its input; any UTF-8 encodes and decodes back;
// a name that passes the checks has no "..", empty component or control character.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/imap/mailbox.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/utf8.hpp"

using namespace tern::imap;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto d = mutf7_decode(in)) {
        check(valid_utf8(*d));
        auto e = mutf7_encode(*d);
        check(e && *e == in);  // one spelling per name
    } else {
        check(!d.error().empty());
    }
    if (valid_utf8(in)) {
        auto e = mutf7_encode(in);
        check(e.has_value());
        for (char c : *e) check(c >= 0x20 && c <= 0x7e);
        auto back = mutf7_decode(*e);
        check(back && *back == in);
    } else {
        check(!mutf7_encode(in));
    }
    for (bool utf8 : {false, true}) {
        if (auto n = decode_mailbox(in, utf8)) {
            check(mailbox_name_problem(*n).empty());
            check(n->front() != '/' && n->back() != '/' && n->find("//") == std::string::npos);
            check(*n != ".." && n->find("/../") == std::string::npos && !n->starts_with("../") && !n->ends_with("/.."));
            for (char c : *n) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
            auto w = encode_mailbox(*n, utf8);
            check(w.has_value());
            auto again = decode_mailbox(*w, utf8);
            check(again && *again == *n);
        }
    }
    return 0;
}
