// Grammar of FETCH, STORE, COPY, MOVE and UID EXPUNGE (RFC 9051 §6.4.5-§6.4.9, RFC 3516, RFC
// 7162, RFC 6851, RFC 4315) and of section specs. Must never accept a section the RFC does not
// define (MIME without a part number, BINARY with a text part).
#include <algorithm>

#include "base/ascii.hpp"
#include "proto/imap/command_parsers.hpp"
#include "proto/imap/fetch.hpp"
#include "proto/imap/grammar_util.hpp"

namespace tern::imap {
using namespace detail;

namespace {

// The names of HEADER.FIELDS (...): the reader kept the list verbatim inside the atom.
// RFC 9051 §9 header-list = "(" header-fld-name *(SP header-fld-name) ")", header-fld-name = astring.
R<std::vector<std::string>> parse_header_list(std::string_view s) {
    if (s.size() < 2 || s.front() != '(' || s.back() != ')') return Err("Invalid header list");
    s = s.substr(1, s.size() - 2);
    std::vector<std::string> out;
    std::size_t i = 0;
    while (true) {
        std::string name;
        if (i < s.size() && s[i] == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                name.push_back(s[i++]);
            }
            if (i >= s.size()) return Err("Invalid header list");
            ++i;
        } else {
            while (i < s.size() && s[i] != ' ') name.push_back(s[i++]);
            if (!is_astring_atom(name)) return Err("Invalid header list");
        }
        // RFC 5322 §3.6.8 field-name = 1*ftext (33-126 except ':')
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; }))
            return Err("Invalid header field name");
        out.push_back(upper(name));
        if (i == s.size()) break;
        if (s[i] != ' ' || i + 1 == s.size()) return Err("Invalid header list");
        ++i;
    }
    return out;
}

// "<offset.length>" (RFC 9051 §9 partial; RFC 3516 §4.1 partial for BINARY too).
R<std::optional<Partial>> parse_partial(std::string_view s) {
    if (s.empty()) return std::optional<Partial>();
    if (s.size() < 5 || s.front() != '<' || s.back() != '>') return Err("Invalid partial");
    s = s.substr(1, s.size() - 2);
    auto dot = s.find('.');
    if (dot == std::string_view::npos) return Err("Invalid partial");
    TERN_IMAP_TRY(off, parse_number(s.substr(0, dot), 0x7FFFFFFFFFFFFFFFull, false, "partial"));
    TERN_IMAP_TRY(len, parse_number(s.substr(dot + 1), 0x7FFFFFFFFFFFFFFFull, true, "partial"));
    return std::optional<Partial>(Partial{off, len});
}

void add(std::vector<FetchItem>& v, FetchItem::Kind k) {
    FetchItem f;
    f.kind = k;
    v.push_back(f);
}

