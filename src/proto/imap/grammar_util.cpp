// RFC 9051 §9 terminals for the grammar files: astring, number, nz-number, flags. Must never
// accept what the ABNF refuses (no '*', '%', ']' in plain atoms; no NUL anywhere).
#include "proto/imap/grammar_util.hpp"

#include "base/ascii.hpp"

namespace tern::imap::detail {

bool atom_char(char c) {
    auto u = static_cast<unsigned char>(c);
    // atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
    return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' &&
           c != '\\' && c != ']';
}

bool is_atom(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!atom_char(c)) return false;
    return true;
}

bool is_astring_atom(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!atom_char(c) && c != ']') return false;
    return true;
}

bool is_nil(const Arg& a) { return a.kind == Arg::Kind::Atom && ascii::iequals(a.text, "NIL"); }

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = ascii::upper(c);
    return out;
}

R<std::uint64_t> parse_number(std::string_view s, std::uint64_t max, bool nonzero, std::string_view what) {
    if (s.empty() || s.size() > 20) return Err("Invalid " + std::string(what));
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return Err("Invalid " + std::string(what));
        if (v > (max - static_cast<unsigned>(c - '0')) / 10) return Err("Invalid " + std::string(what));
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (nonzero && v == 0) return Err("Invalid " + std::string(what));
    return v;
}

R<std::string> string_arg(const Arg& a, std::string_view what) {
    if (a.kind == Arg::Kind::Literal || a.kind == Arg::Kind::Quoted) return a.text;
    return Err("Invalid " + std::string(what));
}

R<std::string> astring_arg(const Arg& a, std::string_view what) {
    if (a.kind == Arg::Kind::Atom && is_astring_atom(a.text)) return a.text;
    // RFC 9051 §4.3: a literal is CHAR8 (the reader refused NUL already).
    if (a.kind == Arg::Kind::Literal || a.kind == Arg::Kind::Quoted) return a.text;
    return Err("Invalid " + std::string(what));
}

R<const Arg*> Cursor::next(std::string_view what) {
    if (done()) return Err("Missing " + std::string(what));
    return &args_[i_++];
}

R<std::string> Cursor::astring(std::string_view what) {
    TERN_IMAP_TRY(a, next(what));
    return astring_arg(*a, what);
}

R<std::string> Cursor::atom(std::string_view what) {
    TERN_IMAP_TRY(a, next(what));
    if (a->kind != Arg::Kind::Atom || a->text.empty()) return Err("Invalid " + std::string(what));
    return upper(a->text);
}

R<std::uint32_t> Cursor::number(std::string_view what, bool nonzero) {
    TERN_IMAP_TRY(a, next(what));
    if (a->kind != Arg::Kind::Atom) return Err("Invalid " + std::string(what));
    TERN_IMAP_TRY(v, parse_number(a->text, 0xFFFFFFFFull, nonzero, what));
    return static_cast<std::uint32_t>(v);
}

R<std::uint64_t> Cursor::number64(std::string_view what, bool nonzero) {
    TERN_IMAP_TRY(a, next(what));
    if (a->kind != Arg::Kind::Atom) return Err("Invalid " + std::string(what));
    // RFC 9051 §9 number64 = 1*DIGIT, 0 <= n <= 9,223,372,036,854,775,807
    return parse_number(a->text, 0x7FFFFFFFFFFFFFFFull, nonzero, what);
}

R<SequenceSet> Cursor::sequence_set() {
    TERN_IMAP_TRY(a, next("sequence set"));
    if (a->kind != Arg::Kind::Atom) return Err("Invalid sequence set");
    return parse_sequence_set(a->text);
}

R<const std::vector<Arg>*> Cursor::list(std::string_view what) {
    TERN_IMAP_TRY(a, next(what));
    if (a->kind != Arg::Kind::List) return Err("Invalid " + std::string(what) + ": expected a list");
    return &a->list;
}

R<void> Cursor::end() const {
    if (!done()) return Err("Unexpected argument after " + std::string(what_));
    return {};
}

bool Cursor::peek_atom(std::string_view u) const {
    auto* a = peek();
    return a && a->kind == Arg::Kind::Atom && ascii::iequals(a->text, u);
}

R<std::string> parse_flag(const Arg& a) {
    if (a.kind != Arg::Kind::Atom) return Err("Invalid flag");
    std::string_view t = a.text;
    if (t.starts_with('\\')) {
        // RFC 9051 §9 flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
        // flag-keyword / flag-extension; \Recent cannot be set (RFC 3501 §2.3.2), \* is a
        // response-only token.
        if (!is_atom(t.substr(1)) || ascii::iequals(t, "\\Recent")) return Err("Invalid flag " + a.text);
        for (auto sys : {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"})
            if (ascii::iequals(t, sys)) return std::string(sys);
        return a.text;
    }
    if (!is_atom(t)) return Err("Invalid flag");
    return a.text;
}

R<std::vector<std::string>> parse_flag_list(const std::vector<Arg>& list) {
    std::vector<std::string> out;
    for (auto& a : list) {
        TERN_IMAP_TRY(f, parse_flag(a));
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace tern::imap::detail
