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

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
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
    return out;
}

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

}  // namespace tern::mime
