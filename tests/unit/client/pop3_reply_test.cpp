// Tests for the POP3 client's response reader: status lines and RFC 2449 response codes, multi-line
// bodies, dot-unstuffing and the streamed mode at every split point, and the line bound.
#include <gtest/gtest.h>

#include <string>

#include "client/pop3/reply.hpp"

namespace tern::client::pop3 {
namespace {

using R = ResponseReader::Result;

Status one_status(std::string_view in) {
    ResponseReader r;
    r.feed(in);
    Status s;
    EXPECT_EQ(r.status(s), R::Done) << in;
    return s;
}

TEST(Pop3ClientReply, StatusLinesAndCodes) {
    auto s = one_status("+OK 2 320\r\n");
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.text, "2 320");
    EXPECT_EQ(s.code, "");
    s = one_status("-ERR [IN-USE] maildrop locked\r\n");
    EXPECT_EQ(s.kind, Status::Kind::Err);
    EXPECT_EQ(s.code, "IN-USE");
    EXPECT_EQ(s.text, "maildrop locked");
    for (std::string c : {"LOGIN-DELAY", "SYS/TEMP", "SYS/PERM", "AUTH"}) {
        s = one_status("-ERR [" + c + "] x\r\n");
        EXPECT_EQ(s.code, c);
        EXPECT_EQ(s.text, "x");
    }
    s = one_status("+OK\r\n");
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.text, "");
    s = one_status("-ERR\n");  // bare LF accepted
    EXPECT_EQ(s.kind, Status::Kind::Err);
    s = one_status("-ERR [not a code] text\r\n");  // a bracket that is no code stays text
    EXPECT_EQ(s.code, "");
    EXPECT_EQ(s.text, "[not a code] text");
    s = one_status("-ERR [SYS//X] t\r\n");
    EXPECT_EQ(s.code, "");
    s = one_status("+ cj1mb28=\r\n");
    EXPECT_EQ(s.kind, Status::Kind::Continue);
    EXPECT_EQ(s.text, "cj1mb28=");
    s = one_status("+\r\n");
    EXPECT_EQ(s.kind, Status::Kind::Continue);
    EXPECT_EQ(s.text, "");
}

TEST(Pop3ClientReply, BadStatusLines) {
    for (std::string bad : {"+OKAY\r\n", "OK\r\n", "-ER\r\n", "* OK\r\n", "\r\n"}) {
        ResponseReader r;
        r.feed(bad);
        Status s;
        EXPECT_EQ(r.status(s), R::Error) << bad;
    }
}

