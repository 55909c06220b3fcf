// IMAP FETCH data from a parsed message (RFC 9051 §7.5.2, RFC 3501 §7.4.2, RFC 3516): ENVELOPE,
// BODY and BODYSTRUCTURE as response text, BODY[section]<partial> as a byte range of the message
// (or a few synthesized header bytes) and BINARY[part] decoded. Pure: reads only the ByteSource it
// is given and formats; Dovecot 2.3 is the reference where the RFCs leave a choice. Must never read
// a large part into memory except BINARY's bounded output, never emit a CR or LF outside a
// literal, and never emit unbalanced parentheses.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mime/envelope.hpp"
#include "mime/part_tree.hpp"
#include "proto/imap/fetch.hpp"

namespace tern::imap {

// Error codes (Error::code) of the functions below; negative so they never collide with errno
// values from the ByteSource.
inline constexpr int kFetchNoSuchPart = -9001;  // BINARY of a section that does not exist: Dovecot
                                                // 2.3.19 answers an empty string (BINARY[9] {0})
inline constexpr int kFetchUnknownCte = -9002;  // BINARY: the session answers NO [UNKNOWN-CTE] (RFC 3516 §4.3)
inline constexpr int kFetchTooBig = -9003;      // BINARY: decoded data over max_bytes

// ENVELOPE's parenthesised list, without the "ENVELOPE " label. `utf8`: the session enabled
// IMAP4rev2 or UTF8=ACCEPT, so 8-bit UTF-8 may be quoted (RFC 9051 §9 utf8-quoted); otherwise it
// goes as a literal.
void append_envelope(std::string& out, const mime::Envelope& envelope, bool utf8);

// BODY (`extensible` false) or BODYSTRUCTURE (true) of `part` (0: the message), without the label.
void append_bodystructure(std::string& out, const mime::PartTree& tree, std::uint32_t part, bool extensible,
                          bool utf8);

// What BODY[section]<partial> sends.
struct SectionData {
    enum Kind : std::uint8_t {
        Range,    // octets [offset, offset + length) of the message source: stream them as a literal
        Bytes,    // `bytes` (synthesized: HEADER.FIELDS and HEADER.FIELDS.NOT)
        Missing,  // the section does not exist: Dovecot 2.3 sends an empty string ("" / {0}), as
                  // Tern's session should; nstring also allows NIL
    };
    Kind kind = Range;
    std::uint64_t offset = 0, length = 0;
    std::string bytes;
};

// Limits for the synthesized header subsets: at most this many octets of a header section are
// read (a header that runs on past it, which the part tree flags, is cut at its last whole line).
inline constexpr std::size_t kMaxFieldsHeaderBytes = 256 * 1024;

// BODY[section]<partial> (RFC 9051 §6.4.5). Errors only when the source fails to read.
Result<SectionData> section_data(const mime::PartTree& tree, const base::ByteSource& source, const Section& section,
                                 std::optional<Partial> partial);

// BINARY[part]<partial> (RFC 3516 §4.2): the part's content with its Content-Transfer-Encoding
// undone (7bit, 8bit and binary as they are, base64, quoted-printable). An empty `part` is the
// whole message, a multipart or message/rfc822 part its octets as they are. Errors: kFetchNoSuchPart,
// kFetchUnknownCte, kFetchTooBig when the result (after `partial`) would exceed max_bytes, or the
// source's. The result must be sent as literal8 ("~{n}", append_literal8) when needs_literal8().
Result<std::string> binary_data(const mime::PartTree& tree, const base::ByteSource& source,
                                std::span<const std::uint32_t> part, std::optional<Partial> partial,
                                std::size_t max_bytes);
// BINARY.SIZE[part] (RFC 3516 §4.2): the decoded size, counted in bounded memory.
Result<std::uint64_t> binary_size(const mime::PartTree& tree, const base::ByteSource& source,
                                  std::span<const std::uint32_t> part);
// RFC 3516 §4.2 / RFC 9051 §4.3.1: data holding a NUL can only travel as literal8.
bool needs_literal8(std::string_view data);

}  // namespace tern::imap
