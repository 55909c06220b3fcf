// Transcript tests of the message data on the wire: CRLF normalisation and dot-stuffing through
// the session with the body read at every chunk size (state across chunk boundaries), DATA and
// BDAT (RFC 3030) forms, and what a peer that parses the data back would get.
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

// What the DATA part of the transcript must be for `body`.
struct Case {
    std::string body;
    std::string wire;  // after DATA, end marker included
};

const std::vector<Case> kCases = {
    {".\r\nfirst line was a dot\r\n", "..\r\nfirst line was a dot\r\n.\r\n"},
    {"a\r.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
    {"bare\nLF\n.dot\n", "bare\r\nLF\r\n..dot\r\n.\r\n"},
    {"no final crlf", "no final crlf\r\n.\r\n"},
    {"x\r\n.\r\n\r\n.\r\ny", "x\r\n..\r\n\r\n..\r\ny\r\n.\r\n"},
};

TEST(ClientData, NormalisedAndStuffedAtEveryChunkSize) {
    for (const auto& c : kCases)
        for (std::size_t chunk = 1; chunk <= c.body.size() + 1; ++chunk) {
            Options o = make_options();
            o.chunk_size = chunk;
            auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, c.body)},
                                {kGreeting, kEhloBasic, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n", "221 bye\r\n"},
                                1);
            const auto at = run.sent.find("DATA\r\n");
            ASSERT_NE(at, std::string::npos);
            EXPECT_EQ(run.sent.substr(at + 6), c.wire + "QUIT\r\n") << "chunk " << chunk;
            EXPECT_TRUE(status_of(run, 0, 0).accepted());
        }
}

TEST(ClientData, LargeBodyIsWrittenInBoundedPieces) {
    Options o = make_options();
    o.chunk_size = 1024;
    Session s(o);
    std::string body;
    for (int i = 0; i < 2000; ++i) body += ".line " + std::to_string(i) + "\n";
    s.add(make_message(1, "a@example.net", {"b@example.org"}, body));
    for (const char* t : {"220 hi\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n"}) {
        s.receive(t);
        s.advance();
    }
    s.receive("354 go\r\n");
    std::string wire;
    std::size_t writes = 0, largest = 0;
    for (;;) {
        auto a = s.advance();
        wire += a.output;
        ++writes;
        largest = std::max(largest, a.output.size());
        if (a.next != Session::Next::Write) break;
    }
    EXPECT_GT(writes, 10u);
    EXPECT_LE(largest, 2u * 1024 + 8);
    EXPECT_TRUE(wire.starts_with("..line 0\r\n..line 1\r\n"));
    EXPECT_TRUE(wire.ends_with("..line 1999\r\n.\r\n"));
}

TEST(ClientData, BdatChunksWhenChunking) {
    Options o = make_options();
    o.chunk_size = 4;
    auto run = converse_all_splits(o, {make_message(1, "a@example.net", {"b@example.org"}, ".ab\ncd")},
                                   {kGreeting, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n", "250 ok\r\n", "250 2.0.0 chunk\r\n",
                                    "250 2.0.0 done\r\n", "221 bye\r\n"});
    // RFC 3030: no dot-stuffing, exact octet counts, LAST on the final chunk; CRLF still enforced.
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
              "BDAT 5\r\n.ab\r\n"
              "BDAT 4 LAST\r\ncd\r\n"
              "QUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).text, "done");
}

TEST(ClientData, BdatPipelinedEnvelopeAndFailedChunk) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org", "c@example.org"}, "x")},
                                   {kGreeting, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                                    "250 ok\r\n250 ok\r\n550 5.1.1 no c\r\n", "552 5.3.4 too big after all\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
              "BDAT 3 LAST\r\nx\r\n"
              "QUIT\r\n");
    EXPECT_EQ(status_of(run, 0, 0).enhanced, "5.3.4");
    EXPECT_EQ(status_of(run, 0, 1).text, "no c");
}

TEST(ClientData, EmptyBodyWithBdat) {
    auto run = converse(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "")},
                        {kGreeting, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n", "250 ok\r\n"}, 1000);
    EXPECT_TRUE(run.sent.ends_with("BDAT 0 LAST\r\n"));
}

}  // namespace
}  // namespace tern::client::smtp::testing
