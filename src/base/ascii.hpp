// ASCII case helpers for protocol keywords, mailbox names and addresses. Locale-free on purpose:
// protocol text is case-insensitive in ASCII only (RFC 5321 §2.4, RFC 4422 §3.1, RFC 9051 §5.1);
// never use these on text whose case matters.
#pragma once
#include <string>
#include <string_view>

namespace tern::ascii {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = lower(c);
    return out;
}

}  // namespace tern::ascii
