// Content-Type / Content-Disposition parameters (mime/content.hpp): RFC 2045 syntax with comments
// and quoting, RFC 2231 continuations and charsets, the sloppy forms real mailers write, limits.
#include "mime/content.hpp"

#include <gtest/gtest.h>

namespace tern::mime {
namespace {

TEST(ContentType, TypeSubtypeAndParams) {
    auto ct = parse_content_type(" Text/HTML (a comment) ; Charset=\"UTF-8\" ; format=flowed;");
    EXPECT_TRUE(ct.valid);
    EXPECT_EQ(ct.type, "text");
    EXPECT_EQ(ct.subtype, "html");
    ASSERT_EQ(ct.params.items.size(), 2u);
    EXPECT_EQ(ct.params.find("charset")->value, "UTF-8");
    EXPECT_EQ(ct.params.items[1].name, "format");
    EXPECT_FALSE(ct.params.damaged);
}

TEST(ContentType, InvalidFallsBackButKeepsCharset) {
    auto ct = parse_content_type("text; charset=koi8-r");
    EXPECT_FALSE(ct.valid);  // RFC 2045 §5.2: the default applies
    EXPECT_EQ(ct.params.find("charset")->value, "koi8-r");
}

TEST(Rfc2231, ContinuationsCharsetAndLanguage) {
    // RFC 2231 §3 and §4 examples, combined.
    auto p = parse_params("; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20;"
                          " title*2=\"isn't it!\"");
    const Param* t = p.find("title");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->value, "This is even more ***fun*** isn't it!");
    EXPECT_EQ(t->charset, "us-ascii");
    EXPECT_EQ(t->language, "en");
    EXPECT_TRUE(t->extended);
    EXPECT_EQ(t->encoded, "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!");
}

TEST(Rfc2231, SectionsOutOfOrderAndUtf8Filename) {
    auto d = parse_disposition("attachment; filename*1=\"part2.txt\"; filename*0=\"very long \"");
    EXPECT_EQ(d.type, "attachment");
    EXPECT_EQ(d.params.find("filename")->value, "very long part2.txt");
    EXPECT_FALSE(d.params.find("filename")->extended);

    d = parse_disposition("inline; filename*=utf-8''%E2%82%AC%20rates.pdf; filename=\"rates.pdf\"");
    const Param* f = d.params.find("filename");
    ASSERT_EQ(d.params.items.size(), 1u);  // one per name, the RFC 2231 form preferred
    EXPECT_EQ(f->value, "\xE2\x82\xAC rates.pdf");
    EXPECT_EQ(param_utf8(*f), "\xE2\x82\xAC rates.pdf");

    d = parse_disposition("attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt");
    EXPECT_EQ(param_utf8(*d.params.find("filename")), "r\xC3\xA9sum\xC3\xA9.txt");
    EXPECT_EQ(d.params.find("filename")->language, "fr");
}

TEST(Rfc2231, GapStopsTheValue) {
    auto p = parse_params("; n*0=a; n*2=c");
    EXPECT_EQ(p.find("n")->value, "a");
    EXPECT_TRUE(p.damaged);
}

// A huge section number is refused without overflowing (UBSan caught the old loop: mime_decode fuzzer).
TEST(Rfc2231, HugeSectionNumberIsRefused) {
    auto p = parse_params("; f*99999999999999=x; f*0=a");
    EXPECT_EQ(p.find("f")->value, "a");
    EXPECT_TRUE(p.damaged);
}

TEST(Params, SloppyRealWorldForms) {
    // RFC 2047 inside a quoted file name (Outlook, Gmail).
    auto d = parse_disposition("attachment; filename=\"=?UTF-8?B?5pel5pys6KqeLnR4dA==?=\"");
    EXPECT_EQ(param_utf8(*d.params.find("filename")), "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.txt");
    // Unquoted value with spaces.
    auto p = parse_params("; name=my file.pdf; size=10");
    EXPECT_EQ(p.find("name")->value, "my file.pdf");
    EXPECT_EQ(p.find("size")->value, "10");
    // Raw UTF-8 in a token, missing "=", unterminated quote.
    p = parse_params("; name=\xC3\xA9t\xC3\xA9.txt; junk; x=\"open");
    EXPECT_EQ(p.find("name")->value, "\xC3\xA9t\xC3\xA9.txt");
    EXPECT_EQ(p.find("x")->value, "open");
    EXPECT_TRUE(p.damaged);
}

TEST(Params, Limits) {
    std::string many;
    for (int i = 0; i < 500; ++i) many += "; p" + std::to_string(i) + "=v";
    ParamLimits lim;
    lim.max_params = 64;
    auto p = parse_params(many, lim);
    EXPECT_EQ(p.items.size(), 64u);
    EXPECT_TRUE(p.truncated);
    p = parse_params("; a=\"" + std::string(10000, 'x') + "\"", lim);
    EXPECT_EQ(p.find("a")->value.size(), lim.max_value_bytes);
    EXPECT_TRUE(p.truncated);
    std::string sections;
    for (int i = 0; i < 200; ++i) sections += "; f*" + std::to_string(i) + "=" + std::string(100, 'y');
    p = parse_params(sections, lim);
    EXPECT_LE(p.find("f")->value.size(), lim.max_value_bytes);
}

TEST(TransferEncoding, Parse) {
    EXPECT_EQ(parse_transfer_encoding(" Quoted-Printable (x)"), "quoted-printable");
    EXPECT_EQ(parse_transfer_encoding(""), "7bit");
}

}  // namespace
}  // namespace tern::mime
