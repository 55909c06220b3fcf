// RFC 2047 decoding (mime/encoded_word.hpp): B and Q words in several charsets, adjacent words
// joined, characters split across words, 8-bit header text, and things that are not words.
#include "mime/encoded_word.hpp"

#include <gtest/gtest.h>

namespace tern::mime {
namespace {

TEST(EncodedWords, BAndQInSeveralCharsets) {
    EXPECT_EQ(decode_words("=?UTF-8?B?Y2Fmw6k=?="), "caf\xC3\xA9");
    EXPECT_EQ(decode_words("=?iso-8859-1?q?caf=E9_cr=E8me?="), "caf\xC3\xA9 cr\xC3\xA8me");
    EXPECT_EQ(decode_words("=?windows-1252?Q?=93hi=94?="), "\xE2\x80\x9Chi\xE2\x80\x9D");
    EXPECT_EQ(decode_words("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?="),
              "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF");
    EXPECT_EQ(decode_words("=?utf-8*en?q?hi?="), "hi");  // RFC 2231 §5 language suffix
}

TEST(EncodedWords, AdjacentWordsJoinAndTextStays) {
    // RFC 2047 §6.2: white space between adjacent encoded-words is not displayed.
    EXPECT_EQ(decode_words("=?utf-8?q?a?= =?utf-8?q?b?=\r\n =?utf-8?q?c?="), "abc");
    EXPECT_EQ(decode_words("Re: =?utf-8?q?caf=C3=A9?= ok"), "Re: caf\xC3\xA9 ok");
    // A character split across two words (a common encoder bug) comes out whole.
    EXPECT_EQ(decode_words("=?utf-8?B?4oI=?= =?utf-8?B?rA==?="), "\xE2\x82\xAC");
    // Different charsets next to each other.
    EXPECT_EQ(decode_words("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?="), "\xC3\xA9\xC3\xA9");
}

TEST(EncodedWords, NotWords) {
    EXPECT_EQ(decode_words("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
    EXPECT_EQ(decode_words("=?utf-8?q?no end"), "=?utf-8?q?no end");
    EXPECT_EQ(decode_words("=?utf-8?q?has space?="), "=?utf-8?q?has space?=");
    EXPECT_EQ(decode_words("a =? b ?= c"), "a =? b ?= c");
    std::string hostile;
    for (int i = 0; i < 20000; ++i) hostile += "=?a?q?";
    EXPECT_TRUE(decode_words(hostile) == hostile);  // bounded look-ahead: linear
}

TEST(EncodedWords, EightBitHeaderText) {
    EXPECT_EQ(decode_words("J\xC3\xBCrgen"), "J\xC3\xBCrgen");  // RFC 6532 UTF-8
    EXPECT_EQ(decode_words("J\xFCrgen"), "J\xC3\xBCrgen");      // legacy Latin-1
}

TEST(EncodedWords, ReportsFallbackAndDamage) {
    WordsReport r;
    EXPECT_EQ(decode_words("=?x-bogus?q?caf=E9?=", &r), "caf\xC3\xA9");
    EXPECT_TRUE(r.fallback);
    EXPECT_TRUE(r.had_words);
    decode_words("=?utf-8?b?Y*2Fm?=", &r);
    EXPECT_TRUE(r.damaged);
}

}  // namespace
}  // namespace tern::mime
