// Content-Type / Content-Disposition / parameter parsing (see content.hpp). A small lexer over the
// unfolded value (CFWS, tokens, quoted strings), then RFC 2231 sections merged per name. Must never
// loop without consuming input, and never let one hostile value cost more than linear time.
#include "mime/content.hpp"

#include <algorithm>
#include <cstdint>

#include "base/ascii.hpp"
#include "mime/charset.hpp"
#include "mime/encoded_word.hpp"

namespace tern::mime {
namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 §5.1 tspecials, plus SP and CTLs, end a token. 8-bit octets are let in (raw UTF-8
// file names are common).
constexpr bool is_token_char(char ch) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
    switch (c) {
        case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':': case '\\':
        case '"': case '/': case '[': case ']': case '?': case '=':
            return false;
        default:
            return true;
    }
}

struct Lexer {
    std::string_view s;
    std::size_t i = 0;
    bool damaged = false;

    bool done() const { return i >= s.size(); }
    // CFWS (RFC 5322 §3.2.2): white space and comments, nested comments counted, not recursed.
    void skip_cfws() {
        while (i < s.size()) {
            if (is_wsp(s[i])) {
                ++i;
            } else if (s[i] == '(') {
                std::size_t depth = 0;
                for (; i < s.size(); ++i) {
                    if (s[i] == '\\') {
                        ++i;
                        continue;
                    }
                    if (s[i] == '(') ++depth;
                    if (s[i] == ')' && --depth == 0) {
                        ++i;
                        break;
                    }
                }
                if (depth != 0) damaged = true;
            } else {
                break;
            }
        }
    }
    std::string_view token() {
        std::size_t b = i;
        while (i < s.size() && is_token_char(s[i])) ++i;
        return s.substr(b, i - b);
    }
    // quoted-string (RFC 5322 §3.2.4): quoted-pairs resolved; an unterminated one runs to the end.
    std::string quoted(std::size_t max) {
        std::string out;
        ++i;  // opening quote
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) ++i;
            if (out.size() < max) out += s[i];
            ++i;
        }
        if (i < s.size()) ++i;
        else damaged = true;
        return out;
    }
};

struct RawParam {
    std::string name;  // lower-cased, without "*N*"
    int section = -1;  // -1: not sectioned
    bool encoded = false;
    std::string value;
    std::size_t order = 0;
};

int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 2231 §4: ext-octet = "%" 2HEXDIG; a "%" without two hex digits is kept as written.
void pct_decode(std::string_view in, std::string& out, bool& damaged) {
    for (std::size_t k = 0; k < in.size(); ++k) {
        if (in[k] == '%' && k + 2 < in.size() && hexv(in[k + 1]) >= 0 && hexv(in[k + 2]) >= 0) {
            out += static_cast<char>(hexv(in[k + 1]) * 16 + hexv(in[k + 2]));
            k += 2;
        } else {
            if (in[k] == '%') damaged = true;
            out += in[k];
        }
    }
}

void cut(std::string& s, std::size_t max, bool& truncated) {
    if (s.size() > max) {
        s.resize(max);
        truncated = true;
    }
}

}  // namespace

const Param* ParamList::find(std::string_view name) const {
    for (const auto& p : items)
        if (ascii::iequals(p.name, name)) return &p;
    return nullptr;
}

std::string param_utf8(const Param& p) {
    if (p.extended) return to_utf8(p.value, p.charset, p.value.size() * 4 + 16).text;
    return decode_words(p.value);
}

bool ContentType::is(std::string_view t, std::string_view sub) const {
    return ascii::iequals(type, t) && (sub == "*" || ascii::iequals(subtype, sub));
}

