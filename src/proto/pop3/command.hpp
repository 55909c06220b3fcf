// POP3 command line parser (RFC 1939 §3, RFC 2449 §3-§4, RFC 2595 §4 STLS, RFC 5034 §4 AUTH). Pure:
// one line without its CRLF in, a Command or the text of an -ERR reply out. Must never read a
// socket, and never accept a line containing CR, LF or NUL.
#pragma once
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace tern::pop3 {

// RFC 2449 §4: a command line is at most 255 octets including the CRLF.
inline constexpr std::size_t kMaxCommandLine = 255;

enum class Verb { User, Pass, Apop, Auth, Capa, Stls, Stat, List, Uidl, Retr, Dele, Top, Rset, Noop, Quit };

struct Command {
    Verb verb{};
    std::string arg1;              // USER name; PASS password (the whole rest of the line, spaces
                                   // included: RFC 1939 §7); APOP name; AUTH mechanism (upper-cased)
    std::string arg2;              // APOP digest; AUTH initial response (still base64, "=" = empty)
    bool has_arg2 = false;         // AUTH: an initial response was given
    std::optional<std::uint64_t> msg;  // LIST/UIDL [msg], RETR/DELE/TOP msg. Values too large for
                                       // 64 bits saturate: they can only mean "no such message".
    std::uint64_t lines = 0;           // TOP line count (saturating)
};

// Why a line was refused; `text` goes after "-ERR ".
struct CommandError {
    enum class Kind { Unknown, Syntax } kind = Kind::Syntax;
    std::string text;
};

std::string_view verb_name(Verb v);

// Keywords are case-insensitive, 3-4 characters (RFC 1939 §3, RFC 2449 §3); arguments are separated
// by single spaces. Argument counts and numbers are checked per command.
std::expected<Command, CommandError> parse_command(std::string_view line);

}  // namespace tern::pop3
