// Turns a message as stored into what goes on the wire after DATA or in BDAT chunks: CRLF line
// ends only (a bare CR or LF becomes CRLF, RFC 5321 §2.3.8) and, for DATA, dot-stuffing (RFC 5321
// §4.5.2, the first line included); lines longer than a limit are broken. Works a chunk at a time
// with state carried across chunk boundaries. Pure; must never emit a bare CR or LF, a line
// starting "." unstuffed in DATA, or (with a limit) a line longer than the limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::client::smtp {

class BodyEncoder {
public:
    // `max_line` > 0: a line that would grow past it (octets on the wire, CRLF excluded) is broken
    // by inserting CRLF SP, as Postfix's smtp_line_length_limit does (RFC 5321 §4.5.3.1.6 allows
    // 998): in a header that is folding, and MIME text survives it better than truncation.
    explicit BodyEncoder(bool dot_stuff, std::size_t max_line = 0) : dot_stuff_(dot_stuff), max_line_(max_line) {}
    // Appends the encoded form of `chunk` to `out`.
    void feed(std::string_view chunk, std::string& out);
    // Ends the message: a final CRLF if the last line lacked one and, for DATA, ".\r\n".
    void finish(std::string& out);

private:
    void put(char c, std::string& out);
    bool dot_stuff_;
    std::size_t max_line_;
    std::size_t column_ = 0;  // octets of the current line sent so far
    bool line_start_ = true;
    bool pending_cr_ = false;
};

// What the client must know about a body before it offers it (RFC 6152, RFC 5321 §4.5.3.1.6),
// computed on the body as it will be sent (line ends normalised).
class BodyScan {
public:
    void feed(std::string_view chunk);
    void finish();
    bool eight_bit() const { return eight_bit_; }
    std::size_t longest_line() const { return longest_; }  // octets, CRLF excluded

private:
    void end_line();
    bool eight_bit_ = false;
    bool pending_cr_ = false;
    std::size_t line_ = 0;
    std::size_t longest_ = 0;
};

}  // namespace tern::client::smtp
