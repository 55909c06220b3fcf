// Strict CRLF command-line framing (RFC 5321 §2.3.8: lines end with CRLF only). Pure, incremental.
// Must never end a line on a bare CR or bare LF (SMTP smuggling, CVE-2023-51764), and never
// buffer-grow without bound: anything longer than max_len is reported and skipped.
#include "proto/smtp/line_reader.hpp"

namespace tern::smtp {

LineResult next_line(std::string_view in, std::size_t max_len, bool skipping) {
    using Kind = LineResult::Kind;
    std::size_t crlf = in.find("\r\n");
    if (crlf == std::string_view::npos) {
        // A trailing CR may be the first half of a CRLF split across reads: never consume it.
        bool pending_cr = !in.empty() && in.back() == '\r';
        std::size_t droppable = in.size() - (pending_cr ? 1 : 0);
        // Once the octets before a possible CRLF exceed max_len - 2 the line cannot fit
        // (RFC 5321 §4.5.3.1.4).
        if ((skipping || droppable + 2 > max_len) && droppable > 0)
            return LineResult{Kind::TooLong, {}, droppable, false};
        return LineResult{};  // NeedMore, even after a bare CR / bare LF: they never end a line.
    }
    std::size_t consumed = crlf + 2;
    if (skipping || consumed > max_len) return LineResult{Kind::TooLong, {}, consumed, true};
    std::string_view line = in.substr(0, crlf);
    // Any CR or LF before the first CRLF is bare (RFC 5321 §2.3.8).
    if (line.find_first_of("\r\n") != std::string_view::npos)
        return LineResult{Kind::BareNewline, {}, consumed, true};
    return LineResult{Kind::Line, line, consumed, false};
}

}  // namespace tern::smtp
