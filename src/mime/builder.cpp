// See builder.hpp. The date is formatted by hand from std::chrono's civil calendar (no strftime:
// locale-dependent names and a tzset() per call). proto/message/date.hpp does the same for UTC
// only; this one takes an offset, which the client's Date: needs, and keeps tern_mime on tern_base.
#include "mime/builder.hpp"

#include "mime/charset.hpp"  // utf8_len

#include <chrono>
#include <cstdio>
#include <vector>

namespace tern::mime {
namespace {

void two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A word needs an encoded-word if it has anything but printable ASCII, or could be mistaken for
// an encoded-word by a decoder (RFC 2047 §5: "=?" ... "?=").
bool needs_encoding(std::string_view w) {
    for (char c : w) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e) return true;
    }
    return w.find("=?") != std::string_view::npos && w.find("?=") != std::string_view::npos;
}

void base64_append(std::string& out, std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        std::uint32_t v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                          static_cast<unsigned char>(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
    }
    if (std::size_t rest = in.size() - i) {
        std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
        if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
}

std::string base64(std::string_view in) {
    std::string out;
    base64_append(out, in);
    return out;
}

// RFC 5322 §3.2.3 atext (ASCII only).
bool is_atext(char c) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// RFC 2045 §5.1 tspecials; token = 1*<any CHAR except SPACE, CTLs, or tspecials>.
bool is_token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// RFC 2231 §7 attribute-char: a token character except "*", "'" and "%".
bool is_attribute_char(char c) { return is_token_char(c) && c != '*' && c != '\'' && c != '%'; }

// A parameter section must fit a folded line: " " + section + ";" within 78 octets.
constexpr std::size_t kParamBudget = 74;

// RFC 2047 §2: an encoded-word is at most 75 characters; "=?UTF-8?B?" + "?=" leave 63, so 60
// base64 characters, 45 octets.
constexpr std::size_t kMaxEncodedOctets = 45;

void encode_run(std::string& out, std::string_view text) {
    std::size_t i = 0;
    bool first = true;
    while (i < text.size()) {
        std::size_t end = i;
        while (end < text.size()) {
            std::size_t n = utf8_len(text, end);
            if (n == 0) n = 1;  // a stray octet travels as itself
            if (end + n - i > kMaxEncodedOctets) break;
            end += n;
        }
        if (!first) out += ' ';  // RFC 2047 §6.2: whitespace between encoded-words is not shown
        out += "=?UTF-8?B?" + base64(text.substr(i, end - i)) + "?=";
        first = false;
        i = end;
    }
}

}  // namespace

std::string format_date(std::int64_t unix_seconds, int utc_offset_minutes) {
    using namespace std::chrono;
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (utc_offset_minutes < -1439 || utc_offset_minutes > 1439) utc_offset_minutes = 0;
    const sys_seconds t{seconds{unix_seconds + std::int64_t{utc_offset_minutes} * 60}};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    std::string out;
    out.reserve(32);
    out += kDays[weekday{day}.c_encoding()];
    out += ", ";
    two(out, static_cast<unsigned>(ymd.day()));
    out += ' ';
    out += kMonths[static_cast<unsigned>(ymd.month()) - 1];
    out += ' ';
    out += std::to_string(static_cast<int>(ymd.year()));
    out += ' ';
    two(out, static_cast<unsigned>(hms.hours().count()));
    out += ':';
    two(out, static_cast<unsigned>(hms.minutes().count()));
    out += ':';
    two(out, static_cast<unsigned>(hms.seconds().count()));
    // RFC 5322 §3.3 zone = ("+" / "-") 4DIGIT
    out += utc_offset_minutes < 0 ? " -" : " +";
    unsigned off = static_cast<unsigned>(utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes);
    two(out, off / 60);
    two(out, off % 60);
    return out;
}

std::string make_message_id(std::int64_t unix_seconds, std::uint64_t unique, std::string_view host) {
    // RFC 5322 §3.6.4 id-right = dot-atom-text: keep only atext and dots of the host name.
    std::string right;
    for (char c : host) {
        auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
            c == '_')
            right += c;
    }
    while (!right.empty() && right.front() == '.') right.erase(0, 1);
    while (!right.empty() && right.back() == '.') right.pop_back();
    if (right.empty()) right = "localhost";
    return "<" + std::to_string(unix_seconds < 0 ? 0 : unix_seconds) + "." + hex64(unique) + "@" + right + ">";
}

