// libFuzzer target: HTML mail to text (src/mua/html_text) on arbitrary bytes. Must never crash,
// recurse on nesting, emit invalid UTF-8 or a control character other than LF and TAB, or end a
// line without "\n".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mime/charset.hpp"
#include "mua/html_text.hpp"

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    tern::mua::HtmlTextOptions o;
    o.width = data[0] % 100;  // 0: no wrapping
    o.max_depth = 1 + data[0] % 64;
    o.max_input = 1u << 16;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    tern::mua::HtmlText r = tern::mua::html_to_text(in, o);
    std::string_view t = r.text;
    check(t.empty() || t.back() == '\n');
    for (std::size_t i = 0; i < t.size();) {
        std::size_t n = tern::mime::utf8_len(t, i);
        check(n > 0);
        auto c = static_cast<unsigned char>(t[i]);
        check(n > 1 || c >= 0x20 || c == '\n' || c == '\t');
        check(c != 0x7f && !(n == 2 && c == 0xc2 && static_cast<unsigned char>(t[i + 1]) < 0xa0));
        i += n;
    }
    for (const auto& url : r.links) check(!url.empty());
    return 0;
}
