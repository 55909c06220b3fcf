// Charset conversion (mime/charset.hpp): the charsets mail uses, the WHATWG aliases, unknown
// labels falling back visibly, invalid octets replaced, and multi-byte text split across chunks.
#include "mime/charset.hpp"

#include <gtest/gtest.h>

namespace tern::mime {
namespace {

TEST(Charset, Utf8PassesAndInvalidIsReplaced) {
    auto r = to_utf8("caf\xC3\xA9", "UTF-8");
    EXPECT_EQ(r.text, "caf\xC3\xA9");
    EXPECT_FALSE(r.replaced);
    r = to_utf8("a\xFF" "b\xC3", "utf8");
    EXPECT_EQ(r.text, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    EXPECT_TRUE(r.replaced);
}

TEST(Charset, Latin1IsDecodedAsWindows1252) {
    EXPECT_EQ(to_utf8("caf\xE9", "ISO-8859-1").text, "caf\xC3\xA9");
    EXPECT_EQ(to_utf8("\x80 5", "iso-8859-1").text, "\xE2\x82\xAC 5");  // WHATWG: label -> windows-1252
    EXPECT_EQ(to_utf8("\x93quoted\x94", "windows-1252").text, "\xE2\x80\x9Cquoted\xE2\x80\x9D");
    // 0x81 is unassigned in windows-1252: kept as U+0081, never dropped.
    EXPECT_EQ(to_utf8("\x81", "windows-1252").text, "\xC2\x81");
    EXPECT_EQ(to_utf8("\xE9", "\"us-ascii\"").text, "\xC3\xA9");
}

TEST(Charset, Iso2022JpThroughIconv) {
    // "こんにちは" in ISO-2022-JP (RFC 1468): ESC $ B ... ESC ( B
    std::string jis = "\x1B$B$3$s$K$A$O\x1B(B";
    auto r = to_utf8(jis, "ISO-2022-JP");
    EXPECT_EQ(r.text, "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF");
    EXPECT_FALSE(r.fallback);
    // Split anywhere, same text.
    for (std::size_t cut = 0; cut <= jis.size(); ++cut) {
        Utf8Converter c("iso-2022-jp");
        std::string out;
        c.feed(std::string_view(jis).substr(0, cut), out);
        c.feed(std::string_view(jis).substr(cut), out);
        c.finish(out);
        EXPECT_EQ(out, r.text) << cut;
    }
}

TEST(Charset, UnknownCharsetFallsBackAndSaysSo) {
    auto r = to_utf8("caf\xC3\xA9 \xE9t\xE9", "x-no-such-charset");
    EXPECT_TRUE(r.fallback);
    EXPECT_EQ(r.text, "caf\xC3\xA9 \xC3\xA9t\xC3\xA9");  // UTF-8 where valid, else Latin-1
    EXPECT_TRUE(to_utf8("x", "utf-8//TRANSLIT").fallback);  // no iconv options through a label
    EXPECT_TRUE(to_utf8("x", "unknown-8bit").fallback);
}

TEST(Charset, SplitUtf8SequencesAreJoined) {
    std::string s = "\xE2\x82\xAC\xF0\x9F\x98\x80";
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        Utf8Converter c("utf-8");
        std::string out;
        c.feed(std::string_view(s).substr(0, cut), out);
        c.feed(std::string_view(s).substr(cut), out);
        c.finish(out);
        EXPECT_EQ(out, s) << cut;
        EXPECT_FALSE(c.replaced());
    }
}

TEST(Charset, OutputIsBounded) {
    std::string big(100000, '\xE9');
    auto r = to_utf8(big, "iso-8859-1", 1001);
    EXPECT_TRUE(r.truncated);
    EXPECT_EQ(r.text.size(), 1000u);  // cut at a character boundary
}

TEST(Charset, Utf8OrLatin1) {
    EXPECT_EQ(utf8_or_latin1("J\xC3\xBCrgen"), "J\xC3\xBCrgen");
    EXPECT_EQ(utf8_or_latin1("J\xFCrgen"), "J\xC3\xBCrgen");
}

}  // namespace
}  // namespace tern::mime