ParamList parse_params(std::string_view text, const ParamLimits& limits) {
    ParamList out;
    Lexer lx{text};
    std::vector<RawParam> raw;
    std::size_t items = 0;
    while (true) {
        lx.skip_cfws();
        if (lx.done()) break;
        if (text[lx.i] != ';') {
            // Junk between parameters: skip to the next ";" (lenient, as MUAs are).
            out.damaged = true;
            std::size_t semi = text.find(';', lx.i);
            if (semi == std::string_view::npos) break;
            lx.i = semi;
        }
        ++lx.i;  // ";"
        lx.skip_cfws();
        if (lx.done()) break;  // a trailing ";" is common and harmless
        std::string_view attr = lx.token();
        lx.skip_cfws();
        if (attr.empty() || lx.done() || text[lx.i] != '=') {
            out.damaged = true;
            if (attr.empty() && !lx.done() && text[lx.i] != ';') ++lx.i;  // always make progress
            continue;
        }
        ++lx.i;  // "="
        lx.skip_cfws();
        std::string value;
        if (!lx.done() && text[lx.i] == '"') {
            value = lx.quoted(limits.max_value_bytes + 1);
        } else {
            // A token; if more than a comment follows it before the next ";", leniently the whole
            // run up to that ";" (unquoted names with spaces: "name=my file.pdf").
            std::size_t b = lx.i;
            std::size_t semi = text.find(';', b);
            std::size_t e = semi == std::string_view::npos ? text.size() : semi;
            std::string_view tok = lx.token();
            std::size_t after = lx.i;
            while (after < e && is_wsp(text[after])) ++after;
            if (after >= e || text[after] == '(') {
                value = std::string(tok);
            } else {
                std::size_t t = e;
                while (t > b && is_wsp(text[t - 1])) --t;
                value = std::string(text.substr(b, std::min(t - b, limits.max_value_bytes + 1)));
                lx.i = e;
                out.damaged = true;
            }
        }
        if (++items > limits.max_params) {
            out.truncated = true;
            break;
        }
        RawParam r;
        r.order = raw.size();
        std::string name = ascii::to_lower(attr);
        // RFC 2231 §3/§4: name*  name*N  name*N*
        if (std::size_t star = name.find('*'); star != std::string::npos) {
            std::string_view rest = std::string_view(name).substr(star + 1);
            if (rest.empty()) {
                r.encoded = true;
            } else {
                if (rest.back() == '*') {
                    r.encoded = true;
                    rest.remove_suffix(1);
                }
                int n = 0;
                bool ok = !rest.empty() && rest.size() <= 3;  // sections 0..999
                for (char c : rest) {
                    if (!ok) break;
                    if (c < '0' || c > '9') ok = false;
                    else n = n * 10 + (c - '0');
                }
                if (!ok) {
                    out.damaged = true;
                    continue;
                }
                r.section = n;
            }
            name.resize(star);
        }
        if (name.empty()) {
            out.damaged = true;
            continue;
        }
        r.name = std::move(name);
        cut(value, limits.max_value_bytes, out.truncated);
        r.value = std::move(value);
        raw.push_back(std::move(r));
    }
    out.damaged = out.damaged || lx.damaged;

    // Merge: one Param per name, in order of first appearance; sections sorted by number.
    std::stable_sort(raw.begin(), raw.end(), [](const RawParam& a, const RawParam& b) {
        if (a.name != b.name) return a.name < b.name;
        return a.section < b.section;
    });
    std::vector<std::pair<std::size_t, Param>> merged;
    for (std::size_t k = 0; k < raw.size();) {
        std::size_t e = k;
        while (e < raw.size() && raw[e].name == raw[k].name) ++e;
        std::size_t first_order = raw[k].order;
        for (std::size_t m = k; m < e; ++m) first_order = std::min(first_order, raw[m].order);
        // Prefer the RFC 2231 form when a name comes both ways (RFC 2231 §4.1: the extended one is
        // for readers that understand it; the plain one is the fallback).
        const RawParam* plain = nullptr;
        const RawParam* single_ext = nullptr;
        std::vector<const RawParam*> sections;
        for (std::size_t m = k; m < e; ++m) {
            const RawParam& r = raw[m];
            if (r.section >= 0) sections.push_back(&r);
            else if (r.encoded) single_ext = single_ext ? single_ext : &r;
            else plain = plain ? plain : &r;
        }
        Param p;
        p.name = raw[k].name;
        auto split_charset = [&](std::string_view v, std::string_view& rest) {
            // RFC 2231 §4: charset "'" [language] "'" value
            std::size_t a = v.find('\'');
            std::size_t b = a == std::string_view::npos ? a : v.find('\'', a + 1);
            if (b == std::string_view::npos) {
                out.damaged = true;
                rest = v;
                return;
            }
            p.charset = std::string(v.substr(0, a));
            p.language = std::string(v.substr(a + 1, b - a - 1));
            rest = v.substr(b + 1);
        };
        if (!sections.empty()) {
            bool any_encoded = false;
            int expect = 0;
            for (const RawParam* s : sections) {
                if (s->section != expect) {  // RFC 2231 §3: sections from 0, no gaps; stop at one
                    if (s->section != expect - 1) out.damaged = true;  // (a duplicate is ignored)
                    if (s->section > expect) break;
                    continue;
                }
                ++expect;
                std::string_view v = s->value;
                if (s->encoded) {
                    any_encoded = true;
                    if (s->section == 0) {
                        std::string_view rest;
                        split_charset(v, rest);
                        v = rest;
                        p.encoded = p.charset + "'" + p.language + "'";
                    }
                    p.encoded += v;
                    pct_decode(v, p.value, out.damaged);
                } else {
                    p.encoded += v;
                    p.value += v;
                }
            }
            p.extended = any_encoded;
            if (!any_encoded) p.encoded.clear();
        } else if (single_ext) {
            std::string_view rest;
            split_charset(single_ext->value, rest);
            p.extended = true;
            p.encoded = p.charset + "'" + p.language + "'" + std::string(rest);
            pct_decode(rest, p.value, out.damaged);
        } else if (plain) {
            p.value = plain->value;
        }
        if (p.value.empty() && !p.extended && plain && !sections.empty()) p.value = plain->value;
        cut(p.value, limits.max_value_bytes, out.truncated);
        cut(p.encoded, limits.max_value_bytes * 3, out.truncated);
        merged.emplace_back(first_order, std::move(p));
        k = e;
    }
    std::sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [o, p] : merged) out.items.push_back(std::move(p));
    return out;
}

