// libFuzzer target: the MIME part tree (src/mime/part_tree, section) on arbitrary message bytes.
// Must never crash, report an offset outside the input, put a child outside its parent, exceed
// the part or depth limits, depend on the read chunk size, or map a section number to another part.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mime/part_tree.hpp"
#include "mime/section.hpp"

using namespace tern::mime;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::size_t chunk = 1 + data[0] % 17;  // the first octet picks a small read size
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    ParseLimits lim;
    lim.max_parts = 40;
    lim.max_depth = 6;
    lim.max_header_bytes = 512;
    lim.params.max_params = 8;
    lim.params.max_value_bytes = 64;
    PartTree t = parse_message(in, lim);
    ParseLimits small = lim;
    small.chunk_bytes = chunk;
    PartTree u = parse_message(in, small);

    check(t.size == in.size());
    check(!t.parts.empty() && t.parts.size() <= lim.max_parts);
    check(t.parts.size() == u.parts.size());
    for (std::size_t i = 0; i < t.parts.size(); ++i) {
        const MimePart& p = t.parts[i];
        const MimePart& q = u.parts[i];
        check(p.header_begin == q.header_begin && p.body_begin == q.body_begin && p.body_end == q.body_end);
        check(p.lines == q.lines && p.kind == q.kind && p.content_type.subtype == q.content_type.subtype);
        check(p.header_begin <= p.header_end && p.header_end == p.body_begin);
        check(p.body_begin <= p.body_end && p.body_end <= in.size());
        check(p.depth < lim.max_depth);
        check(p.lines <= p.body_size());
        check(p.kind != PartKind::Message || p.children.size() == 1);
        for (std::uint32_t c : p.children) {
            check(c > i && c < t.parts.size());
            const MimePart& ch = t.parts[c];
            check(ch.parent == i && ch.depth == p.depth + 1);
            check(ch.header_begin >= p.body_begin && ch.body_end <= p.body_end);
        }
        std::string path = section_path(t, static_cast<std::uint32_t>(i));
        if (!path.empty()) {
            auto nums = parse_section_path(path);
            check(nums.has_value());
            auto found = find_part(t, *nums);
            check(found.has_value());
            // The encapsulated multipart of a message/rfc822 part shares that part's number.
            check(*found == i || (t.parts[*found].kind == PartKind::Message && t.parts[*found].children[0] == i));
            for (auto text : {SectionText::None, SectionText::Header, SectionText::Text, SectionText::Mime}) {
                auto r = section_range(t, *nums, text);
                if (r) check(r->begin <= r->end && r->end <= in.size());
            }
        }
    }
    return 0;
}
