// POP3 command line parsing (RFC 1939 §3, §9; RFC 2449 §3; RFC 5034 §4). Pure. Must never accept CR,
// LF or NUL inside a line, nor an argument list with empty fields (double or trailing spaces),
// except for PASS whose argument is taken verbatim (RFC 1939 §7).
#include "base/ascii.hpp"
#include "proto/pop3/command.hpp"

#include <array>
#include <limits>
#include <vector>

namespace tern::pop3 {
namespace {

using ascii::upper;

struct Keyword { std::string_view name; Verb verb; };
constexpr std::array<Keyword, 15> kKeywords{{
    {"USER", Verb::User}, {"PASS", Verb::Pass}, {"APOP", Verb::Apop}, {"AUTH", Verb::Auth},
    {"CAPA", Verb::Capa}, {"STLS", Verb::Stls}, {"STAT", Verb::Stat}, {"LIST", Verb::List},
    {"UIDL", Verb::Uidl}, {"RETR", Verb::Retr}, {"DELE", Verb::Dele}, {"TOP", Verb::Top},
    {"RSET", Verb::Rset}, {"NOOP", Verb::Noop}, {"QUIT", Verb::Quit},
}};

std::unexpected<CommandError> syntax(std::string text) {
    return std::unexpected(CommandError{CommandError::Kind::Syntax, std::move(text)});
}

// Splits on single spaces; an empty field (leading, double or trailing space) makes it fail.
std::optional<std::vector<std::string_view>> split_args(std::string_view s) {
    std::vector<std::string_view> out;
    if (s.empty()) return out;
    for (;;) {
        auto sp = s.find(' ');
        std::string_view field = s.substr(0, sp);
        if (field.empty()) return std::nullopt;
        out.push_back(field);
        if (sp == std::string_view::npos) return out;
        s.remove_prefix(sp + 1);
    }
}

// RFC 1939 §3: numeric arguments are decimal; no sign. Saturates instead of overflowing.
std::optional<std::uint64_t> number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        unsigned d = static_cast<unsigned>(c - '0');
        v = (v > (max - d) / 10) ? max : v * 10 + d;
    }
    return v;
}

}  // namespace

std::string_view verb_name(Verb v) {
    for (const auto& k : kKeywords)
        if (k.verb == v) return k.name;
    return "?";
}

std::expected<Command, CommandError> parse_command(std::string_view line) {
    for (char c : line)
        if (c == '\r' || c == '\n' || c == '\0') return syntax("Invalid characters in command");
    auto sp = line.find(' ');
    std::string_view kw = line.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    bool had_space = sp != std::string_view::npos;

    std::optional<Verb> verb;
    if (kw.size() >= 3 && kw.size() <= 4) {
        std::string up;
        for (char c : kw) up.push_back(upper(c));
        for (const auto& k : kKeywords)
            if (k.name == up) verb = k.verb;
    }
    if (!verb) return std::unexpected(CommandError{CommandError::Kind::Unknown, "Unknown command"});

    Command cmd;
    cmd.verb = *verb;
    if (cmd.verb == Verb::Pass) {
        // RFC 1939 §7: the server may treat spaces in the argument as part of the password.
        if (rest.empty()) return syntax("Syntax: PASS password");
        cmd.arg1 = std::string(rest);
        return cmd;
    }
    auto args = split_args(rest);
    if (!args || (had_space && args->empty())) return syntax("Syntax error: extra spaces in command");
    const auto& a = *args;
    auto count_is = [&](std::size_t lo, std::size_t hi) { return a.size() >= lo && a.size() <= hi; };

    switch (cmd.verb) {
        case Verb::Capa: case Verb::Stls: case Verb::Stat: case Verb::Rset: case Verb::Noop: case Verb::Quit:
            if (!a.empty()) return syntax(std::string("Syntax: ") + std::string(verb_name(cmd.verb)));
            return cmd;
        case Verb::User:
            if (!count_is(1, 1)) return syntax("Syntax: USER name");
            cmd.arg1 = std::string(a[0]);
            return cmd;
        case Verb::Apop:
            // RFC 1939 §7: APOP name digest.
            if (!count_is(2, 2)) return syntax("Syntax: APOP name digest");
            cmd.arg1 = std::string(a[0]);
            cmd.arg2 = std::string(a[1]);
            return cmd;
        case Verb::Auth:
            // RFC 5034 §4: AUTH mechanism [initial-response].
            if (!count_is(1, 2)) return syntax("Syntax: AUTH mechanism [initial-response]");
            for (char c : a[0]) cmd.arg1.push_back(upper(c));
            if (a.size() == 2) {
                cmd.arg2 = std::string(a[1]);
                cmd.has_arg2 = true;
            }
            return cmd;
        case Verb::List: case Verb::Uidl:
            if (!count_is(0, 1)) return syntax(std::string("Syntax: ") + std::string(verb_name(cmd.verb)) + " [msg]");
            if (a.size() == 1) {
                cmd.msg = number(a[0]);
                if (!cmd.msg) return syntax("Invalid message number");
            }
            return cmd;
        case Verb::Retr: case Verb::Dele:
            if (!count_is(1, 1)) return syntax(std::string("Syntax: ") + std::string(verb_name(cmd.verb)) + " msg");
            cmd.msg = number(a[0]);
            if (!cmd.msg) return syntax("Invalid message number");
            return cmd;
        case Verb::Top: {
            // RFC 1939 §7: TOP msg n, n non-negative.
            if (!count_is(2, 2)) return syntax("Syntax: TOP msg lines");
            cmd.msg = number(a[0]);
            if (!cmd.msg) return syntax("Invalid message number");
            auto n = number(a[1]);
            if (!n) return syntax("Invalid line count");
            cmd.lines = *n;
            return cmd;
        }
        case Verb::Pass:
            break;
    }
    return cmd;
}

}  // namespace tern::pop3
