// IMAP section numbers over a part tree (RFC 9051 §6.4.5): "1.2.3" to a part and back, and a
// section text (HEADER, TEXT, MIME) to the exact byte range of the original message to send.
// Pure. Must never return a range outside the message, and never guess a part that is not there.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mime/part_tree.hpp"

namespace tern::mime {

enum class SectionText : std::uint8_t {
    None,    // BODY[1.2]: the part's body (for message/rfc822, the whole encapsulated message)
    Header,  // BODY[HEADER], BODY[2.HEADER]: the message's header, with its empty line; also the
             // range HEADER.FIELDS (.NOT) filter
    Text,    // BODY[TEXT], BODY[2.TEXT]: the message's body
    Mime,    // BODY[1.MIME]: the part's own header section
};

struct SectionRange {
    std::uint64_t begin = 0, end = 0;
    std::uint32_t part = 0;  // the part whose bytes these are (the encapsulated message for HEADER/TEXT)
};

// "1.2.3" to {1, 2, 3}; nullopt for an empty string, a zero, or anything not digits and dots.
std::optional<std::vector<std::uint32_t>> parse_section_path(std::string_view text);

// The part a section number names. RFC 9051 §6.4.5: the parts of a multipart are numbered from 1;
// a message/rfc822 part's number also names the encapsulated message, whose parts continue the
// number ("2.1"); a message that is not multipart has one part, its body, numbered 1.
Result<std::uint32_t> find_part(const PartTree& tree, std::span<const std::uint32_t> path);

// The byte range for BODY[<path>.<text>]. An empty path is the message itself: None is then the
// whole message, Header and Text its header and body, Mime an error. HEADER and TEXT after a path
// need a message/rfc822 (or message/global) part (RFC 9051 §6.4.5), else an error.
Result<SectionRange> section_range(const PartTree& tree, std::span<const std::uint32_t> path, SectionText text);

// The section number of a part: "" for the message when it is multipart (it has none), "1" for the
// body of a non-multipart message; a multipart inside a message/rfc822 shares that part's number.
std::string section_path(const PartTree& tree, std::uint32_t part);

}  // namespace tern::mime
