// RFC 5322 header-section parser: splits a message into header fields (name, raw folded value,
// byte offsets) and finds where the body starts, for submission checks now and IMAP ENVELOPE,
// DSNs and DKIM later. Pure and bounded. Must never copy the message, never throw, and never
// let a hostile header cost more than linear time or the limits below in memory.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::mime {

// One header field. The views point into the message given to parse_header_section(), which
// must outlive them.
struct HeaderField {
    std::string_view name;       // as written, without the obsolete WSP before the colon (RFC 5322 §4.5)
    std::string_view raw_value;  // everything after the colon, folds (CRLF + WSP) kept, final CRLF not
    std::size_t offset = 0;      // of the field's first byte in the message
    std::size_t length = 0;      // bytes of the whole field including every line's terminator (DKIM
                                 // "relaxed"/"simple" canonicalisation works on exactly these)
    // The value unfolded (RFC 5322 §2.2.3: every CRLF that precedes WSP removed), otherwise
    // unchanged: leading/trailing WSP and comments are left for the caller.
    std::string value() const;
    bool is(std::string_view field_name) const;  // case-insensitive name match (RFC 5322 §1.2.2)
};

struct HeaderLimits {
    std::size_t max_fields = 10000;         // more fields than this: an error, not a parse
    std::size_t max_field_bytes = 1 << 20;  // one (folded) field longer than this: an error
};

struct HeaderSection {
    std::vector<HeaderField> fields;  // in message order
    // Offsets of lines that are neither a field, a continuation of one, nor the empty line (RFC 5322
    // §2.2 forbids them; tolerated and skipped, so a later "From:" is still seen).
    std::vector<std::size_t> junk_lines;
    std::size_t body_offset = 0;      // first byte of the body (after the empty line); size() if none
    bool has_separator = false;       // an empty line ended the header section (RFC 5322 §2.1)

    const HeaderField* find(std::string_view name) const;  // first field so named, or nullptr
    std::vector<const HeaderField*> all(std::string_view name) const;
    std::size_t count(std::string_view name) const;
};

// Parses the header section at the start of `message`. Lines end in CRLF; a bare LF is also taken
// as a line end (messages read from mbox files and local tools). The section ends at the first
// empty line or at the end of the input. Errors only for inputs beyond `limits`.
Result<HeaderSection> parse_header_section(std::string_view message, const HeaderLimits& limits = {});

// RFC 5322 §2.2.3 unfolding of any text: removes CRLF (or LF) that is followed by WSP.
std::string unfold(std::string_view text);

}  // namespace tern::mime
