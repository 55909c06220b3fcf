// The MIME part tree of one message (RFC 2045, RFC 2046): for every part the exact byte ranges of
// its header section and body in the original message, its Content-* fields, line counts and the
// ENVELOPE of each encapsulated message; what IMAP BODYSTRUCTURE, BODY[section] and BINARY, SEARCH
// and the client's reader all start from. Parsed from a ByteSource in bounded chunks: memory is
// bounded by ParseLimits, never by the message size. Must never do I/O other than reading the
// source, never crash or go quadratic on hostile input, and never report an offset outside it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mime/content.hpp"
#include "mime/envelope.hpp"

namespace tern::mime {

struct ParseLimits {
    std::size_t max_depth = 20;            // nesting: a part this deep is an opaque leaf (flagged)
    std::size_t max_parts = 1000;          // parts in the tree, the root included; more: not recorded
    std::size_t max_header_bytes = 64 * 1024;       // one part's header section kept for parsing;
                                                    // beyond it the rest is skipped (flagged)
    std::size_t max_total_header_bytes = 8u << 20;  // all header sections together; beyond: no new parts
    std::size_t max_header_fields = 1000;  // per header section (HeaderLimits::max_fields)
    ParamLimits params;                    // Content-Type / Content-Disposition parameters
    std::size_t max_value_bytes = 4096;    // Content-ID, -Description, -Location, -MD5 kept up to this
    std::size_t chunk_bytes = 64 * 1024;   // read size from the ByteSource
};

inline constexpr std::uint32_t kNoPart = 0xffffffffu;

enum class PartKind : std::uint8_t {
    Leaf,       // a body with no parts inside (or one not descended into: see flags)
    Multipart,  // multipart/*: children are the body parts between the delimiters (RFC 2046 §5.1)
    Message,    // message/rfc822 or message/global: one child, the encapsulated message (RFC 2046 §5.2.1)
};

struct MimePart {
    std::uint32_t parent = kNoPart;
    std::uint32_t depth = 0;                // root 0; the encapsulated message is one deeper than its part
    std::vector<std::uint32_t> children;    // indices into PartTree::parts, in order
    PartKind kind = PartKind::Leaf;
    bool is_message = false;                // root, or the child of a Message part: has a message header

    // Byte offsets in the original message. The header range includes the empty line that ends it;
    // body_begin == header_end. The CRLF before a boundary delimiter belongs to the delimiter
    // (RFC 2046 §5.1.1), so it is in no part's body.
    std::uint64_t header_begin = 0, header_end = 0;
    std::uint64_t body_begin = 0, body_end = 0;
    std::uint64_t body_size() const { return body_end - body_begin; }
    std::uint64_t header_size() const { return header_end - header_begin; }
    // Lines in the body: its LFs, as Dovecot counts them (a last line without LF, such as the
    // line before a delimiter, does not count): BODYSTRUCTURE body-fld-lines for text/* and
    // message/rfc822 (RFC 9051 §7.5.2).
    std::uint64_t lines = 0;

    ContentType content_type;               // defaulted as RFC 2045 §5.2 / RFC 2046 §5.1.5 say
    std::string transfer_encoding = "7bit"; // lower-cased mechanism (RFC 2045 §6.1)
    std::optional<ContentDisposition> disposition;  // RFC 2183
    std::optional<std::string> content_id;           // RFC 2045 §7, unfolded and trimmed
    std::optional<std::string> description;          // RFC 2045 §8, still RFC 2047-encoded
    std::optional<std::string> location;             // RFC 2557 §4
    std::optional<std::string> md5;                  // RFC 1864
    std::vector<std::string> languages;              // RFC 3282 Content-Language tags
    std::optional<Envelope> envelope;                // for is_message parts

    // What the parser could not do for this part.
    bool depth_limited = false;        // max_depth reached: a multipart or message left opaque
    bool children_truncated = false;   // max_parts (or the header budget) reached inside it
    bool missing_close = false;        // multipart whose close delimiter never came: it ends where
                                       // its parent ends (as Dovecot does)
    bool bad_boundary = false;         // multipart without a usable boundary: a leaf
    bool header_truncated = false;     // header section over max_header_bytes: the rest not parsed
    bool header_unterminated = false;  // no empty line: the header ran to a delimiter or the end
};

struct ParseStats {
    std::size_t peak_buffer_bytes = 0;  // read buffer + header buffer + line prefix, at most
};

struct PartTree {
    std::vector<MimePart> parts;     // parts[0] is the message itself; parents before children
    std::uint64_t size = 0;      // octets of the message
    bool truncated = false;      // some part was not recorded (max_parts or the header budget)
    ParseStats stats;
    const MimePart& root() const { return parts.front(); }
};

// Parses the message in `source`, reading chunk_bytes at a time. Errors only when the source
// fails to read; any byte sequence is a message of some shape.
Result<PartTree> parse_message(const base::ByteSource& source, const ParseLimits& limits = {});
// The same over bytes in memory (no copy).
PartTree parse_message(std::string_view message, const ParseLimits& limits = {});

}  // namespace tern::mime
