// libFuzzer target: the transfer-encoding decoders, charset conversion and RFC 2047 / RFC 2231
// decoding (src/mime) on arbitrary bytes. Must never crash, give a different result when the input
// is fed in pieces than whole, emit invalid UTF-8 from a converter, or grow beyond its bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/charset.hpp"
#include "mime/content.hpp"
#include "mime/decode.hpp"
#include "mime/encoded_word.hpp"
#include "mime/filename.hpp"
#include "mime/uuencode.hpp"

using namespace tern::mime;

static void check(bool ok) {
    if (!ok) std::abort();
}

static bool utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

template <class D>
static void pieces_agree(std::string_view in, std::size_t cut1, std::size_t cut2) {
    D whole;
    std::string a;
    whole.feed(in, a);
    whole.finish(a);
    D split;
    std::string b;
    cut1 = std::min(cut1, in.size());
    cut2 = std::min(std::max(cut1, cut2), in.size());
    split.feed(in.substr(0, cut1), b);
    split.feed(in.substr(cut1, cut2 - cut1), b);
    split.feed(in.substr(cut2), b);
    split.finish(b);
    check(a == b && whole.damaged() == split.damaged());
    check(a.size() <= in.size() + 1);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    std::size_t cut1 = data[0], cut2 = data[0] + data[1];
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    pieces_agree<Base64Decoder>(in, cut1, cut2);
    pieces_agree<QpDecoder>(in, cut1, cut2);

    // Charset conversion: the label is the input's first line, the text the rest.
    std::size_t nl = in.find('\n');
    std::string_view label = in.substr(0, std::min<std::size_t>(nl, 40));
    std::string_view text = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    for (std::string_view cs : {label, std::string_view("utf-8"), std::string_view("iso-2022-jp"),
                                std::string_view("windows-1252"), std::string_view("shift_jis")}) {
        Utf8Text whole = to_utf8(text, cs, 1 << 16);
        check(utf8(whole.text) && whole.text.size() <= (1 << 16));
        Utf8Converter conv(cs);
        std::string out;
        std::size_t c = std::min(cut1, text.size());
        conv.feed(text.substr(0, c), out);
        conv.feed(text.substr(c), out);
        conv.finish(out);
        check(utf8(out));
        if (!whole.truncated) check(out == whole.text);  // any split converts the same
    }

    std::string words = decode_words(in);
    check(utf8(words) && words.size() <= in.size() * 4 + 16);
    ParamLimits lim;
    lim.max_params = 16;
    lim.max_value_bytes = 128;
    ContentType ct = parse_content_type(in, lim);
    check(ct.params.items.size() <= lim.max_params);
    for (const Param& p : ct.params.items) {
        check(p.value.size() <= lim.max_value_bytes);
        std::string name = safe_filename(param_utf8(p));
        check(!name.empty() && name.size() <= 255 && name.find('/') == std::string::npos &&
              name.find('\\') == std::string::npos && name.front() != '.' && utf8(name));
        for (char ch : name) check(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
    }
    UuLimits ul;
    ul.max_bytes = 4096;
    for (const UuBlock& b : find_uuencoded(in, ul)) {
        check(b.begin < b.end && b.end <= in.size() && b.data.size() <= ul.max_bytes);
        check(!b.name.empty() && b.name.find('/') == std::string::npos && b.name.front() != '.');
    }
    return 0;
}
