// libFuzzer target: RFC 5322 header-section and address parsing (src/mime) on arbitrary bytes.
// Must never crash, read outside the input, report a field or offset outside the message, return
// an empty list as success, or parse an address whose addr-spec does not parse back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/address.hpp"
#include "mime/header.hpp"

using namespace tern::mime;

static void check(bool ok) {
    if (!ok) std::abort();
}

static bool inside(std::string_view outer, std::string_view inner) {
    return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

static void check_mailbox(const Mailbox& m) {
    check(!m.domain.empty());
    std::string spec = m.addr_spec();
    auto again = parse_single_mailbox(spec);
    check(again.has_value());
    check(again->local_part == m.local_part && again->domain == m.domain && again->display_name.empty());
}

static void check_value(std::string_view v) {
    auto list = parse_address_list(v);
    if (list) {
        check(!list->empty());
        for (const auto& m : mailboxes(*list)) check_mailbox(m);
    } else {
        check(!list.error().message.empty() && list.error().offset <= v.size());
    }
    if (auto m = parse_single_mailbox(v)) {
        check_mailbox(*m);
        check(list.has_value() && list->size() == 1);
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    HeaderLimits limits;
    limits.max_fields = 200;
    limits.max_field_bytes = 4096;
    auto h = parse_header_section(in, limits);
    if (h) {
        check(h->body_offset <= in.size());
        std::size_t last_end = 0;
        for (const auto& f : h->fields) {
            check(f.offset >= last_end && f.offset + f.length <= h->body_offset);
            check(!f.name.empty() && inside(in, f.name) && inside(in, f.raw_value));
            check(f.name.find(':') == std::string_view::npos);
            last_end = f.offset + f.length;
            std::string v = f.value();
            check(v.size() <= f.raw_value.size());
            check_value(v);
        }
        for (std::size_t j : h->junk_lines) check(j < in.size());
    }
    check_value(in);
    return 0;
}
