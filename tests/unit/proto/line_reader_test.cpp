// Unit tests for strict CRLF command framing (smtp/line_reader.hpp), every input cut at every point.
// Must never accept a bare CR or bare LF as a line end (CVE-2023-51764).
#include "proto/smtp/line_reader.hpp"

#include <gtest/gtest.h>

#include "feed_helpers.hpp"

namespace tern::smtp {
namespace {

using testing::LineOutcome;
using testing::run_lines;
using testing::splits;
using Kind = LineResult::Kind;

// Runs `in` whole, then at every split point and byte at a time; all must agree. Returns the whole run.
LineOutcome frame(std::string_view in, std::size_t max_len = 512) {
    LineOutcome whole = run_lines({in}, max_len);
    for (const auto& pieces : splits(in)) {
        LineOutcome cut = run_lines(pieces, max_len);
        EXPECT_EQ(cut.events, whole.events) << "pieces: " << pieces.size();
        EXPECT_EQ(cut.leftover, whole.leftover);
        EXPECT_EQ(cut.skipping, whole.skipping);
        if (cut != whole) break;
    }
    return whole;
}

using Events = std::vector<std::string>;

TEST(NextLine, SingleCallContract) {
    LineResult r = next_line("EHLO x\r\nMAIL", 512);
    EXPECT_EQ(r.kind, Kind::Line);
    EXPECT_EQ(r.line, "EHLO x");
    EXPECT_EQ(r.consumed, 8u);

    r = next_line("EHLO x", 512);
    EXPECT_EQ(r.kind, Kind::NeedMore);
    EXPECT_EQ(r.consumed, 0u);

    r = next_line("EHLO x\r", 512);
    EXPECT_EQ(r.kind, Kind::NeedMore);

    r = next_line("", 512);
    EXPECT_EQ(r.kind, Kind::NeedMore);

    r = next_line("\r\n", 512);
    EXPECT_EQ(r.kind, Kind::Line);
    EXPECT_EQ(r.line, "");
    EXPECT_EQ(r.consumed, 2u);
}

TEST(NextLine, BareLfOrCrNeverEndsALine) {
    EXPECT_EQ(next_line("QUIT\n", 512).kind, Kind::NeedMore);
    EXPECT_EQ(next_line("QUIT\r", 512).kind, Kind::NeedMore);
    EXPECT_EQ(next_line("QUIT\rX", 512).kind, Kind::NeedMore);
    LineResult r = next_line("RSET\nQUIT\r\nNOOP\r\n", 512);
    EXPECT_EQ(r.kind, Kind::BareNewline);
    EXPECT_EQ(r.consumed, 11u);  // through the CRLF
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(next_line("A\r\r\n", 512).kind, Kind::BareNewline);
    EXPECT_EQ(next_line("A\rB\r\n", 512).kind, Kind::BareNewline);
    EXPECT_EQ(next_line("\n\r\n", 512).kind, Kind::BareNewline);
}

TEST(NextLine, MaxLenIncludesCrlf) {
    std::string fits = std::string(510, 'a') + "\r\n";
    EXPECT_EQ(next_line(fits, 512).kind, Kind::Line);
    std::string over = std::string(511, 'a') + "\r\n";
    LineResult r = next_line(over, 512);
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 513u);
    EXPECT_TRUE(r.complete);
    // Without the CRLF yet: 510 octets (+ CR) may still fit; 511 cannot.
    EXPECT_EQ(next_line(std::string(510, 'a'), 512).kind, Kind::NeedMore);
    EXPECT_EQ(next_line(std::string(510, 'a') + "\r", 512).kind, Kind::NeedMore);
    r = next_line(std::string(511, 'a'), 512);
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 511u);
    EXPECT_FALSE(r.complete);
    r = next_line(std::string(510, 'a') + "\rX", 512);  // the CR was bare: no CRLF can fit any more
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 512u);
}

