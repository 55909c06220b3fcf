// Base64 (RFC 4648 §4) for SASL challenges, responses and stored SCRAM keys, plus the small text checks
// the mechanisms share. Must never accept a non-canonical encoding: one string, one meaning.
#include <openssl/crypto.h>

#include <array>
#include <cstdint>

#include "proto/sasl/internal.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::sasl {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto kTable = make_table();

}  // namespace

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16 |
                                static_cast<unsigned char>(in[i + 1]) << 8 |
                                static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = in.size() - i;  // RFC 4648 §4: final quantum of 8 or 16 bits is padded
    if (rest == 1) {
        const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v =
            static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
    // RFC 4648 §3.3: characters outside the alphabet (whitespace included) are rejected; §3.2: padding
    // is required, so the length is a multiple of 4.
    if (in.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    if (!in.empty() && in.back() == '=') pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
    const std::size_t data_chars = in.size() - pad;
    std::string out;
    out.reserve(in.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < data_chars; ++i) {
        const int v = kTable[static_cast<unsigned char>(in[i])];
        if (v < 0) return std::nullopt;  // includes a "=" before the final quantum
        acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(acc >> bits & 0xFF);
        }
    }
    // RFC 4648 §3.5: the pad bits of the last character must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    // A final quantum of one data character (6 bits) cannot encode a byte: "A===" is not base64.
    if (pad == 2 && data_chars % 4 != 2) return std::nullopt;
    if (pad == 1 && data_chars % 4 != 3) return std::nullopt;
    return out;
}

namespace detail {

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;  // continuation byte in lead position, C0/C1 (overlong), F5..FF
        }
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;                            // surrogate
        if (cp > 0x10FFFF) return false;
        i += len;
    }
    return true;
}

bool no_controls(std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return false;
    }
    return true;
}

void wipe(std::string& s) {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

}  // namespace detail

}  // namespace tern::sasl