R<void> parse_fetch_item(const Arg& a, std::vector<FetchItem>& out) {
    using K = FetchItem::Kind;
    if (a.kind != Arg::Kind::Atom) return Err("Invalid fetch item");
    std::string_view t = a.text;
    auto open = t.find('[');
    std::string name = upper(t.substr(0, open));
    if (open == std::string_view::npos) {
        static constexpr std::pair<std::string_view, K> simple[] = {
            {"ENVELOPE", K::Envelope}, {"FLAGS", K::Flags}, {"INTERNALDATE", K::InternalDate},
            {"RFC822.SIZE", K::Rfc822Size}, {"RFC822", K::Rfc822}, {"RFC822.HEADER", K::Rfc822Header},
            {"RFC822.TEXT", K::Rfc822Text}, {"BODY", K::Body}, {"BODYSTRUCTURE", K::BodyStructure},
            {"UID", K::Uid}, {"MODSEQ", K::ModSeq}};
        for (auto& [n, k] : simple)
            if (name == n) {
                add(out, k);
                return {};
            }
        return Err("Invalid fetch item " + std::string(t.substr(0, 40)));
    }
    // name[section]<partial>: find the ']' that closes the first '['.
    std::size_t depth = 0, close = std::string_view::npos;
    bool quoted = false;
    for (std::size_t i = open; i < t.size(); ++i) {
        if (quoted) {
            if (t[i] == '\\') ++i;
            else if (t[i] == '"') quoted = false;
        } else if (t[i] == '"') quoted = true;
        else if (t[i] == '[') ++depth;
        else if (t[i] == ']' && --depth == 0) {
            close = i;
            break;
        }
    }
    if (close == std::string_view::npos) return Err("Invalid fetch item: missing ]");
    std::string_view inside = t.substr(open + 1, close - open - 1);
    FetchItem f;
    if (name == "BODY" || name == "BODY.PEEK") {
        f.kind = K::BodySection;
    } else if (name == "BINARY" || name == "BINARY.PEEK") {
        f.kind = K::Binary;
    } else if (name == "BINARY.SIZE") {
        f.kind = K::BinarySize;
    } else {
        return Err("Invalid fetch item " + name);
    }
    f.peek = name.ends_with(".PEEK");
    TERN_IMAP_TRY(sec, parse_section(inside, f.kind != K::BodySection));
    f.section = std::move(sec);
    TERN_IMAP_TRY(partial, parse_partial(t.substr(close + 1)));
    if (partial && f.kind == K::BinarySize) return Err("BINARY.SIZE takes no partial");  // RFC 3516 §4.2
    f.partial = partial;
    out.push_back(std::move(f));
    return {};
}

}  // namespace

std::expected<Section, std::string> parse_section(std::string_view s, bool binary) {
    Section sec;
    // RFC 9051 §9 section-part = nz-number *("." nz-number)
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
        auto dot = s.find('.');
        std::string_view num = s.substr(0, dot);
        TERN_IMAP_TRY(n, parse_number(num, 0xFFFFFFFFull, true, "section part"));
        if (sec.part.size() >= 64) return Err("Section part too deep");
        sec.part.push_back(static_cast<std::uint32_t>(n));
        if (dot == std::string_view::npos) return sec;
        s.remove_prefix(dot + 1);
        if (s.empty()) return Err("Invalid section");
    }
    if (s.empty()) return sec;
    if (binary) return Err("Invalid section: BINARY takes part numbers only");  // RFC 3516 §4.2
    std::string_view word = s.substr(0, s.find(' '));
    std::string w = upper(word);
    using T = Section::Text;
    if (w == "HEADER") sec.text = T::Header;
    else if (w == "TEXT") sec.text = T::Text;
    else if (w == "MIME") sec.text = T::Mime;
    else if (w == "HEADER.FIELDS") sec.text = T::HeaderFields;
    else if (w == "HEADER.FIELDS.NOT") sec.text = T::HeaderFieldsNot;
    else return Err("Invalid section");
    // RFC 9051 §9 section-text: MIME only after a part number (section-part "." "MIME").
    if (sec.text == T::Mime && sec.part.empty()) return Err("Invalid section: MIME needs a part number");
    if (sec.text == T::HeaderFields || sec.text == T::HeaderFieldsNot) {
        if (word.size() == s.size() || s[word.size()] != ' ') return Err("Missing header list");
        TERN_IMAP_TRY(names, parse_header_list(s.substr(word.size() + 1)));
        sec.fields = std::move(names);
    } else if (word.size() != s.size()) {
        return Err("Invalid section");
    }
    return sec;
}

