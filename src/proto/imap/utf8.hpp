// UTF-8 well-formedness (RFC 3629 §4) for IMAP quoted strings and mailbox names (RFC 9051 §9
// utf8-quoted, RFC 6855). Pure; must never accept overlongs, surrogates or code points > U+10FFFF.
#pragma once
#include <cstddef>
#include <string_view>

namespace tern::imap {

constexpr bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) { ++i; continue; }
        std::size_t n;
        unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second octet
        if (b >= 0xC2 && b <= 0xDF) n = 1;
        else if (b == 0xE0) { n = 2; lo = 0xA0; }
        else if (b == 0xED) { n = 2; hi = 0x9F; }  // no surrogates
        else if (b >= 0xE1 && b <= 0xEF) n = 2;
        else if (b == 0xF0) { n = 3; lo = 0x90; }
        else if (b >= 0xF1 && b <= 0xF3) n = 3;
        else if (b == 0xF4) { n = 3; hi = 0x8F; }
        else return false;
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (c < l || c > h) return false;
        }
        i += n + 1;
    }
    return true;
}

}  // namespace tern::imap
