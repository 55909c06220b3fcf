// POP3 response formatting (RFC 1939 §3, RFC 2449 §8 response codes, RFC 3206), multi-line
// byte-stuffing (RFC 1939 §3), TOP extraction (§7) and UIDL checks (§7). Pure. Must never let caller
// text put a CR or LF on the wire, and never end a multi-line body without CRLF "." CRLF.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::pop3 {

// RFC 2449 §8 / RFC 3206 response codes.
namespace code {
inline constexpr std::string_view kInUse = "IN-USE";          // RFC 2449 §8.1.2
inline constexpr std::string_view kLoginDelay = "LOGIN-DELAY";  // RFC 2449 §8.1.1
inline constexpr std::string_view kSysTemp = "SYS/TEMP";      // RFC 3206 §4
inline constexpr std::string_view kSysPerm = "SYS/PERM";      // RFC 3206 §4
inline constexpr std::string_view kAuth = "AUTH";             // RFC 3206 §5
}  // namespace code

// "+OK text\r\n" ("+OK\r\n" when text is empty). CR, LF and NUL in text are dropped.
std::string ok(std::string_view text = {});
// "-ERR [CODE] text\r\n"; the bracket is left out when `resp_code` is empty.
std::string err(std::string_view resp_code, std::string_view text);
inline std::string err(std::string_view text) { return err({}, text); }

// Appends `data` as the body of a multi-line response (RFC 1939 §3): every line starting with "."
// gets one more "."; a missing final CRLF is added; then the ".\r\n" terminator. A line start is
// any position after an LF, so even a stored bare LF cannot smuggle a terminator.
void append_multiline(std::string& out, std::string_view data);
// The number of octets append_multiline adds, for reserving.
std::size_t multiline_size(std::string_view data);

// RFC 1939 §7 TOP: the header, the blank line after it and the first `lines` body lines, as a prefix
// of `message` (no copy). A message without a blank line is all header and returned whole.
std::string_view top_of(std::string_view message, std::uint64_t lines);

// append_multiline() for a body that arrives in pieces (RETR/TOP of a large message, read in
// chunks): feeding the pieces of `data` in order and then calling finish() appends exactly what
// append_multiline(out, data) does, wherever the pieces were split (a "." after an LF that ended
// the previous piece, a CR at the end of one). Pure.
class MultilineStuffer {
public:
    void append(std::string& out, std::string_view piece);
    void finish(std::string& out);  // the CRLF a message may lack, then ".\r\n"

private:
    bool line_start_ = true;  // the next octet starts a line (nothing yet, or the last was an LF)
    bool any_ = false;        // some octet was fed
    char last_ = 0, before_last_ = 0;
};

// top_of() for a message that arrives in pieces: take() says how many octets at the front of each
// piece belong to the TOP response; once done() the rest of the message is not needed.
class TopCutter {
public:
    explicit TopCutter(std::uint64_t lines) : left_(lines) {}
    std::size_t take(std::string_view piece);
    bool done() const { return done_; }

private:
    bool header_ = true;      // still in the header section
    std::size_t line_len_ = 0;  // octets of the current header line so far
    bool line_cr_ = false;    // ... and they are just "\r"
    std::uint64_t left_;      // body lines still to send
    bool done_ = false;
};

// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E.
bool valid_uidl(std::string_view uidl);

}  // namespace tern::pop3
