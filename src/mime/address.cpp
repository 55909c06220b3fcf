// RFC 5322 §3.4 address parser (see address.hpp): a lexer that resolves CFWS, quoted strings and
// domain literals into tokens, then a small recursive-descent parser over the tokens (its depth
// is fixed by the grammar, never by the input). Must never accept unbalanced quotes, comments
// or angle brackets, and never loop without consuming a token.
#include "mime/address.hpp"

#include <cstdint>

namespace tern::mime {
namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 §3.2.3 atext, plus RFC 6532 §3.2 UTF8-non-ascii (bytes >= 0x80 taken as they are).
constexpr bool is_atext(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80) return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
        case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
        case '~':
            return true;
        default:
            return false;
    }
}

// Controls that no part of an address may carry: NUL and C0 other than HTAB, and DEL.
// (RFC 5322 §4.1 obs-NO-WS-CTL is tolerated nowhere: it only ever shows up in attacks.)
constexpr bool is_bad_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

enum class Kind : std::uint8_t { Atom, Quoted, Literal, Special, End };

struct Token {
    Kind kind = Kind::End;
    char special = 0;          // for Kind::Special: one of < > : ; @ , .
    bool space_before = false; // CFWS (white space or a comment) preceded it
    bool comment_before = false;  // a comment was in that CFWS; `comment` is the last one's text
    std::string comment;
    std::size_t offset = 0;
    std::string text;          // Atom as written; Quoted unquoted; Literal with its brackets
};

struct Lexer {
    std::string_view in;
    std::size_t i = 0;

    AddressError error(std::size_t at, std::string msg) const { return AddressError{at, std::move(msg)}; }

    // FWS (RFC 5322 §3.2.2): WSP, or CRLF followed by WSP (a fold left in the value). True if a
    // fold was skipped at i; a CR or LF that is no fold is left for the caller to refuse.
    bool skip_fold() {
        if (in.substr(i, 2) == "\r\n" && i + 2 < in.size() && is_wsp(in[i + 2])) {
            i += 2;
            return true;
        }
        if (in[i] == '\n' && i + 1 < in.size() && is_wsp(in[i + 1])) {
            i += 1;
            return true;
        }
        return false;
    }

    // A comment (RFC 5322 §3.2.2), nesting counted, not recursed; i is at "(". `text` gets its
    // content: outer parentheses off, quoted-pairs resolved, a fold's CRLF dropped.
    std::expected<void, AddressError> comment(std::string& text) {
        std::size_t start = i;
        std::size_t depth = 0;
        text.clear();
        while (i < in.size()) {
            auto c = static_cast<unsigned char>(in[i]);
            if (c == '\\') {  // quoted-pair (RFC 5322 §3.2.1)
                if (i + 1 >= in.size()) break;
                if (is_bad_control(static_cast<unsigned char>(in[i + 1])))
                    return std::unexpected(error(i + 1, "control character in comment"));
                text += in[i + 1];
                i += 2;
                continue;
            }
            if (c == '(') {
                if (++depth > kMaxCommentDepth)
                    return std::unexpected(error(i, "comments nested too deeply"));
                if (depth == 1) {
                    ++i;
                    continue;
                }
            } else if (c == ')') {
                if (--depth == 0) {
                    ++i;
                    return {};
                }
            } else if (c == '\r' || c == '\n') {
                if (!skip_fold()) return std::unexpected(error(i, "line break in comment"));
                continue;
            } else if (is_bad_control(c)) {
                return std::unexpected(error(i, "control character in comment"));
            }
            text += static_cast<char>(c);
            ++i;
        }
        return std::unexpected(error(start, "unterminated comment: '(' without ')'"));
    }

    // quoted-string (RFC 5322 §3.2.4); i is at the opening DQUOTE. Folds are unfolded.
    std::expected<std::string, AddressError> quoted() {
        std::size_t start = i++;
        std::string out;
        while (i < in.size()) {
            auto c = static_cast<unsigned char>(in[i]);
            if (c == '"') {
                ++i;
                return out;
            }
            if (c == '\\') {
                if (i + 1 >= in.size()) break;
                auto q = static_cast<unsigned char>(in[i + 1]);
                if (is_bad_control(q)) return std::unexpected(error(i + 1, "control character in quoted string"));
                out += static_cast<char>(q);
                i += 2;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (!skip_fold()) return std::unexpected(error(i, "line break in quoted string"));
                continue;
            }
            if (is_bad_control(c)) return std::unexpected(error(i, "control character in quoted string"));
            out += static_cast<char>(c);
            ++i;
        }
        return std::unexpected(error(start, "unterminated quoted string: '\"' without its closing '\"'"));
    }

