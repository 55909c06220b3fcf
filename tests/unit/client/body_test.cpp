// Unit tests for the outgoing body encoder (RFC 5321 §2.3.8 CRLF only, §4.5.2 dot-stuffing):
// every input is encoded whole and at every chunk split, and the results must agree.
#include <gtest/gtest.h>

#include "client/smtp/body.hpp"

namespace tern::client::smtp {
namespace {

std::string encode(std::string_view in, bool dots, std::size_t split) {
    BodyEncoder e(dots);
    std::string out;
    e.feed(in.substr(0, split), out);
    e.feed(in.substr(split), out);
    e.finish(out);
    return out;
}

void check(std::string_view in, std::string_view data_form, std::string_view bdat_form) {
    for (std::size_t k = 0; k <= in.size(); ++k) {
        EXPECT_EQ(encode(in, true, k), data_form) << "split " << k;
        EXPECT_EQ(encode(in, false, k), bdat_form) << "split " << k;
    }
    // And one byte at a time.
    BodyEncoder e(true);
    std::string out;
    for (char c : in) e.feed(std::string_view(&c, 1), out);
    e.finish(out);
    EXPECT_EQ(out, data_form);
}

TEST(ClientBody, DotOnFirstLine) { check(".\r\nabc\r\n", "..\r\nabc\r\n.\r\n", ".\r\nabc\r\n"); }

TEST(ClientBody, CrDotCrLfIsNotTheEnd) {
    // A bare CR becomes CRLF, so the "." after it starts a line and is stuffed.
    check("a\r.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n");
}

TEST(ClientBody, BareLf) { check("a\nb\n.c\n", "a\r\nb\r\n..c\r\n.\r\n", "a\r\nb\r\n.c\r\n"); }

TEST(ClientBody, NoFinalCrlf) { check("a\r\nlast", "a\r\nlast\r\n.\r\n", "a\r\nlast\r\n"); }

TEST(ClientBody, TrailingBareCr) { check("a\r", "a\r\n.\r\n", "a\r\n"); }

TEST(ClientBody, Empty) { check("", ".\r\n", ""); }

TEST(ClientBody, CrLfDotCrLfInside) {
    check("x\r\n.\r\ny\r\n", "x\r\n..\r\ny\r\n.\r\n", "x\r\n.\r\ny\r\n");
}

TEST(ClientBody, CrCrLf) { check("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n", "a\r\n\r\nb\r\n"); }

// RFC 5321 §4.5.3.1.6: a line over the limit is broken with CRLF SP (Postfix's
// smtp_line_length_limit), at every chunk split; a stuffed dot counts, a line of exactly the limit
// is untouched, and no output line is ever longer than the limit.
TEST(ClientBody, LongLinesAreBrokenAtTheLimit) {
    auto encode_limited = [](std::string_view in, bool dots, std::size_t split) {
        BodyEncoder e(dots, 10);
        std::string out;
        e.feed(in.substr(0, split), out);
        e.feed(in.substr(split), out);
        e.finish(out);
        return out;
    };
    const std::string in = "0123456789\r\n0123456789AB\n.123456789X\r\n" + std::string(25, 'y');
    for (std::size_t k = 0; k <= in.size(); ++k) {
        EXPECT_EQ(encode_limited(in, false, k),
                  "0123456789\r\n0123456789\r\n AB\r\n.123456789\r\n X\r\n" + std::string(10, 'y') + "\r\n " +
                      std::string(9, 'y') + "\r\n " + std::string(6, 'y') + "\r\n")
            << "split " << k;
        EXPECT_EQ(encode_limited(in, true, k),
                  "0123456789\r\n0123456789\r\n AB\r\n..12345678\r\n 9X\r\n" + std::string(10, 'y') + "\r\n " +
                      std::string(9, 'y') + "\r\n " + std::string(6, 'y') + "\r\n.\r\n")
            << "split " << k;
    }
    // The real limit: no line on the wire over 998 octets, and nothing lost but the inserted CRLF SP.
    BodyEncoder e(true, 998);
    std::string out;
    const std::string big = "h: v\r\n\r\n" + std::string(5000, 'z') + "\r\n";
    e.feed(big, out);
    e.finish(out);
    std::size_t start = 0, longest = 0;
    for (auto pos = out.find("\r\n"); pos != std::string::npos; start = pos + 2, pos = out.find("\r\n", start))
        longest = std::max(longest, pos - start);
    EXPECT_EQ(longest, 998u);
    std::string joined = out;
    for (auto p = joined.find("\r\n "); p != std::string::npos; p = joined.find("\r\n ")) joined.erase(p, 3);
    EXPECT_EQ(joined, big + ".\r\n");
}

TEST(ClientBody, ScanLongestLineAndEightBit) {
    BodyScan s;
    s.feed("abc\r\n12345");
    s.feed("6\n\xc3\xa9\r");
    s.finish();
    EXPECT_EQ(s.longest_line(), 6u);
    EXPECT_TRUE(s.eight_bit());
    BodyScan t;
    t.feed("plain\r\n");
    t.finish();
    EXPECT_FALSE(t.eight_bit());
}

}  // namespace
}  // namespace tern::client::smtp
