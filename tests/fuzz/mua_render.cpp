// libFuzzer target: a message rendered for reading and its attachments listed (src/mua/render,
// attachments) from arbitrary bytes. Must never crash, emit invalid UTF-8 or a terminal control
// character in the text, number attachments other than 1..n, or give two of them one save name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "mime/charset.hpp"
#include "mua/render.hpp"

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    tern::mua::RenderOptions o;
    o.sniff_types = false;  // libmagic is not what is under test
    o.width = 40;
    o.prefer_html = size > 0 && (data[0] & 1);
    tern::mua::Rendered r = tern::mua::render_message(in, o);
    std::string_view t = r.text;
    for (std::size_t i = 0; i < t.size();) {
        std::size_t n = tern::mime::utf8_len(t, i);
        check(n > 0);
        auto c = static_cast<unsigned char>(t[i]);
        check(n > 1 || c >= 0x20 || c == '\n' || c == '\t');
        check(c != 0x7f);
        i += n;
    }
    std::set<std::string> names;
    for (std::size_t k = 0; k < r.attachments.size(); ++k) {
        const auto& a = r.attachments[k];
        check(a.index == k + 1);
        check(!a.save_name.empty() && a.save_name.find('/') == std::string::npos && a.save_name[0] != '.');
        check(names.insert(a.save_name).second);
    }
    std::string json = tern::mua::render_json(r);
    check(!json.empty() && json.front() == '{' && json.back() == '}');
    return 0;
}
