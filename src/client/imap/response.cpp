// IMAP response reader (see response.hpp): framing of lines and literals, the FETCH scan that
// decides which literals are message bodies (streamed), and the parser of each response kind.
// Must never keep a body literal, never recurse without the depth bound, and never accept a
// response that runs past its limits.
#include "client/imap/response.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "proto/imap/mutf7.hpp"

namespace tern::client::imap {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

bool ListEntry::has_attribute(std::string_view a) const {
    const std::string u = upper(a);
    for (const auto& x : attributes)
        if (upper(x) == u) return true;
    return false;
}

namespace {

template <class T>
bool parse_num(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
        if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
        if (x != y) return false;
    }
    return true;
}

// A FETCH item whose value is message octets: handed to the sink, never kept (RFC 9051 §7.5.2,
// RFC 3516 §4.2, rev1's RFC822*).
bool is_body_item(std::string_view name) {
    const std::string u = upper(name);
    if (u.starts_with("BODY[") || u.starts_with("BINARY[")) return true;
    return u == "RFC822" || u == "RFC822.TEXT" || u == "RFC822.HEADER";
}

// "{123}" or "~{123}" (RFC 9051 §4.3, RFC 3516 literal8) at the end of a line: its size and where
// the marker starts.
bool literal_marker(std::string_view line, std::uint64_t& size, std::size_t& start) {
    if (!line.ends_with('}')) return false;
    const auto open = line.rfind('{');
    if (open == std::string_view::npos) return false;
    auto digits = line.substr(open + 1, line.size() - open - 2);
    if (digits.ends_with('+')) digits.remove_suffix(1);  // lenient: a server has no business with it
    if (digits.empty() || digits.size() > 12 || !parse_num(digits, size)) return false;
    start = open;
    if (open > 0 && line[open - 1] == '~') start = open - 1;
    return true;
}

// Whether a first line is a reply whose text may not carry literals: "+ ...", a tagged status, or
// an untagged OK/NO/BAD/BYE/PREAUTH (resp-text is free text, RFC 9051 §9).
bool text_reply(std::string_view line) {
    if (line.starts_with('+')) return true;
    std::string_view rest;
    if (line.starts_with("* ")) {
        rest = line.substr(2);
    } else {
        const auto sp = line.find(' ');
        if (sp == std::string_view::npos) return true;  // a malformed line; the parser says so
        rest = line.substr(sp + 1);
    }
    const auto sp = rest.find(' ');
    const auto word = upper(rest.substr(0, sp));
    if (word == "OK" || word == "NO" || word == "BAD" || word == "BYE" || word == "PREAUTH") return true;
    return !line.starts_with("* ");  // a tagged line that is not a status: parsed (and refused) whole
}

}  // namespace

void ResponseReader::feed(std::string_view bytes) {
    compact();
    buf_.append(bytes);
}

void ResponseReader::compact() {
    if (pos_ == 0) return;
    if (pos_ >= buf_.size()) buf_.clear();
    else if (pos_ > 4096 && pos_ * 2 > buf_.size()) buf_.erase(0, pos_);
    else return;
    pos_ = 0;
}

void ResponseReader::discard() {
    buf_.clear();
    pos_ = 0;
    reset_response();
}

void ResponseReader::reset_response() {
    pieces_.clear();
    text_total_ = 0;
    in_literal_ = false;
    literal_left_ = literal_size_ = 0;
    literal_streamed_ = false;
    scan_ = Scan{};
}

ResponseReader::Result ResponseReader::fail(std::string why) {
    error_ = std::move(why);
    return Result::Error;
}