namespace detail {

R<CommandArgs> parse_fetch(Cursor& c, bool uid) {
    FetchArgs f;
    TERN_IMAP_TRY(set, c.sequence_set());
    f.set = std::move(set);
    TERN_IMAP_TRY(what, c.next("fetch items"));
    using K = FetchItem::Kind;
    if (what->kind == Arg::Kind::List) {
        if (what->list.empty()) return Err("Empty fetch item list");
        for (auto& a : what->list) {
            TERN_IMAP_CHECK(parse_fetch_item(a, f.items));
        }
    } else if (what->kind == Arg::Kind::Atom && ascii::iequals(what->text, "ALL")) {
        // RFC 9051 §6.4.5 macros
        for (K k : {K::Flags, K::InternalDate, K::Rfc822Size, K::Envelope}) add(f.items, k);
    } else if (what->kind == Arg::Kind::Atom && ascii::iequals(what->text, "FAST")) {
        for (K k : {K::Flags, K::InternalDate, K::Rfc822Size}) add(f.items, k);
    } else if (what->kind == Arg::Kind::Atom && ascii::iequals(what->text, "FULL")) {
        for (K k : {K::Flags, K::InternalDate, K::Rfc822Size, K::Envelope, K::Body}) add(f.items, k);
    } else {
        TERN_IMAP_CHECK(parse_fetch_item(*what, f.items));
    }
    if (!c.done()) {
        // RFC 7162 §3.1.4.1 fetch-modifier: (CHANGEDSINCE n [VANISHED])
        TERN_IMAP_TRY(mods, c.list("fetch modifiers"));
        Cursor m(*mods, "fetch modifiers");
        while (!m.done()) {
            TERN_IMAP_TRY(name, m.atom("fetch modifier"));
            if (name == "CHANGEDSINCE" && !f.changed_since) {
                TERN_IMAP_TRY(n, m.number64("CHANGEDSINCE value", true));
                f.changed_since = n;
            } else if (name == "VANISHED" && uid && !f.vanished) {
                f.vanished = true;  // RFC 7162 §3.2.6: UID FETCH only
            } else {
                return Err("Invalid fetch modifier " + name);
            }
        }
        // RFC 7162 §3.2.6: VANISHED requires CHANGEDSINCE.
        if (f.vanished && !f.changed_since) return Err("VANISHED needs CHANGEDSINCE");
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(f));
}

R<CommandArgs> parse_store(Cursor& c) {
    StoreArgs s;
    TERN_IMAP_TRY(set, c.sequence_set());
    s.set = std::move(set);
    if (c.peek() && c.peek()->kind == Arg::Kind::List) {
        // RFC 7162 §3.1.3 store-modifier: (UNCHANGEDSINCE n)
        TERN_IMAP_TRY(mods, c.list("store modifiers"));
        Cursor m(*mods, "store modifiers");
        while (!m.done()) {
            TERN_IMAP_TRY(name, m.atom("store modifier"));
            if (name != "UNCHANGEDSINCE" || s.unchanged_since) return Err("Invalid store modifier " + name);
            TERN_IMAP_TRY(n, m.number64("UNCHANGEDSINCE value", false));
            s.unchanged_since = n;
        }
    }
    TERN_IMAP_TRY(item, c.atom("store item"));
    std::string_view it = item;
    if (it.starts_with('+')) s.mode = StoreArgs::Mode::Add, it.remove_prefix(1);
    else if (it.starts_with('-')) s.mode = StoreArgs::Mode::Remove, it.remove_prefix(1);
    if (it == "FLAGS.SILENT") s.silent = true;
    else if (it != "FLAGS") return Err("Invalid store item " + item);
    // RFC 9051 §9 store-att-flags: flag-list / (flag *(SP flag))
    if (c.peek() && c.peek()->kind == Arg::Kind::List) {
        TERN_IMAP_TRY(flags, parse_flag_list(c.take().list));
        s.flags = std::move(flags);
    } else {
        if (c.done()) return Err("Missing flags");
        while (!c.done()) {
            TERN_IMAP_TRY(f, parse_flag(c.take()));
            s.flags.push_back(std::move(f));
        }
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(s));
}

R<CommandArgs> parse_copy(Cursor& c) {
    CopyArgs a;
    TERN_IMAP_TRY(set, c.sequence_set());
    a.set = std::move(set);
    TERN_IMAP_TRY(mb, c.mailbox());
    a.mailbox = std::move(mb);
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(a));
}

R<CommandArgs> parse_uid_expunge(Cursor& c) {
    TERN_IMAP_TRY(set, c.sequence_set());
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(SetArgs{std::move(set)});
}

}  // namespace detail
}  // namespace tern::imap