TEST(Pop3ClientReply, StatusIncompleteUntilLineEnd) {
    ResponseReader r;
    Status s;
    r.feed("+OK hel");
    EXPECT_EQ(r.status(s), R::Incomplete);
    r.feed("lo\r");
    EXPECT_EQ(r.status(s), R::Incomplete);
    r.feed("\n+OK next\r\n");
    EXPECT_EQ(r.status(s), R::Done);
    EXPECT_EQ(s.text, "hello");
    EXPECT_EQ(r.status(s), R::Done);
    EXPECT_EQ(s.text, "next");
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(Pop3ClientReply, LineLengthIsBounded) {
    ResponseReader r;
    Status s;
    r.feed("+OK " + std::string(kMaxResponseLine - 10, 'a'));
    EXPECT_EQ(r.status(s), R::Incomplete);
    r.feed(std::string(20, 'a'));  // no line end within the bound: an error, not more buffering
    EXPECT_EQ(r.status(s), R::Error);

    ResponseReader b;
    std::string line;
    b.feed(std::string(kMaxResponseLine + 1, 'x') + "\r\n");
    EXPECT_EQ(b.body_line(line), R::Error);
    ResponseReader ok;  // just under the bound is fine
    ok.feed(std::string(kMaxResponseLine - 2, 'x') + "\r\n");
    EXPECT_EQ(ok.body_line(line), R::Done);
}

TEST(Pop3ClientReply, BodyLinesUnstuffed) {
    ResponseReader r;
    r.feed("1 abc\r\n..dot\r\n...\r\n.x\r\n\r\n.\r\n+OK after\r\n");
    std::vector<std::string> lines;
    std::string l;
    R res;
    while ((res = r.body_line(l)) == R::Done) lines.push_back(l);
    EXPECT_EQ(res, R::End);
    EXPECT_EQ(lines, (std::vector<std::string>{"1 abc", ".dot", "..", "x", ""}));
    Status s;  // the reader stops at the terminator
    EXPECT_EQ(r.status(s), R::Done);
    EXPECT_EQ(s.text, "after");
}

// Feeds `wire` to body_chunk() in pieces of `piece` octets with chunks of at most `max` octets;
// returns the message and what followed the terminator.
std::pair<std::string, std::string> stream(std::string_view wire, std::size_t piece, std::size_t max, bool& ended) {
    ResponseReader r;
    std::string msg;
    ended = false;
    for (std::size_t i = 0; i < wire.size() && !ended; i += piece) {
        r.feed(wire.substr(i, piece));
        for (;;) {
            std::string chunk;
            auto res = r.body_chunk(chunk, max);
            EXPECT_LE(chunk.size(), max);
            if (res == R::Data) {
                EXPECT_FALSE(chunk.empty());
                msg += chunk;
                continue;
            }
            if (res == R::End) ended = true;
            break;
        }
        if (ended) {
            // what is left of this piece, plus the rest of the wire
            std::size_t fed_to = std::min(wire.size(), i + piece);
            std::string tail(wire.substr(fed_to));
            r.feed(tail);
            std::string all;
            std::string line;
            while (r.buffered() > 0 && r.body_line(line) == R::Done) all += line + "|";
            return {msg, all};
        }
    }
    return {msg, ""};
}

TEST(Pop3ClientReply, StreamUnstuffsAtEverySplit) {
    struct Case {
        std::string wire, message;
    };
    const std::vector<Case> cases = {
        {"hello\r\n.\r\n", "hello\r\n"},
        {"..\r\n.\r\n", ".\r\n"},                                  // a lone "." inside the message
        {"...x\r\n..\r\n.y\r\n.\r\n", "..x\r\n.\r\ny\r\n"},        // doubled and single leading dots
        {".\r\n", ""},                                            // empty message
        {"a.\r\n.b.\r\n\r\n..\r\n\r\n.\r\n", "a.\r\nb.\r\n\r\n.\r\n\r\n"},
        {"x\r\n.\rz\r\n.\r\n", "x\r\n\rz\r\n"},                   // "." then CR not LF: stuffed (RFC 1939 §3)
        {"bare\nlf\n..d\n.\n", "bare\nlf\n.d\n"},                 // bare LF servers
        {"mid.\r\n.. \r\n.\r\n", "mid.\r\n. \r\n"},
        {"no dot at \r\nend .\r\n.\r\n", "no dot at \r\nend .\r\n"},
    };
    for (const auto& c : cases) {
        const std::string wire = c.wire + "1 after\r\n";
        for (std::size_t piece = 1; piece <= wire.size(); ++piece)
            for (std::size_t max : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{65536}}) {
                bool ended = false;
                auto [msg, rest] = stream(wire, piece, max, ended);
                EXPECT_TRUE(ended) << c.wire << " piece " << piece << " max " << max;
                EXPECT_EQ(msg, c.message) << c.wire << " piece " << piece << " max " << max;
                EXPECT_EQ(rest, "1 after|") << c.wire << " piece " << piece << " max " << max;
            }
    }
}

TEST(Pop3ClientReply, StreamNeverHoldsTheMessage) {
    // A 1 MiB message fed in 4 KiB reads: each read is handed out at once (at most two octets of
    // an undecided line start stay behind), so the buffer never grows with the message.
    ResponseReader r;
    std::string line(1000, 'a');
    line += "\r\n";
    std::size_t total = 0, max_buffered = 0;
    std::string wire;
    for (int i = 0; i < 1024; ++i) wire += (i % 3 == 0 ? "." : "") + line;
    for (std::size_t i = 0; i < wire.size(); i += 4096) {
        r.feed(std::string_view(wire).substr(i, 4096));
        std::string chunk;
        while (r.body_chunk(chunk, 65536) == R::Data) {
            total += chunk.size();
            chunk.clear();
        }
        max_buffered = std::max(max_buffered, r.buffered());
    }
    EXPECT_LE(max_buffered, 2u);
    EXPECT_EQ(total, 1024 * line.size());  // every stuffed dot removed, nothing else
}

}  // namespace
}  // namespace tern::client::pop3
