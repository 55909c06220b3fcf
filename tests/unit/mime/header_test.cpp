// Unit tests for the RFC 5322 header-section parser (mime/header.hpp): field names, folding,
// obsolete forms, header end detection, byte offsets, limits and hostile inputs.
#include "mime/header.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::mime {
namespace {

HeaderSection parse(std::string_view m) {
    auto h = parse_header_section(m);
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message);
    return h ? *h : HeaderSection{};
}

TEST(Header, FieldsOffsetsAndBody) {
    std::string m = "From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n";
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 2u);
    EXPECT_EQ(h.fields[0].name, "From");
    EXPECT_EQ(h.fields[0].raw_value, " a@b.example");
    EXPECT_EQ(h.fields[0].offset, 0u);
    EXPECT_EQ(h.fields[0].length, 19u);
    EXPECT_EQ(m.substr(h.fields[1].offset, h.fields[1].length), "Subject: hi\r\n");
    EXPECT_TRUE(h.has_separator);
    EXPECT_EQ(m.substr(h.body_offset), "body\r\n");
    EXPECT_TRUE(h.junk_lines.empty());
}

TEST(Header, FoldedFieldIsUnfolded) {
    std::string m = "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\n";
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 2u);
    EXPECT_EQ(h.fields[0].raw_value, " one\r\n two\r\n\tthree");
    EXPECT_EQ(h.fields[0].value(), " one two\tthree");  // RFC 5322 §2.2.3: only the CRLFs go
    EXPECT_EQ(h.fields[0].length, std::string("Subject: one\r\n two\r\n\tthree\r\n").size());
    EXPECT_EQ(h.fields[1].offset, h.fields[0].length);
}

TEST(Header, ObsoleteSpaceBeforeColonAndEmptyValue) {
    auto h = parse("From : a@b.example\r\nSubject\t:\r\nX-Empty:\r\n\r\n");
    ASSERT_EQ(h.fields.size(), 3u);
    EXPECT_EQ(h.fields[0].name, "From");
    EXPECT_TRUE(h.fields[0].is("from"));
    EXPECT_EQ(h.fields[1].name, "Subject");
    EXPECT_EQ(h.fields[1].value(), "");
    EXPECT_EQ(h.fields[2].value(), "");
}

TEST(Header, FindAllCountAreCaseInsensitive) {
    auto h = parse("Received: 1\r\nreceived: 2\r\nRECEIVED: 3\r\nFrom: x\r\n\r\n");
    EXPECT_EQ(h.count("Received"), 3u);
    EXPECT_EQ(h.all("received").size(), 3u);
    ASSERT_NE(h.find("from"), nullptr);
    EXPECT_EQ(h.find("from")->value(), " x");
    EXPECT_EQ(h.find("To"), nullptr);
    EXPECT_EQ(h.count("To"), 0u);
}

TEST(Header, EndDetection) {
    // No body separator at all: everything is header.
    auto a = parse("From: x\r\nSubject: y");
    EXPECT_FALSE(a.has_separator);
    EXPECT_EQ(a.fields.size(), 2u);
    EXPECT_EQ(a.fields[1].raw_value, " y");
    // Empty message and a message starting with the empty line: no fields.
    auto b = parse("");
    EXPECT_TRUE(b.fields.empty());
    EXPECT_FALSE(b.has_separator);
    std::string c_msg = "\r\nFrom: not a header\r\n";
    auto c = parse(c_msg);
    EXPECT_TRUE(c.fields.empty());
    EXPECT_TRUE(c.has_separator);
    EXPECT_EQ(c.body_offset, 2u);
    // A line of white space only is a continuation, not the end (RFC 5322 §2.2.3 allows it as obs-FWS).
    auto d = parse("Subject: a\r\n \r\nFrom: x\r\n\r\nbody");
    EXPECT_EQ(d.fields.size(), 2u);
    // The body's "From:" never becomes a field.
    auto e = parse("To: x\r\n\r\nFrom: evil@example\r\n");
    EXPECT_EQ(e.count("From"), 0u);
}

