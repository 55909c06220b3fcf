// Rendering messages for `tern read` (src/mua/render): realistic messages as senders write them,
// checked line by line: alternative choice, HTML-only mail, charsets and transfer encodings,
// RFC 2047 headers, forwarded messages, the attachment list, and terminal hygiene.
#include "mua/render.hpp"

#include <gtest/gtest.h>

#include <string>

using tern::mua::render_message;
using tern::mua::Rendered;
using tern::mua::RenderOptions;

namespace {

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

const std::string kAlternative =
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob <bob@example.org>, carol@example.net\r\n"
    "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
    "Subject: Lunch\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Plain version.\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>HTML <a href=\"https://lunch.example/menu\">version</a>.</p>\r\n"
    "--b1--\r\n";

TEST(Render, AlternativePrefersPlainText) {
    Rendered r = render_message(kAlternative);
    EXPECT_EQ(r.text,
              "From: Alice Example <alice@example.com>\n"
              "To: Bob <bob@example.org>, carol@example.net\n"
              "Date: Mon, 7 Dec 2026 10:00:00 +0000\n"
              "Subject: Lunch\n"
              "\n"
              "Plain version.\n");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].content_type, "text/plain");
    EXPECT_TRUE(r.attachments.empty());
    ASSERT_EQ(r.header.to_list.size(), 2u);
    EXPECT_EQ(r.header.to_list[1].address, "carol@example.net");
}

TEST(Render, AlternativeHtmlWhenAsked) {
    RenderOptions o;
    o.prefer_html = true;
    Rendered r = render_message(kAlternative, o);
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "HTML version [1].\n\n[1] https://lunch.example/menu\n");
    ASSERT_EQ(r.blocks[0].links.size(), 1u);
}

TEST(Render, HtmlOnlyMail) {
    std::string m =
        "From: news@shop.example\r\nSubject: Offers\r\nContent-Type: text/html\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "<html><head><meta charset=3D\"iso-8859-1\"><style>p{}</style></head><body>"
        "<h1>Sale</h1><ul><li>Caf=E9 beans</li><li>Tea</li></ul>"
        "<p><img src=3D\"https://track.example/x.gif\" alt=3D\"\">Bye</p></body></html>\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.text,
              "From: news@shop.example\nSubject: Offers\n\n"
              "Sale\n\n* Caf\xC3\xA9 beans\n* Tea\n\nBye\n");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_TRUE(r.blocks[0].from_html);
    EXPECT_EQ(r.blocks[0].charset, "iso-8859-1");  // from the <meta>
}

TEST(Render, HtmlRawShowsTheSource) {
    RenderOptions o;
    o.html_raw = true;
    o.prefer_html = true;
    Rendered r = render_message(kAlternative, o);
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "<p>HTML <a href=\"https://lunch.example/menu\">version</a>.</p>\n");
}

TEST(Render, QuotedPrintableLatin1) {
    std::string m =
        "From: =?iso-8859-1?Q?Ren=E9?= <rene@example.fr>\r\nSubject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\r\n"
        "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Un caf=E9, s'il vous pla=EEt. Une tr=\r\n"
        "=E8s longue ligne.\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.header.from, "Ren\xC3\xA9 <rene@example.fr>");
    EXPECT_EQ(r.header.subject, "Caf\xC3\xA9 cr\xC3\xA8me");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "Un caf\xC3\xA9, s'il vous pla\xC3\xAEt. Une tr\xC3\xA8s longue ligne.\n");
    EXPECT_TRUE(r.notes.empty());
}

TEST(Render, Base64Utf8AndEncodedWordSubject) {
    // "Grüße aus Köln ☃" in base64, subject split over two encoded-words
    std::string m =
        "From: a@example.de\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_K=C3=B6ln?=\r\n"
        "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "R3LDvMOfZSBhdXMgS8O2bG4g4piDCg==\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.header.subject, "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln \xE2\x98\x83\n");
}

TEST(Render, BrokenCharsetNameFallsBack) {
    std::string m =
        "From: x@example.com\r\nSubject: odd\r\nContent-Type: text/plain; charset=\"x-no-such-charset\"\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "caf\xC3\xA9 and \xE9t\xE9\r\n";
    Rendered r = render_message(m);
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "caf\xC3\xA9 and \xC3\xA9t\xC3\xA9\n");
    EXPECT_TRUE(r.blocks[0].charset_fallback);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_TRUE(has(r.text, "[part 1: unknown charset \"x-no-such-charset\""));
}

TEST(Render, ForwardedMessageIsQuoted) {
    std::string m =
        "From: bob@example.org\r\nTo: alice@example.com\r\nSubject: Fwd: report\r\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
        "--outer\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
        "--outer\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: Carol <carol@example.net>\r\nDate: Sun, 6 Dec 2026 09:00:00 +0100\r\nSubject: report\r\n"
        "Content-Type: text/plain\r\n\r\nNumbers are up.\r\n\r\nCarol\r\n"
        "--outer--\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.text,
              "From: bob@example.org\nTo: alice@example.com\nSubject: Fwd: report\n\n"
              "See below.\n\n"
              "----- Forwarded message -----\n"
              "> From: Carol <carol@example.net>\n"
              "> Date: Sun, 6 Dec 2026 09:00:00 +0100\n"
              "> Subject: report\n"
              ">\n"
              "> Numbers are up.\n"
              ">\n"
              "> Carol\n");
    EXPECT_TRUE(r.attachments.empty());
}

