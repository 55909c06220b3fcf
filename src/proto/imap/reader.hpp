// IMAP command reader (RFC 9051 §2.2, §4, §9; RFC 7888 LITERAL+/LITERAL-; RFC 3516 literal8):
// bytes in, one command as a token tree out, or NeedMore / NeedLiteral / a BAD-worthy error.
// Pure and incremental: must never read a socket, block, or buffer beyond the caller's limits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tern::imap {

// One argument as the tokenizer sees it. The grammar (command.hpp) gives it meaning: NIL, a
// number, a sequence set, a flag and a mailbox pattern are all Atoms here.
struct Arg {
    enum class Kind { Atom, Quoted, Literal, Literal8, List };
    Kind kind = Kind::Atom;
    // Atom: its text. An atom holding '[' runs to the matching ']' and may contain spaces,
    // parentheses and quoted strings there (`BODY[HEADER.FIELDS (From "To")]<0.10>`, RFC 9051
    // §6.4.5), kept verbatim for the section parser. Quoted: the unescaped content.
    // Literal/Literal8: the octets.
    std::string text;
    std::vector<Arg> list;  // List: the elements
    bool operator==(const Arg&) const = default;

    bool is_string() const { return kind == Kind::Quoted || kind == Kind::Literal; }
    bool is_atom() const { return kind == Kind::Atom; }
};

struct Command {
    std::string tag;
    std::string name;  // upper-cased ASCII (command names are case-insensitive, RFC 9051 §9)
    std::vector<Arg> args;
    bool operator==(const Command&) const = default;
};

struct Limits {
    // Non-literal text of one command, CRLFs and literal headers included (RFC 9051 §4 leaves
    // the limit to the server; RFC 7162 §4 asks for at least 8192 octets).
    std::size_t max_line = 64 * 1024;
    // Largest literal for any command but APPEND, and for APPEND's message (RFC 9051 §6.3.12).
    std::uint64_t max_literal = 64 * 1024;
    std::uint64_t max_append_literal = 64ull * 1024 * 1024;
    // Sum of every literal in one command (MULTIAPPEND sends several).
    std::uint64_t max_command_literals = 64ull * 1024 * 1024;
    std::size_t max_depth = 8;      // parenthesised list nesting; 1 before login is sensible
    std::size_t max_args = 10000;   // arguments counted at every nesting level
    // true: LITERAL+ advertised, `{n+}` up to the literal limits; false: LITERAL- (RFC 7888 §5),
    // `{n+}` only up to 4096 octets.
    bool literal_plus = true;
};

inline constexpr std::uint64_t kLiteralMinusMax = 4096;  // RFC 7888 §5

struct NeedMore {};
// A literal header `{n}`, `{n+}` or `~{n}` was read (through its CRLF). For a synchronizing
// literal the caller sends a continuation ("+ Ready", RFC 9051 §7.5) — or abandons the command
// with reset() and a tagged NO/BAD — then feeds the octets. A non-synchronizing one needs no
// answer; it is reported so the caller may log or account for it.
struct NeedLiteral {
    std::uint64_t size = 0;
    bool synchronizing = true;
    bool operator==(const NeedLiteral&) const = default;
};
// A command the reader refused. `text` follows "BAD " (it may start with a response code such as
// "[TOOBIG] "); `tag` is empty when no tag was readable (answer with "* BAD", RFC 9051 §7.1.5).
// The reader has consumed the whole bad command (non-synchronizing literals included) unless
// `close` is set: then it cannot find the next command safely and the caller should send BAD
// and close the connection (RFC 7888 §4 allows this for an over-large LITERAL+).
struct ReadError {
    std::string tag;
    std::string text;
    bool close = false;
    bool operator==(const ReadError&) const = default;
};
// A raw line asked for with expect_line(): IDLE's "DONE" (RFC 9051 §6.3.13) or an AUTHENTICATE
// response (RFC 9051 §6.2.2). Without its CRLF.
struct Line {
    std::string text;
    bool operator==(const Line&) const = default;
};

using Event = std::variant<NeedMore, NeedLiteral, Command, ReadError, Line>;

struct Step {
    std::size_t consumed = 0;  // octets of the input used; the caller keeps the rest for next time
    Event event;
};

class CommandReader {
public:
    explicit CommandReader(Limits limits = {}) : limits_(limits) {}

    // Consumes input until an event: a complete command (consumed ends just after its CRLF), a
    // literal header, an error, or — all input used — NeedMore. Call again with the rest.
    Step feed(std::string_view in);

    // The next feed() returns one raw line (at most max_line octets, else a closing ReadError)
    // instead of a command. Only between commands.
    void expect_line();

    // Forget the command being read (after refusing a synchronizing literal: the client will not
    // send it, RFC 9051 §7.5). Limits may change between commands (e.g. after login).
    void reset();
    void set_limits(const Limits& l) { limits_ = l; }
    // The command read so far, valid after NeedLiteral until the next feed(): lets the session
    // check APPEND's mailbox before it answers "+" (RFC 9051 §6.3.12 TRYCREATE). The literal
    // being announced is its last argument (at its innermost open list), still empty.
    const Command& pending() const { return cmd_; }
    const Limits& limits() const { return limits_; }

private:
    enum class State {
        Tag, Name, ArgStart, Atom, AtomQuoted, AtomQuotedEscape, Quoted, QuotedEscape, Tilde,
        LiteralHeader, LiteralCR, LiteralLF, LiteralData, AfterArg, EndLF, Skip, SkipLiteral,
        RawLine, RawLineLF
    };
    bool step(char c, Event& out);  // one byte of non-literal text; true when an event is ready
    void fail(std::string text, bool close = false);
    Arg& push_arg(Arg::Kind kind);
    bool finish_skip(Event& out);
    bool literal_header_done(Event& out);
    std::uint64_t literal_max() const;

    Limits limits_;
    State state_ = State::Tag;
    Command cmd_;
    std::vector<Arg*> open_;  // open lists, innermost last (pointers into cmd_.args' tree)
    Arg* cur_ = nullptr;      // the atom/quoted/literal being read
    std::size_t line_bytes_ = 0;
    std::size_t args_ = 0;
    std::size_t bracket_ = 0;  // '[' depth inside the current atom
    // Literal header / data.
    std::uint64_t lit_size_ = 0;
    std::size_t lit_digits_ = 0;
    bool lit_plus_ = false;
    bool lit8_ = false;
    std::uint64_t lit_left_ = 0;
    std::uint64_t lit_total_ = 0;
    // Error recovery: skip through the end of the bad command.
    ReadError error_;
    bool failed_ = false;
    std::string tail_;  // the last octets of the skipped line, to find a `{n+}` at its end
    std::string raw_;   // expect_line()'s line
};

}  // namespace tern::imap
