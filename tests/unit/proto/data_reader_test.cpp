// Unit tests for the DATA decoder (smtp/data_reader.hpp): end marker, dot-unstuffing, size limit,
// SMTP smuggling sequences — each input fed whole, cut at every point and byte at a time.
// Must never accept an end of data other than CRLF "." CRLF.
#include "proto/smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include "feed_helpers.hpp"

namespace tern::smtp {
namespace {

using testing::DataOutcome;
using testing::run_data;
using testing::splits;

// Feeds `in` in every way `splits` knows and checks they all agree; returns the whole-input run.
DataOutcome decode(std::string_view in, std::uint64_t max_size = 1 << 20) {
    DataOutcome whole = run_data({in}, max_size);
    for (const auto& pieces : splits(in)) {
        DataOutcome cut = run_data(pieces, max_size);
        EXPECT_EQ(cut.done, whole.done) << "pieces: " << pieces.size();
        EXPECT_EQ(cut.consumed, whole.consumed);
        EXPECT_EQ(cut.data, whole.data);
        EXPECT_EQ(cut.bare_newline, whole.bare_newline);
        EXPECT_EQ(cut.too_big, whole.too_big);
        EXPECT_EQ(cut.size, whole.size);
        if (cut != whole) break;  // one report per input is enough
    }
    return whole;
}

TEST(DataReader, SimpleMessageKeepsItsFinalCrlf) {
    std::string in = "Subject: hi\r\n\r\nHello\r\n.\r\n";
    auto out = decode(in);
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.consumed, in.size());
    EXPECT_EQ(out.data, "Subject: hi\r\n\r\nHello\r\n");
    EXPECT_EQ(out.size, out.data.size());
    EXPECT_FALSE(out.bare_newline);
    EXPECT_FALSE(out.too_big);
}

TEST(DataReader, EmptyMessage) {
    auto out = decode(".\r\n");
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.consumed, 3u);
    EXPECT_EQ(out.data, "");
    EXPECT_EQ(out.size, 0u);
}

TEST(DataReader, EmptyLinesOnly) {
    auto out = decode("\r\n\r\n.\r\n");
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.data, "\r\n\r\n");
}

TEST(DataReader, BytesAfterTheEndAreNotConsumed) {
    std::string in = "a\r\n.\r\nMAIL FROM:<x@y.z>\r\n";
    auto out = decode(in);
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.consumed, 6u);
    EXPECT_EQ(out.data, "a\r\n");

    DataReader r(100);
    auto step = r.feed(in);
    EXPECT_TRUE(step.done);
    EXPECT_EQ(in.substr(step.consumed), "MAIL FROM:<x@y.z>\r\n");
    step = r.feed("more");  // a finished reader takes nothing
    EXPECT_TRUE(step.done);
    EXPECT_EQ(step.consumed, 0u);
}

TEST(DataReader, NotDoneWithoutTheMarker) {
    for (std::string_view in : {"", "abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\r\n..\r\n", "\r\n.\n"}) {
        auto out = decode(in);
        EXPECT_FALSE(out.done) << ::testing::PrintToString(in);
        EXPECT_EQ(out.consumed, in.size());
    }
}

TEST(DataReader, DotUnstuffing) {
    EXPECT_EQ(decode("..\r\n.\r\n").data, ".\r\n");
    EXPECT_EQ(decode("..hidden\r\n.\r\n").data, ".hidden\r\n");
    EXPECT_EQ(decode("a\r\n...\r\n.\r\n").data, "a\r\n..\r\n");
    EXPECT_EQ(decode("a\r\n. x\r\n.\r\n").data, "a\r\n x\r\n");
    EXPECT_EQ(decode("a.b\r\nc.\r\n.\r\n").data, "a.b\r\nc.\r\n");  // only a leading dot is stuffing
    EXPECT_EQ(decode("..\r\n..\r\n.\r\n").data, ".\r\n.\r\n");
    EXPECT_EQ(decode("..\r\n..\r\n.\r\n").size, 6u);  // size counts unstuffed octets
}

TEST(DataReader, BareCrAndLfAreFlaggedNotFramed) {
    auto out = decode("a\rb\r\n.\r\n");
    EXPECT_TRUE(out.bare_newline);
    EXPECT_EQ(out.data, "a\rb\r\n");
    out = decode("a\nb\r\n.\r\n");
    EXPECT_TRUE(out.bare_newline);
    EXPECT_EQ(out.data, "a\nb\r\n");
    out = decode("a\r\r\n.\r\n");
    EXPECT_TRUE(out.bare_newline);
    EXPECT_EQ(out.data, "a\r\r\n");
    out = decode("\n.\r\n");  // a bare LF first is no line start for the dot
    EXPECT_FALSE(out.done);
    EXPECT_TRUE(out.bare_newline);
    EXPECT_FALSE(decode("a\r\nb\r\n.\r\n").bare_newline);
}