TEST(Render, AttachmentsListedAtTheEnd) {
    std::string m =
        "From: a@example.com\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        "--zz\r\nContent-Type: text/plain\r\n\r\nTwo files.\r\n"
        "--zz\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
        "Content-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "JVBERi0xLjQK\r\n"
        "--zz\r\nContent-Type: image/png\r\nContent-Disposition: attachment;\r\n"
        " filename*=utf-8''%C3%A9t%C3%A9.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "iVBORw0KGgo=\r\n"
        "--zz--\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.text,
              "From: a@example.com\nSubject: files\n\nTwo files.\n\n"
              "Attachments:\n"
              "  [1] report.pdf  application/pdf  9 B\n"
              "  [2] \xC3\xA9t\xC3\xA9.png  image/png  8 B\n");
    std::string json = tern::mua::render_json(r);
    EXPECT_TRUE(has(json, "\"attachments\":[{\"index\":1,\"name\":\"report.pdf\""));
    EXPECT_TRUE(has(json, "\"text\":\"Two files.\\n\""));
}

TEST(Render, ControlCharactersStrippedFromHeadersAndBody) {
    std::string m = "From: x@example.com\r\nSubject: =?utf-8?q?hi=1B]0;owned=07?=\r\n\r\nline\x1b[2J one\r\n";
    Rendered r = render_message(m);
    EXPECT_EQ(r.header.subject, "hi]0;owned");
    EXPECT_FALSE(has(r.text, "\x1b"));
    EXPECT_TRUE(has(r.text, "line[2J one\n"));
}

TEST(Render, UuencodedBlockBecomesAMarker) {
    std::string m =
        "From: old@example.com\r\nSubject: uu\r\n\r\nHere it is:\r\n\r\n"
        "begin 644 hi.txt\r\n"
        "#:&D*\r\n"
        "`\r\n"
        "end\r\n"
        "Bye.\r\n";
    RenderOptions o;
    o.sniff_types = false;
    Rendered r = render_message(m, o);
    ASSERT_EQ(r.attachments.size(), 1u);
    EXPECT_EQ(r.attachments[0].name, "hi.txt");
    EXPECT_EQ(r.attachments[0].size, 3u);
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "Here it is:\n\n[uuencoded attachment 1: hi.txt, 3 B]\nBye.\n");
}

TEST(Render, MalformedMessageStillRenders) {
    Rendered r = render_message("no header at all, just text");
    EXPECT_FALSE(r.text.empty());
    r = render_message("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<b>open");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "open\n");
}

}  // namespace

namespace {

// Found by fuzz_mua_render: a Content-Type with 8-bit octets reached the attachment list raw.
TEST(Render, EightBitContentTypeIsNotShownRaw) {
    std::string m = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                    "--q\r\nContent-Type: \xFF\xFE" "application/x\r\n\r\nzz\r\n--q--\r\n";
    Rendered r = render_message(m);
    ASSERT_EQ(r.attachments.size(), 1u);
    EXPECT_EQ(r.attachments[0].content_type, "??application/x");
    EXPECT_TRUE(has(r.text, "  [1] attachment-1.bin  ??application/x  2 B\n"));
}

}  // namespace

namespace {

// Without a charset parameter, 8-bit text that is valid UTF-8 is read as UTF-8, else as
// windows-1252 (was: always windows-1252, so "café" in UTF-8 showed as "cafÃ©").
TEST(Render, UndeclaredCharsetUtf8OrWindows1252) {
    Rendered r = render_message("From: a@example.com\r\n\r\ncaf\xC3\xA9\r\n");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "caf\xC3\xA9\n");
    r = render_message("From: a@example.com\r\n\r\ncaf\xE9 \x80\r\n");
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text, "caf\xC3\xA9 \xE2\x82\xAC\n");
}

}  // namespace

namespace {

TEST(Render, FormatFlowedIsJoinedAndRewrapped) {
    std::string m =
        "From: a@example.com\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=no\r\n\r\n"
        "This paragraph was sent \r\nflowed over \r\nthree lines.\r\n"
        "\r\n"
        "> Quoted and \r\n> flowed.\r\n"
        " >not a quote (stuffed)\r\n"
        "-- \r\n"
        "Sig\r\n";
    Rendered r = render_message(m);
    ASSERT_EQ(r.blocks.size(), 1u);
    EXPECT_EQ(r.blocks[0].text,
              "This paragraph was sent flowed over three lines.\n"
              "\n"
              "> Quoted and flowed.\n"
              ">not a quote (stuffed)\n"
              "-- \n"
              "Sig\n");
    RenderOptions o;
    o.width = 30;
    r = render_message(m, o);
    EXPECT_TRUE(r.blocks[0].text.starts_with("This paragraph was sent flowed\nover three lines.\n\n> Quoted")) << r.blocks[0].text;
}

}  // namespace

namespace {

TEST(Render, EncryptedMessageSaysSo) {
    std::string m =
        "From: a@example.com\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n\r\n"
        "--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
        "--e\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n--e--\r\n";
    Rendered r = render_message(m);
    EXPECT_TRUE(r.blocks.empty());
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_EQ(r.notes[0], "the message is encrypted (application/pgp-encrypted); not decrypted");
    EXPECT_EQ(r.attachments.size(), 2u);
}

}  // namespace
