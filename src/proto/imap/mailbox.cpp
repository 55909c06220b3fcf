// Mailbox name rules (RFC 9051 §5.1): INBOX folding, validity, the mUTF-7 / UTF-8 wire choice.
// Must never let a name through that could mean something as a path ("..", "/x", controls):
// names are store keys, and no caller may ever turn one into a path.
#include "proto/imap/mailbox.hpp"

#include "base/ascii.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/utf8.hpp"

namespace tern::imap {

bool is_inbox(std::string_view name) { return ascii::iequals(name, "INBOX"); }

std::string fold_inbox(std::string_view name) {
    if (is_inbox(name)) return "INBOX";
    if (name.size() > 6 && ascii::istarts_with(name, "INBOX") && name[5] == kHierarchyDelimiter)
        return "INBOX" + std::string(name.substr(5));
    return std::string(name);
}

std::string mailbox_name_problem(std::string_view name) {
    if (name.empty()) return "Empty mailbox name";
    if (name.size() > kMaxMailboxName) return "Mailbox name too long";
    if (!valid_utf8(name)) return "Mailbox name is not valid UTF-8";
    for (std::size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        // C0 and DEL; C1 (U+0080-U+009F) is 0xC2 0x80-0x9F in UTF-8.
        if (c < 0x20 || c == 0x7f || (c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) < 0xA0))
            return "Control character in mailbox name";
        if (c == '%' || c == '*') return "Wildcard in mailbox name";
    }
    std::size_t depth = 0;
    for (std::size_t pos = 0;;) {
        std::size_t slash = name.find(kHierarchyDelimiter, pos);
        std::string_view part = name.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (part.empty()) return "Empty component in mailbox name";
        if (part == "." || part == "..") return "Invalid component in mailbox name";
        if (part.size() > kMaxMailboxComponent) return "Mailbox name component too long";
        if (++depth > kMaxMailboxDepth) return "Mailbox name nested too deeply";
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return {};
}

std::expected<std::string, std::string> decode_mailbox(std::string_view wire, bool utf8) {
    std::string name;
    if (utf8) {
        name = wire;
    } else {
        auto d = mutf7_decode(wire);
        if (!d) return std::unexpected(d.error());
        name = std::move(*d);
    }
    name = fold_inbox(name);
    if (auto why = mailbox_name_problem(name); !why.empty()) return std::unexpected(why);
    return name;
}

std::expected<std::string, std::string> encode_mailbox(std::string_view name, bool utf8) {
    if (utf8) {
        if (!valid_utf8(name)) return std::unexpected("Mailbox name is not valid UTF-8");
        return std::string(name);
    }
    return mutf7_encode(name);
}

}  // namespace tern::imap