    // domain-literal (RFC 5322 §3.4.1, obs-dtext §4.4); i is at "[". Kept with its brackets and
    // quoted-pairs, white space inside removed.
    std::expected<std::string, AddressError> literal() {
        std::size_t start = i++;
        std::string out = "[";
        while (i < in.size()) {
            auto c = static_cast<unsigned char>(in[i]);
            if (c == ']') {
                ++i;
                return out + "]";
            }
            if (c == '[') return std::unexpected(error(i, "'[' inside a domain literal"));
            if (c == '\\') {
                if (i + 1 >= in.size()) break;
                auto q = static_cast<unsigned char>(in[i + 1]);
                if (is_bad_control(q)) return std::unexpected(error(i + 1, "control character in domain literal"));
                out += '\\';  // kept as written, so the literal reads back the same
                out += static_cast<char>(q);
                i += 2;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (!skip_fold()) return std::unexpected(error(i, "line break in domain literal"));
                continue;
            }
            if (is_bad_control(c)) return std::unexpected(error(i, "control character in domain literal"));
            if (!is_wsp(static_cast<char>(c))) out += static_cast<char>(c);
            ++i;
        }
        return std::unexpected(error(start, "unterminated domain literal: '[' without ']'"));
    }

    std::expected<std::vector<Token>, AddressError> run() {
        std::vector<Token> out;
        bool space = false;
        bool had_comment = false;
        std::string last_comment;
        while (i < in.size()) {
            auto c = static_cast<unsigned char>(in[i]);
            if (is_wsp(static_cast<char>(c))) {
                space = true;
                ++i;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (!skip_fold()) return std::unexpected(error(i, "line break that is no fold"));
                space = true;
                continue;
            }
            if (c == '(') {
                if (auto r = comment(last_comment); !r) return std::unexpected(r.error());
                space = true;
                had_comment = true;
                continue;
            }
            Token t;
            t.offset = i;
            t.space_before = space;
            t.comment_before = had_comment;
            if (had_comment) t.comment = std::move(last_comment);
            space = false;
            had_comment = false;
            if (c == '"') {
                auto q = quoted();
                if (!q) return std::unexpected(q.error());
                t.kind = Kind::Quoted;
                t.text = std::move(*q);
            } else if (c == '[') {
                auto l = literal();
                if (!l) return std::unexpected(l.error());
                t.kind = Kind::Literal;
                t.text = std::move(*l);
            } else if (is_atext(c)) {
                std::size_t s = i;
                while (i < in.size() && is_atext(static_cast<unsigned char>(in[i]))) ++i;
                t.kind = Kind::Atom;
                t.text = std::string(in.substr(s, i - s));
            } else if (c == '<' || c == '>' || c == ':' || c == ';' || c == '@' || c == ',' || c == '.') {
                t.kind = Kind::Special;
                t.special = static_cast<char>(c);
                ++i;
            } else if (c == ')') {
                return std::unexpected(error(i, "')' without '('"));
            } else if (c == ']') {
                return std::unexpected(error(i, "']' without '['"));
            } else if (is_bad_control(c)) {
                return std::unexpected(error(i, "control character"));
            } else {  // '\' outside a quoted string or comment
                return std::unexpected(error(i, std::string("unexpected '") + static_cast<char>(c) + "'"));
            }
            out.push_back(std::move(t));
        }
        Token end;
        end.kind = Kind::End;
        end.offset = in.size();
        end.space_before = space;
        end.comment_before = had_comment;
        if (had_comment) end.comment = std::move(last_comment);
        out.push_back(std::move(end));
        return out;
    }
};

// RFC 5322 §3.2.3 dot-atom-text.
bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '.') {
            if (s[i + 1] == '.') return false;
        } else if (!is_atext(c)) {
            return false;
        }
    }
    return true;
}

struct Parser {
    std::vector<Token> toks;
    std::size_t p = 0;

