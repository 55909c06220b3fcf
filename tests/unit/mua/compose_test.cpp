// Unit tests for the composer (mua/compose.hpp) and the builder pieces it added to mime/builder:
// header fields, addresses, encodings, attachments, replies and forwards, each checked on the
// octets; and Python's `email` package as an independent reader: no defects, attachments back to
// their bytes and names.
#include "mua/compose.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mime/builder.hpp"
#include "mime/decode.hpp"
#include "mime/encoded_word.hpp"
#include "mime/filename.hpp"
#include "mime/header.hpp"
#include "mime/part_reader.hpp"
#include "mime/part_tree.hpp"

namespace tern::mua {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto e = s.find("\r\n", i);
        if (e == std::string_view::npos) {
            out.emplace_back(s.substr(i));
            break;
        }
        out.emplace_back(s.substr(i, e - i));
        i = e + 2;
    }
    return out;
}

// Every line ends in CRLF, no bare CR or LF, none over 998 octets (RFC 5322 §2.1.1).
void expect_wire_clean(std::string_view msg) {
    ASSERT_TRUE(msg.ends_with("\r\n"));
    for (std::size_t i = 0; i < msg.size(); ++i) {
        if (msg[i] == '\n') {
            ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
        }
        if (msg[i] == '\r') {
            ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
        }
    }
    for (const auto& l : lines_of(msg)) ASSERT_LE(l.size(), 998u);
}

std::string header_part(std::string_view msg) { return std::string(msg.substr(0, msg.find("\r\n\r\n") + 2)); }

// The unfolded value of the first field so named in the message's header, trimmed.
std::string field(std::string_view msg, std::string_view name) {
    auto hs = mime::parse_header_section(msg);
    if (!hs) return "<error>";
    const auto* f = hs->find(name);
    if (!f) return "<absent>";
    std::string v = f->value();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    return v;
}

std::string body_of(std::string_view msg) { return std::string(msg.substr(msg.find("\r\n\r\n") + 4)); }

Draft base_draft() {
    Draft d;
    d.from = "Alice Example <alice@example.org>";
    d.to = {"bob@example.net"};
    d.subject = "Hello";
    d.body = "Hi Bob,\nsee you.\n";
    d.date = 1700000000;  // 2023-11-14 22:13:20 UTC
    d.utc_offset_minutes = 60;
    d.unique = 0x1234;
    d.host = "example.org";
    return d;
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "tern-compose-XXXXXX").string();
        char* p = ::mkdtemp(tmpl.data());
        if (p) path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path write(const std::string& name, std::string_view data) const {
        fs::path p = path_ / name;
        std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
        return p;
    }

private:
    fs::path path_;
};

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

std::string fake_pdf() {
    std::string s = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
    s += random_bytes(3000, 7);
    s += "\n%%EOF\n";
    return s;
}

// --- the header ---

TEST(Compose, AsciiMessageHasTheRequiredFieldsAndA7bitBody) {
    auto built = build_message(base_draft());
    ASSERT_TRUE(built) << built.error().message;
    const std::string& m = built->message;
    expect_wire_clean(m);
    EXPECT_EQ(field(m, "Date"), "Tue, 14 Nov 2023 23:13:20 +0100");
    EXPECT_EQ(field(m, "From"), "Alice Example <alice@example.org>");
    EXPECT_EQ(field(m, "To"), "bob@example.net");
    EXPECT_EQ(field(m, "Subject"), "Hello");
    EXPECT_EQ(field(m, "Message-ID"), "<1700000000.0000000000001234@example.org>");
    EXPECT_EQ(built->message_id, "<1700000000.0000000000001234@example.org>");
    EXPECT_EQ(field(m, "MIME-Version"), "1.0");
    EXPECT_EQ(field(m, "Content-Type"), "text/plain; charset=us-ascii");
    EXPECT_EQ(field(m, "Content-Transfer-Encoding"), "7bit");
    EXPECT_EQ(body_of(m), "Hi Bob,\r\nsee you.\r\n");
    EXPECT_EQ(built->sender, "alice@example.org");
    EXPECT_EQ(built->recipients, std::vector<std::string>{"bob@example.net"});
    EXPECT_FALSE(built->needs_8bitmime);
    EXPECT_FALSE(built->needs_smtputf8);
}

TEST(Compose, MessageIdHostDefaultsToTheFromDomain) {
    Draft d = base_draft();
    d.host.clear();
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_TRUE(field(built->message, "Message-ID").ends_with("@example.org>"));
}

TEST(Compose, BccIsInTheEnvelopeOnlyAndRecipientsAreDeduplicated) {
    Draft d = base_draft();
    d.to = {"Bob <bob@example.net>", "carol@example.com"};
    d.cc = {"bob@EXAMPLE.NET, Dave <dave@example.com>"};
    d.bcc = {"secret@example.com", "carol@example.com"};
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_EQ(built->message.find("secret@"), std::string::npos);
    EXPECT_EQ(field(built->message, "Bcc"), "<absent>");
    EXPECT_EQ(field(built->message, "Cc"), "bob@EXAMPLE.NET, Dave <dave@example.com>");
    EXPECT_EQ(built->recipients, (std::vector<std::string>{"bob@example.net", "carol@example.com",
                                                           "dave@example.com", "secret@example.com"}));
}

TEST(Compose, OnlyBccGivesUndisclosedRecipients) {
    Draft d = base_draft();
    d.to.clear();
    d.bcc = {"secret@example.com"};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "To"), "undisclosed-recipients:;");
    EXPECT_EQ(built->message.find("secret@"), std::string::npos);
}

