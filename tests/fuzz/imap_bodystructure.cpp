// libFuzzer target: IMAP FETCH data (src/proto/imap/fetch_data) on arbitrary message bytes:
// BODY, BODYSTRUCTURE and ENVELOPE of every part, a few BODY[section]s and BINARY. Must never
// crash, emit unbalanced parentheses or a CR/LF outside a literal, a NUL anywhere, a range outside
// the message, or BINARY output over its bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "mime/part_tree.hpp"
#include "mime/section.hpp"
#include "proto/imap/fetch_data.hpp"

using namespace tern;

static void check(bool ok) {
    if (!ok) std::abort();
}

// Walks IMAP response data: parentheses balance outside quoted strings and literals, quoted
// strings hold no CR, LF or NUL, literals have the announced length.
static void check_balanced(std::string_view s) {
    long depth = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        check(c != '\0' && c != '\r' && c != '\n');
        if (c == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
                check(s[i] != '\r' && s[i] != '\n' && s[i] != '\0');
                if (s[i] == '\\') {
                    ++i;
                    check(i < s.size() && (s[i] == '"' || s[i] == '\\'));
                }
                ++i;
            }
            check(i < s.size());
            ++i;
        } else if (c == '{') {
            std::size_t close = s.find('}', i);
            check(close != std::string_view::npos && close > i + 1);
            std::uint64_t n = std::strtoull(std::string(s.substr(i + 1, close - i - 1)).c_str(), nullptr, 10);
            check(s.substr(close + 1, 2) == "\r\n");
            check(close + 3 + n <= s.size());
            check(s.substr(close + 3, n).find('\0') == std::string_view::npos);
            i = close + 3 + n;
        } else {
            if (c == '(') ++depth;
            if (c == ')') --depth;
            check(depth >= 0);
            ++i;
        }
    }
    check(depth == 0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string msg(reinterpret_cast<const char*>(data), size);
    auto src = base::bytes_from_string(msg);
    mime::ParseLimits lim;
    lim.max_parts = 40;
    lim.max_depth = 6;
    lim.max_header_bytes = 2048;
    auto tree = mime::parse_message(*src, lim);
    check(tree.has_value());
    const mime::PartTree& t = *tree;
    for (std::uint32_t i = 0; i < t.parts.size(); ++i) {
        for (bool ext : {false, true}) {
            std::string out;
            imap::append_bodystructure(out, t, i, ext, ext);
            check(!out.empty() && out.front() == '(' && out.back() == ')');
            check_balanced(out);
        }
        if (t.parts[i].envelope) {
            for (bool utf8 : {false, true}) {
                std::string out;
                imap::append_envelope(out, *t.parts[i].envelope, utf8);
                check_balanced(out);
            }
        }
        std::string path = mime::section_path(t, i);
        auto nums = path.empty() ? std::optional<std::vector<std::uint32_t>>(std::vector<std::uint32_t>{})
                                 : mime::parse_section_path(path);
        check(nums.has_value());
        using T = imap::Section::Text;
        for (T text : {T::None, T::Header, T::HeaderFields, T::HeaderFieldsNot, T::Text, T::Mime}) {
            imap::Section sec;
            sec.part = *nums;
            sec.text = text;
            sec.fields = {"FROM", "SUBJECT"};
            for (std::optional<imap::Partial> partial : {std::optional<imap::Partial>(), std::optional(imap::Partial{3, 7})}) {
                auto d = imap::section_data(t, *src, sec, partial);
                check(d.has_value());
                if (d->kind == imap::SectionData::Range) check(d->offset + d->length <= msg.size());
                if (partial) check(d->length <= 7 && d->bytes.size() <= 7);
                // Header subsets end with a line end ("" only for a header with no empty line).
                if (d->kind == imap::SectionData::Bytes && !partial && !d->bytes.empty())
                    check(d->bytes.size() >= 2 && d->bytes.substr(d->bytes.size() - 2) == "\r\n");
            }
        }
        auto b = imap::binary_data(t, *src, *nums, std::nullopt, 4096);
        auto n = imap::binary_size(t, *src, *nums);
        check(b.has_value() == n.has_value() || (!b && b.error().code == imap::kFetchTooBig));
        if (b) {
            check(b->size() <= 4096);
            check(b->size() == *n);
        }
    }
    return 0;
}
