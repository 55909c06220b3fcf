// Unit tests for POP3 responses, multi-line byte-stuffing (RFC 1939 §3), TOP extraction (§7), UIDL
// syntax (§7) and the APOP digest with RFC 1939's own example. Must assert exact wire bytes.
#include <gtest/gtest.h>

#include "proto/pop3/apop.hpp"
#include "proto/pop3/response.hpp"

namespace tern::pop3 {
namespace {

std::string stuffed(std::string_view data) {
    std::string out = "X";
    append_multiline(out, data);
    EXPECT_EQ(out.size(), 1 + multiline_size(data)) << data;
    return out.substr(1);
}

// Messages whose stuffing depends on what came before: dot lines, a CRLF split from the dot
// after it, a CR or LF alone, no final CRLF, an empty message.
const std::string kTricky[] = {
    "",
    ".",
    "..",
    "\r\n",
    "\r",
    "\n.",
    ".\r\n.\r\n",
    "a\r\n.\r\nb",
    "Subject: x\r\n\r\n.dot\r\n..two\r\n.\r\nend",
    "H: 1\r\n\r\nbody ends in CR\r",
    "H: 1\n\n.lf only\n.\n",
    "\r\nempty header\r\n.\r\n",
    "H: 1\r\n\r",
    "H: 1\r\n\r\n\r\n.\r\n\r\n",
};

// Feeds `data` to a MultilineStuffer cut at the given points.
std::string stuffed_in_pieces(std::string_view data, std::initializer_list<std::size_t> cuts) {
    std::string out;
    MultilineStuffer st;
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        st.append(out, data.substr(from, cut - from));
        from = cut;
    }
    st.append(out, data.substr(from));
    st.finish(out);
    return out;
}

TEST(Pop3Response, StufferMatchesWholeBodyAtEverySplit) {
    for (const std::string& data : kTricky) {
        const std::string expected = stuffed(data);
        EXPECT_EQ(stuffed_in_pieces(data, {}), expected) << data;
        for (std::size_t i = 0; i <= data.size(); ++i) {
            ASSERT_EQ(stuffed_in_pieces(data, {i}), expected) << "split at " << i << " of " << data;
            for (std::size_t j = i; j <= data.size(); ++j)
                ASSERT_EQ(stuffed_in_pieces(data, {i, j}), expected) << "split at " << i << "," << j << " of " << data;
        }
        // One octet at a time.
        std::string out;
        MultilineStuffer st;
        for (char c : data) st.append(out, std::string_view(&c, 1));
        st.finish(out);
        EXPECT_EQ(out, expected) << data;
    }
    // The cases the splits are about, spelled out.
    EXPECT_EQ(stuffed_in_pieces("a\r\n.b\r\n", {3}), "a\r\n..b\r\n.\r\n") << "dot after a split CRLF";
    EXPECT_EQ(stuffed_in_pieces("a\r\n.b\r\n", {2}), "a\r\n..b\r\n.\r\n") << "CR at the end of a piece";
    EXPECT_EQ(stuffed_in_pieces("ab\r", {3}), "ab\r\r\n.\r\n") << "a lone final CR is not a line end";
    EXPECT_EQ(stuffed_in_pieces("ab\r\n", {3}), "ab\r\n.\r\n") << "final CRLF split: none added";
    EXPECT_EQ(stuffed_in_pieces("", {0}), ".\r\n") << "empty message";
}

// Feeds `message` to a TopCutter in pieces of `piece` octets; returns what it kept.
std::string top_in_pieces(std::string_view message, std::uint64_t lines, std::size_t piece) {
    TopCutter cut(lines);
    std::string kept;
    for (std::size_t at = 0; at < message.size() && !cut.done(); at += piece) {
        std::string_view p = message.substr(at, piece);
        std::size_t n = cut.take(p);
        EXPECT_LE(n, p.size());
        if (n < p.size()) {
            EXPECT_TRUE(cut.done()) << "a short take means done";
        }
        kept.append(p.substr(0, n));
    }
    return kept;
}

TEST(Pop3Response, TopCutterMatchesTopOfAtEverySplit) {
    std::vector<std::string> messages(std::begin(kTricky), std::end(kTricky));
    messages.push_back("From: a\r\nSubject: b\r\n\r\nl1\r\nl2\r\nl3\r\n");
    messages.push_back("From: a\r\n\r\nno final line end");
    messages.push_back("no blank line\r\nat all\r\n");
    for (const std::string& m : messages)
        for (std::uint64_t lines : {0, 1, 2, 3, 100})
            for (std::size_t piece = 1; piece <= m.size() + 1; ++piece)
                ASSERT_EQ(top_in_pieces(m, lines, piece), top_of(m, lines))
                    << "lines " << lines << ", pieces of " << piece << ": " << m;
}

TEST(Pop3Response, OkAndErr) {
    EXPECT_EQ(ok(), "+OK\r\n");
    EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
    EXPECT_EQ(err("No such message"), "-ERR No such message\r\n");
    EXPECT_EQ(err(code::kInUse, "Maildrop already locked"), "-ERR [IN-USE] Maildrop already locked\r\n");
    EXPECT_EQ(err(code::kSysTemp, "x"), "-ERR [SYS/TEMP] x\r\n");
    EXPECT_EQ(err(code::kAuth, ""), "-ERR [AUTH]\r\n");
    // Caller text never smuggles a line end.
    EXPECT_EQ(ok("a\r\n+OK b"), "+OK a+OK b\r\n");
    EXPECT_EQ(err("x\r\n.\r\n"), "-ERR x.\r\n");
}

TEST(Pop3Response, ByteStuffing) {
    EXPECT_EQ(stuffed(""), ".\r\n");
    EXPECT_EQ(stuffed("a\r\n"), "a\r\n.\r\n");
    EXPECT_EQ(stuffed(".a\r\n"), "..a\r\n.\r\n");
    EXPECT_EQ(stuffed("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
    EXPECT_EQ(stuffed("a\r\n..b\r\n.\r\n"), "a\r\n...b\r\n..\r\n.\r\n");
    EXPECT_EQ(stuffed("a.b\r\n"), "a.b\r\n.\r\n") << "only at line starts";
    // A message without a final CRLF gets one before the terminator.
    EXPECT_EQ(stuffed("no newline"), "no newline\r\n.\r\n");
    EXPECT_EQ(stuffed("x\r\n."), "x\r\n..\r\n.\r\n");
    EXPECT_EQ(stuffed("x\r"), "x\r\r\n.\r\n");
    // A bare LF counts as a line start too, so no client can see an early terminator.
    EXPECT_EQ(stuffed("a\n.\nb\r\n"), "a\n..\nb\r\n.\r\n");
}

TEST(Pop3Response, StuffedBodyNeverContainsTerminatorEarly) {
    std::string msg = "Subject: t\r\n\r\n.\r\n..\r\n.x\r\n\r\n.";
    std::string out = stuffed(msg);
    EXPECT_EQ(out.find("\r\n.\r\n"), out.size() - 5);
}

TEST(Pop3Response, TopLines) {
    std::string m = "From: a\r\nSubject: b\r\n\r\nl1\r\nl2\r\nl3\r\n";
    EXPECT_EQ(top_of(m, 0), "From: a\r\nSubject: b\r\n\r\n");
    EXPECT_EQ(top_of(m, 1), "From: a\r\nSubject: b\r\n\r\nl1\r\n");
    EXPECT_EQ(top_of(m, 3), m);
    EXPECT_EQ(top_of(m, 100), m);
    EXPECT_EQ(top_of("H: 1\r\n", 5), "H: 1\r\n") << "no body";
    EXPECT_EQ(top_of("H: 1\r\n\r\nno end", 5), "H: 1\r\n\r\nno end");
    EXPECT_EQ(top_of("\r\nbody\r\n", 0), "\r\n") << "empty header";
    // The result is a view into the message: no copy.
    EXPECT_EQ(top_of(m, 1).data(), m.data());
}

TEST(Pop3Response, UidlSyntax) {
    EXPECT_TRUE(valid_uidl("1700000000.1"));
    EXPECT_TRUE(valid_uidl(std::string(70, '~')));
    EXPECT_FALSE(valid_uidl(std::string(71, 'a')));
    EXPECT_FALSE(valid_uidl(""));
    EXPECT_FALSE(valid_uidl("a b"));
    EXPECT_FALSE(valid_uidl("a\x7f"));
}

TEST(Pop3Apop, Rfc1939Example) {
    // RFC 1939 §7 example.
    EXPECT_EQ(apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"), "c4c9334bac560ecc979e58001b3e22fb");
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Pop3Apop, Verify) {
    const char* ts = "<1896.697170952@dbc.mtview.ca.us>";
    EXPECT_TRUE(apop_verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_TRUE(apop_verify(ts, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaF", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_FALSE(apop_verify("<other@x>", "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22f"));
    EXPECT_FALSE(apop_verify(ts, "tanstaaf", ""));
}

}  // namespace
}  // namespace tern::pop3
