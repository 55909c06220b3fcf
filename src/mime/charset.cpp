// Charset conversion (see charset.hpp). iconv does the tables; this file decides what happens to
// unknown labels, invalid octets and sequences split across chunks. Must never pass an iconv error
// through as an error: mail text is always shown, with replacement characters where it must.
#include "mime/charset.hpp"

#include <cerrno>

#include "base/ascii.hpp"

namespace tern::mime {
namespace {

constexpr std::size_t kMaxCarry = 16;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void append_latin1(std::string& out, unsigned char c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

// The sequence at s[i] is a valid UTF-8 prefix cut off by the end of s.
bool utf8_incomplete(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (n == 0 || i + n <= s.size()) return false;
    for (std::size_t k = i + 1; k < s.size(); ++k)
        if ((static_cast<unsigned char>(s[k]) & 0xc0) != 0x80) return false;
    return true;
}

}  // namespace

std::optional<Iconv> Iconv::open(const char* to, const char* from) {
    iconv_t cd = iconv_open(to, from);
    if (cd == invalid()) return std::nullopt;
    return Iconv(cd);
}

Iconv& Iconv::operator=(Iconv&& o) noexcept {
    if (this != &o) {
        if (cd_ != invalid()) iconv_close(cd_);
        cd_ = o.cd_;
        o.cd_ = invalid();
    }
    return *this;
}

Iconv::~Iconv() {
    if (cd_ != invalid()) iconv_close(cd_);
}

void Iconv::reset() {
    if (cd_ != invalid()) iconv(cd_, nullptr, nullptr, nullptr, nullptr);
}

std::size_t utf8_len(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

std::string canonical_charset(std::string_view label) {
    std::string s;
    for (char c : label)
        if (c != '"' && c != '\'' && c != ' ' && c != '\t' && c != '\r' && c != '\n') s += ascii::lower(c);
    if (s.size() > 64) return {};  // no real charset name is this long
    // WHATWG Encoding §4.2 label table, for the labels mail actually carries.
    if (s == "utf-8" || s == "utf8" || s == "unicode-1-1-utf-8") return "utf-8";
    if (s == "us-ascii" || s == "ascii" || s == "ansi_x3.4-1968" || s == "iso-8859-1" || s == "iso8859-1" ||
        s == "latin1" || s == "l1" || s == "iso_8859-1" || s == "cp1252" || s == "windows-1252" || s == "cp819")
        return "windows-1252";
    if (s == "ks_c_5601-1987" || s == "euc-kr" || s == "ks_c_5601-1989") return "cp949";
    if (s == "gb2312" || s == "x-gbk" || s == "gbk") return "gbk";
    if (s.empty() || s == "unknown-8bit" || s == "x-unknown" || s == "unknown" || s == "x-user-defined" ||
        s == "default" || s == "charset")
        return {};
    return s;
}

Utf8Converter::Utf8Converter(std::string_view label) {
    name_ = canonical_charset(label);
    if (name_ == "utf-8") {
        mode_ = Mode::Utf8Strict;
        return;
    }
    if (!name_.empty()) {
        // iconv's UTF-8 output never holds invalid sequences; "//" suffixes (TRANSLIT, IGNORE)
        // in a label would change iconv's behaviour, so they are refused here.
        if (name_.find('/') == std::string::npos) cd_ = Iconv::open("UTF-8", name_.c_str());
        if (cd_) {
            mode_ = Mode::Iconv;
            single_byte_ = name_ == "windows-1252";
            return;
        }
    }
    mode_ = Mode::Utf8OrLatin1;  // unknown charset: say so, decode what can be decoded
    fallback_ = true;
    name_ = "unknown";
}

void Utf8Converter::feed_utf8(std::string_view in, std::string& out) {
    std::size_t i = 0;
    while (i < in.size()) {
        std::size_t n = utf8_len(in, i);
        if (n > 0) {
            out.append(in.substr(i, n));
            i += n;
            continue;
        }
        if (utf8_incomplete(in, i)) {  // the rest of this character is in the next chunk
            carry_.assign(in.substr(i));
            return;
        }
        if (mode_ == Mode::Utf8Strict) {
            out += kReplacement;  // RFC 3629 §10: invalid octets are never passed on
            replaced_ = true;
        } else {
            append_latin1(out, static_cast<unsigned char>(in[i]));
        }
        ++i;
    }
}

void Utf8Converter::feed_iconv(std::string_view in, std::string& out) {
    char buf[4096];
    char* src = const_cast<char*>(in.data());  // iconv's prototype; it does not write the input
    std::size_t left = in.size();
    while (left > 0) {
        char* dst = buf;
        std::size_t room = sizeof buf;
        std::size_t r = iconv(cd_->get(), &src, &left, &dst, &room);
        out.append(buf, static_cast<std::size_t>(dst - buf));
        if (r != static_cast<std::size_t>(-1)) break;
        if (errno == E2BIG) continue;
        if (errno == EINVAL && left <= kMaxCarry) {  // incomplete sequence at the end of this chunk
            carry_.assign(src, left);
            return;
        }
        // EILSEQ (or an absurdly long incomplete sequence): one octet replaced, then go on.
        if (single_byte_) {
            append_latin1(out, static_cast<unsigned char>(*src));  // WHATWG: 0x81 -> U+0081
        } else {
            out += kReplacement;
            replaced_ = true;
        }
        ++src;
        --left;
    }
}

void Utf8Converter::feed(std::string_view in, std::string& out) {
    std::string joined;
    if (!carry_.empty()) {  // finish the sequence the previous chunk cut off
        joined = std::move(carry_);
        carry_.clear();
        joined.append(in);
        in = joined;
    }
    if (mode_ == Mode::Iconv) feed_iconv(in, out);
    else feed_utf8(in, out);
}

void Utf8Converter::finish(std::string& out) {
    if (!carry_.empty()) {
        if (mode_ == Mode::Utf8OrLatin1) {
            for (char c : carry_) append_latin1(out, static_cast<unsigned char>(c));
        } else if (mode_ == Mode::Iconv && single_byte_) {
            for (char c : carry_) append_latin1(out, static_cast<unsigned char>(c));
        } else {
            out += kReplacement;  // a sequence cut off by the end of the text
            replaced_ = true;
        }
        carry_.clear();
    }
    if (mode_ == Mode::Iconv) {
        // Return to the initial shift state; stateful encodings may emit nothing or a reset.
        char buf[64];
        char* dst = buf;
        std::size_t room = sizeof buf;
        iconv(cd_->get(), nullptr, nullptr, &dst, &room);
        out.append(buf, static_cast<std::size_t>(dst - buf));
    }
}

Utf8Text to_utf8(std::string_view bytes, std::string_view label, std::size_t max_out) {
    Utf8Text r;
    Utf8Converter conv(label);
    // Convert in pieces so a hostile input never builds more than max_out (plus one piece).
    constexpr std::size_t kPiece = 16 * 1024;
    std::size_t i = 0;
    for (; i < bytes.size() && r.text.size() <= max_out; i += kPiece) conv.feed(bytes.substr(i, kPiece), r.text);
    conv.finish(r.text);
    if (r.text.size() > max_out) {
        std::size_t cut = max_out;
        while (cut > 0 && (static_cast<unsigned char>(r.text[cut]) & 0xc0) == 0x80) --cut;  // character boundary
        r.text.resize(cut);
        r.truncated = true;
    }
    r.fallback = conv.fallback();
    r.replaced = conv.replaced();
    return r;
}

std::string utf8_or_latin1(std::string_view bytes) {
    std::string out;
    Utf8Converter conv("");
    conv.feed(bytes, out);
    conv.finish(out);
    return out;
}

}  // namespace tern::mime
