// RFC 5321 §4.1.2 / §4.1.3 mailbox and path parsing (with RFC 6531 UTF-8), pure and allocation-light.
// Must never accept CR, LF, NUL, other controls or ill-formed UTF-8 in any part, nor a local part
// whose canonical form (Mailbox::str) would not parse back to the same mailbox.
#include "proto/smtp/address.hpp"

#include <cstddef>

#include "proto/smtp/chars.hpp"

namespace tern::smtp {

namespace {

using namespace detail;

constexpr std::size_t kMaxLocal = 64;    // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;    // RFC 1035 §2.3.4
constexpr std::size_t kMaxPath = 256;    // RFC 5321 §4.5.3.1.3 (brackets and separators included)

// Length of one "atext" unit at s[i] (RFC 5321 §4.1.2 Atom; RFC 6531 §3.3 adds UTF8-non-ascii), 0 if none.
std::size_t atext_len(std::string_view s, std::size_t i, bool utf8) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return is_atext(c) ? 1 : 0;
    return utf8 ? utf8_seq_len(s, i) : 0;
}

// RFC 5321 §4.1.2: Dot-string = Atom *("." Atom). Consumes the longest dot-string at pos.
bool parse_dot_string(std::string_view s, std::size_t& pos, bool utf8, std::string& out) {
    for (;;) {
        std::size_t start = pos;
        while (pos < s.size()) {
            std::size_t n = atext_len(s, pos, utf8);
            if (n == 0) break;
            pos += n;
        }
        if (pos == start) return false;  // empty atom: leading, trailing or doubled dot
        out.append(s.substr(start, pos - start));
        if (pos < s.size() && s[pos] == '.') {
            out.push_back('.');
            ++pos;
            continue;
        }
        return true;
    }
}

// RFC 5321 §4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE, returning the unquoted content.
bool parse_quoted_string(std::string_view s, std::size_t& pos, bool utf8, std::string& out) {
    if (pos >= s.size() || s[pos] != '"') return false;
    ++pos;
    while (pos < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c == '"') {
            ++pos;
            return true;
        }
        if (c == '\\') {  // quoted-pairSMTP = %d92 %d32-126
            if (pos + 1 >= s.size()) return false;
            unsigned char q = static_cast<unsigned char>(s[pos + 1]);
            if (q < 32 || q > 126) return false;
            out.push_back(static_cast<char>(q));
            pos += 2;
        } else if (c >= 32 && c <= 126) {  // qtextSMTP = %d32-33 / %d35-91 / %d93-126
            out.push_back(static_cast<char>(c));
            ++pos;
        } else if (c >= 0x80 && utf8) {  // RFC 6531 §3.3 qtextSMTP =/ UTF8-non-ascii
            std::size_t n = utf8_seq_len(s, pos);
            if (n == 0) return false;
            out.append(s.substr(pos, n));
            pos += n;
        } else {
            return false;
        }
    }
    return false;  // no closing quote
}

Result<std::string> parse_local(std::string_view s, std::size_t& pos, bool utf8) {
    std::size_t start = pos;
    std::string out;
    bool ok = (pos < s.size() && s[pos] == '"') ? parse_quoted_string(s, pos, utf8, out)
                                                : parse_dot_string(s, pos, utf8, out);
    if (!ok) return fail("bad local part");
    if (pos - start > kMaxLocal) return fail("local part too long");  // RFC 5321 §4.5.3.1.1
    return out;
}

// RFC 5321 §4.1.3 IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT (0..255).
bool valid_ipv4(std::string_view a) {
    int groups = 0;
    std::size_t i = 0;
    for (;;) {
        std::size_t start = i;
        unsigned value = 0;
        while (i < a.size() && is_digit(static_cast<unsigned char>(a[i])) && i - start < 3) {
            value = value * 10 + static_cast<unsigned>(a[i] - '0');
            ++i;
        }
        if (i == start || value > 255) return false;
        ++groups;
        if (i == a.size()) return groups == 4;
        if (a[i] != '.' || groups == 4) return false;
        ++i;
    }
}