bool ResponseReader::fetch_context(std::string_view text) {
    Scan& s = scan_;
    if (s.state == 0) {
        // "* " nz-number " FETCH (" (RFC 9051 §7.5.2); anything else holds no body literal.
        s.state = 2;
        if (!text.starts_with("* ")) return false;
        std::size_t i = 2;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i == 2 || !parse_num(text.substr(2, i - 2), s.seq)) return false;
        if (text.size() < i + 8 || !iequals(text.substr(i, 8), " FETCH (")) return false;
        s.state = 1;
        s.depth = 1;
        text.remove_prefix(i + 8);
    }
    if (s.state != 1) return false;
    for (char c : text) {
        if (s.state != 1) break;
        switch (s.mode) {
            case 0:  // an item name (brackets may hold spaces: BODY[HEADER.FIELDS (A B)])
                if (s.name.empty() && c == ' ') break;
                if (s.name.empty() && c == ')') {
                    s.state = 2;
                    break;
                }
                if (c == '[') ++s.bracket;
                if (c == ']' && s.bracket) --s.bracket;
                if (c == ' ' && s.bracket == 0) {
                    s.mode = 1;
                    s.value.clear();
                    break;
                }
                if (s.name.size() > 4096) {
                    s.state = 2;
                    break;
                }
                s.name += c;
                break;
            case 1:  // the first octet of its value
                if (s.value.empty() && c == '(') {
                    s.mode = 2;
                    s.depth = 1;
                } else if (s.value.empty() && c == '"') {
                    s.mode = 3;
                } else if (c == ' ' || c == ')') {
                    if (upper(s.name) == "UID") parse_num(s.value, s.uid);
                    s.name.clear();
                    s.mode = 0;
                    if (c == ')') s.state = 2;
                } else if (s.value.size() < 32) {
                    s.value += c;
                }
                break;
            case 2:  // inside a parenthesized value
                if (s.quoted) {
                    if (s.escape) s.escape = false;
                    else if (c == '\\') s.escape = true;
                    else if (c == '"') s.quoted = false;
                } else if (c == '"') {
                    s.quoted = true;
                } else if (c == '(') {
                    ++s.depth;
                } else if (c == ')' && --s.depth == 0) {
                    s.mode = 0;
                    s.name.clear();
                }
                break;
            case 3:  // a quoted value
                if (s.escape) s.escape = false;
                else if (c == '\\') s.escape = true;
                else if (c == '"') {
                    s.mode = 0;
                    s.name.clear();
                }
                break;
        }
    }
    return s.state == 1 && s.mode == 1 && s.value.empty() && is_body_item(s.name);
}

ResponseReader::Result ResponseReader::next(Response& out, BodyChunk& chunk) {
    for (;;) {
        if (in_literal_) {
            const std::size_t avail = buf_.size() - pos_;
            if (literal_left_ > 0 && avail == 0) return Result::Incomplete;
            const std::size_t cap = literal_streamed_ ? std::max<std::size_t>(1, limits_.chunk_size) : avail;
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>({literal_left_, avail, cap}));
            if (literal_streamed_) {
                if (n > 0) {
                    chunk.seq = scan_.seq;
                    chunk.uid = scan_.uid;
                    chunk.section = scan_.name;
                    chunk.size = literal_size_;
                    chunk.offset = literal_size_ - literal_left_;
                    chunk.data = std::string_view(buf_).substr(pos_, n);
                    pos_ += n;
                    literal_left_ -= n;
                    if (literal_left_ == 0) {
                        in_literal_ = false;
                        scan_.mode = 0;
                        scan_.name.clear();
                    }
                    return Result::Chunk;
                }
            } else {
                pieces_.back().data.append(buf_, pos_, n);
                pos_ += n;
                literal_left_ -= n;
            }
            if (literal_left_ > 0) return Result::Incomplete;
            in_literal_ = false;
            if (scan_.mode == 1) {  // a kept literal was an item's value
                scan_.mode = 0;
                scan_.name.clear();
            }
            continue;
        }
        const void* lfp = std::memchr(buf_.data() + pos_, '\n', buf_.size() - pos_);
        if (!lfp) {
            if (text_total_ + buffered() > limits_.max_line) return fail("response line too long");
            return Result::Incomplete;
        }
        const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(lfp) - buf_.data());
        std::string_view line = std::string_view(buf_).substr(pos_, lf - pos_);
        if (line.ends_with('\r')) line.remove_suffix(1);
        text_total_ += line.size() + 2;
        if (text_total_ > limits_.max_line) return fail("response line too long");
        pos_ = lf + 1;
        std::uint64_t size = 0;
        std::size_t marker = 0;
        const bool literals_allowed = !pieces_.empty() || !text_reply(line);
        if (literals_allowed && literal_marker(line, size, marker)) {
            if (pieces_.size() >= limits_.max_literals) return fail("too many literals in one response");
            Piece p;
            p.text = std::string(line.substr(0, marker));
            p.literal = true;
            p.size = size;
            p.streamed = fetch_context(p.text);
            if (p.streamed ? size > limits_.max_body : size > limits_.max_literal) return fail("literal too large");
            if (!p.streamed) {
                // Kept literals are part of the response held in memory: bounded with its text.
                text_total_ += size;
                if (text_total_ > limits_.max_line) return fail("response too long");
            }
            pieces_.push_back(std::move(p));
            in_literal_ = true;
            literal_streamed_ = pieces_.back().streamed;
            literal_left_ = literal_size_ = size;
            if (literal_streamed_ && size == 0) {  // nothing to hand out; still a body
                in_literal_ = false;
                scan_.mode = 0;
                scan_.name.clear();
            }
            continue;
        }
        Piece last;
        last.text = std::string(line);
        pieces_.push_back(std::move(last));
        std::vector<Piece> pieces = std::move(pieces_);
        reset_response();
        std::string err;
        if (!parse(pieces, out, err)) return fail(std::move(err));
        return Result::Response;
    }
}