    const Token& peek() const { return toks[p]; }
    bool at_special(char c) const { return peek().kind == Kind::Special && peek().special == c; }
    bool at_end() const { return peek().kind == Kind::End; }
    std::unexpected<AddressError> error(std::string msg) const {
        return std::unexpected(AddressError{peek().offset, std::move(msg)});
    }
    std::unexpected<AddressError> error_at(const Token& t, std::string msg) const {
        return std::unexpected(AddressError{t.offset, std::move(msg)});
    }

    // phrase / obs-phrase (RFC 5322 §3.2.5, §4.1): words, and "." after the first word. Also
    // the start of a local-part, so the caller decides what the run was.
    std::vector<const Token*> words() {
        std::vector<const Token*> out;
        while (peek().kind == Kind::Atom || peek().kind == Kind::Quoted || at_special('.')) out.push_back(&toks[p++]);
        return out;
    }

    static std::string phrase_text(const std::vector<const Token*>& ws) {
        std::string out;
        for (const Token* t : ws) {
            if (!out.empty() && t->space_before) out += ' ';
            out += t->kind == Kind::Special ? std::string(1, t->special) : t->text;
        }
        return out;
    }

    // local-part = dot-atom / quoted-string / obs-local-part (word *("." word)), RFC 5322 §3.4.1,
    // §4.4. Runs of dots and a trailing dot are tolerated (seen from some mobile carriers); two
    // words with only white space between them are not an address.
    std::expected<std::string, AddressError> local_part(const std::vector<const Token*>& ws) {
        if (ws.empty()) return error("missing local part before '@'");
        if (ws.front()->kind == Kind::Special) return error_at(*ws.front(), "local part starts with '.'");
        std::string out;
        bool last_word = false;
        for (const Token* t : ws) {
            bool word = t->kind != Kind::Special;
            if (word && last_word) return error_at(*t, "white space inside a local part (missing quotes?)");
            out += word ? t->text : ".";
            last_word = word;
        }
        return out;
    }

    // domain = dot-atom / domain-literal / obs-domain (RFC 5322 §3.4.1, §4.4).
    std::expected<std::string, AddressError> domain() {
        if (peek().kind == Kind::Literal) return toks[p++].text;
        if (peek().kind != Kind::Atom) return error("missing domain after '@'");
        std::string out = toks[p++].text;
        while (at_special('.')) {
            ++p;
            if (peek().kind != Kind::Atom) return error("malformed domain: '.' not followed by a label");
            out += '.';
            out += toks[p++].text;
        }
        return out;
    }

    // addr-spec after its local part's words; at "@". `comment` is the text of the last
    // comment between the local part's first word and the token after the domain (Dovecot's
    // parse_addr_spec keeps the last comment it skipped there and makes it the name).
    std::expected<Mailbox, AddressError> addr_spec_rest(const std::vector<const Token*>& ws) {
        const std::size_t first = p - ws.size();
        auto local = local_part(ws);
        if (!local) return std::unexpected(local.error());
        ++p;  // "@"
        auto dom = domain();
        if (!dom) return std::unexpected(dom.error());
        Mailbox m;
        m.local_part = std::move(*local);
        m.domain = std::move(*dom);
        for (std::size_t k = p; k > first; --k)
            if (toks[k].comment_before) {
                m.comment = toks[k].comment;
                break;
            }
        return m;
    }

    // angle-addr = "<" addr-spec ">" / obs-angle-addr with an obs-route (RFC 5322 §3.4, §4.4);
    // at "<".
    std::expected<Mailbox, AddressError> angle_addr() {
        const Token& open = peek();
        ++p;
        std::string route;
        if (at_special('@')) {  // obs-route: 1*("@" domain) separated by "," then ":"
            while (at_special('@') || at_special(',')) {
                if (at_special(',')) {
                    ++p;
                    continue;
                }
                ++p;
                auto d = domain();
                if (!d) return std::unexpected(d.error());
                if (!route.empty()) route += ',';
                route += '@' + *d;
            }
            if (!at_special(':')) return error("malformed source route: ':' expected");
            ++p;
        }
        if (at_special('>')) return error("empty address '<>'");
        auto ws = words();
        if (!at_special('@')) {
            if (at_end()) return error_at(open, "unterminated '<': no '>'");
            return ws.empty() ? error("address expected after '<'") : error("'@' expected in address");
        }
        auto m = addr_spec_rest(ws);
        if (!m) return m;
        m->route = std::move(route);
        if (!at_special('>')) {
            if (at_end()) return error_at(open, "unterminated '<': no '>'");
            return error("'>' expected after the address");
        }
        ++p;
        return m;
    }

