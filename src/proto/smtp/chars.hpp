// Private character-class helpers for the SMTP protocol layer (RFC 5321 §4.1.2, RFC 6531 §3.3).
// Internal to src/proto/smtp: not part of the module's contract. Must never allocate or accept
// ill-formed UTF-8, C0/C1 controls or DEL as "text".
#pragma once
#include "base/ascii.hpp"
#include <cstddef>
#include <string_view>

namespace tern::smtp::detail {

constexpr bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
using ascii::iequals;
using ascii::istarts_with;
constexpr char to_lower(char c) { return ascii::lower(c); }

// RFC 5322 §3.2.3 atext (ASCII part), as used by RFC 5321 Atom.
constexpr bool is_atext(unsigned char c) {
    if (is_alnum(c)) return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
        case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
        case '~':
            return true;
        default:
            return false;
    }
}

// Length of the well-formed UTF-8 sequence (RFC 3629 §4) starting at s[i], which must be a
// non-ASCII byte; 0 when ill-formed (overlong, surrogate, > U+10FFFF, truncated) or a C1 control
// (U+0080..U+009F: some software treats U+0085 as a line break, so it is never "text" here).
inline std::size_t utf8_seq_len(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
    auto cont = [&](std::size_t k) { return k < s.size() && (at(k) & 0xC0) == 0x80; };
    unsigned b0 = at(i);
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (!cont(i + 1)) return 0;
        if (b0 == 0xC2 && at(i + 1) <= 0x9F) return 0;  // C1 control
        return 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (!cont(i + 1) || !cont(i + 2)) return 0;
        unsigned b1 = at(i + 1);
        if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
        if (b0 == 0xED && b1 > 0x9F) return 0;  // UTF-16 surrogates
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        unsigned b1 = at(i + 1);
        if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
        if (b0 == 0xF4 && b1 > 0x8F) return 0;  // > U+10FFFF
        return 4;
    }
    return 0;
}

// True when every byte is printable ASCII (%d32-126) or, with allow_utf8, well-formed UTF-8.
inline bool is_text(std::string_view s, bool allow_utf8) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 32 && c <= 126) {
            ++i;
        } else if (c >= 0x80 && allow_utf8) {
            std::size_t n = utf8_seq_len(s, i);
            if (n == 0) return false;
            i += n;
        } else {
            return false;
        }
    }
    return true;
}

}  // namespace tern::smtp::detail