TEST(Compose, BadAddressesAreRefusedWithTheFieldAndTheText) {
    for (const char* bad : {"bob", "bob@", "Bob <bob@example.net", "Bob <bob@example.net> junk", "@example.net",
                            "Doe, John <j@example.net>"}) {
        Draft d = base_draft();
        d.cc = {bad};
        auto built = build_message(d);
        ASSERT_FALSE(built) << bad;
        EXPECT_NE(built.error().message.find("Cc: \""), std::string::npos) << built.error().message;
        EXPECT_NE(built.error().message.find("not a valid address"), std::string::npos) << built.error().message;
    }
    Draft d = base_draft();
    d.from = "alice";
    auto built = build_message(d);
    ASSERT_FALSE(built);
    EXPECT_NE(built.error().message.find("From:"), std::string::npos);
    d = base_draft();
    d.from = "a@example.org, b@example.org";
    EXPECT_FALSE(build_message(d));
    d = base_draft();
    d.to.clear();
    built = build_message(d);
    ASSERT_FALSE(built);
    EXPECT_NE(built.error().message.find("no recipients"), std::string::npos);
}

TEST(Compose, NonAsciiNamesAndSubjectAreEncodedWords) {
    Draft d = base_draft();
    d.from = "alice@example.org";
    d.from_name = "Zoë Ça, Dr.";
    d.to = {"\"Müller, Jürgen\" <j@example.de>", "Δημήτρης <d@example.gr>"};
    d.subject = "Grüße aus Köln – Überweisung für März";
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    const std::string head = header_part(built->message);
    for (unsigned char c : head) ASSERT_LT(c, 0x80) << "raw 8-bit in the header";
    EXPECT_EQ(mime::decode_words(field(built->message, "Subject")), d.subject);
    // The header is still a valid address list, and the names decode back.
    auto from = mime::parse_single_mailbox(field(built->message, "From"));
    ASSERT_TRUE(from);
    EXPECT_EQ(mime::decode_words(from->display_name), "Zoë Ça, Dr.");
    auto to = mime::parse_mailbox_list(field(built->message, "To"));
    ASSERT_TRUE(to);
    ASSERT_EQ(to->size(), 2u);
    EXPECT_EQ(mime::decode_words((*to)[0].display_name), "Müller, Jürgen");
    EXPECT_EQ((*to)[0].addr_spec(), "j@example.de");
    EXPECT_EQ(mime::decode_words((*to)[1].display_name), "Δημήτρης");
    for (const auto& l : lines_of(head)) EXPECT_LE(l.size(), 78u) << l;
}

TEST(Compose, AsciiNamesWithSpecialsAreQuoted) {
    Draft d = base_draft();
    d.from_name = "Example, Alice (work)";
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "From"), "\"Example, Alice (work)\" <alice@example.org>");
}

TEST(Compose, LongHeaderFieldsAreFoldedAt78AndNeverOver998) {
    Draft d = base_draft();
    d.subject.clear();
    for (int i = 0; i < 40; ++i) d.subject += "word" + std::to_string(i) + " ";
    for (int i = 0; i < 30; ++i) d.to.push_back("person" + std::to_string(i) + "@example.net");
    auto built = build_message(d);
    ASSERT_TRUE(built);
    for (const auto& l : lines_of(header_part(built->message))) EXPECT_LE(l.size(), 78u) << l;
    std::string subject = d.subject;
    subject.pop_back();
    EXPECT_EQ(field(built->message, "Subject"), subject);
    // A word with no place to fold: longer than 78 but never longer than 998.
    d.subject = std::string(3000, 'x');
    built = build_message(d);
    ASSERT_TRUE(built);
    expect_wire_clean(built->message);
}

TEST(Compose, ReplyFieldsAndExtraHeaders) {
    Draft d = base_draft();
    d.in_reply_to = "<parent@example.net>";
    d.references = {"<root@example.net>", "<parent@example.net>"};
    d.headers = {{"X-Mailer", "tern"}, {"Organization", "Ümlaut AG"}};
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_EQ(field(built->message, "In-Reply-To"), "<parent@example.net>");
    EXPECT_EQ(field(built->message, "References"), "<root@example.net> <parent@example.net>");
    EXPECT_EQ(field(built->message, "X-Mailer"), "tern");
    EXPECT_EQ(mime::decode_words(field(built->message, "Organization")), "Ümlaut AG");

    d.headers = {{"Bcc", "x@example.com"}};
    EXPECT_FALSE(build_message(d));
    d.headers = {{"Bad Name", "x"}};
    EXPECT_FALSE(build_message(d));
    d.headers = {{"X-Injected", "a\r\nBcc: x@example.com"}};
    built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "Bcc"), "<absent>");
    d.headers.clear();
    d.in_reply_to = "not an id";
    EXPECT_FALSE(build_message(d));
}

// --- the body ---

TEST(Compose, NonAsciiBodyIsQuotedPrintableUtf8) {
    Draft d = base_draft();
    d.body = "Grüße,\r\nJürgen\n";
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(field(built->message, "Content-Transfer-Encoding"), "quoted-printable");
    EXPECT_EQ(body_of(built->message), "Gr=C3=BC=C3=9Fe,\r\nJ=C3=BCrgen\r\n");
    EXPECT_EQ(mime::decode_qp(body_of(built->message)), "Grüße,\r\nJürgen\r\n");
}