std::string encode_words(std::string_view utf8) {
    std::string text(utf8);
    for (auto& c : text)
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    // Words and the whitespace before them; runs of words that need encoding are encoded
    // together, with the whitespace between them inside the encoded text (RFC 2047 §5 (1)).
    struct Word { std::string_view ws, word; bool enc; };
    std::vector<Word> words;
    std::string_view s = text;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t ws = i;
        while (i < s.size() && is_wsp(s[i])) ++i;
        std::size_t w = i;
        while (i < s.size() && !is_wsp(s[i])) ++i;
        std::string_view word = s.substr(w, i - w);
        words.push_back({s.substr(ws, w - ws), word, !word.empty() && needs_encoding(word)});
    }
    std::string out;
    for (std::size_t k = 0; k < words.size();) {
        if (!words[k].enc) {
            out += words[k].ws;
            out += words[k].word;
            ++k;
            continue;
        }
        out += words[k].ws;
        std::size_t j = k;
        std::string run(words[k].word);
        while (j + 1 < words.size() && words[j + 1].enc) {
            ++j;
            run += words[j].ws;
            run += words[j].word;
        }
        encode_run(out, run);
        k = j + 1;
    }
    return out;
}

std::string header_field(std::string_view name, std::string_view value) {
    constexpr std::size_t kSoft = 78, kMax = 998;  // RFC 5322 §2.1.1: 78 SHOULD, 998 MUST
    std::string v(value);
    for (auto& c : v)
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    std::string out(name.substr(0, 200));
    out += ':';
    if (v.empty() || !is_wsp(v.front())) v.insert(v.begin(), ' ');
    std::size_t line = out.size();  // octets on the current line
    bool first = true;
    std::size_t i = 0;
    while (i < v.size()) {
        std::size_t ws = i;
        while (i < v.size() && is_wsp(v[i])) ++i;
        std::size_t w = i;
        while (i < v.size() && !is_wsp(v[i])) ++i;
        std::string_view space(v.data() + ws, w - ws), word(v.data() + w, i - w);
        if (space.size() > 100) space = space.substr(0, 1);  // an absurd run of blanks: one is kept
        if (word.empty()) {  // trailing whitespace
            if (line + space.size() <= kSoft) out += space;
            break;
        }
        // RFC 5322 §2.2.3: fold by putting CRLF before the whitespace; never after the name alone.
        if (!first && line + space.size() + word.size() > kSoft) {
            out += "\r\n";
            line = 0;
        }
        out += space;
        line += space.size();
        first = false;
        while (line + word.size() > kMax) {  // no whitespace to fold at: break the word anyway
            std::size_t take = kMax - line;
            out += word.substr(0, take);
            word.remove_prefix(take);
            out += "\r\n ";
            line = 1;
        }
        out += word;
        line += word.size();
    }
    out += "\r\n";
    return out;
}

std::string choose_boundary(std::span<const std::string_view> contents, std::uint64_t seed) {
    for (std::uint64_t k = 0;; ++k) {
        // "=_" cannot occur in base64 or quoted-printable text (RFC 2045 §6.7, §6.8).
        std::string b = "=_tern_" + hex64(splitmix(seed + k)) + hex64(splitmix(seed ^ (k + 0x51ed27)));
        bool clash = false;
        for (auto c : contents)
            if (c.find(b) != std::string_view::npos) {
                clash = true;
                break;
            }
        if (!clash) return b;
    }
}

