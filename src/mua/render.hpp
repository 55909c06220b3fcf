// A message made readable for `tern read` (and later the full-screen reader): the header block
// (From, To, Cc, Date, Subject; RFC 2047 decoded, addresses as "Name <addr>"), the body text
// (multipart/alternative: text/plain preferred, else text/html through html_text; transfer
// encodings undone and charsets converted to UTF-8; encapsulated messages as quoted forwarded
// blocks), and the attachment list; as text and as a structured form (JSON for --json).
// Pure: works on the message bytes given. Must never emit invalid UTF-8 or a terminal control
// character, fetch anything an HTML part refers to, or fail on a malformed message.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mua/attachments.hpp"

namespace tern::mua {

struct RenderOptions {
    std::size_t width = 78;             // wrap HTML paragraphs at this width (0: never)
    bool html_raw = false;              // an HTML body shown as its (decoded) source, not rendered
    bool prefer_html = false;           // multipart/alternative: the HTML part even if there is text
    std::size_t max_part_text = 8u << 20;  // octets of decoded text per part; the rest is cut
    bool sniff_types = true;            // libmagic for uuencoded attachments (see ListOptions)
};

struct RenderedAddress {
    std::string name;     // display name, RFC 2047 decoded ("" if none)
    std::string address;  // local@domain ("" for a group's name entry or an unparsable value)
};

struct RenderedHeader {
    std::string from, to, cc, date, subject;  // display values, UTF-8, one line each
    std::vector<RenderedAddress> from_list, to_list, cc_list;
    std::string message_id;
};

struct BodyBlock {
    enum class Kind { Text, Forwarded };
    Kind kind = Kind::Text;
    unsigned quote_depth = 0;       // forwarded-message nesting: each level is a "> " prefix
    std::uint32_t part = 0;         // index in the part tree
    std::string section;            // IMAP section number ("1.2")
    // Kind::Text
    std::string content_type;       // "text/plain", "text/html"
    std::string charset;            // as declared (or found in an HTML <meta>); "" if none
    std::string text;               // UTF-8 lines, each ending in "\n", without the quote prefix
    std::vector<std::string> links; // HTML: the URLs numbered "[n]" in the text
    bool from_html = false;
    bool charset_fallback = false;  // unknown charset: UTF-8 where valid, else Latin-1
    bool charset_replaced = false;  // invalid octets became U+FFFD
    bool damaged = false;           // broken base64 / quoted-printable
    bool truncated = false;         // cut at max_part_text (or an HTML bound)
    // Kind::Forwarded: the encapsulated message's header
    RenderedHeader header;
};

struct Rendered {
    RenderedHeader header;
    std::vector<BodyBlock> blocks;        // in reading order
    std::vector<Attachment> attachments;  // as list_attachments() numbers them
    std::vector<std::string> notes;       // what could not be shown faithfully, one line each
    std::string text;                     // everything as `tern read` prints it
};

Rendered render_message(std::string_view message, const RenderOptions& options = {});

// The structured form as one JSON object (header, body blocks, attachments, notes, text).
std::string render_json(const Rendered& r);

}  // namespace tern::mua