TEST(Compose, BodyThatIsNotUtf8IsRefused) {
    Draft d = base_draft();
    d.body = "caf\xe9\n";
    auto built = build_message(d);
    ASSERT_FALSE(built);
    EXPECT_NE(built.error().message.find("UTF-8"), std::string::npos);
}

TEST(Compose, LongAsciiLinesGoQuotedPrintableWithin76Columns) {
    Draft d = base_draft();
    std::string line;
    for (int i = 0; i < 300; ++i) line += "token" + std::to_string(i) + " ";
    d.body = line + "\nshort\n" + std::string(1500, 'y') + "\n";
    auto built = build_message(d);
    ASSERT_TRUE(built);
    expect_wire_clean(built->message);
    EXPECT_EQ(field(built->message, "Content-Type"), "text/plain; charset=us-ascii");
    EXPECT_EQ(field(built->message, "Content-Transfer-Encoding"), "quoted-printable");
    std::string body = body_of(built->message);
    for (const auto& l : lines_of(body)) EXPECT_LE(l.size(), 76u) << l;
    EXPECT_EQ(mime::decode_qp(body), line + "\r\nshort\r\n" + std::string(1500, 'y') + "\r\n");
    // A line of exactly 998 octets still goes as 7bit.
    d.body = std::string(998, 'z') + "\n";
    built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "Content-Transfer-Encoding"), "7bit");
}

TEST(Compose, QuotedPrintableHandlesTrailingBlanksFromLinesDotsAndEquals) {
    std::string out;
    mime::append_quoted_printable(out, "trailing space \r\ntab\t\r\nFrom me\r\n.\r\n..\r\na=b\r\nFromage\r\n");
    EXPECT_EQ(out, "trailing space=20\r\ntab=09\r\n=46rom me\r\n=2E\r\n=2E.\r\na=3Db\r\nFromage\r\n");
    EXPECT_EQ(mime::decode_qp(out), "trailing space \r\ntab\t\r\nFrom me\r\n.\r\n..\r\na=b\r\nFromage\r\n");
    // After a soft break too: the "." and the "F" that land at a line's start are encoded.
    out.clear();
    mime::append_quoted_printable(out, std::string(75, 'a') + ".x\r\n" + std::string(75, 'b') + "From y\r\n");
    EXPECT_EQ(out, std::string(75, 'a') + "=\r\n=2Ex\r\n" + std::string(75, 'b') + "=\r\n=46rom y\r\n");
    // A soft break never leaves a "." or "From " at the start of a line, nor splits a character.
    std::string text = std::string(75, 'a') + "." + std::string(74, 'b') + "From x" + std::string(60, 'c') +
                       std::string(30, ' ') + "\r\n";
    std::string utf;
    for (int i = 0; i < 40; ++i) utf += "é";
    text += utf + "\r\n";
    out.clear();
    mime::append_quoted_printable(out, text);
    for (const auto& l : lines_of(out)) {
        EXPECT_LE(l.size(), 76u) << l;
        EXPECT_FALSE(l.starts_with(".")) << l;
        EXPECT_FALSE(l.starts_with("From ")) << l;
        EXPECT_FALSE(l.ends_with(" ")) << l;
        if (l.starts_with("=C3")) {
            EXPECT_EQ((l.size() - (l.ends_with("=") ? 1 : 0)) % 6, 0u) << l;
        }
    }
    EXPECT_EQ(mime::decode_qp(out), text);
}

TEST(Compose, BodyWithNulGoesQuotedPrintable) {
    Draft d = base_draft();
    d.body = std::string("a\0b\n", 4);
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(field(built->message, "Content-Transfer-Encoding"), "quoted-printable");
    EXPECT_EQ(body_of(built->message), "a=00b\r\n");
}

// --- attachments ---

// The parts of a built message, decoded, with their Content-* fields.
struct DecodedPart {
    std::string type, filename, cte, data;
    std::string headers;
};

std::vector<DecodedPart> leaves(const std::string& msg) {
    std::vector<DecodedPart> out;
    auto src = base::bytes_from_string(msg);
    auto tree = mime::parse_message(msg);
    for (const auto& p : tree.parts) {
        if (p.kind != mime::PartKind::Leaf && p.kind != mime::PartKind::Message) continue;
        if (p.parent != mime::kNoPart && tree.parts[p.parent].kind == mime::PartKind::Message) continue;
        DecodedPart d;
        d.type = p.content_type.type + "/" + p.content_type.subtype;
        d.filename = mime::part_filename(p).value_or("");
        d.cte = p.transfer_encoding;
        d.headers = msg.substr(p.header_begin, p.header_end - p.header_begin);
        auto r = mime::read_decoded(*src, p, [&](std::string_view s) {
            d.data += s;
            return true;
        });
        EXPECT_TRUE(r);
        out.push_back(std::move(d));
    }
    return out;
}

