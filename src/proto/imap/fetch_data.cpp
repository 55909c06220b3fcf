// FETCH data formatting (see fetch_data.hpp): ENVELOPE and BODYSTRUCTURE written from the part
// tree as Dovecot 2.3 writes them (lib-imap/imap-envelope.c, imap-bodystructure.c), section ranges
// from mime/section, BINARY through mime/part_reader. Must never put message text into the
// response except through append_string (quoted or literal), and never hold more than max_bytes
// of BINARY output or kMaxFieldsHeaderBytes of a header.
#include "proto/imap/fetch_data.hpp"

#include <algorithm>

#include "base/ascii.hpp"
#include "mime/header.hpp"
#include "mime/part_reader.hpp"
#include "mime/section.hpp"
#include "proto/imap/response.hpp"

namespace tern::imap {
namespace {

using mime::MimePart;
using mime::PartKind;

// U+FFFD for a NUL in a header value (RFC 9051 §4.3 forbids NUL in a string; Dovecot 2.3.19
// sends U+FFFD there too).
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// A header value for a quoted string or literal: NUL becomes U+FFFD, and CR/LF are removed
// (followed by white space or at the end: the rest of a fold) or become a space (Dovecot's
// imap_append_nstring_nolf), so a stray CR never forces a literal.
std::string nolf(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\0') {
            out += kReplacement;
        } else if (c == '\r' || c == '\n') {
            char n = i + 1 < s.size() ? s[i + 1] : '\0';
            if (n != ' ' && n != '\t' && n != '\r' && n != '\n' && i + 1 < s.size()) out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

// Subject and display names as Dovecot's imap_append_string_for_humans: runs of SP, TAB, CR, LF
// become one space, leading and trailing ones go, NUL becomes U+FFFD.
std::string for_humans(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool space = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        if (c == '\0') out += kReplacement;
        else out += c;
    }
    return out;
}

void str(std::string& out, std::string_view s, bool utf8) { append_string(out, nolf(s), utf8); }

void nstr(std::string& out, const std::optional<std::string>& s, bool utf8) {
    if (!s) out += "NIL";
    else str(out, *s, utf8);
}

// RFC 9051 §9 address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"; the adl is
// an RFC 5322 §4.4 obs-route ("@a,@b"), as Dovecot sends it, else NIL.
void append_mailbox(std::string& out, const mime::Mailbox& m, bool utf8) {
    out += '(';
    // No display name: the addr-spec's comment ("user@domain (Real Name)") names it, as in
    // Dovecot (message_address_parse), which clients and imaptest expect.
    std::string name = for_humans(m.display_name.empty() ? m.comment : m.display_name);
    if (name.empty()) out += "NIL";
    else append_string(out, name, utf8);
    out += ' ';
    if (m.route.empty()) out += "NIL";
    else str(out, m.route, utf8);
    out += ' ';
    str(out, m.local_part, utf8);
    out += ' ';
    str(out, m.domain, utf8);
    out += ')';
}

// env-from etc. = "(" 1*address ")" / nil. RFC 9051 §7.5.2: a group is a start marker with NIL
// host and the group name as mailbox, its members, then an end marker of four NILs.
void append_addresses(std::string& out, const mime::EnvelopeAddresses& a, bool utf8) {
    if (!a.present) {
        out += "NIL";
        return;
    }
    if (a.list.empty()) {
        // The field is there but no address in it parsed ("From: not an address"): NIL would
        // hide it, so, as Dovecot does (message_address_parse with FILL_MISSING), one address
        // whose name is the field's text and whose mailbox and host say what is missing.
        out += "((";
        std::string name = for_humans(a.raw);
        if (name.empty()) out += "NIL";
        else append_string(out, name, utf8);
        out += " NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))";
        return;
    }
    out += '(';
    for (const mime::Address& addr : a.list) {
        if (const auto* m = std::get_if<mime::Mailbox>(&addr)) {
            append_mailbox(out, *m, utf8);
        } else {
            const auto& g = std::get<mime::Group>(addr);
            out += "(NIL NIL ";
            str(out, g.display_name, utf8);
            out += " NIL)";
            for (const mime::Mailbox& m2 : g.members) append_mailbox(out, m2, utf8);
            out += "(NIL NIL NIL NIL)";
        }
    }
    out += ')';
}

// body-fld-param: NIL when empty; RFC 2231 values keep their "charset'language'%XX" form under
// "name*" (Dovecot does the same). A text part without a charset gets RFC 2045 §5.2 / RFC 2046
// §4.1.2's default ("charset" "us-ascii"), as Dovecot's params_write adds it.
void append_params(std::string& out, const mime::ParamList& params, bool default_charset, bool utf8) {
    bool charset = false;
    std::size_t n = 0;
    for (const mime::Param& p : params.items) {
        out += n++ == 0 ? "(" : " ";
        if (p.extended) {
            str(out, p.name + "*", utf8);
            out += ' ';
            str(out, p.encoded, utf8);
        } else {
            str(out, p.name, utf8);
            out += ' ';
            str(out, p.value, utf8);
        }
        if (ascii::iequals(p.name, "charset")) charset = true;
    }
    if (default_charset && !charset) {
        out += n++ == 0 ? "(" : " ";
        out += "\"charset\" \"us-ascii\"";
    }
    out += n == 0 ? "NIL" : ")";
}

// body-ext-1part / body-ext-mpart after md5 or params: disposition, language, location.
void append_ext_common(std::string& out, const MimePart& p, bool utf8) {
    out += ' ';
    if (!p.disposition || p.disposition->type.empty()) {
        out += "NIL";
    } else {
        out += '(';
        str(out, p.disposition->type, utf8);
        out += ' ';
        append_params(out, p.disposition->params, false, utf8);
        out += ')';
    }
    out += ' ';
    if (p.languages.empty()) {
        out += "NIL";
    } else {  // body-fld-lang: a list even for one tag, as Dovecot writes it
        out += '(';
        for (std::size_t i = 0; i < p.languages.size(); ++i) {
            if (i) out += ' ';
            str(out, p.languages[i], utf8);
        }
        out += ')';
    }
    out += ' ';
    nstr(out, p.location, utf8);
}

// Dovecot's EMPTY_BODY / EMPTY_BODYSTRUCTURE: a multipart with no parts is not allowed by the
// grammar (body-type-mpart = 1*body), so one empty text/plain part stands in.
constexpr std::string_view kEmptyBody = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
constexpr std::string_view kEmptyBodyExt =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

void append_part(std::string& out, const mime::PartTree& tree, std::uint32_t idx, bool ext, bool utf8);

void append_envelope_of(std::string& out, const MimePart& m, bool utf8) {
    if (m.envelope) append_envelope(out, *m.envelope, utf8);
    else out += "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
}

void append_part(std::string& out, const mime::PartTree& tree, std::uint32_t idx, bool ext, bool utf8) {
    const MimePart& p = tree.parts[idx];
    const mime::ContentType& ct = p.content_type;
    out += '(';
    if (p.kind == PartKind::Multipart) {
        // RFC 9051 §9 body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
        if (p.children.empty()) out += ext ? kEmptyBodyExt : kEmptyBody;
        for (std::uint32_t c : p.children) append_part(out, tree, c, ext, utf8);
        out += ' ';
        str(out, ct.subtype, utf8);
        if (ext) {
            out += ' ';
            append_params(out, ct.params, false, utf8);
            append_ext_common(out, p, utf8);
        }
        out += ')';
        return;
    }
    // body-type-1part: basic, msg or text. A multipart or message/rfc822 that was not descended
    // into (depth or part limits, no boundary, an encoded message/rfc822) is shown as
    // application/octet-stream with its parameters, as Dovecot's part_is_truncated() does: its
    // own type would promise a structure the response does not carry.
    bool opaque = p.kind == PartKind::Leaf &&
                  (ct.type == "multipart" || (ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global")));
    // message/global (RFC 6532 §3.7) is body-type-msg only in RFC 9051's grammar; RFC 3501's
    // media-message is "RFC822" alone, so a rev1 client gets it as body-type-basic (as Dovecot
    // 2.3, an IMAP4rev1 server, sends it). `utf8` stands for a session past ENABLE IMAP4rev2 or
    // UTF8=ACCEPT, which is where message/global turns up.
    bool message = p.kind == PartKind::Message && !p.children.empty() && (utf8 || ct.subtype == "rfc822");
    bool text = !opaque && !message && ct.type == "text";
    if (opaque) {
        out += "\"application\" \"octet-stream\"";
    } else {
        str(out, ct.type, utf8);
        out += ' ';
        str(out, ct.subtype, utf8);
    }
    out += ' ';
    append_params(out, ct.params, text, utf8);
    out += ' ';
    nstr(out, p.content_id, utf8);
    out += ' ';
    nstr(out, p.description, utf8);
    out += ' ';
    str(out, p.transfer_encoding, utf8);
    out += ' ';
    out += std::to_string(p.body_size());
    if (text) {
        out += ' ';  // body-type-text: body-fld-lines
        out += std::to_string(p.lines);
    } else if (message) {
        // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
        const std::uint32_t child = p.children.front();
        out += ' ';
        append_envelope_of(out, tree.parts[child], utf8);
        out += ' ';
        append_part(out, tree, child, ext, utf8);
        out += ' ';
        out += std::to_string(p.lines);
    }
    if (ext) {
        out += ' ';  // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        nstr(out, p.md5, utf8);
        append_ext_common(out, p, utf8);
    }
    out += ')';
}

Result<std::string> read_range(const base::ByteSource& src, std::uint64_t begin, std::uint64_t end) {
    std::string buf(static_cast<std::size_t>(end - begin), '\0');
    std::size_t got = 0;
    while (got < buf.size()) {
        auto n = src.read(begin + got, std::span<char>(buf.data() + got, buf.size() - got));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("message source ended early at " + std::to_string(begin + got), EIO);
        got += *n;
    }
    return buf;
}

// The fields of a header section that are (or, for .NOT, are not) named in `names`, each with its
// folds as in the message and CRLF line ends, then the empty line (RFC 3501 §6.4.5: "the blank
// line is included in all header fetches"; Dovecot adds it, and a CRLF to a last field without
// one).
std::string filter_header(std::string_view header, const std::vector<std::string>& names, bool nott) {
    mime::HeaderLimits hl;
    hl.max_fields = header.size() / 2 + 1;  // a field takes at least "a:" and a line end
    hl.max_field_bytes = header.size() + 1;
    auto h = mime::parse_header_section(header, hl);
    std::string out;
    bool separator = true;
    if (h) {
        separator = h->has_separator;
        for (const mime::HeaderField& f : h->fields) {
            bool named = std::any_of(names.begin(), names.end(),
                                     [&](const std::string& n) { return ascii::iequals(f.name, n); });
            if (named == nott) continue;
            std::string_view bytes = header.substr(f.offset, f.length);
            for (std::size_t i = 0; i < bytes.size(); ++i) {
                if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) out += '\r';
                out += bytes[i] == '\0' ? '\x80' : bytes[i];
            }
            if (bytes.empty() || bytes.back() != '\n') out += "\r\n";
        }
    }
    // RFC 3501 §6.4.5: no empty line "in the case of a message which has no body and no blank
    // line"; Dovecot 2.3.19 still adds one after fields it sends, and sends "" when none match.
    if (!separator && out.empty()) return out;
    out += "\r\n";
    return out;
}

void clip(std::uint64_t& offset, std::uint64_t& length, const std::optional<Partial>& partial) {
    if (!partial) return;
    // RFC 9051 §6.4.5: "If the origin octet is beyond the end of the text, an empty string is returned."
    std::uint64_t skip = std::min(partial->offset, length);
    offset += skip;
    length = std::min(length - skip, partial->length);
}

struct BinaryTarget {
    MimePart part;  // a copy with the byte range and encoding to read (small: no children read)
    bool decode = false;
};

Result<BinaryTarget> binary_target(const mime::PartTree& tree, std::span<const std::uint32_t> path) {
    BinaryTarget t;
    if (path.empty()) {  // BINARY[]: the message as it is (RFC 3516 §4.2, section-binary may be empty)
        t.part.body_begin = 0;
        t.part.body_end = tree.size;
        return t;
    }
    auto idx = mime::find_part(tree, path);
    if (!idx) return fail(idx.error().message, kFetchNoSuchPart);
    const MimePart& p = tree.parts[*idx];
    t.part.body_begin = p.body_begin;
    t.part.body_end = p.body_end;
    if (p.kind != PartKind::Leaf) return t;  // multipart, message/rfc822: 7bit/8bit/binary by RFC 2046
    const std::string& te = p.transfer_encoding;
    // RFC 3516 §4.3: a CTE the server cannot decode is NO [UNKNOWN-CTE].
    if (te != "7bit" && te != "8bit" && te != "binary" && te != "base64" && te != "quoted-printable")
        return fail("unknown Content-Transfer-Encoding " + te.substr(0, 64), kFetchUnknownCte);
    t.part.transfer_encoding = te;
    t.decode = te == "base64" || te == "quoted-printable";
    return t;
}

}  // namespace

void append_envelope(std::string& out, const mime::Envelope& e, bool utf8) {
    // RFC 9051 §9 envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
    //   env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
    out += '(';
    nstr(out, e.date, utf8);
    out += ' ';
    if (e.subject) append_string(out, for_humans(*e.subject), utf8);
    else out += "NIL";
    for (const mime::EnvelopeAddresses* a : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) {
        out += ' ';
        append_addresses(out, *a, utf8);
    }
    out += ' ';
    nstr(out, e.in_reply_to, utf8);
    out += ' ';
    nstr(out, e.message_id, utf8);
    out += ')';
}

void append_bodystructure(std::string& out, const mime::PartTree& tree, std::uint32_t part, bool extensible,
                          bool utf8) {
    append_part(out, tree, part, extensible, utf8);
}

Result<SectionData> section_data(const mime::PartTree& tree, const base::ByteSource& source, const Section& section,
                                 std::optional<Partial> partial) {
    using T = Section::Text;
    mime::SectionText st = mime::SectionText::None;
    switch (section.text) {
        case T::None: st = mime::SectionText::None; break;
        case T::Header:
        case T::HeaderFields:
        case T::HeaderFieldsNot: st = mime::SectionText::Header; break;
        case T::Text: st = mime::SectionText::Text; break;
        case T::Mime: st = mime::SectionText::Mime; break;
    }
    SectionData d;
    auto r = mime::section_range(tree, section.part, st);
    if (!r) {
        d.kind = SectionData::Missing;
        return d;
    }
    if (section.text == T::HeaderFields || section.text == T::HeaderFieldsNot) {
        std::uint64_t end = std::min<std::uint64_t>(r->end, r->begin + kMaxFieldsHeaderBytes);
        auto raw = read_range(source, r->begin, end);
        if (!raw) return std::unexpected(raw.error());
        if (end < r->end) {  // cut: keep whole lines only
            std::size_t lf = raw->rfind('\n');
            raw->resize(lf == std::string::npos ? 0 : lf + 1);
        }
        d.kind = SectionData::Bytes;
        d.bytes = filter_header(*raw, section.fields, section.text == T::HeaderFieldsNot);
        std::uint64_t off = 0, len = d.bytes.size();
        clip(off, len, partial);
        d.bytes = d.bytes.substr(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
        return d;
    }
    d.kind = SectionData::Range;
    d.offset = r->begin;
    d.length = r->end - r->begin;
    clip(d.offset, d.length, partial);
    return d;
}

Result<std::string> binary_data(const mime::PartTree& tree, const base::ByteSource& source,
                                std::span<const std::uint32_t> part, std::optional<Partial> partial,
                                std::size_t max_bytes) {
    auto t = binary_target(tree, part);
    if (!t) return std::unexpected(t.error());
    const std::uint64_t from = partial ? partial->offset : 0;
    const std::uint64_t to = partial ? from + std::min(partial->length, UINT64_MAX - from) : UINT64_MAX;
    std::string out;
    std::uint64_t pos = 0;  // decoded octets seen so far
    bool too_big = false;
    auto sink = [&](std::string_view piece) {
        std::uint64_t b = std::max(pos, from), e = std::min(pos + piece.size(), to);
        if (b < e) {
            if (out.size() + (e - b) > max_bytes) {
                too_big = true;
                return false;
            }
            out.append(piece.substr(static_cast<std::size_t>(b - pos), static_cast<std::size_t>(e - b)));
        }
        pos += piece.size();
        return pos < to;  // past the window: stop reading
    };
    auto r = mime::read_decoded(source, t->part, sink);
    if (!r) return std::unexpected(r.error());
    if (too_big) return fail("BINARY data over " + std::to_string(max_bytes) + " octets", kFetchTooBig);
    return out;
}

Result<std::uint64_t> binary_size(const mime::PartTree& tree, const base::ByteSource& source,
                                  std::span<const std::uint32_t> part) {
    auto t = binary_target(tree, part);
    if (!t) return std::unexpected(t.error());
    if (!t->decode) return t->part.body_size();
    auto r = mime::read_decoded(source, t->part, [](std::string_view) { return true; });
    if (!r) return std::unexpected(r.error());
    return r->octets;
}

bool needs_literal8(std::string_view data) { return data.find('\0') != std::string_view::npos; }

}  // namespace tern::imap
