// Strict CRLF line framing for SMTP commands (RFC 5321 §2.3.8, §4.1.1). Pure, incremental.
// Must never treat a bare CR or bare LF as the end of a line (the SMTP smuggling class,
// CVE-2023-51764): a line containing one is reported as BareNewline.
#pragma once
#include <cstddef>
#include <string_view>

namespace tern::smtp {

struct LineResult {
    enum class Kind { NeedMore, Line, TooLong, BareNewline } kind = Kind::NeedMore;
    std::string_view line;     // for Line: the content without CRLF (points into the input)
    std::size_t consumed = 0;  // bytes of input the caller must drop (0 for NeedMore)
    bool complete = false;     // TooLong/BareNewline: the bad line's CRLF was consumed. When false the
                               // caller must keep calling with `skipping` = true until it is.
};

// Looks for one complete line at the start of `in`. `max_len` bounds a line including CRLF
// (RFC 5321 §4.5.3.1.4: 512 for command lines).
//  - Line: a CRLF-terminated line of at most max_len octets with no bare CR / bare LF in it.
//  - BareNewline: a CRLF-terminated line of at most max_len octets that contains a bare CR or a
//    bare LF; consumed runs through the CRLF (complete = true). A bare CR/LF never ends a line:
//    while no CRLF has arrived the answer is NeedMore, until the line can no longer fit (TooLong).
//  - TooLong: the line exceeds max_len. If its CRLF is present, consumed runs through it
//    (complete = true). Otherwise (reported as soon as more than max_len - 2 octets precede any
//    possible CRLF) consumed = everything but a trailing CR, which may start the CRLF, and
//    complete = false: the caller keeps discarding with `skipping` = true.
//  - skipping = true: discards through the first CRLF; returns TooLong (complete tells whether the
//    CRLF was reached) or NeedMore when nothing can be discarded yet. Reply to the client once,
//    on the first TooLong seen with skipping = false.
LineResult next_line(std::string_view in, std::size_t max_len, bool skipping = false);

}  // namespace tern::smtp