TEST(Compose, AttachmentsAreTypedByContentAndEncodedByKind) {
    TempDir tmp;
    std::string bin = random_bytes(100 * 1024, 1);
    auto bin_path = tmp.write("data.bin", bin);
    auto pdf_path = tmp.write("Überweisung – März.pdf", fake_pdf());
    auto txt_path = tmp.write("notes.txt", "plain notes\nline two\n");
    auto utf_path = tmp.write("grüße.txt", "Grüße\naus Köln\n");
    Draft d = base_draft();
    d.attachments = {{bin_path, ""}, {pdf_path, ""}, {txt_path, ""}, {utf_path, ""}};
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    const std::string& m = built->message;
    expect_wire_clean(m);
    EXPECT_TRUE(field(m, "Content-Type").starts_with("multipart/mixed; boundary="));
    auto parts = leaves(m);
    ASSERT_EQ(parts.size(), 5u);
    EXPECT_EQ(parts[0].type, "text/plain");  // the text first
    EXPECT_EQ(parts[0].data, "Hi Bob,\r\nsee you.\r\n");
    EXPECT_EQ(parts[1].type, "application/octet-stream");
    EXPECT_EQ(parts[1].cte, "base64");
    EXPECT_EQ(parts[1].filename, "data.bin");
    EXPECT_EQ(parts[1].data, bin);
    EXPECT_EQ(parts[2].type, "application/pdf");
    EXPECT_EQ(parts[2].cte, "base64");
    EXPECT_EQ(parts[2].filename, "Überweisung – März.pdf");
    EXPECT_EQ(parts[2].data, fake_pdf());
    // RFC 2231 filename* for the new readers, RFC 2047 name= for the old ones.
    EXPECT_NE(parts[2].headers.find("filename*=utf-8''%C3%9Cberweisung%20%E2%80%93%20M%C3%A4rz.pdf"),
              std::string::npos)
        << parts[2].headers;
    EXPECT_NE(parts[2].headers.find("name=\"=?UTF-8?B?"), std::string::npos) << parts[2].headers;
    EXPECT_EQ(parts[3].type, "text/plain");
    EXPECT_EQ(parts[3].cte, "7bit");
    EXPECT_EQ(parts[3].data, "plain notes\r\nline two\r\n");
    EXPECT_NE(parts[3].headers.find("charset=us-ascii"), std::string::npos);
    EXPECT_EQ(parts[4].cte, "quoted-printable");
    EXPECT_NE(parts[4].headers.find("charset=utf-8"), std::string::npos);
    EXPECT_EQ(parts[4].data, "Grüße\r\naus Köln\r\n");
    EXPECT_EQ(parts[4].filename, "grüße.txt");
    // base64 in lines of 76 characters.
    std::size_t at = m.find("\r\n\r\n", m.find("filename=data.bin")) + 4;
    EXPECT_EQ(m.find("\r\n", at) - at, 76u);
    for (const auto& l : lines_of(header_part(m))) EXPECT_LE(l.size(), 78u) << l;
}

TEST(Compose, OnlyTheBaseNameTravels) {
    TempDir tmp;
    fs::create_directories(tmp.path() / "secret" / "dir");
    auto p = tmp.write("secret/dir/report.bin", random_bytes(100, 2));
    Draft d = base_draft();
    d.attachments = {{p, ""}, {p, "../../etc/passwd"}, {p, "C:\\Users\\me\\x.bin"}};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(built->message.find("secret"), std::string::npos);
    auto parts = leaves(built->message);
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[1].filename, "report.bin");
    EXPECT_EQ(parts[2].filename, "passwd");
    EXPECT_EQ(parts[3].filename, "x.bin");
}

TEST(Compose, LongFileNamesUseRfc2231Continuations) {
    std::string ascii_name(196, 'n');
    ascii_name += ".txt";
    std::string utf_name;
    for (int i = 0; i < 12; ++i) utf_name += "Jahresübersicht-";  // 196 characters, 208 octets
    utf_name += ".pdf";
    std::string p1 = mime::mime_param("filename", ascii_name);
    std::string p2 = mime::mime_param("filename", utf_name);
    EXPECT_TRUE(p1.starts_with("filename*0=\"nnn")) << p1;
    EXPECT_NE(p1.find("; filename*2=\""), std::string::npos) << p1;
    EXPECT_TRUE(p2.starts_with("filename*0*=utf-8''Jahres%C3%BCbersicht-")) << p2;
    EXPECT_NE(p2.find("; filename*1*="), std::string::npos) << p2;
    EXPECT_EQ(mime::header_field("X", p2).find("utf-8''", 30), std::string::npos);  // only section 0 has it
    for (const auto* p : {&p1, &p2})
        for (const auto& l : lines_of(mime::header_field("Content-Disposition", "attachment; " + *p)))
            EXPECT_LE(l.size(), 78u) << l;
    // The MIME parser reads the sections back as the names.
    for (const auto& name : {ascii_name, utf_name}) {
        Draft d = base_draft();
        d.parts = {{"application/octet-stream", "xyz", name, false}};
        auto built = build_message(d);
        ASSERT_TRUE(built);
        auto parts = leaves(built->message);
        ASSERT_EQ(parts.size(), 2u);
        EXPECT_EQ(parts[1].filename, name);
    }
    // Short values: a token, else a quoted string; a %XX never split.
    EXPECT_EQ(mime::mime_param("filename", "a.pdf"), "filename=a.pdf");
    EXPECT_EQ(mime::mime_param("filename", "a b \"c\".pdf"), "filename=\"a b \\\"c\\\".pdf\"");
    EXPECT_EQ(mime::mime_param("filename", "ä"), "filename*=utf-8''%C3%A4");
}