namespace {

using Piece = ResponseReader::Piece;

// A cursor over one response's pieces: text, then (if the piece says so) a literal, and so on.
class Cursor {
public:
    Cursor(std::vector<Piece>& p, const ReaderLimits& lim) : p_(p), lim_(lim) {}

    bool fail(std::string why) {
        if (err.empty()) err = std::move(why);
        return false;
    }
    const std::string& text() const { return p_[i_].text; }
    bool piece_end() const { return pos_ >= text().size(); }
    bool literal_next() const { return piece_end() && p_[i_].literal; }
    bool at_end() const { return piece_end() && !p_[i_].literal; }
    int peek() const { return piece_end() ? -1 : static_cast<unsigned char>(text()[pos_]); }
    bool eat(char c) {
        if (peek() != static_cast<unsigned char>(c)) return false;
        ++pos_;
        return true;
    }
    bool sp() { return eat(' ') || fail("expected a space"); }
    bool expect(char c) { return eat(c) || fail(std::string("expected '") + c + "'"); }
    std::string_view rest() {
        auto r = std::string_view(text()).substr(pos_);
        pos_ = text().size();
        return r;
    }
    bool count() { return ++entries_ <= lim_.max_entries || fail("too many entries in one response"); }
    bool enter() { return ++depth_ <= lim_.max_depth || fail("nesting too deep"); }
    void leave() { --depth_; }