// Splits a colon-separated run of IPv6-hex groups; false on any group that is not 1*4HEXDIG.
bool count_hex_groups(std::string_view a, int& count) {
    count = 0;
    if (a.empty()) return true;
    std::size_t start = 0;
    for (;;) {
        std::size_t colon = a.find(':', start);
        std::string_view g = a.substr(start, colon == std::string_view::npos ? a.npos : colon - start);
        if (g.empty() || g.size() > 4) return false;
        for (char c : g)
            if (!is_hex(static_cast<unsigned char>(c))) return false;
        ++count;
        if (colon == std::string_view::npos) return true;
        start = colon + 1;
    }
}

// RFC 5321 §4.1.3 IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp.
bool valid_ipv6(std::string_view a) {
    std::size_t last_colon = a.rfind(':');
    if (last_colon == std::string_view::npos) return false;
    bool v4 = a.substr(last_colon + 1).find('.') != std::string_view::npos;
    if (v4 && !valid_ipv4(a.substr(last_colon + 1))) return false;
    std::size_t dc = a.find("::");
    if (dc == std::string_view::npos) {
        int n = 0;  // IPv6-full: 8 groups; IPv6v4-full: 6 groups + IPv4
        return count_hex_groups(v4 ? a.substr(0, last_colon) : a, n) && n == (v4 ? 6 : 8);
    }
    if (a.find("::", dc + 1) != std::string_view::npos) return false;  // at most one "::"
    std::string_view left = a.substr(0, dc);
    std::string_view right;
    if (v4) {
        if (last_colon > dc + 1) right = a.substr(dc + 2, last_colon - (dc + 2));
    } else {
        right = a.substr(dc + 2);
    }
    int nl = 0, nr = 0;
    if (!count_hex_groups(left, nl) || !count_hex_groups(right, nr)) return false;
    // IPv6-comp: at most 6 groups besides "::"; IPv6v4-comp: at most 4.
    return nl + nr <= (v4 ? 4 : 6);
}

// RFC 5321 §4.1.2 Ldh-str with a leading Let-dig: letters, digits, hyphens, no hyphen at either end.
bool valid_ldh(std::string_view t) {
    if (t.empty()) return false;
    for (char c : t)
        if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return false;
    return t.front() != '-' && t.back() != '-';
}

// RFC 5321 §4.1.3 address-literal (without the brackets); returns the canonical inner text.
Result<std::string> parse_address_literal(std::string_view a) {
    if (valid_ipv4(a)) return std::string(a);
    std::size_t colon = a.find(':');
    if (colon == std::string_view::npos) return fail("bad address literal");
    std::string_view tag = a.substr(0, colon);
    std::string_view body = a.substr(colon + 1);
    if (iequals(tag, "IPv6")) {
        if (!valid_ipv6(body)) return fail("bad IPv6 address literal");
        std::string out = "IPv6:";
        for (char c : body) out.push_back(to_lower(c));
        return out;
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126
    if (!valid_ldh(tag) || body.empty()) return fail("bad address literal");
    for (char ch : body) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (c < 33 || c > 126 || (c >= 91 && c <= 93)) return fail("bad address literal");
    }
    return std::string(a);
}

// RFC 5321 §4.1.2 Domain = sub-domain *("." sub-domain); RFC 6531 §3.3 admits U-labels.
Result<std::string> parse_domain_name(std::string_view s, std::size_t& pos, bool utf8) {
    std::size_t start = pos;
    std::string out;
    std::size_t label_start = 0;  // offset in out
    for (;;) {
        std::size_t lpos = pos;
        while (pos < s.size()) {
            unsigned char c = static_cast<unsigned char>(s[pos]);
            if (is_alnum(c) || c == '-') {
                out.push_back(to_lower(static_cast<char>(c)));  // ASCII-only case folding
                ++pos;
            } else if (c >= 0x80 && utf8) {
                std::size_t n = utf8_seq_len(s, pos);
                if (n == 0) return fail("bad UTF-8 in domain");
                out.append(s.substr(pos, n));
                pos += n;
            } else {
                break;
            }
        }
        std::string_view label = std::string_view(out).substr(label_start);
        if (pos == lpos) return fail("empty domain label");
        if (label.size() > kMaxLabel) return fail("domain label too long");
        if (label.front() == '-' || label.back() == '-') return fail("domain label starts or ends with '-'");
        if (pos < s.size() && s[pos] == '.') {
            out.push_back('.');
            ++pos;
            label_start = out.size();
            continue;
        }
        break;
    }
    if (pos - start > kMaxDomain) return fail("domain too long");  // RFC 5321 §4.5.3.1.2
    return out;
}