TEST(NextLine, TooLongKeepsATrailingCrForTheNextRead) {
    LineResult r = next_line(std::string(600, 'a') + "\r", 512);
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 600u);
    EXPECT_FALSE(r.complete);
    // Skipping: "\r" alone cannot be discarded yet, "\r\n" ends the skip.
    EXPECT_EQ(next_line("\r", 512, true).kind, Kind::NeedMore);
    r = next_line("\r\nQUIT\r\n", 512, true);
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 2u);
    EXPECT_TRUE(r.complete);
}

TEST(NextLine, SkippingDiscardsThroughCrlf) {
    LineResult r = next_line("junk junk", 512, true);
    EXPECT_EQ(r.kind, Kind::TooLong);
    EXPECT_EQ(r.consumed, 9u);
    EXPECT_FALSE(r.complete);
    r = next_line("junk\r\nQUIT\r\n", 512, true);
    EXPECT_EQ(r.consumed, 6u);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(next_line("", 512, true).kind, Kind::NeedMore);
}

TEST(Framing, TranscriptOfAPipelinedSession) {
    auto out = frame("EHLO client.example\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
    EXPECT_EQ(out.events, (Events{"L:EHLO client.example", "L:MAIL FROM:<a@b.c>", "L:RCPT TO:<d@e.f>", "L:DATA"}));
    EXPECT_EQ(out.leftover, "");
}

TEST(Framing, PartialLineStaysBuffered) {
    auto out = frame("NOOP\r\nQUI");
    EXPECT_EQ(out.events, (Events{"L:NOOP"}));
    EXPECT_EQ(out.leftover, "QUI");
}

TEST(Framing, SmugglingNewlinesAreNeverLineEnds) {
    for (std::string_view s : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\n", "\r"}) {
        std::string in = "NOOP a" + std::string(s) + "RSET\r\nQUIT\r\n";
        auto out = frame(in);
        // Where the sequence holds a real CRLF, the line it ends is the one with the bare CR/LF.
        if (s == "\r\n.\n")
            EXPECT_EQ(out.events, (Events{"L:NOOP a", "BARE", "L:QUIT"}));
        else if (s == "\n.\r\n" || s == "\r.\r\n")
            EXPECT_EQ(out.events, (Events{"BARE", "L:RSET", "L:QUIT"}));
        else
            EXPECT_EQ(out.events, (Events{"BARE", "L:QUIT"})) << "sequence " << ::testing::PrintToString(s);
    }
}

TEST(Framing, LfOnlyClientGetsNoLinesUntilTheLimit) {
    auto out = frame("EHLO x\nMAIL FROM:<a@b.c>\n");
    EXPECT_TRUE(out.events.empty());
    EXPECT_EQ(out.leftover, "EHLO x\nMAIL FROM:<a@b.c>\n");
    // With a small limit the buffered junk is reported once and skipped.
    out = frame("EHLO x\nMAIL FROM:<a@b.c>\nQUIT\n", 16);
    EXPECT_EQ(out.events, (Events{"TOO_LONG"}));
    EXPECT_TRUE(out.skipping);
}

TEST(Framing, OverlongLineIsReportedOnceAndResyncs) {
    std::string in = "NOOP\r\n" + std::string(700, 'x') + "\r\nQUIT\r\n";
    auto out = frame(in);
    EXPECT_EQ(out.events, (Events{"L:NOOP", "TOO_LONG", "L:QUIT"}));
    EXPECT_FALSE(out.skipping);
    // Also when the overlong line ends in CR right at a cut.
    out = frame(std::string(40, 'y') + "\r\r\nNOOP\r\n", 16);
    EXPECT_EQ(out.events, (Events{"TOO_LONG", "L:NOOP"}));
}

TEST(Framing, ExactlyAtTheLimit) {
    auto out = frame(std::string(14, 'a') + "\r\n" + std::string(15, 'b') + "\r\nNOOP\r\n", 16);
    EXPECT_EQ(out.events, (Events{"L:" + std::string(14, 'a'), "TOO_LONG", "L:NOOP"}));
}

TEST(Framing, BareNewlineLineThenGoodLine) {
    auto out = frame("MAIL FROM:<a@b.c>\nRCPT TO:<x@y.z>\r\nRSET\r\n");
    EXPECT_EQ(out.events, (Events{"BARE", "L:RSET"}));
}

}  // namespace
}  // namespace tern::smtp
