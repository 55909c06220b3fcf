// Strict CRLF line framing for SMTP commands (RFC 5321 §2.3.8, §4.1.1). Pure, incremental.
// Must never treat a bare CR or bare LF as the end of a line (the SMTP smuggling class,
// CVE-2023-51764): a line containing one is reported as BareNewline.
#pragma once
#include <cstddef>
#include <string_view>

namespace tern::smtp {

struct LineResult {
    enum class Kind { NeedMore, Line, TooLong, BareNewline } kind = Kind::NeedMore;
    std::string_view line;  // for Line: the content without CRLF (points into the input)
    std::size_t consumed = 0;  // bytes of input used (for TooLong/BareNewline: through the next CRLF,
                               // or 0 with NeedMore semantics when no CRLF has arrived yet)
};

// Looks for one complete line at the start of `in`. `max_len` bounds a line including CRLF
// (RFC 5321 §4.5.3.1.4: 512 for command lines). When a line is too long and its CRLF has not yet
// arrived, returns TooLong with consumed = in.size() and the caller keeps discarding until a CRLF
// with `skipping` = true.
LineResult next_line(std::string_view in, std::size_t max_len, bool skipping = false);

}  // namespace tern::smtp