TEST(Header, BareLfLinesAreTolerated) {
    std::string m = "From: a@b\nSubject: x\n y\n\nbody\n";
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 2u);
    EXPECT_EQ(h.fields[1].value(), " x y");
    EXPECT_EQ(m.substr(h.body_offset), "body\n");
}

TEST(Header, JunkLinesAreSkippedNotFatal) {
    std::string m = " leading continuation\r\nnot a field\r\n: no name\r\nBad Name: x\r\nFrom: a@b\r\n\r\n";
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].name, "From");
    ASSERT_EQ(h.junk_lines.size(), 4u);
    EXPECT_EQ(h.junk_lines[0], 0u);
    EXPECT_EQ(m.substr(h.junk_lines[1], 11), "not a field");
    // A continuation after junk does not attach to the field before the junk.
    auto g = parse("A: 1\r\njunk\r\n continued\r\n\r\n");
    ASSERT_EQ(g.fields.size(), 1u);
    EXPECT_EQ(g.fields[0].value(), " 1");
    EXPECT_EQ(g.junk_lines.size(), 2u);
}

TEST(Header, MboxFromLineIsJunk) {
    auto h = parse("From sender@example Mon Dec  7 00:00:00 2026\r\nFrom: a@b\r\n\r\n");
    EXPECT_EQ(h.count("From"), 1u);
    EXPECT_EQ(h.junk_lines.size(), 1u);
}

TEST(Header, NonAsciiAndControlsInNamesAreNotFields) {
    auto h = parse("Fr\xc3\xb6m: x\r\nFr\x01om: y\r\nX-Ok: z\r\n\r\n");
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].name, "X-Ok");
}

TEST(Header, NulInValueIsKeptAsBytes) {
    std::string m("X: a\0b\r\n\r\n", 10);
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].raw_value.size(), 4u);
}

TEST(Header, TooManyFieldsIsAnError) {
    std::string m;
    for (int i = 0; i < 20001; ++i) m += "X: y\r\n";
    auto h = parse_header_section(m);
    ASSERT_FALSE(h.has_value());
    EXPECT_NE(h.error().message.find("more than 10000"), std::string::npos);
    HeaderLimits small;
    small.max_fields = 3;
    EXPECT_FALSE(parse_header_section("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", small).has_value());
    EXPECT_TRUE(parse_header_section("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", small).has_value());
}

TEST(Header, HugeFoldedFieldIsBounded) {
    std::string m = "To: a@b";
    for (int i = 0; i < 100000; ++i) m += ",\r\n c@d";  // ~800 KB, within the 1 MiB limit
    m += "\r\n\r\n";
    auto h = parse(m);
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].length, m.size() - 2);
    std::string v = h.fields[0].value();
    EXPECT_EQ(v.find('\r'), std::string::npos);
    HeaderLimits small;
    small.max_field_bytes = 1000;
    auto e = parse_header_section(m, small);
    ASSERT_FALSE(e.has_value());
    EXPECT_NE(e.error().message.find("To"), std::string::npos);
    // One single 2 MB line: refused by the same limit.
    std::string line = "X: " + std::string(2 << 20, 'a') + "\r\n\r\n";
    EXPECT_FALSE(parse_header_section(line).has_value());
}

TEST(Header, HugeBodyIsNotScannedForFields) {
    std::string m = "From: a@b\r\n\r\n" + std::string(4 << 20, 'x');
    auto h = parse(m);
    EXPECT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.body_offset, 13u);
}

TEST(Header, UnfoldHelper) {
    EXPECT_EQ(unfold("a\r\n b"), "a b");
    EXPECT_EQ(unfold("a\n\tb"), "a\tb");
    EXPECT_EQ(unfold("a\r\nb"), "a\r\nb");  // not a fold: left alone
    EXPECT_EQ(unfold("a\r\n"), "a\r\n");
    EXPECT_EQ(unfold(""), "");
}

}  // namespace
}  // namespace tern::mime