    // An atom-like word: up to SP, "(", ")" or the end; "[...]" (with spaces) kept inside.
    std::string word() {
        std::string out;
        std::size_t bracket = 0;
        while (!piece_end()) {
            char c = text()[pos_];
            if (bracket == 0 && (c == ' ' || c == '(' || c == ')')) break;
            if (c == '[') ++bracket;
            if (c == ']' && bracket) --bracket;
            out += c;
            ++pos_;
        }
        return out;
    }
    template <class T>
    bool number(T& out) {
        return parse_num(word(), out) || fail("expected a number");
    }
    // A literal: its octets (kept) or, streamed, nothing but its size.
    bool literal(std::string& out, bool& streamed, std::uint64_t& size) {
        if (!literal_next()) return fail("expected a literal");
        streamed = p_[i_].streamed;
        size = p_[i_].size;
        out = std::move(p_[i_].data);
        ++i_;
        pos_ = 0;
        return true;
    }
    bool quoted(std::string& out) {
        if (!expect('"')) return false;
        for (;;) {
            if (piece_end()) return fail("unterminated quoted string");
            char c = text()[pos_++];
            if (c == '"') return true;
            if (c == '\\') {
                if (piece_end()) return fail("unterminated quoted string");
                c = text()[pos_++];
                if (c != '"' && c != '\\') return fail("bad escape in a quoted string");
            }
            out += c;
        }
    }
    // string / nstring / astring (RFC 9051 §9); `nil` set for NIL when allowed.
    bool string_like(std::string& out, bool allow_nil, bool allow_atom, bool* nil = nullptr) {
        if (nil) *nil = false;
        if (literal_next()) {
            bool streamed = false;
            std::uint64_t size = 0;
            return literal(out, streamed, size);
        }
        if (peek() == '"') return quoted(out);
        std::string w = word();
        if (allow_nil && iequals(w, "NIL")) {
            if (nil) *nil = true;
            return true;
        }
        if (allow_atom && !w.empty()) {
            out = std::move(w);
            return true;
        }
        return fail("expected a string");
    }
    // "(" a b c ")" of atoms (flags, attributes).
    bool atom_list(std::vector<std::string>& out) {
        if (!expect('(')) return false;
        while (!eat(')')) {
            if (!out.empty() && !sp()) return false;
            std::string w = word();
            if (w.empty()) return fail("expected an atom in a list");
            if (!count()) return false;
            out.push_back(std::move(w));
        }
        return true;
    }
    // Any value, copied as sent into `raw` (ENVELOPE, BODYSTRUCTURE, unknown items); bounded depth.
    bool skip_value(std::string& raw) {
        if (literal_next()) {
            std::string data;
            bool streamed = false;
            std::uint64_t size = 0;
            if (!literal(data, streamed, size)) return false;
            raw += "{" + std::to_string(size) + "}\r\n" + data;
            return true;
        }
        if (peek() == '"') {
            const std::size_t start = pos_;
            std::string tmp;
            if (!quoted(tmp)) return false;
            raw += text().substr(start, pos_ - start);
            return true;
        }
        if (eat('(')) {
            if (!enter()) return false;
            raw += '(';
            bool first = true;
            while (!eat(')')) {
                if (!first) {
                    if (!eat(' ')) return fail("expected a space in a list");
                    raw += ' ';
                }
                first = false;
                if (!count() || !skip_value(raw)) return false;
            }
            raw += ')';
            leave();
            return true;
        }
        std::string w = word();
        if (w.empty()) return fail("expected a value");
        raw += w;
        return true;
    }