std::string multipart_body(std::string_view boundary, std::span<const Part> parts, std::string_view preamble) {
    std::size_t size = preamble.size() + 64;
    for (const auto& p : parts) size += p.headers.size() + p.body.size() + boundary.size() + 8;
    std::string out;
    out.reserve(size);
    out += preamble;
    for (const auto& p : parts) {
        if (&p != parts.data() || !preamble.empty()) out += "\r\n";  // CRLF belongs to the delimiter
        out += "--";
        out += boundary;
        out += "\r\n";
        out += p.headers;
        out += "\r\n";
        out += p.body;
    }
    out += "\r\n--";
    out += boundary;
    out += "--\r\n";
    return out;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string encode_phrase(std::string_view utf8) {
    std::string name(utf8);
    for (auto& c : name)
        if (c == '\r' || c == '\n' || c == '\0' || c == '\t') c = ' ';
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name.empty()) return {};
    bool encode = name.find("=?") != std::string::npos && name.find("?=") != std::string::npos;
    bool atoms = true;
    for (std::size_t i = 0; i < name.size(); ++i) {
        auto u = static_cast<unsigned char>(name[i]);
        if (u < 0x20 || u > 0x7e) encode = true;
        if (!(is_atext(name[i]) || (name[i] == ' ' && name[i - 1] != ' '))) atoms = false;
    }
    std::string out;
    if (encode) {
        encode_run(out, name);  // the whole name: no bare specials between encoded-words
        return out;
    }
    if (atoms) return name;
    out += '"';  // RFC 5322 §3.2.4 quoted-string
    for (char c : name) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string format_mailbox(std::string_view display_name_utf8, std::string_view addr_spec) {
    std::string phrase = encode_phrase(display_name_utf8);
    if (phrase.empty()) return std::string(addr_spec);
    return phrase + " <" + std::string(addr_spec) + ">";
}

std::string mime_param(std::string_view attr, std::string_view value) {
    std::string name(attr);
    bool ascii = true;
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) ascii = false;
    }
    // Units that must stay together in one section: a character (escaped or %-encoded as a whole).
    std::vector<std::string> units;
    if (ascii) {
        bool token = !value.empty();
        for (char c : value)
            if (!is_token_char(c)) token = false;
        std::string single = name + "=";
        if (token) {
            single += value;
        } else {
            single += '"';
            for (char c : value) {
                std::string u;
                if (c == '"' || c == '\\') u += '\\';
                u += c;
                single += u;
                units.push_back(std::move(u));
            }
            single += '"';
        }
        if (single.size() <= kParamBudget) return single;
        if (token)
            for (char c : value) units.emplace_back(1, c);
    } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (std::size_t i = 0; i < value.size();) {
            std::size_t n = utf8_len(value, i);
            if (n == 0) n = 1;
            std::string u;
            for (std::size_t k = i; k < i + n; ++k) {
                char c = value[k];
                if (is_attribute_char(c)) {
                    u += c;
                } else {
                    auto b = static_cast<unsigned char>(c);
                    u += '%';
                    u += kHex[b >> 4];
                    u += kHex[b & 15];
                }
            }
            units.push_back(std::move(u));
            i += n;
        }
        std::string single = name + "*=utf-8''";  // RFC 2231 §4
        for (const auto& u : units) single += u;
        if (single.size() <= kParamBudget) return single;
    }
    // RFC 2231 §3 continuations: attr*0*=utf-8''...; attr*1*=... (or attr*N="..." for ASCII).
    std::string out;
    std::size_t k = 0;
    for (unsigned section = 0; k < units.size(); ++section) {
        std::string head = name + "*" + std::to_string(section) + (ascii ? "=\"" : "*=");
        if (!ascii && section == 0) head += "utf-8''";
        std::string piece = head;
        std::size_t tail = ascii ? 1 : 0;
        do {
            piece += units[k++];
        } while (k < units.size() && piece.size() + units[k].size() + tail <= kParamBudget);
        if (ascii) piece += '"';
        if (!out.empty()) out += "; ";
        out += piece;
    }
    return out;
}

void append_base64_lines(std::string& out, std::string_view data) {
    constexpr std::size_t kLine = 57;  // 57 octets = 76 base64 characters (RFC 2045 §6.8)
    out.reserve(out.size() + (data.size() + kLine - 1) / kLine * 78);
    for (std::size_t i = 0; i < data.size(); i += kLine) {
        base64_append(out, data.substr(i, kLine));
        out += "\r\n";
    }
}

void append_quoted_printable(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    constexpr std::size_t kMaxLine = 76;  // RFC 2045 §6.7 rule 5
    auto hex = [](std::string& o, unsigned char b) {
        o += '=';
        o += kHex[b >> 4];
        o += kHex[b & 15];
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find("\r\n", pos);
        std::string_view line = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 2;
        std::size_t col = 0;
        std::string unit;
        for (std::size_t i = 0; i < line.size();) {
            std::size_t n = utf8_len(line, i);
            if (n == 0) n = 1;
            const bool last = i + n == line.size();
            auto represent = [&] {
                unit.clear();
                auto c = static_cast<unsigned char>(line[i]);
                if (n > 1 || c == '=' || c > 0x7e || (c < 0x20 && c != '\t')) {
                    for (std::size_t k = i; k < i + n; ++k) hex(unit, static_cast<unsigned char>(line[k]));
                } else if ((c == ' ' || c == '\t') && last) {
                    hex(unit, c);  // rule 3: no white space at the end of an encoded line
                } else if (col == 0 && (c == '.' || (c == 'F' && line.substr(i).starts_with("From ")))) {
                    hex(unit, c);  // no lone "." (SMTP) and no "From " (mbox) at a line's start
                } else {
                    unit += static_cast<char>(c);
                }
            };
            represent();
            // A soft break "=" needs a column of its own, except after the line's last unit.
            if (col > 0 && col + unit.size() + (last ? 0 : 1) > kMaxLine) {
                out += "=\r\n";
                col = 0;
                represent();
            }
            out += unit;
            col += unit.size();
            i += n;
        }
        out += "\r\n";
    }
}

void append_delimiter(std::string& out, std::string_view boundary, bool first) {
    if (!first) out += "\r\n";  // RFC 2046 §5.1.1: the CRLF belongs to the delimiter
    out += "--";
    out += boundary;
    out += "\r\n";
}

void append_close_delimiter(std::string& out, std::string_view boundary) {
    out += "\r\n--";
    out += boundary;
    out += "--\r\n";
}

}  // namespace tern::mime
