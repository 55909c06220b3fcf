// Unit tests for IMAP response helpers (proto/imap/response.hpp) and sequence-set round trips
// (sequence.hpp). Must never touch I/O.
#include <gtest/gtest.h>

#include <vector>

#include "proto/imap/response.hpp"
#include "proto/imap/sequence.hpp"

namespace tern::imap {
namespace {

std::string as(std::string_view s, bool utf8 = false) {
    std::string out;
    append_astring(out, s, utf8);
    return out;
}

std::string str(std::string_view s, bool utf8 = false) {
    std::string out;
    append_string(out, s, utf8);
    return out;
}

TEST(ImapResponse, StringForms) {
    EXPECT_EQ(as("INBOX"), "INBOX");
    EXPECT_EQ(as("a]b"), "a]b");
    EXPECT_EQ(as("NIL"), "\"NIL\"");
    EXPECT_EQ(as(""), "\"\"");
    EXPECT_EQ(as("a b"), "\"a b\"");
    EXPECT_EQ(as("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(as("50%"), "\"50%\"");
    EXPECT_EQ(str("x"), "\"x\"");
    EXPECT_EQ(str("a\r\nb"), "{4}\r\na\r\nb");
    EXPECT_EQ(str("\xc3\xa4"), "{2}\r\n\xc3\xa4");            // rev1: 8-bit goes as a literal
    EXPECT_EQ(str("\xc3\xa4", true), "\"\xc3\xa4\"");           // UTF8=ACCEPT: quoted UTF-8
    EXPECT_EQ(str("\xff", true), "{1}\r\n\xff");                // not UTF-8: literal
    EXPECT_EQ(str(std::string(kMaxQuoted + 1, 'a')).substr(0, 7), "{1025}\r");
    std::string out;
    append_nstring(out, std::nullopt);
    out += ' ';
    append_nstring(out, std::string_view("NIL"));
    EXPECT_EQ(out, "NIL \"NIL\"");
    out.clear();
    append_literal8(out, std::string_view("a\0b", 3));
    EXPECT_EQ(out, std::string("~{3}\r\na\0b", 9));
}

TEST(ImapResponse, Lists) {
    std::string out;
    std::vector<std::uint32_t> n{2, 5, 9};
    append_numbers(out, n);
    EXPECT_EQ(out, "2 5 9");
    out.clear();
    std::vector<std::string> flags{"\\Seen", "$Junk"};
    append_flag_list(out, flags);
    EXPECT_EQ(out, "(\\Seen $Junk)");
    out.clear();
    append_flag_list(out, std::span<const std::string>());
    EXPECT_EQ(out, "()");
}

TEST(ImapResponse, Lines) {
    EXPECT_EQ(tagged("a1", "OK", "READ-WRITE", "SELECT completed"), "a1 OK [READ-WRITE] SELECT completed\r\n");
    EXPECT_EQ(tagged("a1", "BAD", "", "no\r\nway"), "a1 BAD no  way\r\n");
    EXPECT_EQ(untagged("3 EXISTS"), "* 3 EXISTS\r\n");
    EXPECT_EQ(continuation("Ready"), "+ Ready\r\n");
}

TEST(SequenceSet, ParseAndFormat) {
    for (auto s : {"1", "1:*", "*", "2:4,7,9:*", "5:2", "4294967295", "$", "*:3"}) {
        auto p = parse_sequence_set(s);
        ASSERT_TRUE(p) << s;
        EXPECT_EQ(format_sequence_set(*p), s);
    }
    for (auto s : {"", "0", "1:0", ",", "1,", ",1", "1::2", "4294967296", "a", "1,$", "$:1", "01", "1 2"})
        EXPECT_FALSE(parse_sequence_set(s)) << s;
    EXPECT_FALSE(parse_sequence_set("1,2,3", 2));
}

TEST(SequenceSet, ContainsAndExpand) {
    auto s = *parse_sequence_set("5:2,9:*");
    EXPECT_TRUE(s.contains(3, 10));
    EXPECT_FALSE(s.contains(6, 10));
    EXPECT_TRUE(s.contains(10, 10));
    EXPECT_FALSE(s.contains(11, 10));
    EXPECT_EQ(expand(s, 10, 100), (std::vector<std::uint32_t>{2, 3, 4, 5, 9, 10}));
    EXPECT_EQ(expand(*parse_sequence_set("*:4"), 3, 100), (std::vector<std::uint32_t>{3}));  // 3:4 within 1..3
    EXPECT_TRUE(expand(*parse_sequence_set("1:*"), 0, 100).empty());
    bool too_many = false;
    EXPECT_TRUE(expand(*parse_sequence_set("1:4294967295"), 4294967295u, 1000, &too_many).empty());
    EXPECT_TRUE(too_many);
    EXPECT_EQ(expand(*parse_sequence_set("1:3,2:5"), 9, 100), (std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
}

TEST(SequenceSet, CompressRoundTrip) {
    std::vector<std::uint32_t> uids{1, 2, 3, 7, 9, 10, 4294967295u};
    std::string s = uid_set(uids);
    EXPECT_EQ(s, "1:3,7,9:10,4294967295");
    EXPECT_EQ(expand(*parse_sequence_set(s), 4294967295u, 100), uids);
    std::vector<std::uint32_t> unsorted{5, 3, 4, 3, 1};
    EXPECT_EQ(uid_set(unsorted), "1,3:5");
    EXPECT_EQ(uid_set(std::span<const std::uint32_t>()), "");
}

}  // namespace
}  // namespace tern::imap