    std::string err;

private:
    std::vector<Piece>& p_;
    const ReaderLimits& lim_;
    std::size_t i_ = 0, pos_ = 0, depth_ = 0, entries_ = 0;
};

bool parse_set(std::string_view s, SequenceSet& out) {
    auto r = tern::imap::parse_sequence_set(s, 100000);
    if (!r || r->saved) return false;
    for (const auto& range : r->ranges)
        if (range.first == tern::imap::kStar || range.last == tern::imap::kStar) return false;
    out = std::move(*r);
    return true;
}

std::vector<std::string> split_words(std::string_view s, std::size_t max) {
    std::vector<std::string> out;
    while (!s.empty() && out.size() < max) {
        while (s.starts_with(' ')) s.remove_prefix(1);
        if (s.empty()) break;
        const auto sp = s.find(' ');
        out.emplace_back(s.substr(0, sp));
        s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
    }
    return out;
}

// resp-text = ["[" resp-text-code "]" SP] text (RFC 9051 §7.1; codes of RFC 4315, 7162, 5530).
void parse_resp_text(std::string_view s, Status& out, std::size_t max_entries) {
    if (s.starts_with('[')) {
        const auto close = s.find(']');
        if (close != std::string_view::npos) {
            std::string_view inner = s.substr(1, close - 1);
            const auto sp = inner.find(' ');
            Code& c = out.code;
            c.name = upper(inner.substr(0, sp));
            c.raw = sp == std::string_view::npos ? "" : std::string(inner.substr(sp + 1));
            const auto args = split_words(c.raw, max_entries);
            if (c.name == "UIDVALIDITY" || c.name == "UIDNEXT" || c.name == "HIGHESTMODSEQ" || c.name == "UNSEEN") {
                if (args.empty() || !parse_num(args[0], c.number)) c.name = "";  // malformed: ignored
            } else if (c.name == "PERMANENTFLAGS") {
                std::string_view r = c.raw;
                if (r.starts_with('(') && r.ends_with(')')) c.list = split_words(r.substr(1, r.size() - 2), max_entries);
                else c.name = "";
            } else if (c.name == "CAPABILITY" || c.name == "BADCHARSET") {
                c.list = split_words(c.raw, max_entries);
                if (c.name == "BADCHARSET" && !c.list.empty() && c.list.front().starts_with('(')) {
                    c.list.front().erase(0, 1);
                    if (c.list.back().ends_with(')')) c.list.back().pop_back();
                }
            } else if (c.name == "APPENDUID") {  // RFC 4315 §3
                if (args.size() != 2 || !parse_num(args[0], c.uidvalidity) || !parse_set(args[1], c.set)) c.name = "";
            } else if (c.name == "COPYUID") {
                if (args.size() != 3 || !parse_num(args[0], c.uidvalidity) || !parse_set(args[1], c.set) ||
                    !parse_set(args[2], c.set2))
                    c.name = "";
            } else if (c.name == "MODIFIED") {  // RFC 7162 §3.1.3
                if (args.size() != 1 || !parse_set(args[0], c.set)) c.name = "";
            }
            s.remove_prefix(close + 1);
            if (s.starts_with(' ')) s.remove_prefix(1);
        }
    }
    out.text = std::string(s);
}

bool status_kind(std::string_view w, Status::Kind& k) {
    const std::string u = upper(w);
    if (u == "OK") k = Status::Kind::Ok;
    else if (u == "NO") k = Status::Kind::No;
    else if (u == "BAD") k = Status::Kind::Bad;
    else if (u == "BYE") k = Status::Kind::Bye;
    else if (u == "PREAUTH") k = Status::Kind::Preauth;
    else return false;
    return true;
}

std::string decode_name(const std::string& raw, bool utf8) {
    if (utf8) return raw;  // RFC 6855 §3: UTF-8 names as they are
    auto d = tern::imap::mutf7_decode(raw);
    return d ? *d : raw;  // not valid modified UTF-7: shown as sent (raw_name is what to send back)
}

bool parse_fetch(Cursor& c, FetchData& f) {
    if (!c.expect('(') || !c.enter()) return false;
    bool first = true;
    while (!c.eat(')')) {
        if (!first && !c.sp()) return false;
        first = false;
        if (!c.count()) return false;
        const std::string name = c.word();
        const std::string u = upper(name);
        if (name.empty() || !c.sp()) return c.fail("expected a FETCH item");
        if (u == "UID") {
            std::uint32_t v = 0;
            if (!c.number(v) || v == 0) return c.fail("bad UID");
            f.uid = v;
        } else if (u == "FLAGS") {
            std::vector<std::string> flags;
            if (!c.atom_list(flags)) return false;
            f.flags = std::move(flags);
        } else if (u == "MODSEQ") {  // RFC 7162 §3.1.4.1: "MODSEQ (n)"
            std::uint64_t v = 0;
            if (!c.expect('(') || !c.number(v) || !c.expect(')')) return false;
            f.modseq = v;
        } else if (u == "INTERNALDATE") {
            std::string d;
            if (!c.quoted(d)) return false;
            f.internal_date = std::move(d);
        } else if (u == "RFC822.SIZE") {
            std::uint64_t v = 0;
            if (!c.number(v)) return false;
            f.size = v;
        } else if (u == "ENVELOPE" || u == "BODYSTRUCTURE" || u == "BODY") {
            std::string raw;
            if (!c.skip_value(raw)) return false;
            (u == "ENVELOPE" ? f.envelope : u == "BODY" ? f.body : f.bodystructure) = std::move(raw);
        } else if (is_body_item(name)) {
            BodyItem b;
            b.section = name;
            if (c.literal_next()) {
                std::string data;
                bool streamed = false;
                if (!c.literal(data, streamed, b.size)) return false;
                if (!streamed) return c.fail("body literal not streamed");
                b.streamed = true;
            } else {
                std::string data;
                bool nil = false;
                if (!c.string_like(data, true, false, &nil)) return false;
                b.nil = nil;
                b.size = data.size();
                if (!nil) f.body_data.push_back(std::move(data));
            }
            f.bodies.push_back(std::move(b));
        } else {
            std::string raw;  // BINARY.SIZE, X-GM-*, ...: skipped
            if (!c.skip_value(raw)) return false;
        }
    }
    c.leave();
    return true;
}

bool parse_untagged(Cursor& c, Response& r, bool utf8, const ReaderLimits& lim) {
    const std::string first = c.word();
    const std::string u = upper(first);
    Status::Kind k;
    if (status_kind(u, k)) {
        r.kind = Response::Kind::Status;
        r.status.kind = k;
        if (!c.at_end() && !c.sp()) return false;
        parse_resp_text(c.rest(), r.status, lim.max_entries);
        return true;
    }
    std::uint32_t n = 0;
    if (parse_num(first, n)) {
        if (!c.sp()) return false;
        const std::string what = upper(c.word());
        r.number = n;
        if (what == "EXISTS") r.kind = Response::Kind::Exists;
        else if (what == "RECENT") r.kind = Response::Kind::Recent;
        else if (what == "EXPUNGE") {
            if (n == 0) return c.fail("EXPUNGE of message 0");
            r.kind = Response::Kind::Expunge;
        } else if (what == "FETCH") {
            if (n == 0) return c.fail("FETCH of message 0");
            r.kind = Response::Kind::Fetch;
            r.fetch.seq = n;
            if (!c.sp() || !parse_fetch(c, r.fetch)) return false;
        } else {
            return c.fail("unknown numbered response");
        }
        return c.at_end() || c.fail("junk after a response");
    }
    if (u == "CAPABILITY" || u == "ENABLED") {
        r.kind = u == "CAPABILITY" ? Response::Kind::Capability : Response::Kind::Enabled;
        if (c.eat(' ')) r.atoms = split_words(c.rest(), lim.max_entries);
        return c.at_end() || c.fail("junk after CAPABILITY");
    }
    if (u == "FLAGS") {
        r.kind = Response::Kind::Flags;
        return c.sp() && c.atom_list(r.atoms) && (c.at_end() || c.fail("junk after FLAGS"));
    }
    if (u == "LIST" || u == "LSUB") {
        // mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
        r.kind = Response::Kind::List;
        if (!c.sp() || !c.atom_list(r.list.attributes) || !c.sp()) return false;
        std::string delim;
        bool nil = false;
        if (!c.string_like(delim, true, false, &nil)) return false;
        if (!nil && delim.size() != 1) return c.fail("bad hierarchy delimiter");
        r.list.delimiter = nil ? 0 : delim[0];
        if (!c.sp() || !c.string_like(r.list.raw_name, false, true)) return false;
        r.list.name = decode_name(r.list.raw_name, utf8);
        if (c.eat(' ')) {  // RFC 5258 mbox-list-extended: skipped
            std::string raw;
            if (!c.skip_value(raw)) return false;
        }
        return c.at_end() || c.fail("junk after LIST");
    }
    if (u == "STATUS") {
        r.kind = Response::Kind::MailboxStatus;
        std::string raw;
        if (!c.sp() || !c.string_like(raw, false, true)) return false;
        r.mailbox_status.name = decode_name(raw, utf8);
        if (!c.sp() || !c.expect('(')) return false;
        bool firstatt = true;
        while (!c.eat(')')) {
            if (!firstatt && !c.sp()) return false;
            firstatt = false;
            if (!c.count()) return false;
            const std::string att = upper(c.word());
            std::uint64_t v = 0;
            if (!c.sp() || !c.number(v)) return false;
            auto& s = r.mailbox_status;
            if (att == "MESSAGES") s.messages = v;
            else if (att == "UIDNEXT") s.uidnext = v;
            else if (att == "UIDVALIDITY") s.uidvalidity = v;
            else if (att == "UNSEEN") s.unseen = v;
            else if (att == "DELETED") s.deleted = v;
            else if (att == "SIZE") s.size = v;
            else if (att == "HIGHESTMODSEQ") s.highestmodseq = v;
            else if (att == "RECENT") s.recent = v;
        }
        return c.at_end() || c.fail("junk after STATUS");
    }
    if (u == "SEARCH") {
        // RFC 9051 §7.3.5 (rev1 form), RFC 7162 §3.1.5: "* SEARCH 2 5 (MODSEQ 917)"
        r.kind = Response::Kind::Search;
        while (c.eat(' ')) {
            if (c.eat('(')) {
                std::uint64_t m = 0;
                if (upper(c.word()) != "MODSEQ" || !c.sp() || !c.number(m) || !c.expect(')')) return false;
                r.modseq = m;
                break;
            }
            std::uint32_t v = 0;
            if (c.at_end()) break;  // a trailing space
            if (!c.number(v) || v == 0) return false;
            if (!c.count()) return false;
            r.numbers.push_back(v);
        }
        return c.at_end() || c.fail("junk after SEARCH");
    }
    if (u == "ESEARCH") {
        // RFC 4731 §3.1: esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
        r.kind = Response::Kind::ESearch;
        auto& e = r.esearch;
        while (c.eat(' ')) {
            if (c.eat('(')) {
                if (upper(c.word()) != "TAG" || !c.sp() || !c.string_like(e.tag, false, false) || !c.expect(')'))
                    return c.fail("bad search correlator");
                continue;
            }
            const std::string key = upper(c.word());
            if (key == "UID") {
                e.uid = true;
                continue;
            }
            if (!c.sp()) return false;
            std::uint32_t v = 0;
            if (key == "MIN") {
                if (!c.number(v)) return false;
                e.min = v;
            } else if (key == "MAX") {
                if (!c.number(v)) return false;
                e.max = v;
            } else if (key == "COUNT") {
                if (!c.number(v)) return false;
                e.count = v;
            } else if (key == "ALL") {
                SequenceSet s;
                if (!parse_set(c.word(), s)) return c.fail("bad ESEARCH ALL set");
                e.all = std::move(s);
            } else if (key == "MODSEQ") {
                std::uint64_t m = 0;
                if (!c.number(m)) return false;
                e.modseq = m;
            } else {
                std::string raw;
                if (!c.skip_value(raw)) return false;
            }
        }
        return c.at_end() || c.fail("junk after ESEARCH");
    }
    if (u == "VANISHED") {
        // RFC 7162 §3.2.10: "VANISHED" [SP "(EARLIER)"] SP known-uids
        r.kind = Response::Kind::Vanished;
        if (!c.sp()) return false;
        if (c.eat('(')) {
            if (upper(c.word()) != "EARLIER" || !c.expect(')') || !c.sp()) return c.fail("bad VANISHED");
            r.earlier = true;
        }
        if (!parse_set(c.word(), r.set)) return c.fail("bad VANISHED set");
        return c.at_end() || c.fail("junk after VANISHED");
    }
    // NAMESPACE, ID, METADATA, ...: not used; the rest of the response is skipped (literals were
    // already bounded by the reader).
    r.kind = Response::Kind::Other;
    r.text = u;
    return true;
}

}  // namespace