Result<std::string> parse_domain(std::string_view s, std::size_t& pos, bool utf8, bool allow_literal) {
    if (pos < s.size() && s[pos] == '[') {
        if (!allow_literal) return fail("address literal not allowed here");
        std::size_t close = s.find(']', pos + 1);
        if (close == std::string_view::npos) return fail("unterminated address literal");
        if (close + 1 - pos > kMaxDomain) return fail("domain too long");
        auto lit = parse_address_literal(s.substr(pos + 1, close - pos - 1));
        if (!lit) return std::unexpected(lit.error());
        pos = close + 1;
        return "[" + *lit + "]";
    }
    return parse_domain_name(s, pos, utf8);
}

Result<Mailbox> parse_mailbox_at(std::string_view s, std::size_t& pos, bool utf8) {
    auto local = parse_local(s, pos, utf8);
    if (!local) return std::unexpected(local.error());
    if (pos >= s.size() || s[pos] != '@') return fail("missing '@'");
    ++pos;
    auto domain = parse_domain(s, pos, utf8, true);
    if (!domain) return std::unexpected(domain.error());
    return Mailbox{std::move(*local), std::move(*domain)};
}

bool is_dot_string(std::string_view local) {
    std::size_t pos = 0;
    std::string scratch;
    return parse_dot_string(local, pos, true, scratch) && pos == local.size();
}

}  // namespace

std::string Mailbox::str() const {
    std::string out;
    if (is_dot_string(local)) {
        out = local;
    } else {  // RFC 5321 §4.1.2 Quoted-string; only '"' and '\' need quoted-pairs
        out.push_back('"');
        for (char c : local) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
        out.push_back('"');
    }
    if (!domain.empty()) {  // empty only for the bare "postmaster" recipient (RFC 5321 §4.5.1)
        out.push_back('@');
        out += domain;
    }
    return out;
}

Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8) {
    std::size_t pos = 0;
    auto mb = parse_mailbox_at(text, pos, allow_utf8);
    if (!mb) return mb;
    if (pos != text.size()) return fail("junk after mailbox");
    return mb;
}

Result<Path> parse_path(std::string_view text, bool allow_utf8, std::string_view* rest) {
    // RFC 5321 §4.1.2: Path = "<" [ A-d-l ":" ] Mailbox ">"; Reverse-path =/ "<>"
    if (text.empty() || text[0] != '<') return fail("path must start with '<'");
    std::size_t pos = 1;
    Path path;
    if (pos < text.size() && text[pos] == '>') {
        ++pos;
    } else {
        if (pos < text.size() && text[pos] == '@') {
            // A-d-l = At-domain *( "," At-domain ); accepted and ignored (RFC 5321 §4.1.2, §C)
            for (;;) {
                ++pos;  // '@'
                auto d = parse_domain(text, pos, allow_utf8, false);
                if (!d) return std::unexpected(d.error());
                if (pos < text.size() && text[pos] == ',') {
                    ++pos;
                    if (pos >= text.size() || text[pos] != '@') return fail("bad source route");
                    continue;
                }
                if (pos < text.size() && text[pos] == ':') {
                    ++pos;
                    break;
                }
                return fail("bad source route");
            }
        }
        auto mb = parse_mailbox_at(text, pos, allow_utf8);
        if (!mb) return std::unexpected(mb.error());
        if (pos >= text.size() || text[pos] != '>') return fail("path must end with '>'");
        ++pos;
        path.mailbox = std::move(*mb);
    }
    if (pos > kMaxPath) return fail("path too long");  // RFC 5321 §4.5.3.1.3
    if (rest) *rest = text.substr(pos);
    return path;
}

}  // namespace tern::smtp
