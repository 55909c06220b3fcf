// Literal8 APPEND: binary body parts to base64 (see binary_append.hpp). Must never touch the
// octets of a part that is not binary, nor decode anything.
#include "session/imap/binary_append.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mime/header.hpp"
#include "mime/part_tree.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::imap {
namespace {

struct Edit {
    std::uint64_t begin = 0, end = 0;  // the bytes replaced
    std::string with;
};

// RFC 2045 §6.8: lines of at most 76 characters.
std::string base64_lines(std::string_view body, bool final_crlf) {
    const std::string b64 = sasl::base64_encode(body);
    std::string out;
    out.reserve(b64.size() + b64.size() / 76 * 2 + 2);
    for (std::size_t i = 0; i < b64.size(); i += 76) {
        if (i) out += "\r\n";
        out.append(b64, i, 76);
    }
    if (final_crlf && !out.empty()) out += "\r\n";
    return out;
}

}  // namespace

std::string encode_binary_parts(std::string_view message) {
    const mime::PartTree tree = mime::parse_message(message);
    std::vector<Edit> edits;
    for (const auto& part : tree.parts) {
        if (part.kind != mime::PartKind::Leaf || part.transfer_encoding != "binary") continue;
        const std::string_view header = message.substr(part.header_begin, part.header_size());
        auto fields = mime::parse_header_section(header);
        if (!fields) continue;  // beyond the header limits: left as it is
        bool replaced = false;
        for (const auto& f : fields->fields) {
            if (!f.is("Content-Transfer-Encoding")) continue;
            // The first such field decided the encoding; later ones go, so that one remains.
            edits.push_back(Edit{part.header_begin + f.offset, part.header_begin + f.offset + f.length,
                                 replaced ? std::string() : std::string("Content-Transfer-Encoding: base64\r\n")});
            replaced = true;
        }
        if (!replaced) continue;
        // The CRLF before a following delimiter belongs to it (RFC 2046 §5.1.1): the encoded
        // body ends with a line break only where the message ends.
        const bool last = part.body_end == message.size();
        edits.push_back(Edit{part.body_begin, part.body_end,
                             base64_lines(message.substr(part.body_begin, part.body_size()), last)});
    }
    if (edits.empty()) return std::string(message);
    std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
    std::string out;
    out.reserve(message.size() + message.size() / 3 + 64);
    std::uint64_t at = 0;
    for (const auto& e : edits) {
        if (e.begin < at) continue;  // never overlapping for leaves; guard anyway
        out.append(message.substr(at, e.begin - at));
        out += e.with;
        at = e.end;
    }
    out.append(message.substr(at));
    return out;
}

}  // namespace tern::imap
