// libFuzzer target: the browser's edited draft read back (mua::parse_draft_text) from arbitrary
// text, and the reply quote of arbitrary bytes (quotable_text). Must never crash, and a draft it
// accepted must come back the same through draft_text() and a second parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mua/browser_model.hpp"

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto d = tern::mua::parse_draft_text(in, {});
    if (d) {
        auto again = tern::mua::parse_draft_text(tern::mua::draft_text(*d), {});
        check(again.has_value());
        check(again->to == d->to && again->cc == d->cc && again->bcc == d->bcc);
        check(again->subject == d->subject && again->body == d->body);
    }
    if (size < 65536) (void)tern::mua::quotable_text(in, 40);
    return 0;
}
