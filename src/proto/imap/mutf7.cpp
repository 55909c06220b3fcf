// Modified UTF-7 codec (RFC 3501 §5.1.3): '&' shifts to modified base64 (',' for '/') of UTF-16BE,
// '-' shifts back, "&-" is '&'. Must never accept more than one spelling of a name: a decoded
// name re-encodes to exactly its input, or it is refused.
#include "proto/imap/mutf7.hpp"

#include <cstdint>
#include <vector>

#include "proto/imap/utf8.hpp"

namespace tern::imap {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

// RFC 3501 §5.1.3: printable US-ASCII (0x20-0x7e) represents itself.
bool direct(std::uint32_t cp) { return cp >= 0x20 && cp <= 0x7e; }

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Decodes one code point from valid UTF-8 at s[i].
std::uint32_t next_cp(std::string_view s, std::size_t& i) {
    auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    std::uint32_t cp = n == 0 ? b : n == 1 ? (b & 0x1F) : n == 2 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n + 1;
    return cp;
}

void flush_run(std::string& out, const std::vector<std::uint16_t>& units) {
    out.push_back('&');
    std::uint32_t bits = 0;
    int nbits = 0;
    for (std::uint16_t u : units) {
        bits = (bits << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            nbits -= 6;
            out.push_back(kB64[(bits >> nbits) & 0x3F]);
        }
        bits &= (1u << nbits) - 1;
    }
    if (nbits) out.push_back(kB64[(bits << (6 - nbits)) & 0x3F]);
    out.push_back('-');
}

}  // namespace

std::expected<std::string, std::string> mutf7_encode(std::string_view utf8) {
    if (!valid_utf8(utf8)) return std::unexpected("Mailbox name is not valid UTF-8");
    std::string out;
    std::vector<std::uint16_t> run;
    for (std::size_t i = 0; i < utf8.size();) {
        std::uint32_t cp = next_cp(utf8, i);
        if (direct(cp)) {
            if (!run.empty()) {
                flush_run(out, run);
                run.clear();
            }
            out.push_back(static_cast<char>(cp));
            if (cp == '&') out.push_back('-');
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            run.push_back(static_cast<std::uint16_t>(0xD800 | (cp >> 10)));
            run.push_back(static_cast<std::uint16_t>(0xDC00 | (cp & 0x3FF)));
        } else {
            run.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    if (!run.empty()) flush_run(out, run);
    return out;
}

std::expected<std::string, std::string> mutf7_decode(std::string_view s) {
    std::string out;
    bool prev_run = false;  // the previous output came from a base64 run
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return std::unexpected("Invalid octet in modified UTF-7 name");
        if (c != '&') {
            out.push_back(c);
            prev_run = false;
            ++i;
            continue;
        }
        std::size_t end = s.find('-', i + 1);
        if (end == std::string_view::npos) return std::unexpected("Unterminated & in mailbox name");
        if (end == i + 1) {  // "&-" is '&'
            out.push_back('&');
            prev_run = false;
            i = end + 1;
            continue;
        }
        // RFC 3501 §5.1.3 modified base64; two runs side by side would be a second spelling.
        if (prev_run) return std::unexpected("Adjacent base64 runs in mailbox name");
        std::uint32_t bits = 0;
        int nbits = 0;
        std::uint32_t high = 0;  // a pending high surrogate
        bool any = false;
        for (std::size_t k = i + 1; k < end; ++k) {
            int v = b64_value(s[k]);
            if (v < 0) return std::unexpected("Invalid base64 in mailbox name");
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                auto unit = static_cast<std::uint16_t>((bits >> nbits) & 0xFFFF);
                bits &= (1u << nbits) - 1;
                any = true;
                if (high) {
                    if (unit < 0xDC00 || unit > 0xDFFF) return std::unexpected("Unpaired surrogate in mailbox name");
                    append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00));
                    high = 0;
                } else if (unit >= 0xD800 && unit <= 0xDBFF) {
                    high = unit;
                } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                    return std::unexpected("Unpaired surrogate in mailbox name");
                } else if (direct(unit)) {
                    // RFC 3501 §5.1.3: printable US-ASCII must represent itself.
                    return std::unexpected("Encoded printable ASCII in mailbox name");
                } else {
                    append_utf8(out, unit);
                }
            }
        }
        if (high) return std::unexpected("Unpaired surrogate in mailbox name");
        // Leftover bits: fewer than 6, and all zero (RFC 2045 §6.8 padding rule, minimal form).
        if (!any || nbits >= 6 || bits != 0) return std::unexpected("Invalid base64 in mailbox name");
        prev_run = true;
        i = end + 1;
    }
    return out;
}

}  // namespace tern::imap