bool ResponseReader::parse(std::vector<Piece>& pieces, Response& out, std::string& err) const {
    out = Response{};
    Cursor c(pieces, limits_);
    bool ok = false;
    if (c.eat('+')) {
        // RFC 9051 §7.5: continue-req = "+" SP (resp-text / base64); a bare "+" is tolerated.
        out.kind = Response::Kind::Continuation;
        c.eat(' ');
        out.text = std::string(c.rest());
        ok = c.at_end() || c.fail("literal in a continuation");
    } else if (c.eat('*')) {
        ok = c.sp() && parse_untagged(c, out, utf8_, limits_);
    } else {
        // tagged: tag SP ("OK" / "NO" / "BAD") SP resp-text
        std::string tag = c.word();
        Status::Kind k;
        if (tag.empty() || !c.sp()) {
            ok = c.fail("malformed response");
        } else if (!status_kind(c.word(), k) || k == Status::Kind::Bye || k == Status::Kind::Preauth) {
            ok = c.fail("tagged response is not OK, NO or BAD");
        } else {
            out.kind = Response::Kind::Status;
            out.status.kind = k;
            out.status.tag = std::move(tag);
            if (!c.at_end() && !c.sp()) {
                ok = false;
            } else {
                parse_resp_text(c.rest(), out.status, limits_.max_entries);
                ok = c.at_end() || c.fail("literal in a status response");
            }
        }
    }
    if (!ok) err = c.err.empty() ? "malformed response" : c.err;
    return ok;
}

}  // namespace tern::client::imap
