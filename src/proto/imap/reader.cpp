// IMAP command reader: a byte-at-a-time state machine over RFC 9051 §9's command framing.
// Must never store more than Limits allows, never take literal octets for commands (an error
// skips the rest of the command, its non-synchronizing literals included), never throw.
#include "proto/imap/reader.hpp"

#include <algorithm>
#include <cstring>

#include "base/ascii.hpp"
#include "proto/imap/utf8.hpp"

namespace tern::imap {
namespace {

// RFC 9051 §9: a section spec ("[" ... "]", which may hold spaces, lists and quoted names) follows
// only BODY, BODY.PEEK, BINARY, BINARY.PEEK and BINARY.SIZE; anywhere else '[' is an ordinary
// ATOM-CHAR (a mailbox may be called "a[b").
bool opens_section(std::string_view atom) {
    auto eq = [&](std::string_view w) {
        if (atom.size() != w.size()) return false;
        for (std::size_t i = 0; i < w.size(); ++i)
            if (ascii::upper(atom[i]) != w[i]) return false;
        return true;
    };
    return eq("BODY") || eq("BODY.PEEK") || eq("BINARY") || eq("BINARY.PEEK") || eq("BINARY.SIZE");
}

// RFC 9051 §9 ATOM-CHAR, widened on purpose: '%' and '*' (list-wildcards, sequence sets), '\'
// (flags) and ']' (ASTRING-CHAR) are kept in atoms; the grammar checks each atom in context.
constexpr bool atom_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

// RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">.
constexpr bool tag_char(char c) {
    return atom_char(c) && c != '+' && c != '%' && c != '*' && c != '\\';
}

}  // namespace

void CommandReader::reset() {
    state_ = State::Tag;
    cmd_ = Command{};
    open_.clear();
    cur_ = nullptr;
    line_bytes_ = 0;
    args_ = 0;
    bracket_ = 0;
    lit_size_ = lit_digits_ = 0;
    lit_plus_ = lit8_ = false;
    lit_left_ = lit_total_ = 0;
    error_ = ReadError{};
    failed_ = false;
    tail_.clear();
    raw_.clear();
}

void CommandReader::expect_line() {
    reset();
    state_ = State::RawLine;
}

std::uint64_t CommandReader::literal_max() const {
    // RFC 9051 §6.3.12: APPEND's literal is the message; every other literal is a short string.
    return cmd_.name == "APPEND" ? limits_.max_append_literal : limits_.max_literal;
}

Arg& CommandReader::push_arg(Arg::Kind kind) {
    std::vector<Arg>& v = open_.empty() ? cmd_.args : open_.back()->list;
    v.push_back(Arg{kind, {}, {}});
    ++args_;
    cur_ = &v.back();
    return *cur_;
}

void CommandReader::fail(std::string text, bool close) {
    failed_ = true;
    error_.tag = state_ == State::Tag ? std::string() : cmd_.tag;
    error_.text = std::move(text);
    error_.close = close;
    state_ = State::Skip;
    tail_.clear();
}

Step CommandReader::feed(std::string_view in) {
    std::size_t i = 0;
    Event ev = NeedMore{};
    while (i < in.size()) {
        if (state_ == State::LiteralData || state_ == State::SkipLiteral) {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(lit_left_, in.size() - i));
            std::string_view chunk = in.substr(i, n);
            i += n;
            lit_left_ -= n;
            if (state_ == State::LiteralData) {
                // RFC 9051 §4.3: a literal is CHAR8 (no NUL); literal8 may hold any octet (RFC 3516).
                if (!lit8_ && chunk.find('\0') != std::string_view::npos) {
                    fail("NUL octet in literal");
                    state_ = State::SkipLiteral;
                } else {
                    cur_->text.append(chunk);
                }
            }
            if (lit_left_ == 0) {
                if (state_ == State::SkipLiteral) {
                    state_ = State::Skip;
                } else {
                    cur_ = nullptr;
                    state_ = State::AfterArg;
                }
            }
            continue;
        }
        if (step(in[i++], ev)) return Step{i, std::move(ev)};
    }
    return Step{i, NeedMore{}};
}

bool CommandReader::literal_header_done(Event& out) {
    const bool sync = !lit_plus_;
    const std::uint64_t size = lit_size_;
    std::string why;
    if (lit_plus_ && !limits_.literal_plus && size > kLiteralMinusMax)
        why = "[TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)";  // RFC 7888 §5
    else if (size > literal_max() || lit_total_ + size > limits_.max_command_literals)
        why = "[TOOBIG] Literal too large";  // RFC 9051 §7.1 TOOBIG
    else if (args_ >= limits_.max_args)
        why = "Too many arguments";
    if (!why.empty()) {
        fail(std::move(why));
        if (sync) {
            // The client waits for "+" and will send nothing more of this command (§7.5).
            out = std::move(error_);
            reset();
            return true;
        }
        // The octets follow regardless: discard them, or give up when there are too many.
        if (size > limits_.max_append_literal) {
            error_.close = true;
            out = std::move(error_);
            reset();
            return true;
        }
        lit_left_ = size;
        state_ = size ? State::SkipLiteral : State::Skip;
        return false;
    }
    push_arg(lit8_ ? Arg::Kind::Literal8 : Arg::Kind::Literal);
    cur_->text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, 64 * 1024)));
    lit_left_ = size;
    lit_total_ += size;
    if (size == 0) {
        cur_ = nullptr;
        state_ = State::AfterArg;
    } else {
        state_ = State::LiteralData;
    }
    out = NeedLiteral{size, sync};
    return true;
}

