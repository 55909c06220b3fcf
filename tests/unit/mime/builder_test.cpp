// Unit tests for the MIME builder (mime/builder.hpp): dates with offsets, Message-IDs, RFC 2047
// encoded-words (checked by decoding them back), header folding limits, boundaries that avoid the
// content, multipart assembly.
#include "mime/builder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mime/header.hpp"

namespace tern::mime {
namespace {

std::string b64decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = val(c);
        if (v < 0) continue;
        acc = acc << 6 | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

// Decodes a header value made by encode_words(): encoded-words decoded, whitespace between two
// adjacent encoded-words dropped (RFC 2047 §6.2), everything else kept.
std::string decode_words(std::string_view v) {
    std::string out;
    bool last_encoded = false;
    std::string pending_ws;
    std::size_t i = 0;
    while (i < v.size()) {
        if (v[i] == ' ' || v[i] == '\t') {
            pending_ws += v[i++];
            continue;
        }
        std::size_t end = v.find_first_of(" \t", i);
        if (end == std::string_view::npos) end = v.size();
        std::string_view word = v.substr(i, end - i);
        bool enc = word.starts_with("=?UTF-8?B?") && word.ends_with("?=");
        if (!(enc && last_encoded)) out += pending_ws;
        pending_ws.clear();
        out += enc ? b64decode(word.substr(10, word.size() - 12)) : std::string(word);
        last_encoded = enc;
        i = end;
    }
    return out + pending_ws;
}

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto e = s.find("\r\n", i);
        if (e == std::string::npos) {
            out.push_back(s.substr(i));
            break;
        }
        out.push_back(s.substr(i, e - i));
        i = e + 2;
    }
    return out;
}

void expect_clean_lines(const std::string& s, std::size_t max) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            EXPECT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
        }
        if (s[i] == '\n') {
            EXPECT_TRUE(i > 0 && s[i - 1] == '\r') << "bare LF at " << i;
        }
    }
    for (const auto& l : lines_of(s)) EXPECT_LE(l.size(), max) << l;
}