TEST(Compose, AttachmentsOverTheLimitAreRefused) {
    TempDir tmp;
    auto p = tmp.write("big.bin", random_bytes(3000, 3));
    Draft d = base_draft();
    d.attachments = {{p, ""}};
    BuildOptions small;
    small.max_attachment_bytes = 2000;
    auto built = build_message(d, small);
    ASSERT_FALSE(built);
    EXPECT_NE(built.error().message.find("too large"), std::string::npos) << built.error().message;
    EXPECT_NE(built.error().message.find("3000 bytes in all, the limit is 2000 bytes"), std::string::npos)
        << built.error().message;
    small.max_attachment_bytes = 3000;
    EXPECT_TRUE(build_message(d, small));
    // The total counts: two files of 3000 are over 5000.
    d.attachments.push_back({p, "again.bin"});
    small.max_attachment_bytes = 5000;
    EXPECT_FALSE(build_message(d, small));
    EXPECT_EQ(BuildOptions{}.max_attachment_bytes, 25ull << 20);
    d.attachments = {{tmp.path() / "missing.bin", ""}};
    built = build_message(d);
    ASSERT_FALSE(built);
    EXPECT_NE(built.error().message.find("missing.bin"), std::string::npos);
}

TEST(Compose, TextAttachmentHoldingTheBoundaryGoesQuotedPrintable) {
    Draft d = base_draft();
    d.parts = {{"application/octet-stream", "x", "x.bin", false}};
    auto first = build_message(d);
    ASSERT_TRUE(first);
    std::string ct = field(first->message, "Content-Type");
    std::string boundary = ct.substr(ct.find("boundary=") + 9);
    if (boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
    TempDir tmp;
    auto p = tmp.write("evil.txt", "line\n--" + boundary + "--\nafter\n");
    d.attachments = {{p, ""}};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    auto parts = leaves(built->message);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].cte, "quoted-printable");
    EXPECT_EQ(parts[2].data, "line\r\n--" + boundary + "--\r\nafter\r\n");
}

// --- replies ---

const char* kOriginal =
    "Date: Mon, 6 Dec 2026 10:00:00 +0100\r\n"
    "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\r\n"
    "To: Alice <alice@example.org>, bob@example.net\r\n"
    "Cc: carol@example.com, ALICE@example.org, bob@example.net\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
    "Message-ID: <orig@example.de>\r\n"
    "References: <root@example.de>\r\n <mid@example.de>\r\n"
    "In-Reply-To: <mid@example.de>\r\n"
    "\r\n"
    "Hello\r\n";

TEST(Reply, SubjectAddressesAndThreadFields) {
    Draft d = reply_draft(kOriginal, "Hello\n", "Alice <alice@example.org>", false);
    EXPECT_EQ(d.from, "Alice <alice@example.org>");
    EXPECT_EQ(d.subject, "Re: Grüße");
    EXPECT_EQ(d.to, std::vector<std::string>{"Jürgen Müller <juergen@example.de>"});
    EXPECT_TRUE(d.cc.empty());
    EXPECT_EQ(d.in_reply_to, "<orig@example.de>");
    EXPECT_EQ(d.references, (std::vector<std::string>{"<root@example.de>", "<mid@example.de>", "<orig@example.de>"}));
    EXPECT_EQ(d.body, "On Mon, 6 Dec 2026 10:00:00 +0100, Jürgen Müller wrote:\n> Hello\n");
}

TEST(Reply, AllCopiesToAndCcWithoutTheAccountOrDuplicates) {
    Draft d = reply_draft(kOriginal, "Hello\n", "alice@example.org", true);
    EXPECT_EQ(d.to, std::vector<std::string>{"Jürgen Müller <juergen@example.de>"});
    EXPECT_EQ(d.cc, (std::vector<std::string>{"bob@example.net", "carol@example.com"}));
}

TEST(Reply, ReplyToWinsAndReIsNotRepeated) {
    std::string orig =
        "From: Bob <bob@example.net>\r\nReply-To: list@example.net\r\nSubject: RE: plans\r\n"
        "Message-ID: <b@example.net>\r\nIn-Reply-To: <a@example.net>\r\n\r\nx\r\n";
    Draft d = reply_draft(orig, "x", "alice@example.org", false);
    EXPECT_EQ(d.to, std::vector<std::string>{"list@example.net"});
    EXPECT_EQ(d.subject, "RE: plans");
    // No References: the parent's single In-Reply-To id, then its Message-ID (RFC 5322 §3.6.4).
    EXPECT_EQ(d.references, (std::vector<std::string>{"<a@example.net>", "<b@example.net>"}));
    EXPECT_EQ(d.body, "Bob wrote:\n> x\n");
    // Re: inside an encoded-word counts too.
    orig = "From: b@example.net\r\nSubject: =?utf-8?q?re=3A_caf=C3=A9?=\r\n\r\n";
    EXPECT_EQ(reply_draft(orig, "", "a@example.org", false).subject, "re: café");
    orig = "From: b@example.net\r\nSubject: Reply needed\r\n\r\n";
    EXPECT_EQ(reply_draft(orig, "", "a@example.org", false).subject, "Re: Reply needed");
}

TEST(Reply, MessageIdsThatCannotStandInAHeaderAreDropped) {
    std::string orig = "From: b@example.net\r\nMessage-ID: <caf\xc3\xa9@x>\r\n"
                       "References: <ok@x> <bad\x01id@x> <also ok@x>\r\n\r\n";
    Draft d = reply_draft(orig, "", "a@example.org", false);
    EXPECT_EQ(d.in_reply_to, "");
    EXPECT_EQ(d.references, std::vector<std::string>{"<ok@x>"});
    d.date = 1;
    auto built = build_message(d);
    ASSERT_TRUE(built);
    for (unsigned char c : header_part(built->message)) ASSERT_LT(c, 0x80);
}