// The SMTP smuggling sequences (CVE-2023-51764): none ends the data; each is content.
TEST(DataReader, SmugglingSequencesAreContent) {
    for (std::string_view s : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"}) {
        std::string head = "Subject: x\r\n\r\nhello";
        std::string smuggled = "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\n";
        std::string in = head + std::string(s) + smuggled + ".\r\nQUIT\r\n";
        auto out = decode(in);
        SCOPED_TRACE(::testing::PrintToString(s));
        EXPECT_TRUE(out.done);
        EXPECT_EQ(out.consumed, in.size() - 6) << "must stop right after the real CRLF.CRLF";
        EXPECT_EQ(out.data, head + std::string(s) + smuggled);
        EXPECT_TRUE(out.bare_newline);
    }
}

TEST(DataReader, SmugglingSequencesAtTheStartOfData) {
    for (std::string_view s : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"}) {
        std::string in = std::string(s) + "x\r\n.\r\n";
        auto out = decode(in);
        SCOPED_TRACE(::testing::PrintToString(s));
        EXPECT_TRUE(out.done);
        EXPECT_EQ(out.consumed, in.size());
        EXPECT_EQ(out.data, std::string(s) + "x\r\n");
        EXPECT_TRUE(out.bare_newline);
    }
}

TEST(DataReader, MalformedDotLinesKeepTheirDot) {
    // A dot after a real CRLF but followed by a bare CR / LF is not stuffing: kept verbatim.
    EXPECT_EQ(decode("a\r\n.\nb\r\n.\r\n").data, "a\r\n.\nb\r\n");
    EXPECT_EQ(decode("a\r\n.\rb\r\n.\r\n").data, "a\r\n.\rb\r\n");
    EXPECT_EQ(decode("a\r\n.\r\rb\r\n.\r\n").data, "a\r\n.\r\rb\r\n");
    EXPECT_EQ(decode("a\r\n.\r.\r\n.\r\n").data, "a\r\n.\r.\r\n");
}

TEST(DataReader, SizeLimit) {
    std::string in = "0123456789\r\n.\r\n";
    auto out = decode(in, 5);
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.consumed, in.size()) << "keeps scanning for the end after the limit";
    EXPECT_TRUE(out.too_big);
    EXPECT_EQ(out.size, 12u);
    EXPECT_EQ(out.data, "01234");  // nothing stored beyond max_size

    out = decode(in, 12);  // exactly at the limit is fine
    EXPECT_FALSE(out.too_big);
    EXPECT_EQ(out.data, "0123456789\r\n");
    out = decode(in, 11);
    EXPECT_TRUE(out.too_big);
    EXPECT_EQ(out.data, "0123456789\r");

    out = decode(".\r\n", 0);
    EXPECT_FALSE(out.too_big);
    out = decode("..\r\n.\r\n", 0);
    EXPECT_TRUE(out.too_big);
    EXPECT_EQ(out.data, "");
}

TEST(DataReader, LargeMessageInChunks) {
    std::string body;
    for (int i = 0; i < 2000; ++i) body += (i % 7 == 0 ? "." : "") + std::string("line ") + std::to_string(i) + "\r\n";
    std::string in = body + ".\r\n";
    std::string expected;
    for (int i = 0; i < 2000; ++i) expected += "line " + std::to_string(i) + "\r\n";
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 1000u, 4096u}) {
        std::vector<std::string_view> pieces;
        for (std::size_t k = 0; k < in.size(); k += chunk) pieces.push_back(std::string_view(in).substr(k, chunk));
        auto out = run_data(pieces, 1 << 20);
        EXPECT_TRUE(out.done) << chunk;
        EXPECT_EQ(out.consumed, in.size());
        EXPECT_EQ(out.data, expected) << chunk;
    }
}

TEST(HasBareNewline, WholeMessages) {
    EXPECT_FALSE(has_bare_newline(""));
    EXPECT_FALSE(has_bare_newline("a\r\nb\r\n"));
    EXPECT_FALSE(has_bare_newline("no newline at all"));
    EXPECT_TRUE(has_bare_newline("a\nb"));
    EXPECT_TRUE(has_bare_newline("a\rb"));
    EXPECT_TRUE(has_bare_newline("a\r"));
    EXPECT_TRUE(has_bare_newline("\n"));
    EXPECT_TRUE(has_bare_newline("a\r\r\n"));
    EXPECT_TRUE(has_bare_newline("a\r\n\n"));
    for (std::string_view s : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"})
        EXPECT_TRUE(has_bare_newline("x" + std::string(s) + "y\r\n"));
}

}  // namespace
}  // namespace tern::smtp
