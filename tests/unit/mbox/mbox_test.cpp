// Unit tests for the mboxrd reader/writer (src/mbox): quoting (mbox(5) "mboxrd"), separators
// (RFC 4155), dates, line ends and byte-exact round trips. Must never touch the file system or
// depend on the local time zone.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "mbox/mbox.hpp"

namespace tern::mbox {
namespace {

std::vector<Entry> read_all(const std::string& bytes) {
    std::istringstream in(bytes);
    Reader r(in);
    std::vector<Entry> out;
    for (;;) {
        auto e = r.next();
        EXPECT_TRUE(e.has_value()) << e.error().message;
        if (!e || !*e) break;
        out.push_back(std::move(**e));
    }
    return out;
}

std::string write_all(const std::vector<Entry>& entries) {
    std::ostringstream out;
    for (const auto& e : entries) write_entry(out, e);
    return out.str();
}

constexpr const char* kDate = "Sat Nov 21 11:21:27 2026";

TEST(MboxDate, FormatsAsctimeUtc) {
    EXPECT_EQ(from_line_date(0), "Thu Jan  1 00:00:00 1970");
    EXPECT_EQ(from_line_date(1'000'000'000), "Sun Sep  9 01:46:40 2001");
    EXPECT_EQ(from_line_date(1'795'260'087), kDate);
    EXPECT_EQ(from_line_date(951'782'400), "Tue Feb 29 00:00:00 2000");  // leap day
    EXPECT_EQ(from_line_date(-1), "Wed Dec 31 23:59:59 1969");
}

TEST(MboxDate, ParsesWhatItFormats) {
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-86401}, std::int64_t{951'782'400},
                           std::int64_t{1'795'260'087}, std::int64_t{4'102'444'799}, std::int64_t{253'402'300'799}}) {
        auto back = parse_from_line_date(from_line_date(t));
        ASSERT_TRUE(back) << t;
        EXPECT_EQ(*back, t);
    }
}

TEST(MboxDate, ParsesVariants) {
    EXPECT_EQ(parse_from_line_date("Sat Nov 21 11:21:27 2026"), 1'795'260'087);
    EXPECT_EQ(parse_from_line_date("  Sat Nov 21 11:21:27 2026  "), 1'795'260'087);
    EXPECT_EQ(parse_from_line_date("Thu Jan 01 00:00:00 1970"), 0);  // zero-padded day
    EXPECT_EQ(parse_from_line_date("Thu Jan 1 00:00:00 1970"), 0);   // single space
    EXPECT_EQ(parse_from_line_date("Thu Jan  1 02:00:00 1970 +0200"), 0);
    EXPECT_EQ(parse_from_line_date("Thu Jan  1 00:00:00 +0000 1970"), 0);  // Gmail Takeout order
    EXPECT_EQ(parse_from_line_date("Wed Dec 31 19:00:00 1969 -0500"), 0);
    EXPECT_EQ(parse_from_line_date("Thu Jan  1 00:00:00 1970 UTC"), 0);
}

TEST(MboxDate, RejectsGarbage) {
    EXPECT_FALSE(parse_from_line_date(""));
    EXPECT_FALSE(parse_from_line_date("yesterday"));
    EXPECT_FALSE(parse_from_line_date("Xyz Jan  1 00:00:00 1970"));
    EXPECT_FALSE(parse_from_line_date("Thu Foo  1 00:00:00 1970"));
    EXPECT_FALSE(parse_from_line_date("Thu Feb 30 00:00:00 1970"));
    EXPECT_FALSE(parse_from_line_date("Thu Jan  1 24:00:00 1970"));
    EXPECT_FALSE(parse_from_line_date("Thu Jan  1 00:00 1970"));
    EXPECT_FALSE(parse_from_line_date("Thu Jan  1 00:00:00 19700"));
    EXPECT_FALSE(parse_from_line_date("Thu Jan  1 00:00:00 1970 +9999"));
    EXPECT_FALSE(parse_from_line_date("Thu Jan  1 00:00:00 1970 extra words"));
}

TEST(MboxRead, EmptyInputHasNoEntries) {
    EXPECT_TRUE(read_all("").empty());
    EXPECT_TRUE(read_all("\n\n").empty());
}

TEST(MboxRead, RejectsNonMbox) {
    std::istringstream in("Subject: hi\n\nbody\n");
    Reader r(in);
    auto e = r.next();
    ASSERT_FALSE(e.has_value());
    EXPECT_NE(e.error().message.find("From "), std::string::npos);
}

TEST(MboxRead, SplitsOnSeparatorsOnlyAfterEmptyLine) {
    const std::string file = std::string("From alice@example.org ") + kDate + "\n"
                             "Subject: one\n"
                             "\n"
                             "line\n"
                             "From here, not a separator (no empty line before)\n"
                             "\n"
                             "From bob@example.org " + kDate + "\n"
                             "Subject: two\n"
                             "\n"
                             "b\n"
                             "\n";
    auto entries = read_all(file);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].sender, "alice@example.org");
    EXPECT_EQ(entries[0].date, 1'795'260'087);
    EXPECT_EQ(entries[0].message, "Subject: one\r\n\r\nline\r\nFrom here, not a separator (no empty line before)\r\n");
    EXPECT_EQ(entries[1].sender, "bob@example.org");
    EXPECT_EQ(entries[1].message, "Subject: two\r\n\r\nb\r\n");
}

TEST(MboxRead, UnquotesOneLevel) {
    const std::string file = std::string("From a@b ") + kDate + "\n"
                             "S: x\n\n"
                             ">From a\n"
                             ">>From b\n"
                             ">>>From c\n"
                             "> From d\n"   // not quoted: space between '>' and From
                             ">From\n"      // not quoted: no space after From
                             ">Fromage\n"
                             "From e\n"     // unquoted From after non-empty line: kept as is
                             "\n";
    auto entries = read_all(file);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].message,
              "S: x\r\n\r\nFrom a\r\n>From b\r\n>>From c\r\n> From d\r\n>From\r\n>Fromage\r\nFrom e\r\n");
}

TEST(MboxWrite, QuotesFromLines) {
    Entry e{"a@b", 1'795'260'087,
            "S: x\r\n\r\nFrom a\r\n>From b\r\n>>From c\r\n> From d\r\nFromage\r\n\r\nFrom after blank\r\n"};
    std::ostringstream out;
    write_entry(out, e);
    EXPECT_EQ(out.str(), std::string("From a@b ") + kDate + "\n"
                         "S: x\n\n>From a\n>>From b\n>>>From c\n> From d\nFromage\n\n>From after blank\n\n");
}

TEST(MboxWrite, EmptyMessage) {
    std::ostringstream out;
    write_entry(out, Entry{"a@b", 0, ""});
    EXPECT_EQ(out.str(), "From a@b Thu Jan  1 00:00:00 1970\n\n");
    auto back = read_all(out.str());
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].message, "");
    EXPECT_EQ(back[0].sender, "a@b");
}

TEST(MboxWrite, SenderIsOneToken) {
    std::ostringstream out;
    write_entry(out, Entry{"", 0, "x\r\n"});
    write_entry(out, Entry{"a b\r\n@c", 0, "y\r\n"});
    auto back = read_all(out.str());
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].sender, "MAILER-DAEMON");
    EXPECT_EQ(back[1].sender, "a_b__@c");
    EXPECT_EQ(back[1].message, "y\r\n");
}