TEST(Reply, ControlCharactersInANameDoNotSpoilTheReply) {
    std::string orig = "From: =?utf-8?q?Bob=01Smith?= <b@example.net>\r\nSubject: s\r\n\r\n";
    Draft d = reply_draft(orig, "", "a@example.org", false);
    EXPECT_EQ(d.to, std::vector<std::string>{"Bob Smith <b@example.net>"});
    d.date = 1;
    EXPECT_TRUE(build_message(d));
}

TEST(Reply, ToOwnMessageGoesToItsRecipients) {
    std::string orig = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: s\r\n\r\n";
    Draft d = reply_draft(orig, "", "alice@example.org", false);
    EXPECT_EQ(d.to, std::vector<std::string>{"bob@example.net"});
}

TEST(Reply, ToOwnMessageToOneselfGoesToOneself) {
    std::string orig = "From: Alice <alice@example.org>\r\nTo: ALICE@example.org\r\nSubject: s\r\n\r\n";
    Draft d = reply_draft(orig, "", "alice@example.org", true);
    EXPECT_EQ(d.to, std::vector<std::string>{"Alice <alice@example.org>"});
    EXPECT_TRUE(d.cc.empty());
}

TEST(Reply, LongReferencesAreTrimmedKeepingTheRoot) {
    std::string orig = "From: b@example.net\r\nMessage-ID: <last@x>\r\nReferences:";
    for (int i = 0; i < 50; ++i) orig += " <r" + std::to_string(i) + "@x>\r\n";
    orig += "\r\n";
    Draft d = reply_draft(orig, "", "a@example.org", false);
    ASSERT_EQ(d.references.size(), 20u);
    EXPECT_EQ(d.references.front(), "<r0@x>");
    EXPECT_EQ(d.references[1], "<r32@x>");  // then the 19 most recent
    EXPECT_EQ(d.references[18], "<r49@x>");
    EXPECT_EQ(d.references.back(), "<last@x>");
}

TEST(Reply, Quoting) {
    EXPECT_EQ(quote_text("a\n\n> b\n>> c\nd"), "> a\n>\n>> b\n>>> c\n> d\n");
    EXPECT_EQ(quote_text("a\r\nb\r\n\r\n"), "> a\n> b\n");
    EXPECT_EQ(quote_text(""), "");
}

// --- forwards ---

TEST(Forward, AsAttachmentIsMessageRfc822NeverBase64) {
    Draft d = forward_draft(kOriginal, "Hello\n", true);
    EXPECT_EQ(d.subject, "Fwd: Grüße");
    ASSERT_EQ(d.parts.size(), 1u);
    EXPECT_EQ(d.parts[0].content_type, "message/rfc822");
    EXPECT_EQ(d.parts[0].name, "Grüße.eml");
    d.from = "alice@example.org";
    d.to = {"dave@example.com"};
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_NE(built->message.find(kOriginal), std::string::npos);  // octet for octet
    auto parts = leaves(built->message);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].type, "message/rfc822");
    EXPECT_EQ(parts[1].cte, "7bit");
    EXPECT_FALSE(built->needs_8bitmime);

    // An 8-bit original (RFC 6532 header, 8-bit body) travels as 8bit, and the multipart says so.
    std::string eight = "From: Jürgen <j@example.de>\nSubject: Grüße\n\nGrüße\n";
    d = forward_draft(eight, "", true);
    d.from = "alice@example.org";
    d.to = {"dave@example.com"};
    built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_TRUE(built->needs_8bitmime);
    EXPECT_EQ(field(built->message, "Content-Transfer-Encoding"), "8bit");
    parts = leaves(built->message);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].cte, "8bit");
    EXPECT_EQ(built->message.find("base64"), std::string::npos);
    EXPECT_NE(built->message.find("From: Jürgen <j@example.de>\r\nSubject: Grüße\r\n\r\nGrüße\r\n"), std::string::npos);
    expect_wire_clean(built->message);
}

TEST(Forward, OriginalThatCannotTravelAs8bitBecomesAnOctetStream) {
    std::string orig = "From: b@example.net\r\nSubject: long\r\n\r\n" + std::string(2000, 'x') + "\r\n";
    Draft d = forward_draft(orig, "", true);
    d.from = "alice@example.org";
    d.to = {"dave@example.com"};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    expect_wire_clean(built->message);
    auto parts = leaves(built->message);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].type, "application/octet-stream");
    EXPECT_EQ(parts[1].cte, "base64");
    EXPECT_EQ(parts[1].data, orig);
}

std::string original_with_attachment() {
    std::string pdf = fake_pdf();
    std::string b64;
    mime::append_base64_lines(b64, pdf);
    return "From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nCc: carol@example.com\r\n"
           "Date: Tue, 1 Dec 2026 09:00:00 +0000\r\nSubject: Invoice\r\nMessage-ID: <inv@example.net>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease pay.\r\n"
           "--b1\r\nContent-Type: application/pdf; name=\"inv.pdf\"\r\n"
           "Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n" +
           b64 + "--b1--\r\n";
}

