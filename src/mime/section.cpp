// Section numbering (see section.hpp). Walks the tree by index, never recursing. Must never index
// past a children list, and never hand out a range that is not inside the message.
#include "mime/section.hpp"

#include <algorithm>

namespace tern::mime {

std::optional<std::vector<std::uint32_t>> parse_section_path(std::string_view text) {
    std::vector<std::uint32_t> out;
    if (text.empty()) return std::nullopt;
    std::uint64_t n = 0;
    bool digits = false;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '.') {
            if (!digits || n == 0) return std::nullopt;  // RFC 9051 §9: section-part = nz-number *("." nz-number)
            out.push_back(static_cast<std::uint32_t>(n));
            n = 0;
            digits = false;
        } else if (text[i] >= '0' && text[i] <= '9') {
            n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
            if (n > 0xffffffffu) return std::nullopt;
            digits = true;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

Result<std::uint32_t> find_part(const PartTree& tree, std::span<const std::uint32_t> path) {
    std::uint32_t cur = 0;
    bool first = true;
    for (std::uint32_t num : path) {
        const MimePart* p = &tree.parts[cur];
        // A number after a message/rfc822 part's number reaches into the encapsulated message.
        if (!first && p->kind == PartKind::Message && !p->children.empty()) {
            cur = p->children.front();
            p = &tree.parts[cur];
        } else if (!first && p->kind != PartKind::Multipart) {
            return fail("section has no part " + std::to_string(num) + " (not a multipart or message)");
        }
        first = false;
        if (p->kind == PartKind::Multipart) {
            if (num == 0 || num > p->children.size()) return fail("section has no part " + std::to_string(num));
            cur = p->children[num - 1];
        } else if (num != 1) {
            return fail("section has no part " + std::to_string(num) + " (a single-part body is part 1)");
        }
    }
    return cur;
}

Result<SectionRange> section_range(const PartTree& tree, std::span<const std::uint32_t> path, SectionText text) {
    SectionRange r;
    if (path.empty()) {
        const MimePart& root = tree.root();
        switch (text) {
            case SectionText::None: r.begin = 0, r.end = tree.size; break;
            case SectionText::Header: r.begin = root.header_begin, r.end = root.header_end; break;
            case SectionText::Text: r.begin = root.body_begin, r.end = root.body_end; break;
            case SectionText::Mime: return fail("MIME needs a part number (RFC 9051 §6.4.5)");
        }
        return r;
    }
    auto idx = find_part(tree, path);
    if (!idx) return std::unexpected(idx.error());
    const MimePart& p = tree.parts[*idx];
    r.part = *idx;
    switch (text) {
        case SectionText::None: r.begin = p.body_begin, r.end = p.body_end; break;
        case SectionText::Mime: r.begin = p.header_begin, r.end = p.header_end; break;
        case SectionText::Header:
        case SectionText::Text: {
            if (p.kind != PartKind::Message || p.children.empty())
                return fail("HEADER and TEXT need a message/rfc822 part (RFC 9051 §6.4.5)");
            const MimePart& m = tree.parts[p.children.front()];
            r.part = p.children.front();
            if (text == SectionText::Header) r.begin = m.header_begin, r.end = m.header_end;
            else r.begin = m.body_begin, r.end = m.body_end;
            break;
        }
    }
    return r;
}

std::string section_path(const PartTree& tree, std::uint32_t part) {
    std::vector<std::uint32_t> nums;  // built backwards
    std::uint32_t cur = part;
    while (true) {
        const MimePart& p = tree.parts[cur];
        if (p.parent == kNoPart) {
            if (p.kind != PartKind::Multipart) nums.push_back(1);  // a single-part message's body is 1
            break;
        }
        const MimePart& q = tree.parts[p.parent];
        if (q.kind == PartKind::Multipart) {
            auto it = std::find(q.children.begin(), q.children.end(), cur);
            nums.push_back(static_cast<std::uint32_t>(it - q.children.begin()) + 1);
        } else if (p.kind != PartKind::Multipart) {
            nums.push_back(1);  // the body of an encapsulated single-part message: "<q>.1"
        }
        cur = p.parent;
    }
    std::string out;
    for (auto it = nums.rbegin(); it != nums.rend(); ++it) {
        if (!out.empty()) out += '.';
        out += std::to_string(*it);
    }
    return out;
}

}  // namespace tern::mime
