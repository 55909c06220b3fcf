// Transcript tests for streaming message content into the spool's IncomingBody: a message larger
// than the session's memory allowance is spilled to a file and arrives byte for byte, fed at any
// split; submission holds only the header section back (RFC 6409 checks, Date:/Message-ID: added
// in front of it); a body that cannot be written is refused at the end of the data with 451/452,
// never acknowledged.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "transcript.hpp"

namespace tern::smtp::testing {
namespace {

namespace fs = std::filesystem;

const char* kEhlo = "EHLO client.example.net\r\n";

std::string big_body(std::size_t size) {
    std::string b = "Subject: big\r\n\r\n";
    for (std::size_t i = 0; b.size() < size; ++i) b += "line " + std::to_string(i) + " of a large message\r\n";
    return b;
}

struct SpillDir {
    fs::path path;
    SpillDir() {
        std::string tmpl = (fs::temp_directory_path() / "tern-spill-XXXXXX").string();
        if (::mkdtemp(tmpl.data())) path = tmpl;
    }
    ~SpillDir() { fs::remove_all(path); }
};

SessionConfig spilling(const fs::path& dir, ListenerKind kind = ListenerKind::Smtp) {
    auto c = Transcript::make_config();
    c.kind = kind;
    c.spill_dir = dir;
    c.body_memory = 4096;
    return c;
}

TEST(SmtpStreaming, LargeDataSpillsAndArrivesWhole) {
    SpillDir dir;
    const std::string body = big_body(300000);
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, body.size() + 5}) {
        Transcript t(spilling(dir.path));
        t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
        std::string wire = body + ".\r\n";
        std::string out;
        for (std::size_t at = 0; at < wire.size(); at += piece) out += t.send(wire.substr(at, piece));
        ASSERT_EQ(out, "250 2.0.0 Ok: queued as 0000000000000001\r\n") << piece;
        ASSERT_EQ(t.commits.size(), 1u);
        EXPECT_TRUE(t.commits[0].spilled) << "300 kB is past the 4 kB memory allowance";
        EXPECT_EQ(body_of(t.commits[0]), body) << piece;
        EXPECT_TRUE(t.commits[0].message.starts_with("Received: from client.example.net"));
        EXPECT_TRUE(t.session().buffered() == 0);
    }
    EXPECT_TRUE(fs::is_empty(dir.path)) << "spill files have no name";
}

TEST(SmtpStreaming, BdatChunksSpillAndKeepTheirCrLfAcrossChunks) {
    SpillDir dir;
    Transcript t(spilling(dir.path));
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n");
    const std::string body = big_body(50000);
    std::string out;
    std::size_t at = 0;
    for (std::size_t n : {std::size_t{15}, std::size_t{1}, std::size_t{20000}}) {  // splits "\r" | "\n"
        out += t.send("BDAT " + std::to_string(n) + "\r\n" + body.substr(at, n));
        at += n;
    }
    out += t.send("BDAT " + std::to_string(body.size() - at) + " LAST\r\n" + body.substr(at));
    EXPECT_NE(out.find("250 2.0.0 Ok: queued as"), std::string::npos) << out;
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_TRUE(t.commits[0].spilled);
    EXPECT_EQ(body_of(t.commits[0]), body);
}

TEST(SmtpStreaming, BareCrAtAChunkEndIsStillFound) {
    Transcript t;
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n");
    EXPECT_EQ(t.send("BDAT 4\r\nabc\r"), "250 2.0.0 4 octets received\r\n");  // a CR last...
    EXPECT_EQ(t.send("BDAT 3 LAST\r\nx\r\n"), "550 5.6.0 Message contains bare CR or LF characters (RFC 5321 section 2.3.8)\r\n");
    EXPECT_TRUE(t.commits.empty());
}

TEST(SmtpStreaming, SubmissionHoldsOnlyTheHeaderAndAddsFieldsInFront) {
    SpillDir dir;
    auto cfg = spilling(dir.path, ListenerKind::Submission);
    cfg.tls_active = true;
    cfg.tls_available = true;
    cfg.scram_secret = "s";
    Transcript t(cfg);
    t.send("EHLO c\r\n");
    t.session().receive("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n");
    for (;;) {
        auto a = t.session().advance();
        if (a.next == Session::Next::VerifyPassword) {
            t.session().take_password_check();
            t.session().password_checked(true);
            continue;
        }
        break;
    }
    t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    const std::string rest = big_body(200000).substr(std::string("Subject: big\r\n\r\n").size());
    const std::string head = "From: alice@example.org\r\nSubject: big\r\n\r\n";
    std::string wire = head + rest + ".\r\n";
    std::string out;
    for (std::size_t at = 0; at < wire.size(); at += 3) out += t.send(wire.substr(at, 3));  // header split too
    ASSERT_NE(out.find("250 2.0.0 Ok"), std::string::npos) << out;
    ASSERT_EQ(t.commits.size(), 1u);
    const std::string m = body_of(t.commits[0]);
    EXPECT_TRUE(m.starts_with("Date: ")) << m.substr(0, 200);
    EXPECT_NE(m.find("\r\nMessage-ID: <"), std::string::npos);
    EXPECT_TRUE(m.ends_with(head + rest)) << "the content itself is unchanged";
    EXPECT_TRUE(t.commits[0].spilled);

    // A forged From: is found in the held header, whatever follows it, and nothing is kept.
    t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    out = t.send("From: Bob <bob@example.org>\r\n\r\n" + rest + ".\r\n");
    EXPECT_EQ(out, "553 5.7.1 From: <bob@example.org> is not owned by user alice@example.org\r\n");
    EXPECT_EQ(t.commits.size(), 1u);
}

TEST(SmtpStreaming, ABodyThatCannotBeWrittenIsRefusedNotAcknowledged) {
    SpillDir dir;
    Transcript t(spilling(dir.path / "gone"));  // the spill directory does not exist
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    std::string out = t.send(big_body(20000) + ".\r\n");
    EXPECT_EQ(out, "451 4.3.0 Error: queue file write error, try again later\r\n");
    EXPECT_TRUE(t.commits.empty());
    // The session goes on: a small message still fits in memory.
    out = t.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n.\r\n");
    EXPECT_NE(out.find("250 2.0.0 Ok: queued as"), std::string::npos) << out;
}

// RFC 1870 §6.1: with no room in the queue, MAIL is refused before the data is sent; the
// announced SIZE is what is asked for, and the session goes on once there is room again.
TEST(SmtpStreaming, NoRoomInTheQueueIs452AtMail) {
    Transcript t;
    t.send(kEhlo);
    t.host().room = 0;
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example> SIZE=5000\r\n"), "452 4.3.1 Insufficient system storage, try again later\r\n");
    EXPECT_EQ(t.host().last_size_asked, 5000u);
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
    t.host().room = UINT64_MAX;
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example>\r\n"), "250 2.1.0 Ok\r\n");
}

}  // namespace
}  // namespace tern::smtp::testing