// At the LF that ends a skipped line: a trailing `{n+}` means n octets of literal follow and
// belong to the bad command (RFC 7888 §4); a trailing `{n}` is never sent without our "+".
bool CommandReader::finish_skip(Event& out) {
    std::string_view t = tail_;
    if (t.ends_with("\r\n")) t.remove_suffix(2);
    else t.remove_suffix(1);
    bool found = false, plus = false;
    std::uint64_t n = 0;
    if (t.ends_with('}')) {
        t.remove_suffix(1);
        if (t.ends_with('+')) {
            plus = true;
            t.remove_suffix(1);
        }
        auto open = t.rfind('{');
        if (open != std::string_view::npos && open + 1 < t.size() && t.size() - open - 1 <= 19) {
            std::string_view digits = t.substr(open + 1);
            found = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
            for (char c : digits) n = n * 10 + static_cast<unsigned>(c - '0');
        }
    }
    tail_.clear();
    if (found && plus) {
        if (n > limits_.max_append_literal) {
            error_.close = true;
        } else if (n > 0) {
            lit_left_ = n;
            state_ = State::SkipLiteral;
            return false;
        } else {
            return false;  // `{0+}`: the command goes on on the same line
        }
    }
    out = std::move(error_);
    reset();
    return true;
}

bool CommandReader::step(char c, Event& out) {
    if (++line_bytes_ > limits_.max_line) {
        // RFC 9051 §7.1 TOOBIG. The rest of the line would have to be read to find the next
        // command; an endless line must not keep us busy, so the connection ends.
        std::string tag = state_ == State::Tag || state_ == State::RawLine ? std::string() : cmd_.tag;
        if (failed_) tag = error_.tag;
        out = ReadError{std::move(tag), "[TOOBIG] Command line too long", true};
        reset();
        return true;
    }
    for (;;) {  // `continue` re-examines c in the new state
        switch (state_) {
        case State::Tag:
            if (c == ' ') {
                if (cmd_.tag.empty()) { fail("Missing tag"); continue; }
                state_ = State::Name;
            } else if (tag_char(c)) {
                cmd_.tag.push_back(c);
            } else if (!cmd_.tag.empty() && (c == '\r' || c == '\n')) {
                state_ = State::Name;  // the tag was readable: answer with it
                fail("Missing command name");
                continue;
            } else {
                fail(cmd_.tag.empty() && (c == '\r' || c == '\n') ? "Empty command line"
                                                                 : "Invalid character in tag");
                continue;
            }
            return false;
        case State::Name:
            if (c == ' ' || c == '\r') {
                if (cmd_.name.empty()) { fail("Missing command name"); continue; }
                state_ = c == ' ' ? State::ArgStart : State::EndLF;
            } else if (atom_char(c) && c != '[' && c != ']') {
                cmd_.name.push_back(ascii::upper(c));
            } else if (c == '\n') {
                fail("Line ends with a bare LF");
                continue;
            } else {
                fail(cmd_.name.empty() ? "Missing command name" : "Invalid character in command name");
                continue;
            }
            return false;
        case State::ArgStart:
            if (c == ')' && !open_.empty() && open_.back()->list.empty()) {
                open_.pop_back();
                state_ = State::AfterArg;
                return false;
            }
            if (c == '\r' || c == '\n' || c == ')' || c == ' ') {
                fail(c == ' ' ? "Unexpected double space"
                     : c == ')' ? "Unexpected ')'"
                                : "Unexpected end of line after a space");
                continue;
            }
            if (args_ >= limits_.max_args) { fail("Too many arguments"); continue; }
            if (c == '(') {
                if (open_.size() >= limits_.max_depth) { fail("Lists nested too deeply"); continue; }
                open_.push_back(&push_arg(Arg::Kind::List));
                cur_ = nullptr;
            } else if (c == '"') {
                push_arg(Arg::Kind::Quoted);
                state_ = State::Quoted;
            } else if (c == '{') {
                lit8_ = false;
                lit_size_ = lit_digits_ = 0;
                lit_plus_ = false;
                state_ = State::LiteralHeader;
            } else if (c == '~') {
                state_ = State::Tilde;
            } else if (atom_char(c)) {
                push_arg(Arg::Kind::Atom).text.push_back(c);
                bracket_ = 0;  // '[' opens a section only after BODY/BINARY (see State::Atom)
                state_ = State::Atom;
            } else {
                fail((static_cast<unsigned char>(c) & 0x80) ? "8-bit octet outside a string"
                                                             : "Invalid character in argument");
                continue;
            }
            return false;
        case State::Tilde:  // RFC 3516 literal8 "~{n}", else an atom starting with '~'
            if (c == '{') {
                lit8_ = true;
                lit_size_ = lit_digits_ = 0;
                lit_plus_ = false;
                state_ = State::LiteralHeader;
                return false;
            }
            push_arg(Arg::Kind::Atom).text.push_back('~');
            bracket_ = 0;
            state_ = State::Atom;
            continue;
        case State::Atom:
            if (bracket_ > 0) {
                // Inside a section spec: spaces, lists and quoted header names are part of the atom.
                if (c == '[') ++bracket_;
                else if (c == ']') --bracket_;
                else if (c == '"') state_ = State::AtomQuoted;
                else if (c == '{') { fail("Literal inside [] is not supported"); continue; }
                else if (c != ' ' && c != '(' && c != ')' && !atom_char(c)) {
                    fail("Unterminated [ in argument");
                    continue;
                }
                cur_->text.push_back(c);
                return false;
            }
            if (c == '[' && opens_section(cur_->text)) {
                bracket_ = 1;
                cur_->text.push_back(c);
                return false;
            }
            if (atom_char(c)) {
                cur_->text.push_back(c);
                return false;
            }
            cur_ = nullptr;
            state_ = State::AfterArg;
            continue;
        case State::AtomQuoted:
            if (c == '\r' || c == '\n' || c == '\0') { fail("Unterminated quoted string"); continue; }
            cur_->text.push_back(c);
            if (c == '\\') state_ = State::AtomQuotedEscape;
            else if (c == '"') state_ = State::Atom;
            return false;
        case State::AtomQuotedEscape:
            if (c != '"' && c != '\\') { fail("Invalid escape in quoted string"); continue; }
            cur_->text.push_back(c);
            state_ = State::AtomQuoted;
            return false;
        case State::Quoted:
            if (c == '"') {
                // RFC 9051 §9 utf8-quoted: 8-bit text in a quoted string must be UTF-8.
                if (!valid_utf8(cur_->text)) { fail("Quoted string is not valid UTF-8"); continue; }
                cur_ = nullptr;
                state_ = State::AfterArg;
            } else if (c == '\\') {
                state_ = State::QuotedEscape;
            } else if (c == '\r' || c == '\n') {
                fail("Unterminated quoted string");
                continue;
            } else if (c == '\0') {
                fail("NUL octet in quoted string");  // RFC 9051 §9 QUOTED-CHAR excludes NUL
                continue;
            } else {
                cur_->text.push_back(c);
            }
            return false;
        case State::QuotedEscape:
            // RFC 9051 §9: only quoted-specials ('"' and '\') may be escaped.
            if (c != '"' && c != '\\') { fail("Invalid escape in quoted string"); continue; }
            cur_->text.push_back(c);
            state_ = State::Quoted;
            return false;
        case State::LiteralHeader:
            if (c >= '0' && c <= '9' && !lit_plus_) {
                if (++lit_digits_ > 19) { fail("Literal size too large"); continue; }
                lit_size_ = lit_size_ * 10 + static_cast<unsigned>(c - '0');
            } else if (c == '+' && lit_digits_ > 0 && !lit_plus_) {
                lit_plus_ = true;  // RFC 7888 §3 non-synchronizing literal
            } else if (c == '}' && lit_digits_ > 0) {
                state_ = State::LiteralCR;
            } else {
                fail("Invalid literal size");
                continue;
            }
            return false;
        case State::LiteralCR:
            if (c != '\r') { fail("A literal's size must end the line"); continue; }
            state_ = State::LiteralLF;
            return false;
        case State::LiteralLF:
            if (c != '\n') { fail("CR without LF"); continue; }
            return literal_header_done(out);
        case State::AfterArg:
            if (c == ' ') {
                state_ = State::ArgStart;
            } else if (c == ')') {
                if (open_.empty()) { fail("Unexpected ')'"); continue; }
                open_.pop_back();
            } else if (c == '\r') {
                if (!open_.empty()) { fail("Missing ')'"); continue; }
                state_ = State::EndLF;
            } else {
                fail(c == '\n' ? "Line ends with a bare LF" : "Missing space between arguments");
                continue;
            }
            return false;
        case State::EndLF:
            if (c != '\n') { fail("CR without LF"); continue; }
            out = std::move(cmd_);
            reset();
            return true;
        case State::Skip:
            tail_.push_back(c);
            if (tail_.size() > 32) tail_.erase(0, tail_.size() - 32);
            if (c == '\n') return finish_skip(out);
            return false;
        case State::RawLine:
            if (c == '\r') {
                state_ = State::RawLineLF;
            } else if (c == '\n' || c == '\0') {
                fail(c == '\n' ? "Line ends with a bare LF" : "NUL octet in line");
                continue;
            } else {
                raw_.push_back(c);
            }
            return false;
        case State::RawLineLF:
            if (c != '\n') { fail("CR without LF"); continue; }
            out = Line{std::move(raw_)};
            reset();
            return true;
        case State::LiteralData:
        case State::SkipLiteral:
            return false;  // handled in feed()
        }
        return false;
    }
}

}  // namespace tern::imap