TEST(MboxWrite, MessageWithoutFinalNewlineGetsOne) {
    std::ostringstream out;
    write_entry(out, Entry{"a@b", 0, "Subject: x\r\n\r\nno newline"});
    EXPECT_EQ(out.str(), "From a@b Thu Jan  1 00:00:00 1970\nSubject: x\n\nno newline\n\n");
    auto back = read_all(out.str());
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].message, "Subject: x\r\n\r\nno newline\r\n");
}

TEST(MboxRead, LastLineWithoutNewlineAndNoTrailingBlank) {
    auto entries = read_all("From a@b Thu Jan  1 00:00:00 1970\nS: x\n\nbody");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].message, "S: x\r\n\r\nbody\r\n");
}

TEST(MboxRead, CrlfFileReadsLikeLfFile) {
    const std::string lf = std::string("From a@b ") + kDate + "\nS: x\n\n>From y\nz\n\nFrom c@d " + kDate + "\nS: 2\n\n";
    std::string crlf;
    for (char c : lf) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    auto a = read_all(lf);
    auto b = read_all(crlf);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(a[i].sender, b[i].sender);
        EXPECT_EQ(a[i].date, b[i].date);
        EXPECT_EQ(a[i].message, b[i].message);
    }
    EXPECT_EQ(b[0].message, "S: x\r\n\r\nFrom y\r\nz\r\n");
    // Writing what was read from the CRLF file gives the canonical LF file.
    EXPECT_EQ(write_all(b), lf);
}

TEST(MboxRead, MissingOrBadDateIsZero) {
    auto entries = read_all("From someone\nS: x\n\nFrom other garbage date\nS: y\n\nFrom \nS: z\n\n");
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].sender, "someone");
    EXPECT_EQ(entries[0].date, 0);
    EXPECT_EQ(entries[1].sender, "other");
    EXPECT_EQ(entries[1].date, 0);
    EXPECT_EQ(entries[2].sender, "MAILER-DAEMON");
    EXPECT_EQ(entries[2].message, "S: z\r\n");
}

