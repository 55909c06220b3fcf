// IMAP response formatting: choose the safe form for each string and frame lines. Must never let
// client or message data end a line early (CR/LF only inside literals) or send a NUL.
#include "proto/imap/response.hpp"

#include "base/ascii.hpp"
#include "proto/imap/utf8.hpp"

namespace tern::imap {
namespace {

// RFC 9051 §9 ATOM-CHAR plus ']' (ASTRING-CHAR).
bool astring_atom(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
            c == '\\')
            return false;
    }
    return true;
}

bool quotable(std::string_view s, bool utf8) {
    if (s.size() > kMaxQuoted) return false;
    bool eight = false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n' || c == '\0') return false;
        if (u >= 0x80) eight = true;
    }
    return !eight || (utf8 && valid_utf8(s));
}

void clean_text(std::string& out, std::string_view text) {
    for (char c : text) out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
}

}  // namespace

void append_literal(std::string& out, std::string_view s) {
    out += '{';
    out += std::to_string(s.size());
    out += "}\r\n";
    out += s;
}

void append_literal8(std::string& out, std::string_view s) {
    out += '~';
    append_literal(out, s);
}

void append_string(std::string& out, std::string_view s, bool utf8) {
    if (!quotable(s, utf8)) {
        append_literal(out, s);
        return;
    }
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';  // RFC 9051 §9 quoted-specials
        out += c;
    }
    out += '"';
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
    if (astring_atom(s) && !ascii::iequals(s, "NIL")) out += s;
    else append_string(out, s, utf8);
}

void append_nstring(std::string& out, std::optional<std::string_view> s, bool utf8) {
    if (!s) out += "NIL";
    else append_string(out, *s, utf8);
}

void append_numbers(std::string& out, std::span<const std::uint32_t> numbers) {
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        if (i) out += ' ';
        out += std::to_string(numbers[i]);
    }
}

void append_flag_list(std::string& out, std::span<const std::string> flags, bool recent) {
    out += '(';
    if (recent) out += flags.empty() ? "\\Recent" : "\\Recent ";
    for (std::size_t i = 0; i < flags.size(); ++i) {
        if (i) out += ' ';
        out += flags[i];
    }
    out += ')';
}

std::string tagged(std::string_view tag, std::string_view status, std::string_view code, std::string_view text) {
    std::string out(tag);
    out += ' ';
    out += status;
    if (!code.empty()) {
        out += " [";
        clean_text(out, code);
        out += ']';
    }
    if (!text.empty()) {
        out += ' ';
        clean_text(out, text);
    }
    out += "\r\n";
    return out;
}

std::string untagged(std::string_view text) {
    std::string out = "* ";
    clean_text(out, text);
    out += "\r\n";
    return out;
}

std::string continuation(std::string_view text) {
    std::string out = "+ ";
    clean_text(out, text);
    out += "\r\n";
    return out;
}

}  // namespace tern::imap
