// Charset conversion to UTF-8 for MIME text (RFC 2046 §4.1.2 charset parameter, RFC 2047 words,
// RFC 2231 parameters) through glibc's iconv, behind a small RAII wrapper. Unknown or broken
// charsets never fail: they fall back to "UTF-8 where valid, else each octet as Latin-1" and say
// so. Must never return invalid UTF-8, never grow output beyond the caller's bound, and never
// leak an iconv descriptor.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <iconv.h>

namespace tern::mime {

// Owns one iconv_t. Move-only.
class Iconv {
public:
    static std::optional<Iconv> open(const char* to, const char* from);  // nullopt if iconv cannot
    Iconv(Iconv&& o) noexcept : cd_(o.cd_) { o.cd_ = invalid(); }
    Iconv& operator=(Iconv&& o) noexcept;
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    ~Iconv();
    iconv_t get() const { return cd_; }
    void reset();  // back to the initial shift state (ISO-2022-JP and friends)

private:
    explicit Iconv(iconv_t cd) : cd_(cd) {}
    static iconv_t invalid() { return reinterpret_cast<iconv_t>(-1); }
    iconv_t cd_;
};

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, surrogates, or
// values over U+10FFFF), or 0 if it is not one (including a sequence cut off by the end of s).
std::size_t utf8_len(std::string_view s, std::size_t i);

// The charset label as iconv should see it: lower-cased, quotes and blanks removed, with the
// WHATWG Encoding aliases mail needs (ISO-8859-1 and US-ASCII are decoded as windows-1252,
// ks_c_5601-1987 as CP949, gb2312 as GBK). Empty for labels that name no charset
// ("unknown-8bit", "x-unknown", "").
std::string canonical_charset(std::string_view label);

// Streaming conversion of one text to UTF-8. feed() any split of the input: the output is the
// same (an incomplete multi-byte sequence at a chunk's end waits for the next chunk).
class Utf8Converter {
public:
    explicit Utf8Converter(std::string_view charset_label);
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out);
    bool fallback() const { return fallback_; }   // the charset was unknown: fallback decoding used
    bool replaced() const { return replaced_; }   // some octets were invalid and became U+FFFD
    const std::string& charset() const { return name_; }  // canonical name used ("utf-8", ...)

private:
    enum class Mode { Utf8Strict, Utf8OrLatin1, Iconv };
    void feed_utf8(std::string_view in, std::string& out);
    void feed_iconv(std::string_view in, std::string& out);
    Mode mode_ = Mode::Utf8OrLatin1;
    std::string name_;
    std::optional<Iconv> cd_;
    bool single_byte_ = false;    // windows-1252: an octet iconv refuses is kept as its Latin-1 value
    std::string carry_;           // incomplete sequence from the previous chunk (at most 16 octets)
    bool fallback_ = false;
    bool replaced_ = false;
};

struct Utf8Text {
    std::string text;
    bool fallback = false;   // unknown charset: decoded as UTF-8 where valid, else Latin-1
    bool replaced = false;   // invalid octets became U+FFFD
    bool truncated = false;  // the output reached max_out and was cut (at a character boundary)
};

// Whole-buffer conversion; the output stops before max_out octets.
Utf8Text to_utf8(std::string_view bytes, std::string_view charset_label, std::size_t max_out = 4u << 20);

// Octets that are not UTF-8 decoded as Latin-1, valid UTF-8 kept: for raw 8-bit header text with
// no declared charset (RFC 6532 allows UTF-8 there; older software wrote Latin-1).
std::string utf8_or_latin1(std::string_view bytes);

}  // namespace tern::mime