TEST(MboxRead, MessageEndingInEmptyLinesKeepsThem) {
    Entry e{"a@b", 5, "S: x\r\n\r\nbody\r\n\r\n\r\n"};
    std::ostringstream out;
    write_entry(out, e);
    write_entry(out, Entry{"c@d", 6, "\r\n"});
    write_entry(out, Entry{"e@f", 7, ""});
    auto back = read_all(out.str());
    ASSERT_EQ(back.size(), 3u);
    EXPECT_EQ(back[0].message, e.message);
    EXPECT_EQ(back[1].message, "\r\n");
    EXPECT_EQ(back[2].message, "");
}

TEST(MboxRoundTrip, CanonicalFileIsByteExact) {
    const std::string file =
        std::string("From alice@example.org ") + kDate + "\n"
        "From: Alice <alice@example.org>\n"
        "Subject: quoting\n"
        "\n"
        ">From the start\n"
        ">>From deeper\n"
        ">>>>From deepest\n"
        "\n"
        ">From after a blank line\n"
        "caf\xc3\xa9 \xff\xfe 8-bit\n"
        "bare\rCR inside\n"
        "\n"
        "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
        "\n"
        "From bob@example.org Wed Dec 31 23:59:59 1969\n"
        "Subject: trailing blanks\n"
        "\n"
        "x\n"
        "\n"
        "\n"
        "\n";
    auto entries = read_all(file);
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].message.find(">From"), entries[0].message.find(">From deeper") );
    EXPECT_NE(entries[0].message.find("\r\nFrom the start\r\n"), std::string::npos);
    EXPECT_NE(entries[0].message.find("\r\n>>>From deepest\r\n"), std::string::npos);
    EXPECT_NE(entries[0].message.find("\r\nFrom after a blank line\r\n"), std::string::npos);
    EXPECT_EQ(entries[1].sender, "MAILER-DAEMON");
    EXPECT_EQ(entries[1].message, "");
    EXPECT_EQ(entries[2].date, -1);
    EXPECT_EQ(entries[2].message, "Subject: trailing blanks\r\n\r\nx\r\n\r\n\r\n");
    EXPECT_EQ(write_all(entries), file);
}

TEST(MboxRoundTrip, EntriesSurviveWriteThenRead) {
    std::vector<Entry> in = {
        {"a@b", 1, "From: x\r\n\r\nFrom a\r\n>From b\r\n\r\nFrom c\r\n"},
        {"MAILER-DAEMON", 2, ""},
        {"c@d", 3, "\r\n\r\n"},
        {"e@f", 4, ">>From \r\nFrom \r\n"},
    };
    auto out = read_all(write_all(in));
    ASSERT_EQ(out.size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out[i].sender, in[i].sender);
        EXPECT_EQ(out[i].date, in[i].date);
        EXPECT_EQ(out[i].message, in[i].message) << i;
    }
}

TEST(MboxRoundTrip, BigMessages) {
    // 8 MiB of short lines including quotable ones, plus one 2 MiB line.
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; big.size() < (8u << 20); ++i) {
        big += (i % 97 == 0) ? ">>From line " : (i % 89 == 0 ? "From line " : "ordinary line ");
        big += std::to_string(i);
        big += "\r\n";
    }
    std::string longline = "Subject: long\r\n\r\n" + std::string(2u << 20, 'x') + "\r\n";
    std::vector<Entry> in = {{"a@b", 10, big}, {"c@d", 20, longline}, {"e@f", 30, "S: small\r\n"}};
    const std::string file = write_all(in);
    auto out = read_all(file);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_TRUE(out[0].message == big);
    EXPECT_TRUE(out[1].message == longline);
    EXPECT_EQ(out[2].message, "S: small\r\n");
    EXPECT_TRUE(write_all(out) == file);
}

TEST(MboxRead, StreamsEntryByEntry) {
    std::istringstream in(std::string("From a@b ") + kDate + "\nS: 1\n\nFrom c@d " + kDate + "\nS: 2\n\n");
    Reader r(in);
    auto first = r.next();
    ASSERT_TRUE(first && *first);
    EXPECT_EQ((*first)->message, "S: 1\r\n");
    auto second = r.next();
    ASSERT_TRUE(second && *second);
    EXPECT_EQ((*second)->sender, "c@d");
    auto end = r.next();
    ASSERT_TRUE(end);
    EXPECT_FALSE(*end);
    auto again = r.next();
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
}

}  // namespace
}  // namespace tern::mbox
