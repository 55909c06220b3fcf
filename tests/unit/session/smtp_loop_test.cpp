// Transcript tests for mail-loop detection at intake (RFC 5321 §6.3): a message whose header
// section carries too many Received: fields is refused at the end of the data with 554 5.4.6 and
// never committed, however DATA or BDAT splits it; Received: lines in the body do not count.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace tern::smtp::testing {
namespace {

const char* kStart = "EHLO relay.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n";

std::string looped(int hops, std::string body = "looping\r\n") {
    std::string m;
    for (int i = 0; i < hops; ++i)
        m += (i % 2 ? "received: from hop" : "Received: from hop") + std::to_string(i) +
             "\r\n\tby relay.example.net; Mon, 7 Dec 2026 05:00:00 +0000\r\n";
    return m + "Subject: round and round\r\n\r\n" + body;
}

const std::string kRefusal = "554 5.4.6 too many hops (50 Received: header fields): mail loop?\r\n";

TEST(SmtpLoop, FiftyReceivedFieldsAreRefusedAndNotQueued) {
    Transcript t;
    t.send(kStart);
    EXPECT_EQ(t.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(t.send(looped(50) + ".\r\n"), kRefusal);
    EXPECT_TRUE(t.commits.empty());
    // The session goes on: the next transaction is accepted.
    t.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    EXPECT_EQ(t.send("Subject: ok\r\n\r\nfine\r\n.\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
    EXPECT_EQ(t.commits.size(), 1u);
}

TEST(SmtpLoop, FortyNineAreAcceptedOursMakesFifty) {
    Transcript t;
    t.send(std::string(kStart) + "DATA\r\n");
    EXPECT_EQ(t.send(looped(49) + ".\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_EQ(body_of(t.commits[0]), looped(49));
}

TEST(SmtpLoop, ReceivedLinesInTheBodyDoNotCount) {
    Transcript t;
    t.send(std::string(kStart) + "DATA\r\n");
    std::string body;
    for (int i = 0; i < 60; ++i) body += "Received: quoted in a forwarded text\r\n";
    EXPECT_EQ(t.send(looped(2, body) + ".\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
}

TEST(SmtpLoop, DataSplitAtEveryPoint) {
    const std::string wire = looped(50) + ".\r\n";
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        Transcript t;
        t.send(std::string(kStart) + "DATA\r\n");
        std::string out = t.send(wire.substr(0, cut));
        out += t.send(wire.substr(cut));
        ASSERT_EQ(out, kRefusal) << "split at " << cut;
        ASSERT_TRUE(t.commits.empty());
    }
}

TEST(SmtpLoop, BdatChunksSplitAtEveryPoint) {
    const std::string msg = looped(50);
    for (std::size_t cut = 1; cut < msg.size(); ++cut) {
        Transcript t;
        t.send(kStart);
        std::string out = t.send("BDAT " + std::to_string(cut) + "\r\n" + msg.substr(0, cut));
        ASSERT_EQ(out, "250 2.0.0 " + std::to_string(cut) + " octets received\r\n");
        out = t.send("BDAT " + std::to_string(msg.size() - cut) + " LAST\r\n" + msg.substr(cut));
        ASSERT_EQ(out, kRefusal) << "split at " << cut;
        ASSERT_TRUE(t.commits.empty());
    }
}

TEST(SmtpLoop, TheLimitIsConfigurable) {
    auto cfg = Transcript::make_config();
    cfg.limits.max_hops = 3;
    Transcript t(cfg);
    t.send(std::string(kStart) + "DATA\r\n");
    EXPECT_EQ(t.send(looped(3) + ".\r\n"), "554 5.4.6 too many hops (3 Received: header fields): mail loop?\r\n");
    t.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    EXPECT_EQ(t.send(looped(2) + ".\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
}

}  // namespace
}  // namespace tern::smtp::testing