TEST(Forward, InlineHasTheForwardedBlockAndReattachesAttachments) {
    Draft d = forward_draft(original_with_attachment(), "Please pay.\n", false);
    EXPECT_EQ(d.subject, "Fwd: Invoice");
    EXPECT_EQ(d.body,
              "---------- Forwarded message ---------\n"
              "From: Bob <bob@example.net>\n"
              "Date: Tue, 1 Dec 2026 09:00:00 +0000\n"
              "Subject: Invoice\n"
              "To: alice@example.org\n"
              "Cc: carol@example.com\n"
              "\n"
              "Please pay.\n");
    ASSERT_EQ(d.parts.size(), 1u);
    EXPECT_EQ(d.parts[0].content_type, "application/pdf");
    EXPECT_EQ(d.parts[0].name, "Rechnung März.pdf");
    EXPECT_EQ(d.parts[0].data, fake_pdf());
    EXPECT_EQ(forward_draft("Subject: Fwd: x\r\n\r\n", "", false).subject, "Fwd: x");
}

// --- Python's email package as an independent reader ---

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

const char* kPythonCheck = R"PY(
import sys, json, email, email.policy
raw = open(sys.argv[1], 'rb').read()
exp = json.load(open(sys.argv[2], encoding='utf-8'))
problems = []
for name, pol in (('default', email.policy.default), ('compat32', email.policy.compat32)):
    msg = email.message_from_bytes(raw, policy=pol)
    for part in msg.walk():
        if part.defects:
            problems.append('%s: %s part defects %r' % (name, part.get_content_type(), part.defects))
        if name == 'default':
            for k, v in part.items():
                # The one intended exception: Content-Type name="=?UTF-8?B?...?=" for clients
                # that predate RFC 2231 (filename*= in Content-Disposition is the real name).
                legacy = ('encoded word inside quoted string', 'missing trailing whitespace after encoded-word')
                defects = [d for d in getattr(v, 'defects', ())
                           if not (k.lower() == 'content-type' and str(d) in legacy)]
                if defects:
                    problems.append('header %s defects %r' % (k, defects))
msg = email.message_from_bytes(raw, policy=email.policy.default)
def check(what, got, want):
    if got != want:
        problems.append('%s: got %r, want %r' % (what, got, want))
check('Bcc', msg['bcc'], None)
check('subject', str(msg['subject']), exp['subject'])
check('from', msg['from'].addresses[0].addr_spec, exp['from'])
check('from name', msg['from'].addresses[0].display_name, exp['from_name'])
check('to', [a.addr_spec for a in msg['to'].addresses], exp['to'])
if 'cc' in exp:
    check('cc', [a.addr_spec for a in msg['cc'].addresses], exp['cc'])
if 'in_reply_to' in exp:
    check('in-reply-to', str(msg['in-reply-to']), exp['in_reply_to'])
    check('references', str(msg['references']).split(), exp['references'])
body = msg.get_body(preferencelist=('plain',))
check('body', body.get_content().replace('\r\n', '\n'), exp['body'])
atts = [p for p in msg.iter_attachments()]
check('attachment count', len(atts), len(exp['attachments']))
for p, e in zip(atts, exp['attachments']):
    check('filename', p.get_filename(), e['name'])
    if 'message_id' in e:
        check('type', p.get_content_type(), 'message/rfc822')
        inner = p.get_content()
        check('inner message-id', str(inner['message-id']), e['message_id'])
        check('inner subject', str(inner['subject']), e['subject'])
        continue
    data = p.get_payload(decode=True)
    want = open(e['file'], 'rb').read()
    if e.get('text'):
        data, want = data.replace(b'\r\n', b'\n'), want.replace(b'\r\n', b'\n')
    check('content of ' + e['name'], data, want)
print('\n'.join(problems) if problems else 'OK')
sys.exit(1 if problems else 0)
)PY";

bool have_python() { return std::system("python3 -c 'import email' >/dev/null 2>&1") == 0; }

struct ExpectedAttachment {
    std::string name;
    fs::path file;  // the original octets
    bool text = false;
    std::string message_id, subject;  // for message/rfc822
};

ExpectedAttachment att(std::string name, fs::path file, bool text = false) {
    return {std::move(name), std::move(file), text, {}, {}};
}

struct Expected {
    std::string subject, from, from_name, body;
    std::vector<std::string> to, cc;
    std::vector<ExpectedAttachment> attachments;
    std::string in_reply_to;
    std::vector<std::string> references;
};

std::string json_list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json_string(s);
    return out + "]";
}

// Runs the Python reader on `message`; "OK" or its complaints.
std::string python_reads(const TempDir& tmp, const std::string& tag, const std::string& message, const Expected& e) {
    auto msg_path = tmp.write(tag + ".eml", message);
    std::string j = "{\"subject\":" + json_string(e.subject) + ",\"from\":" + json_string(e.from) +
                    ",\"from_name\":" + json_string(e.from_name) + ",\"body\":" + json_string(e.body) +
                    ",\"to\":" + json_list(e.to);
    if (!e.cc.empty()) j += ",\"cc\":" + json_list(e.cc);
    if (!e.in_reply_to.empty())
        j += ",\"in_reply_to\":" + json_string(e.in_reply_to) + ",\"references\":" + json_list(e.references);
    j += ",\"attachments\":[";
    for (std::size_t i = 0; i < e.attachments.size(); ++i) {
        const auto& a = e.attachments[i];
        j += (i ? "," : "") + std::string("{\"name\":") + json_string(a.name) +
             ",\"file\":" + json_string(a.file.string()) + ",\"text\":" + (a.text ? "true" : "false");
        if (!a.message_id.empty())
            j += ",\"message_id\":" + json_string(a.message_id) + ",\"subject\":" + json_string(a.subject);
        j += "}";
    }
    j += "]}";
    auto exp_path = tmp.write(tag + ".json", j);
    auto script = tmp.write("check.py", kPythonCheck);
    std::string cmd = "python3 '" + script.string() + "' '" + msg_path.string() + "' '" + exp_path.string() + "' 2>&1";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return "popen failed";
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    int rc = ::pclose(f);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (rc != 0 && out == "OK") return "exit status " + std::to_string(rc);
    return out;
}

