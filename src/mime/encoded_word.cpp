// RFC 2047 decoding (see encoded_word.hpp). One pass; each "=?" looks ahead at most a bounded
// distance, so the cost stays linear on hostile input. Must never pass charset-converted text out
// without UTF-8 validation, and never grow beyond a few times the input.
#include "mime/encoded_word.hpp"

#include <optional>

#include "base/ascii.hpp"
#include "mime/charset.hpp"
#include "mime/decode.hpp"
#include "mime/header.hpp"

namespace tern::mime {
namespace {

constexpr std::size_t kMaxWordText = 1000;   // lenient: RFC 2047 §2 allows 75 characters per word
constexpr std::size_t kMaxCharsetName = 64;

struct Word {
    std::size_t end = 0;       // one past "?="
    std::string_view charset;  // without an RFC 2231 "*language" suffix (RFC 2231 §5)
    std::string bytes;         // decoded octets, still in `charset`
    bool damaged = false;
};

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
std::optional<Word> parse_word(std::string_view s, std::size_t at) {
    std::size_t i = at + 2;
    std::size_t q1 = s.find('?', i);
    if (q1 == std::string_view::npos || q1 == i || q1 - i > kMaxCharsetName) return std::nullopt;
    std::string_view charset = s.substr(i, q1 - i);
    for (char c : charset)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=') return std::nullopt;
    if (q1 + 3 > s.size() || s[q1 + 2] != '?') return std::nullopt;
    char enc = ascii::upper(s[q1 + 1]);
    if (enc != 'B' && enc != 'Q') return std::nullopt;
    std::size_t text_begin = q1 + 3;
    std::size_t limit = std::min(s.size(), text_begin + kMaxWordText + 2);
    std::size_t j = text_begin;
    for (; j + 1 < limit; ++j) {
        char c = s[j];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;  // §2: no white space
        if (c == '?') {
            if (s[j + 1] == '=') break;
            return std::nullopt;  // §2: encoded-text has no "?"
        }
    }
    if (j + 1 >= limit) return std::nullopt;
    std::string_view text = s.substr(text_begin, j - text_begin);
    Word w;
    w.end = j + 2;
    if (std::size_t star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);
    w.charset = charset;
    if (enc == 'B') {
        w.bytes = decode_base64(text, &w.damaged);  // §4.1
    } else {
        // §4.2: "_" is SP, "=XX" an octet; anything else stands for itself.
        for (std::size_t k = 0; k < text.size(); ++k) {
            char c = text[k];
            if (c == '_') {
                w.bytes += ' ';
            } else if (c == '=' && k + 2 < text.size() && hex(text[k + 1]) >= 0 && hex(text[k + 2]) >= 0) {
                w.bytes += static_cast<char>(hex(text[k + 1]) * 16 + hex(text[k + 2]));
                k += 2;
            } else {
                if (c == '=') w.damaged = true;
                w.bytes += c;
            }
        }
    }
    return w;
}

bool all_wsp(std::string_view s) {
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
    return true;
}

}  // namespace

std::string decode_words(std::string_view input, WordsReport* report) {
    std::string unfolded;
    if (input.find('\n') != std::string_view::npos) {
        unfolded = unfold(input);  // RFC 5322 §2.2.3 before anything else
        input = unfolded;
    }
    WordsReport rep;
    std::string out;
    std::string pending;            // decoded octets of adjacent words in one charset
    std::string_view pending_cs;
    bool have_pending = false;
    auto flush = [&] {
        if (!have_pending) return;
        Utf8Text t = to_utf8(pending, pending_cs, pending.size() * 4 + 16);
        out += t.text;
        rep.fallback = rep.fallback || t.fallback;
        rep.replaced = rep.replaced || t.replaced;
        pending.clear();
        have_pending = false;
    };
    std::size_t text_start = 0;
    bool last_was_word = false;
    std::size_t i = 0;
    while (i + 1 < input.size()) {
        if (input[i] != '=' || input[i + 1] != '?') {
            ++i;
            continue;
        }
        auto w = parse_word(input, i);
        if (!w) {
            ++i;
            continue;
        }
        std::string_view between = input.substr(text_start, i - text_start);
        if (!(last_was_word && all_wsp(between))) {  // §6.2: white space between words is not shown
            flush();
            out += utf8_or_latin1(between);
        }
        if (have_pending && !ascii::iequals(pending_cs, w->charset)) flush();
        pending += w->bytes;
        pending_cs = w->charset;
        have_pending = true;
        rep.had_words = true;
        rep.damaged = rep.damaged || w->damaged;
        last_was_word = true;
        i = w->end;
        text_start = i;
    }
    flush();
    out += utf8_or_latin1(input.substr(std::min(text_start, input.size())));
    if (report) *report = rep;
    return out;
}

}  // namespace tern::mime