TEST(Builder, DateUtcAndOffsets) {
    EXPECT_EQ(format_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(format_date(0, 60), "Thu, 01 Jan 1970 01:00:00 +0100");
    EXPECT_EQ(format_date(0, -330), "Wed, 31 Dec 1969 18:30:00 -0530");
    EXPECT_EQ(format_date(1796635287), "Mon, 07 Dec 2026 09:21:27 +0000");
    EXPECT_EQ(format_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");  // leap day
    EXPECT_EQ(format_date(0, 5000), "Thu, 01 Jan 1970 00:00:00 +0000");   // nonsense offset ignored
}

TEST(Builder, MessageIdIsAMsgIdAndVariesWithTheRandomBits) {
    auto a = make_message_id(1796635287, 1, "mx.example.org");
    auto b = make_message_id(1796635287, 2, "mx.example.org");
    EXPECT_EQ(a, "<1796635287.0000000000000001@mx.example.org>");
    EXPECT_NE(a, b);
    // RFC 5322 §3.6.4: no space, no brackets or CR/LF from a strange host name
    auto c = make_message_id(5, 7, "bad host>\r\n");
    EXPECT_EQ(c, "<5.0000000000000007@badhost>");
    EXPECT_EQ(make_message_id(5, 7, ""), "<5.0000000000000007@localhost>");
}

TEST(Builder, EncodeWordsLeavesAsciiAlone) {
    EXPECT_EQ(encode_words("Hello world"), "Hello world");
    EXPECT_EQ(encode_words(""), "");
    EXPECT_EQ(encode_words("  two  spaces "), "  two  spaces ");
}

TEST(Builder, EncodeWordsEncodesOnlyTheNonAsciiRunAndRoundTrips) {
    std::string subject = "Re: caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e tonight";
    auto enc = encode_words(subject);
    EXPECT_TRUE(enc.starts_with("Re: =?UTF-8?B?")) << enc;
    EXPECT_TRUE(enc.ends_with("?= tonight")) << enc;
    for (unsigned char c : enc) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
    EXPECT_EQ(decode_words(enc), subject);
}

TEST(Builder, EncodedWordsAreShortAndHoldWholeCharacters) {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "\xe2\x82\xac";  // 100 euro signs, 3 octets each, one word
    auto enc = encode_words(s);
    std::size_t start = 0, words = 0;
    while (start < enc.size()) {
        auto end = enc.find(' ', start);
        if (end == std::string::npos) end = enc.size();
        std::string w = enc.substr(start, end - start);
        EXPECT_LE(w.size(), 75u);  // RFC 2047 §2
        std::string raw = b64decode(w.substr(10, w.size() - 12));
        EXPECT_EQ(raw.size() % 3, 0u) << "split inside a character";  // RFC 2047 §5
        EXPECT_TRUE(valid_utf8(raw));
        ++words;
        start = end + 1;
    }
    EXPECT_GT(words, 1u);
    EXPECT_EQ(decode_words(enc), s);
}

TEST(Builder, EncodeWordsEncodesLookalikesAndControls) {
    auto enc = encode_words("say =?x?q?y?= now");
    EXPECT_EQ(enc.find("=?x?q?y?="), std::string::npos);
    EXPECT_EQ(decode_words(enc), "say =?x?q?y?= now");
    auto cr = encode_words("a\r\nBcc: x@y");
    EXPECT_EQ(cr.find('\r'), std::string::npos);
    EXPECT_EQ(cr.find('\n'), std::string::npos);
}

TEST(Builder, HeaderFieldShortStaysOnOneLine) {
    EXPECT_EQ(header_field("Subject", "hello"), "Subject: hello\r\n");
    EXPECT_EQ(header_field("X", ""), "X: \r\n");
}

TEST(Builder, HeaderFieldFoldsAtWhitespaceAndUnfoldsBack) {
    std::string v;
    for (int i = 0; i < 40; ++i) v += (i ? " word" : "word") + std::to_string(i);
    auto f = header_field("Subject", v);
    expect_clean_lines(f, 78);
    EXPECT_GT(lines_of(f).size(), 3u);
    std::string m = f + "\r\n";
    auto h = parse_header_section(m);
    ASSERT_TRUE(h.has_value());
    ASSERT_EQ(h->fields.size(), 1u);
    EXPECT_EQ(h->fields[0].value(), " " + v);  // RFC 5322 §2.2.3 unfolding restores the value
}

TEST(Builder, HeaderFieldBreaksAnEndlessWordBelow998) {
    std::string v = "start " + std::string(5000, 'x') + " end";
    auto f = header_field("Diagnostic-Code", v);
    expect_clean_lines(f, 998);
    for (const auto& l : lines_of(f)) EXPECT_FALSE(l.find_first_not_of(" \t") == std::string::npos) << "blank fold";
    std::string back = unfold(f);
    std::string letters;
    for (char c : back) if (c == 'x') letters += c;
    EXPECT_EQ(letters.size(), 5000u);
}

TEST(Builder, HeaderFieldNeutralisesLineBreaksInTheValue) {
    auto f = header_field("Subject", "hi\r\nBcc: victim@example.org\nX");
    EXPECT_EQ(lines_of(f).size(), 1u);
    std::string m = f + "\r\n";
    auto h = parse_header_section(m);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->fields.size(), 1u);
    EXPECT_EQ(h->find("Bcc"), nullptr);
}

TEST(Builder, BoundaryAvoidsTheContent) {
    std::string b0 = choose_boundary({}, 42);
    EXPECT_LE(b0.size(), 70u);  // RFC 2046 §5.1.1
    // Content that contains the first choice (and the second) forces another one.
    std::string b1 = choose_boundary(std::vector<std::string_view>{b0}, 42);
    EXPECT_NE(b0, b1);
    std::string both = b0 + "\r\n" + b1;
    std::string b2 = choose_boundary(std::vector<std::string_view>{"x", both}, 42);
    EXPECT_EQ(both.find(b2), std::string::npos);
    EXPECT_EQ(choose_boundary({}, 42), b0);  // deterministic
    EXPECT_NE(choose_boundary({}, 43), b0);
}

TEST(Builder, MultipartBodyKeepsEachPartExact) {
    std::vector<Part> parts{{"Content-Type: text/plain\r\n", "one\r\n"}, {"", "two"}};
    auto body = multipart_body("BB", parts, "preamble\r\n");
    EXPECT_EQ(body,
              "preamble\r\n"
              "\r\n--BB\r\nContent-Type: text/plain\r\n\r\none\r\n"
              "\r\n--BB\r\n\r\ntwo"
              "\r\n--BB--\r\n");
    EXPECT_EQ(multipart_body("B", std::vector<Part>{{"", "x"}}), "--B\r\n\r\nx\r\n--B--\r\n");
}

TEST(Builder, ValidUtf8) {
    EXPECT_TRUE(valid_utf8("plain"));
    EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

}  // namespace
}  // namespace tern::mime