ContentType parse_content_type(std::string_view value, const ParamLimits& limits) {
    ContentType ct;
    ct.present = true;
    Lexer lx{value};
    lx.skip_cfws();
    std::string_view type = lx.token();
    lx.skip_cfws();
    bool ok = !type.empty() && !lx.done() && value[lx.i] == '/';
    std::string_view sub;
    if (ok) {
        ++lx.i;
        lx.skip_cfws();
        sub = lx.token();
        ok = !sub.empty();
    }
    // Parameters start at the first ";" (after a broken type too, to save the charset).
    std::size_t semi = value.find(';', lx.i);
    if (ok) {
        lx.skip_cfws();
        if (!lx.done() && value[lx.i] != ';') ok = false;  // junk after type/subtype
    }
    if (semi != std::string_view::npos) ct.params = parse_params(value.substr(semi), limits);
    if (ok) {
        ct.type = ascii::to_lower(type);
        ct.subtype = ascii::to_lower(sub);
    } else {
        ct.valid = false;  // RFC 2045 §5.2: an invalid field means the default applies
    }
    return ct;
}

ContentDisposition parse_disposition(std::string_view value, const ParamLimits& limits) {
    ContentDisposition d;
    Lexer lx{value};
    lx.skip_cfws();
    d.type = ascii::to_lower(lx.token());
    std::size_t semi = value.find(';', lx.i);
    if (semi != std::string_view::npos) d.params = parse_params(value.substr(semi), limits);
    return d;
}

std::string parse_transfer_encoding(std::string_view value) {
    Lexer lx{value};
    lx.skip_cfws();
    std::string t = ascii::to_lower(lx.token());
    return t.empty() ? "7bit" : t;  // RFC 2045 §6.1: "7BIT" is the default
}

}  // namespace tern::mime
