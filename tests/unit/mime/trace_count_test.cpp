// The Received: counter for loop detection (mime/trace_count.hpp): what counts, where the header
// section ends, and the same answer at every split point and byte by byte.
#include "mime/trace_count.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::mime {
namespace {

std::size_t whole(std::string_view m) {
    ReceivedCounter c;
    c.feed(m);
    return c.count();
}

// Every split into two pieces, and one octet at a time, must agree with the whole.
void expect_splits(std::string_view m, std::size_t expected, bool done) {
    for (std::size_t cut = 0; cut <= m.size(); ++cut) {
        ReceivedCounter c;
        c.feed(m.substr(0, cut));
        c.feed(m.substr(cut));
        ASSERT_EQ(c.count(), expected) << "split at " << cut;
        ASSERT_EQ(c.header_done(), done) << "split at " << cut;
    }
    ReceivedCounter c;
    for (char ch : m) c.feed(std::string_view(&ch, 1));
    EXPECT_EQ(c.count(), expected);
    EXPECT_EQ(c.header_done(), done);
}

std::string hops(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "Received: from h" + std::to_string(i) + "\r\n\tby x; Mon, 7 Dec 2026 05:00:00 +0000\r\n";
    return s;
}

TEST(ReceivedCounter, CountsFieldNamesInTheHeaderOnly) {
    std::string m = hops(3) + "Subject: hi\r\n\r\nReceived: from body-line\r\n";
    EXPECT_EQ(whole(m), 3u);
    expect_splits(m, 3, true);
}

TEST(ReceivedCounter, CaseAndWhitespaceBeforeTheColon) {
    std::string m = "RECEIVED: a\r\nreceived:b\r\nReCeIvEd \t: c\r\n\r\n";
    expect_splits(m, 3, true);
}

TEST(ReceivedCounter, LookalikesDoNotCount) {
    std::string m =
        "X-Received: a\r\n"
        "Received-SPF: pass\r\n"
        "Receive: x\r\n"
        "Received x: y\r\n"
        "Subject: Received: in a value\r\n"
        " Received: a continuation line\r\n"
        "\tReceived: another\r\n"
        "Received\r\n"
        "Received";
    expect_splits(m, 0, false);
}

TEST(ReceivedCounter, EmptyHeaderSectionAndNoBody) {
    expect_splits("\r\nReceived: x\r\n", 0, true);
    expect_splits("Received: x\r\n", 1, false);  // the message ended inside its header
    expect_splits("", 0, false);
}

TEST(ReceivedCounter, BareLfEndsLinesToo) {
    expect_splits("Received: a\nReceived: b\n\nReceived: c\n", 2, true);
}

TEST(ReceivedCounter, FiftyHops) {
    std::string m = hops(50) + "\r\nbody\r\n";
    EXPECT_EQ(whole(m), 50u);
    expect_splits(m, 50, true);
}

}  // namespace
}  // namespace tern::mime