    // mailbox = name-addr / addr-spec (RFC 5322 §3.4). With allow_group, a group is also taken.
    std::expected<Address, AddressError> address(bool allow_group) {
        const Token& first = peek();
        auto ws = words();
        if (at_special('<')) {
            auto m = angle_addr();
            if (!m) return std::unexpected(m.error());
            m->display_name = phrase_text(ws);
            if (!m->display_name.empty()) m->comment.clear();  // the phrase is the name
            return Address{std::move(*m)};
        }
        if (at_special('@')) {
            auto m = addr_spec_rest(ws);
            if (!m) return std::unexpected(m.error());
            return Address{std::move(*m)};
        }
        if (at_special(':')) {
            if (!allow_group) return error("a group where a mailbox is expected");
            if (ws.empty()) return error("group without a name");
            ++p;
            Group g;
            g.display_name = phrase_text(ws);
            // group-list = mailbox-list / CFWS / obs-group-list (RFC 5322 §3.4, §4.4)
            for (;;) {
                if (at_special(';')) {
                    ++p;
                    return Address{std::move(g)};
                }
                if (at_special(',')) {
                    ++p;
                    continue;
                }
                if (at_end()) return error_at(first, "group not closed with ';'");
                auto a = address(false);
                if (!a) return std::unexpected(a.error());
                g.members.push_back(std::get<Mailbox>(std::move(*a)));
                if (!at_special(',') && !at_special(';'))
                    return at_end() ? error_at(first, "group not closed with ';'") : error("',' or ';' expected in group");
            }
        }
        if (ws.empty()) {
            if (at_end()) return error("address expected");
            if (at_special('>')) return error("'>' without '<'");
            return error(std::string("unexpected '") + (peek().kind == Kind::Special ? std::string(1, peek().special) : peek().text) + "'");
        }
        return error_at(first, "not an address: no '@domain'");
    }

    std::expected<std::vector<Address>, AddressError> address_list() {
        std::vector<Address> out;
        for (;;) {
            if (at_special(',')) {  // obs-addr-list: empty elements
                ++p;
                continue;
            }
            if (at_end()) break;
            auto a = address(true);
            if (!a) return std::unexpected(a.error());
            out.push_back(std::move(*a));
            if (at_end()) break;
            if (at_special('>')) return error("'>' without '<'");
            if (!at_special(',')) return error("',' expected between addresses");
        }
        if (out.empty()) return error("no address");
        return out;
    }
};

std::expected<Parser, AddressError> make_parser(std::string_view value) {
    Lexer lex{value};
    auto toks = lex.run();
    if (!toks) return std::unexpected(toks.error());
    return Parser{std::move(*toks)};
}

}  // namespace

std::string Mailbox::addr_spec() const {
    if (is_dot_atom(local_part)) return local_part + "@" + domain;
    std::string q = "\"";
    for (char c : local_part) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"@" + domain;
}

std::vector<Mailbox> mailboxes(const std::vector<Address>& list) {
    std::vector<Mailbox> out;
    for (const auto& a : list) {
        if (const auto* m = std::get_if<Mailbox>(&a)) out.push_back(*m);
        else
            for (const auto& m2 : std::get<Group>(a).members) out.push_back(m2);
    }
    return out;
}

AddressResult<std::vector<Address>> parse_address_list(std::string_view value) {
    auto parser = make_parser(value);
    if (!parser) return std::unexpected(parser.error());
    return parser->address_list();
}

AddressResult<std::vector<Mailbox>> parse_mailbox_list(std::string_view value) {
    auto list = parse_address_list(value);
    if (!list) return std::unexpected(list.error());
    return mailboxes(*list);
}

AddressResult<Mailbox> parse_single_mailbox(std::string_view value) {
    auto parser = make_parser(value);
    if (!parser) return std::unexpected(parser.error());
    if (parser->at_end()) return parser->error("no address");
    auto a = parser->address(false);
    if (!a) return std::unexpected(a.error());
    if (!parser->at_end()) return parser->error("more than one mailbox, or text after the mailbox");
    return std::get<Mailbox>(std::move(*a));
}

}  // namespace tern::mime
