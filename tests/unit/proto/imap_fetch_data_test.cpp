// Unit tests for the IMAP FETCH data formatters (proto/imap/fetch_data.hpp): ENVELOPE,
// BODY/BODYSTRUCTURE, BODY[section]<partial> and BINARY, with exact expected strings (checked
// against Dovecot 2.3.19's answers for the same messages where Dovecot is the reference). Must
// never touch I/O beyond in-memory sources.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "mime/part_tree.hpp"
#include "proto/imap/fetch_data.hpp"

namespace tern::imap {
namespace {

std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

struct Msg {
    std::string text;
    base::ByteSourceRef src;
    mime::PartTree tree;
    explicit Msg(std::string_view lf_text, const mime::ParseLimits& lim = {})
        : text(crlf(lf_text)), src(base::bytes_from_string(text)) {
        auto t = mime::parse_message(*src, lim);
        EXPECT_TRUE(t.has_value());
        tree = std::move(*t);
    }
    std::string envelope(bool utf8 = false) const {
        std::string out;
        append_envelope(out, *tree.root().envelope, utf8);
        return out;
    }
    std::string structure(bool ext = true, bool utf8 = false) const {
        std::string out;
        append_bodystructure(out, tree, 0, ext, utf8);
        return out;
    }
    // The section's octets, whatever its kind ("<missing>" for Missing).
    std::string section(Section s, std::optional<Partial> partial = std::nullopt) const {
        auto d = section_data(tree, *src, s, partial);
        EXPECT_TRUE(d.has_value());
        if (d->kind == SectionData::Missing) return "<missing>";
        if (d->kind == SectionData::Bytes) return d->bytes;
        return text.substr(d->offset, d->length);
    }
};

Section sec(std::vector<std::uint32_t> part, Section::Text t = Section::Text::None, std::vector<std::string> f = {}) {
    Section s;
    s.part = std::move(part);
    s.text = t;
    s.fields = std::move(f);
    return s;
}

const char* kMixed =
    "Subject: y\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=xx\n"
    "\n"
    "--xx\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>\n"
    "--xx\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: c@d\n"
    "Subject: in\n"
    "\n"
    "body\n"
    "--xx\n"
    "Content-Type: application/pdf; name*=utf-8''a%20b.pdf\n"
    "Content-Disposition: attachment; filename*0=a; filename*1=b.pdf\n"
    "Content-Language: en, de\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAAA\n"
    "--xx--\n";

TEST(ImapEnvelope, AllFieldsGroupsAndDefaults) {
    Msg m("Date: Mon, 7 Dec 2026 08:00:00 +0000\n"
          "Subject: a  \"quoted\"\n\tfolded\n"
          "From: \"Doe, Jane\" <jane@example.com>\n"
          "To: undisclosed-recipients:;, Team: x@y.z, \"Y\" <y@z.w>;, solo@q.r\n"
          "Cc: =?utf-8?q?J=C3=B6rg?= <j@x.de>\n"
          "In-Reply-To: <0@x>\n"
          "Message-ID: <1@x>\n"
          "\nbody\n");
    // RFC 9051 §7.5.2: Sender and Reply-To absent -> From; groups as start/end markers; RFC 2047
    // words left encoded; runs of white space in the subject become one space (as Dovecot).
    EXPECT_EQ(m.envelope(),
              "(\"Mon, 7 Dec 2026 08:00:00 +0000\" \"a \\\"quoted\\\" folded\" "
              "((\"Doe, Jane\" NIL \"jane\" \"example.com\")) ((\"Doe, Jane\" NIL \"jane\" \"example.com\")) "
              "((\"Doe, Jane\" NIL \"jane\" \"example.com\")) "
              "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)(NIL NIL \"Team\" NIL)"
              "(NIL NIL \"x\" \"y.z\")(\"Y\" NIL \"y\" \"z.w\")(NIL NIL NIL NIL)(NIL NIL \"solo\" \"q.r\")) "
              "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.de\")) NIL \"<0@x>\" \"<1@x>\")");
}

TEST(ImapEnvelope, MissingHeadersAreNil) {
    Msg m("X-Other: 1\n\nbody\n");
    EXPECT_EQ(m.envelope(), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    Msg e("From: a@b.c\nSender:\nSubject:\n\nx\n");  // empty Sender -> From; empty Subject -> ""
    EXPECT_EQ(e.envelope(), "(NIL \"\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
                            "NIL NIL NIL NIL NIL)");
}

TEST(ImapEnvelope, EightBitLongNulAndUnparsed) {
    Msg m("From: \"J\xc3\xb6rg\" <j@x.de>\nSubject: Gr\xc3\xbc\xc3\x9f" "e\nTo: not an address\n\nx\n");
    // rev1: 8-bit goes as literals; UTF8=ACCEPT / IMAP4rev2: quoted UTF-8.
    EXPECT_EQ(m.envelope(false),
              "(NIL {7}\r\nGr\xc3\xbc\xc3\x9f" "e (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) "
              "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) "
              "((\"not an address\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL NIL NIL)");
    EXPECT_EQ(m.envelope(true),
              "(NIL \"Gr\xc3\xbc\xc3\x9f" "e\" ((\"J\xc3\xb6rg\" NIL \"j\" \"x.de\")) ((\"J\xc3\xb6rg\" NIL \"j\" \"x.de\")) "
              "((\"J\xc3\xb6rg\" NIL \"j\" \"x.de\")) "
              "((\"not an address\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL NIL NIL)");
    Msg n(std::string("Subject: a\0b\n\nx\n", 15));
    EXPECT_EQ(n.envelope(true), "(NIL \"a\xef\xbf\xbd" "b\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    Msg l("Subject: " + std::string(2000, 'w') + "\n\nx\n");
    EXPECT_EQ(l.envelope().substr(0, 13), "(NIL {2000}\r\n");
}

TEST(ImapBodyStructure, MultipartWithMessageAndRfc2231) {
    Msg m(kMixed);
    // Dovecot 2.3.19 sends the same (checked), but with types in their written case.
    EXPECT_EQ(m.structure(true),
              "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 "
              "(NIL \"in\" ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"
              "(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4 NIL "
              "(\"attachment\" (\"filename\" \"ab.pdf\")) (\"en\" \"de\") NIL) "
              "\"mixed\" (\"boundary\" \"xx\") NIL NIL NIL)");
    EXPECT_EQ(m.structure(false),
              "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 "
              "(NIL \"in\" ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0) 3)"
              "(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4) \"mixed\")");
    // One part alone: the message/rfc822 part 2.
    std::string out;
    append_bodystructure(out, m.tree, m.tree.root().children[1], false, false);
    EXPECT_EQ(out.substr(0, 40), "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 3");
}

TEST(ImapBodyStructure, SinglePartDefaultsAndExtensionFields) {
    Msg plain("From: a@b.c\n\nhello\n");
    EXPECT_EQ(plain.structure(), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL)");
    // A text part without charset gets the RFC 2045 §5.2 default after its own parameters.
    Msg flowed("Content-Type: text/plain; format=flowed\nContent-Language: en-US\nContent-Location: http://x/y\n"
               "Content-MD5: abc=\nContent-ID: <c@x>\nContent-Description: d\n\nx\n");
    EXPECT_EQ(flowed.structure(),
              "(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") \"<c@x>\" \"d\" \"7bit\" 3 1 "
              "\"abc=\" NIL (\"en-US\") \"http://x/y\")");
    // Non-text without parameters: NIL; disposition without parameters: (type NIL).
    Msg img("Content-Type: image/png\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\niVBO\n");
    EXPECT_EQ(img.structure(), "(\"image\" \"png\" NIL NIL NIL \"base64\" 6 NIL (\"inline\" NIL) NIL NIL)");
    // An empty message (Dovecot: the same).
    Msg empty("");
    EXPECT_EQ(empty.structure(), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
}

TEST(ImapBodyStructure, OpaqueAndEmptyMultiparts) {
    // A multipart with no parts at all: one empty text/plain part stands in (Dovecot's EMPTY_BODY).
    Msg none("Content-Type: multipart/mixed; boundary=q\n\nno parts\n");
    EXPECT_EQ(none.structure(false),
              "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
    // Over the depth limit, and without a boundary: application/octet-stream with its parameters
    // (Dovecot's part_is_truncated), never a multipart without parts.
    mime::ParseLimits lim;
    lim.max_depth = 2;
    Msg deep("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n"
             "--b\n\nx\n--b--\n--a--\n",
             lim);
    EXPECT_EQ(deep.structure(false),
              "((\"application\" \"octet-stream\" (\"boundary\" \"b\") NIL NIL \"7bit\" 15) \"mixed\")");
    Msg nob("Content-Type: multipart/mixed\n\nx\n");
    EXPECT_EQ(nob.structure(false), "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 3)");
    Msg b64("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogeEB5\n");
    EXPECT_EQ(b64.structure(false), "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 14)");
}

TEST(ImapBodyStructure, MessageGlobalOnlyForUtf8Sessions) {
    Msg g("Content-Type: message/global\n\nFrom: u@x.y\n\nb\n");
    EXPECT_EQ(g.structure(false, false), "(\"message\" \"global\" NIL NIL NIL \"7bit\" 18)");
    EXPECT_EQ(g.structure(false, true),
              "(\"message\" \"global\" NIL NIL NIL \"7bit\" 18 (NIL NIL ((NIL NIL \"u\" \"x.y\")) ((NIL NIL \"u\" \"x.y\")) "
              "((NIL NIL \"u\" \"x.y\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
              "\"7bit\" 3 1) 3)");
}

TEST(ImapSection, WholeHeaderTextMimeAndParts) {
    Msg m(kMixed);
    using T = Section::Text;
    EXPECT_EQ(m.section(sec({})), m.text);
    EXPECT_EQ(m.section(sec({}, T::Header)), crlf("Subject: y\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=xx\n\n"));
    EXPECT_EQ(m.section(sec({}, T::Text)).substr(0, 6), "--xx\r\n");
    EXPECT_EQ(m.section(sec({1})), "<p>");
    EXPECT_EQ(m.section(sec({1}, T::Mime)), "Content-Type: text/html\r\n\r\n");
    // A message/rfc822 part: its number is the whole encapsulated message; HEADER and TEXT are its.
    EXPECT_EQ(m.section(sec({2})), "From: c@d\r\nSubject: in\r\n\r\nbody");
    EXPECT_EQ(m.section(sec({2}, T::Header)), "From: c@d\r\nSubject: in\r\n\r\n");
    EXPECT_EQ(m.section(sec({2}, T::Text)), "body");
    EXPECT_EQ(m.section(sec({2, 1})), "body");
    EXPECT_EQ(m.section(sec({3})), "AAAA");
    // Nonexistent sections (Dovecot 2.3.19 answers "" for each).
    EXPECT_EQ(m.section(sec({5})), "<missing>");
    EXPECT_EQ(m.section(sec({1}, T::Header)), "<missing>");
    EXPECT_EQ(m.section(sec({1, 1})), "<missing>");
    // Part 1 of a single-part message is its body; its MIME header is the message header.
    Msg s("From: a@b\nSubject: x\n\nhi\n");
    EXPECT_EQ(s.section(sec({1})), "hi\r\n");
    EXPECT_EQ(s.section(sec({1}, T::Mime)), "From: a@b\r\nSubject: x\r\n\r\n");
    EXPECT_EQ(s.section(sec({2})), "<missing>");
}

TEST(ImapSection, HeaderFields) {
    using T = Section::Text;
    Msg m("From: a@b\nSubject: one\n two\nX-A: 1\nsubject: again\n\nbody\n");
    EXPECT_EQ(m.section(sec({}, T::HeaderFields, {"SUBJECT"})), "Subject: one\r\n two\r\nsubject: again\r\n\r\n");
    EXPECT_EQ(m.section(sec({}, T::HeaderFields, {"X-A", "FROM"})), "From: a@b\r\nX-A: 1\r\n\r\n");
    EXPECT_EQ(m.section(sec({}, T::HeaderFieldsNot, {"SUBJECT", "X-A"})), "From: a@b\r\n\r\n");
    EXPECT_EQ(m.section(sec({}, T::HeaderFields, {"NOTHING"})), "\r\n");
    // Partial applies to the synthesized bytes.
    EXPECT_EQ(m.section(sec({}, T::HeaderFields, {"FROM"}), Partial{2, 3}), "om:");
    // No empty line and no final line end: Dovecot still ends the field and adds the empty line.
    Msg n("From: a@b\nSubject: nobody");
    EXPECT_EQ(n.section(sec({}, T::HeaderFields, {"SUBJECT"})), "Subject: nobody\r\n\r\n");
    EXPECT_EQ(n.section(sec({}, T::Header)), "From: a@b\r\nSubject: nobody");
    EXPECT_EQ(n.section(sec({}, T::HeaderFieldsNot, {"FROM", "SUBJECT"})), "");  // Dovecot: "" too
    // A bare-LF message gets CRLF in the synthesized subset; NUL becomes 0x80 (as Dovecot).
    auto src = base::bytes_from_string(std::string("Subject: a\0b\nX: y\n\nz", 21));
    auto tree = mime::parse_message(*src);
    auto d = section_data(*tree, *src, sec({}, T::HeaderFields, {"SUBJECT"}), std::nullopt);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, SectionData::Bytes);
    EXPECT_EQ(d->bytes, "Subject: a\x80" "b\r\n\r\n");
    // The encapsulated message's header fields.
    Msg x(kMixed);
    EXPECT_EQ(x.section(sec({2}, T::HeaderFields, {"FROM"})), "From: c@d\r\n\r\n");
}

TEST(ImapSection, PartialClipping) {
    Msg m("From: a@b\nSubject: nobody");
    EXPECT_EQ(m.section(sec({}), Partial{5, 100}), " a@b\r\nSubject: nobody");
    EXPECT_EQ(m.section(sec({}), Partial{0, 4}), "From");
    EXPECT_EQ(m.section(sec({}), Partial{100, 5}), "");  // RFC 9051 §6.4.5: beyond the end -> ""
    auto d = section_data(m.tree, *m.src, sec({}), Partial{100, 5});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, SectionData::Range);
    EXPECT_EQ(d->length, 0u);
    EXPECT_EQ(d->offset, m.text.size());
    // Large parts stay ranges into the source.
    Msg big("Content-Type: application/octet-stream\n\n" + std::string(100000, 'x') + "\n");
    auto r = section_data(big.tree, *big.src, sec({1}), Partial{10, 20});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, SectionData::Range);
    EXPECT_EQ(r->offset, big.tree.root().body_begin + 10);
    EXPECT_EQ(r->length, 20u);
}

TEST(ImapBinary, DecodesTransferEncodings) {
    Msg m("Content-Type: multipart/mixed; boundary=b\n\n"
          "--b\nContent-Transfer-Encoding: base64\n\nAGFiAA==\n"
          "--b\nContent-Transfer-Encoding: quoted-printable\n\nx=3Dy=\nz\n"
          "--b\nContent-Transfer-Encoding: 8bit\n\nplain\n"
          "--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n"
          "--b--\n");
    std::vector<std::uint32_t> p1{1}, p2{2}, p3{3}, p4{4}, p9{9};
    auto b = binary_data(m.tree, *m.src, p1, std::nullopt, 1000);
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, std::string("\0ab\0", 4));
    EXPECT_TRUE(needs_literal8(*b));
    EXPECT_EQ(binary_size(m.tree, *m.src, p1).value(), 4u);
    EXPECT_EQ(binary_data(m.tree, *m.src, p2, std::nullopt, 1000).value(), "x=yz");
    EXPECT_FALSE(needs_literal8("x=yz"));
    EXPECT_EQ(binary_size(m.tree, *m.src, p2).value(), 4u);
    EXPECT_EQ(binary_data(m.tree, *m.src, p3, std::nullopt, 1000).value(), "plain");
    EXPECT_EQ(binary_size(m.tree, *m.src, p3).value(), 5u);
    // RFC 3516 §4.3: an unknown encoding is NO [UNKNOWN-CTE]; a missing part is its own error.
    EXPECT_EQ(binary_data(m.tree, *m.src, p4, std::nullopt, 1000).error().code, kFetchUnknownCte);
    EXPECT_EQ(binary_size(m.tree, *m.src, p4).error().code, kFetchUnknownCte);
    EXPECT_EQ(binary_data(m.tree, *m.src, p9, std::nullopt, 1000).error().code, kFetchNoSuchPart);
    // Partial windows are taken from the decoded data.
    EXPECT_EQ(binary_data(m.tree, *m.src, p1, Partial{1, 2}, 1000).value(), "ab");
    EXPECT_EQ(binary_data(m.tree, *m.src, p2, Partial{3, 100}, 1000).value(), "z");
    EXPECT_EQ(binary_data(m.tree, *m.src, p2, Partial{50, 1}, 1000).value(), "");
    // Bounded: more than max_bytes is an error, a window within it is fine.
    EXPECT_EQ(binary_data(m.tree, *m.src, p3, std::nullopt, 4).error().code, kFetchTooBig);
    EXPECT_EQ(binary_data(m.tree, *m.src, p3, Partial{1, 3}, 4).value(), "lai");
    // BINARY[] is the message as it is.
    EXPECT_EQ(binary_data(m.tree, *m.src, {}, std::nullopt, 1 << 20).value(), m.text);
    EXPECT_EQ(binary_size(m.tree, *m.src, {}).value(), m.text.size());
}

TEST(ImapBinary, LargeBase64InBoundedMemory) {
    std::string body;
    for (int i = 0; i < 20000; ++i) body += "QUJDRA==\n";  // "ABCD" each, concatenated runs
    Msg m("Content-Transfer-Encoding: base64\n\n" + body);
    std::vector<std::uint32_t> p1{1};
    EXPECT_EQ(binary_size(m.tree, *m.src, p1).value(), 80000u);
    EXPECT_EQ(binary_data(m.tree, *m.src, p1, std::nullopt, 1000).error().code, kFetchTooBig);
    EXPECT_EQ(binary_data(m.tree, *m.src, p1, Partial{79998, 10}, 1000).value(), "CD");
}

}  // namespace
}  // namespace tern::imap