class PythonReads : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(have_python()) << "python3 with its email package is needed (scripts/deps.sh test installs it)";
        ASSERT_FALSE(tmp.path().empty());
    }
    Expected expected(const Draft& d) {
        Expected e;
        e.subject = d.subject;
        e.from = "alice@example.org";
        e.from_name = d.from_name.empty() ? "Alice Example" : d.from_name;
        e.body = d.body;
        e.to = {"bob@example.net"};
        return e;
    }
    TempDir tmp;
};

TEST_F(PythonReads, AsciiText) {
    Draft d = base_draft();
    d.bcc = {"hidden@example.com"};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(python_reads(tmp, "ascii", built->message, expected(d)), "OK");
}

TEST_F(PythonReads, NonAsciiTextAndSubject) {
    Draft d = base_draft();
    d.from_name = "Zoë Ça, Dr.";
    d.subject = "Grüße aus Köln – Überweisung für März, und noch ein wenig mehr Text, der umbricht";
    d.body = "Grüße aus Köln!\n\nΔημήτρης schreibt: 日本語のテキスト.\n.\nFrom here\ntrailing  \n";
    d.to = {"\"Müller, Jürgen\" <bob@example.net>"};
    auto built = build_message(d);
    ASSERT_TRUE(built);
    EXPECT_EQ(python_reads(tmp, "utf8", built->message, expected(d)), "OK");
}

TEST_F(PythonReads, LongLines) {
    Draft d = base_draft();
    std::string line;
    for (int i = 0; i < 200; ++i) line += "wort" + std::to_string(i) + (i % 7 ? " " : "ü ");
    d.body = line + "\n" + std::string(3000, 'q') + "\nend\n";
    auto built = build_message(d);
    ASSERT_TRUE(built);
    expect_wire_clean(built->message);
    EXPECT_EQ(python_reads(tmp, "long", built->message, expected(d)), "OK");
}

TEST_F(PythonReads, TwoAttachmentsAndLongNames) {
    std::string name200;
    while (name200.size() < 196) name200 += "quarterly-report-";
    name200.resize(196);
    name200 += ".txt";
    std::string long_utf;
    for (int i = 0; i < 8; ++i) long_utf += "Jahresübersicht März ";
    long_utf += "(Entwurf).pdf";
    auto bin = tmp.write("random.bin", random_bytes(100 * 1024, 11));
    auto pdf = tmp.write("Überweisung – März.pdf", fake_pdf());
    auto txt = tmp.write(name200, "Quarterly\nreport text\n");
    auto pdf2 = tmp.write("x.pdf", fake_pdf());
    Draft d = base_draft();
    d.attachments = {{bin, ""}, {pdf, ""}, {txt, ""}, {pdf2, long_utf}};
    auto built = build_message(d);
    ASSERT_TRUE(built) << built.error().message;
    Expected e = expected(d);
    e.attachments = {att("random.bin", bin), att("Überweisung – März.pdf", pdf), att(name200, txt, true),
                     att(long_utf, pdf2)};
    EXPECT_EQ(python_reads(tmp, "attach", built->message, e), "OK");
}

TEST_F(PythonReads, ReplyAndReplyAll) {
    for (bool all : {false, true}) {
        Draft d = reply_draft(kOriginal, "Hello\n\n> earlier\n", "Alice Example <alice@example.org>", all);
        d.date = 1700000000;
        d.unique = 99;
        auto built = build_message(d);
        ASSERT_TRUE(built) << built.error().message;
        Expected e;
        e.subject = "Re: Grüße";
        e.from = "alice@example.org";
        e.from_name = "Alice Example";
        e.to = {"juergen@example.de"};
        if (all) e.cc = {"bob@example.net", "carol@example.com"};
        e.body = "On Mon, 6 Dec 2026 10:00:00 +0100, Jürgen Müller wrote:\n> Hello\n>\n>> earlier\n";
        e.in_reply_to = "<orig@example.de>";
        e.references = {"<root@example.de>", "<mid@example.de>", "<orig@example.de>"};
        EXPECT_EQ(python_reads(tmp, all ? "reply-all" : "reply", built->message, e), "OK");
    }
}

TEST_F(PythonReads, ForwardBothWays) {
    std::string orig = original_with_attachment();
    auto orig_pdf = tmp.write("orig.pdf", fake_pdf());
    for (bool as_attachment : {true, false}) {
        Draft d = forward_draft(orig, "Please pay.\n", as_attachment);
        d.from = "Alice Example <alice@example.org>";
        d.to = {"bob@example.net"};
        d.date = 1700000000;
        d.unique = 7;
        auto built = build_message(d);
        ASSERT_TRUE(built) << built.error().message;
        Expected e = expected(d);
        e.subject = "Fwd: Invoice";
        if (as_attachment)
            e.attachments = {{"Invoice.eml", {}, false, "<inv@example.net>", "Invoice"}};
        else
            e.attachments = {att("Rechnung März.pdf", orig_pdf)};
        EXPECT_EQ(python_reads(tmp, as_attachment ? "fwd-attach" : "fwd-inline", built->message, e), "OK");
    }
}

}  // namespace
}  // namespace tern::mua
