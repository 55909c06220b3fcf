// The DSN generator (delivery/dsn.hpp): bounces, delay warnings and success notices checked field
// by field (RFC 3461, 3464, 6522, 6533), the NOTIFY decision, hostile replies and originals, and
// the same messages read by Python's email package (dsn_check.py) as an independent parser.
#include "delivery/dsn.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mime/header.hpp"

using namespace tern;
using namespace tern::delivery;
using Action = DsnRecipient::Action;

namespace {

const std::string kOriginal =
    "Received: from client.example.com ([192.0.2.1])\r\n\tby mx.example.org (Tern) with ESMTP id 1.1; "
    "Mon, 07 Dec 2026 05:00:00 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "See you at noon.\r\n"
    ".dot line kept as queued\r\n";

DsnInput base_input() {
    DsnInput in;
    in.reporting_mta = "mx.example.org";
    in.original_sender = "alice@example.com";
    in.queue_id_text = "0005f1a2b3c4d5e6";
    in.arrival = 1796620000;
    in.now = 1796635287;
    in.unique = 0x1234;
    in.original = base::bytes_from_string(kOriginal);
    DsnRecipient r;
    r.address = "bob@example.net";
    r.action = Action::Failed;
    r.reply = "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown";
    r.remote_mta = "mx.example.net [192.0.2.7]";
    r.last_attempt = 1796635280;
    in.recipients.push_back(r);
    return in;
}

struct Part {
    std::string headers, body;
};
struct Parsed {
    std::string head;  // top-level header section
    std::vector<Part> parts;
    std::string boundary;
};

// A small independent split of the generated message: header section, boundary from the
// Content-Type, parts between the delimiter lines.
Parsed split(const std::string& m) {
    Parsed p;
    auto end = m.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos);
    p.head = m.substr(0, end + 2);
    auto b = p.head.find("boundary=\"");
    EXPECT_NE(b, std::string::npos);
    b += 10;
    p.boundary = p.head.substr(b, p.head.find('"', b) - b);
    std::string delim = "\r\n--" + p.boundary;
    std::size_t pos = m.find(delim, end);
    while (pos != std::string::npos) {
        std::size_t start = pos + delim.size();
        if (m.compare(start, 2, "--") == 0) break;
        start += 2;  // CRLF after the delimiter
        std::size_t next = m.find(delim, start);
        std::string part = m.substr(start, next - start);
        auto hb = part.find("\r\n\r\n");
        if (part.starts_with("\r\n")) p.parts.push_back({"", part.substr(2)});
        else p.parts.push_back({part.substr(0, hb + 2), part.substr(hb + 4)});
        pos = next;
    }
    return p;
}

// Unfolded value of the first field `name` in a CRLF header block, or "<absent>".
std::string field(const std::string& block, std::string_view name) {
    auto h = mime::parse_header_section(block);
    if (!h) return "<error>";
    const auto* f = h->find(name);
    if (!f) return "<absent>";
    std::string v = f->value();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    return v;
}

// The RFC 3464 blocks of a delivery-status body (separated by empty lines).
std::vector<std::string> blocks(const std::string& ds) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < ds.size()) {
        auto e = ds.find("\r\n\r\n", i);
        if (e == std::string::npos) {
            out.push_back(ds.substr(i));
            break;
        }
        out.push_back(ds.substr(i, e + 2 - i));
        i = e + 4;
    }
    return out;
}

void expect_wire_clean(const std::string& m) {
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\r') {
            ASSERT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
        } else if (m[i] == '\n') {
            ASSERT_TRUE(i > 0 && m[i - 1] == '\r') << "bare LF at " << i;
        }
    }
    std::size_t line = 0;
    for (char c : m) {
        if (c == '\r') continue;
        if (c == '\n') line = 0;
        else ASSERT_LE(++line, 998u);
    }
    ASSERT_TRUE(m.ends_with("\r\n"));
}

// Part 1's text with its line wrapping undone.
std::string unwrapped(std::string t) {
    for (std::size_t i; (i = t.find("\r\n    ")) != std::string::npos;) t.replace(i, 6, " ");
    return t;
}

Dsn build(const DsnInput& in) {
    auto d = build_dsn(in);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    if (d) expect_wire_clean(d->message);
    return d ? *d : Dsn{};
}

class FailingSource final : public base::ByteSource {
public:
    std::uint64_t size() const override { return 100; }
    Result<std::size_t> read(std::uint64_t, std::span<char>) const override { return fail("checksum mismatch", 5); }
};

}  // namespace

TEST(Dsn, BounceHeadersAndStructure) {
    auto d = build(base_input());
    auto p = split(d.message);
    EXPECT_EQ(field(p.head, "From"), "Mail Delivery System <MAILER-DAEMON@mx.example.org>");
    EXPECT_EQ(field(p.head, "To"), "<alice@example.com>");
    EXPECT_EQ(field(p.head, "Subject"), "Undelivered Mail Returned to Sender");
    EXPECT_EQ(field(p.head, "Date"), "Mon, 07 Dec 2026 09:21:27 +0000");
    EXPECT_TRUE(field(p.head, "Message-ID").ends_with("@mx.example.org>"));
    EXPECT_EQ(field(p.head, "Auto-Submitted"), "auto-replied");
    EXPECT_EQ(field(p.head, "MIME-Version"), "1.0");
    EXPECT_TRUE(field(p.head, "Content-Type").starts_with("multipart/report; report-type=delivery-status;"));
    EXPECT_EQ(field(p.head, "Content-Transfer-Encoding"), "<absent>");
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(field(p.parts[0].headers, "Content-Type"), "text/plain; charset=us-ascii");
    EXPECT_EQ(field(p.parts[1].headers, "Content-Type"), "message/delivery-status");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "message/rfc822");
    EXPECT_FALSE(d.eight_bit);
    EXPECT_FALSE(d.smtputf8);
    EXPECT_TRUE(d.content_returned);
    // RET unspecified on a failure: the whole message, octet for octet (RFC 3461 §4.3).
    EXPECT_EQ(p.parts[2].body, kOriginal);
    EXPECT_EQ(kOriginal.find(p.boundary), std::string::npos);
}

TEST(Dsn, BounceDeliveryStatusFields) {
    auto in = base_input();
    in.envid = "QQ314159";
    in.recipients[0].orcpt = "rfc822;Bob@Example.NET";
    auto p = split(build(in).message);
    auto b = blocks(p.parts[1].body);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(field(b[0], "Original-Envelope-Id"), "QQ314159");
    EXPECT_EQ(field(b[0], "Reporting-MTA"), "dns; mx.example.org");
    EXPECT_EQ(field(b[0], "Arrival-Date"), "Mon, 07 Dec 2026 05:06:40 +0000");
    EXPECT_EQ(field(b[0], "X-Tern-Queue-ID"), "0005f1a2b3c4d5e6");
    EXPECT_EQ(field(b[1], "Original-Recipient"), "rfc822;Bob@Example.NET");
    EXPECT_EQ(field(b[1], "Final-Recipient"), "rfc822; bob@example.net");
    EXPECT_EQ(field(b[1], "Action"), "failed");
    EXPECT_EQ(field(b[1], "Status"), "5.1.1");
    EXPECT_EQ(field(b[1], "Remote-MTA"), "dns; mx.example.net");
    EXPECT_EQ(field(b[1], "Diagnostic-Code"),
              "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown");
    EXPECT_EQ(field(b[1], "Last-Attempt-Date"), "Mon, 07 Dec 2026 09:21:20 +0000");
    EXPECT_EQ(field(b[1], "Will-Retry-Until"), "<absent>");
    // Part 1 says it in words, with the server's reply.
    EXPECT_NE(p.parts[0].body.find("This is the mail system at host mx.example.org."), std::string::npos);
    EXPECT_NE(p.parts[0].body.find("could not be delivered"), std::string::npos);
    EXPECT_NE(p.parts[0].body.find("<bob@example.net>: host mx.example.net [192.0.2.7] said: 550 5.1.1"),
              std::string::npos);
}

TEST(Dsn, WithoutEnvidOrcptOrAttemptThoseFieldsAreAbsent) {
    auto in = base_input();
    in.recipients[0].last_attempt = 0;
    in.arrival = 0;
    auto b = blocks(split(build(in).message).parts[1].body);
    EXPECT_EQ(field(b[0], "Original-Envelope-Id"), "<absent>");
    EXPECT_EQ(field(b[0], "Arrival-Date"), "<absent>");
    EXPECT_EQ(field(b[1], "Original-Recipient"), "<absent>");
    EXPECT_EQ(field(b[1], "Last-Attempt-Date"), "<absent>");
}

TEST(Dsn, OurOwnWordsAreNotSmtpDiagnostics) {
    auto in = base_input();
    in.recipients[0].remote_mta = "";
    in.recipients[0].reply = "550 5.1.2 Host or domain name not found (example.invalid)";
    auto p = split(build(in).message);
    auto b = blocks(p.parts[1].body);
    EXPECT_EQ(field(b[1], "Remote-MTA"), "<absent>");
    EXPECT_EQ(field(b[1], "Diagnostic-Code"), "X-Tern; 550 5.1.2 Host or domain name not found (example.invalid)");
    EXPECT_EQ(field(b[1], "Status"), "5.1.2");
    EXPECT_EQ(p.parts[0].body.find("said:"), std::string::npos);
}

TEST(Dsn, RetHdrsReturnsTheHeaderSectionOnly) {
    auto in = base_input();
    in.ret = smtp::DsnRet::Hdrs;
    auto d = build(in);
    auto p = split(d.message);
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_EQ(p.parts[2].body, kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 2));
    EXPECT_FALSE(d.content_returned);
}

TEST(Dsn, RetFullOverTheLimitReturnsHeadersAndSaysSo) {
    auto in = base_input();
    in.ret = smtp::DsnRet::Full;
    in.return_limit = 64;
    auto d = build(in);
    auto p = split(d.message);
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_EQ(p.parts[2].body.find("See you at noon"), std::string::npos);
    EXPECT_NE(p.parts[0].body.find("more than the 64 returned in full"), std::string::npos) << p.parts[0].body;
    EXPECT_FALSE(d.content_returned);
    in.return_limit = kOriginal.size();  // exactly at the limit: returned whole
    EXPECT_TRUE(build(in).content_returned);
}

TEST(Dsn, DelayWarningReturnsHeadersAndTheRetryTime) {
    auto in = base_input();
    in.ret = smtp::DsnRet::Full;  // RET applies to failures only (RFC 3461 §4.3)
    in.recipients[0].action = Action::Delayed;
    in.recipients[0].reply = "451 4.4.1 connection refused";
    in.recipients[0].retry_until = 1797052000;
    auto p = split(build(in).message);
    EXPECT_EQ(field(p.head, "Subject"), "Delayed Mail (still being retried)");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    auto b = blocks(p.parts[1].body);
    EXPECT_EQ(field(b[1], "Action"), "delayed");
    EXPECT_EQ(field(b[1], "Status"), "4.4.1");
    EXPECT_EQ(field(b[1], "Will-Retry-Until"), "Sat, 12 Dec 2026 05:06:40 +0000");
    EXPECT_NE(p.parts[0].body.find("THIS IS A WARNING ONLY"), std::string::npos);
    EXPECT_NE(p.parts[0].body.find("could not be delivered for 4 hours"), std::string::npos) << p.parts[0].body;
    EXPECT_NE(p.parts[0].body.find("retried until Sat, 12 Dec 2026"), std::string::npos);
    in.arrival = 0;  // unknown arrival: no made-up duration
    auto q = split(build(in).message);
    EXPECT_NE(unwrapped(q.parts[0].body).find("could not be delivered yet to one recipient"), std::string::npos)
        << q.parts[0].body;
}

TEST(Dsn, SuccessAndRelayedNotices) {
    auto in = base_input();
    in.recipients[0].action = Action::Delivered;
    in.recipients[0].reply = "250 2.0.0 Ok: queued as ABC";
    DsnRecipient relayed;
    relayed.address = "carol@old.example";
    relayed.action = Action::Relayed;
    relayed.reply = "250 ok";
    relayed.remote_mta = "mx.old.example [192.0.2.9]";
    in.recipients.push_back(relayed);
    auto p = split(build(in).message);
    EXPECT_EQ(field(p.head, "Subject"), "Successful Mail Delivery Report");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    auto b = blocks(p.parts[1].body);
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(field(b[1], "Action"), "delivered");
    EXPECT_EQ(field(b[1], "Status"), "2.0.0");
    EXPECT_EQ(field(b[2], "Action"), "relayed");
    EXPECT_EQ(field(b[2], "Status"), "2.0.0");
    EXPECT_NE(unwrapped(p.parts[0].body).find("<carol@old.example>: delivered to a system that does not report delivery status"),
              std::string::npos) << p.parts[0].body;
}

TEST(Dsn, MixedActionsTakeTheGravestSubject) {
    auto in = base_input();
    DsnRecipient late;
    late.address = "dave@slow.example";
    late.action = Action::Delayed;
    late.reply = "421 4.7.0 try later";
    in.recipients.insert(in.recipients.begin(), late);
    auto p = split(build(in).message);
    EXPECT_EQ(field(p.head, "Subject"), "Undelivered Mail Returned to Sender");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "message/rfc822");
    EXPECT_EQ(blocks(p.parts[1].body).size(), 3u);
}

TEST(Dsn, StatusFromTheReply) {
    auto st = [](std::string reply, Action a = Action::Failed) {
        DsnRecipient r;
        r.reply = std::move(reply);
        r.action = a;
        return dsn_status(r);
    };
    EXPECT_EQ(st("550 5.7.1 refused"), "5.7.1");
    EXPECT_EQ(st("550-5.2.2 mailbox full"), "5.2.2");        // first line of a multi-line reply
    EXPECT_EQ(st("552 5.3.4"), "5.3.4");
    EXPECT_EQ(st("554 5.123.456 x"), "5.123.456");
    EXPECT_EQ(st("550 no such user"), "5.0.0");               // RFC 3463: basic code's class
    EXPECT_EQ(st("451 try again", Action::Delayed), "4.0.0");
    EXPECT_EQ(st("550 5.1234.1 odd"), "5.0.0");               // not an enhanced code
    EXPECT_EQ(st("550 5.1.1x"), "5.0.0");
    EXPECT_EQ(st("", Action::Failed), "5.0.0");
    EXPECT_EQ(st("connection timed out", Action::Delayed), "4.0.0");
    EXPECT_EQ(st("", Action::Delivered), "2.0.0");
}

TEST(Dsn, HostileReplyCannotForgeFieldsOrLongLines) {
    auto in = base_input();
    in.recipients[0].reply = "550 5.1.1 no\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; x@y\x01" + std::string(5000, 'A');
    auto d = build(in);
    auto p = split(d.message);
    auto b = blocks(p.parts[1].body);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(field(b[1], "Action"), "failed");
    auto h = mime::parse_header_section(b[1]);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->count("Action"), 1u);
    EXPECT_EQ(h->count("Final-Recipient"), 1u);
    EXPECT_NE(field(b[1], "Diagnostic-Code").find("Action: delivered"), std::string::npos);
}

TEST(Dsn, EightBitOriginalIsDeclared) {
    auto in = base_input();
    std::string orig = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n";
    in.original = base::bytes_from_string(orig);
    auto d = build(in);
    auto p = split(d.message);
    EXPECT_TRUE(d.eight_bit);
    EXPECT_FALSE(d.smtputf8);
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "message/rfc822");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(field(p.head, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(p.parts[2].body, orig);
}

TEST(Dsn, SmtpUtf8UsesTheGlobalTypes) {
    auto in = base_input();
    in.original_sender = "j\xc3\xb6rg@b\xc3\xbc" "cher.example";
    in.recipients[0].address = "\xe7\x94\xa8\xe6\x88\xb7@example.net";
    in.recipients[0].reply = "550 5.1.1 \xe7\x94\xa8\xe6\x88\xb7 unknown \xff";
    auto d = build(in);
    auto p = split(d.message);
    EXPECT_TRUE(d.smtputf8);
    EXPECT_TRUE(d.eight_bit);
    EXPECT_TRUE(field(p.head, "Content-Type").starts_with("multipart/report; report-type=global-delivery-status;"));
    EXPECT_EQ(field(p.parts[0].headers, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(field(p.parts[1].headers, "Content-Type"), "message/global-delivery-status");
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "message/global");
    auto b = blocks(p.parts[1].body);
    EXPECT_EQ(field(b[1], "Final-Recipient"), "utf-8; \xe7\x94\xa8\xe6\x88\xb7@example.net");  // RFC 6533 §3
    EXPECT_EQ(field(b[1], "Diagnostic-Code"), "smtp; 550 5.1.1 \xe7\x94\xa8\xe6\x88\xb7 unknown ?");
}

TEST(Dsn, AsciiDsnKeepsServerTextAscii) {
    auto in = base_input();
    in.recipients[0].reply = "550 5.1.1 b\xc3\xa4""d user";
    auto d = build(in);
    EXPECT_FALSE(d.eight_bit);
    auto b = blocks(split(d.message).parts[1].body);
    EXPECT_EQ(field(b[1], "Diagnostic-Code"), "smtp; 550 5.1.1 b??d user");
}

TEST(Dsn, UnsafeOrcptAndEnvidAreXtextEncoded) {
    auto in = base_input();
    in.envid = "id with\r\nspace";
    in.recipients[0].orcpt = "rfc822;a\r\nb@x";
    auto b = blocks(split(build(in).message).parts[1].body);
    EXPECT_EQ(field(b[0], "Original-Envelope-Id"), "id+20with+0D+0Aspace");
    EXPECT_EQ(field(b[1], "Original-Recipient"), "rfc822;a+0D+0Ab@x");
}

TEST(Dsn, OriginalThatCannotTravelUnchangedComesBackAsHeaders) {
    auto in = base_input();
    in.original = base::bytes_from_string("Subject: x\nX-Long: " + std::string(2000, 'y') + "\r\n\r\nbody\nbare LF\r\n");
    auto d = build(in);
    auto p = split(d.message);
    EXPECT_FALSE(d.content_returned);
    EXPECT_EQ(field(p.parts[2].headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_NE(p.parts[0].body.find("cannot be returned unchanged"), std::string::npos);
    EXPECT_TRUE(p.parts[2].body.starts_with("Subject: x\r\nX-Long: yyy"));
    EXPECT_EQ(p.parts[2].body.find("body"), std::string::npos);
}

TEST(Dsn, NoOriginalMeansTwoParts) {
    auto in = base_input();
    in.original = nullptr;
    auto p = split(build(in).message);
    EXPECT_EQ(p.parts.size(), 2u);
}

TEST(Dsn, BoundaryNeverOccursInTheReturnedMessage) {
    auto in = base_input();
    // Put the boundary the generator would choose into the original: it must pick another.
    auto first = split(build(in).message).boundary;
    std::string orig = kOriginal + "--" + first + "\r\n";
    in.original = base::bytes_from_string(orig);
    auto p = split(build(in).message);
    EXPECT_NE(p.boundary, first);
    EXPECT_EQ(orig.find(p.boundary), std::string::npos);
    EXPECT_EQ(p.parts[2].body, orig);
}

TEST(Dsn, RefusedInputs) {
    auto in = base_input();
    in.original_sender = "";
    EXPECT_FALSE(build_dsn(in).has_value());  // never bounce a bounce (RFC 3461 §6.1)
    in = base_input();
    in.recipients.clear();
    EXPECT_FALSE(build_dsn(in).has_value());
    in = base_input();
    in.recipients[0].address = "a\r\nb@x";
    EXPECT_FALSE(build_dsn(in).has_value());
    in = base_input();
    in.reporting_mta = "host name\r\nX: y";
    EXPECT_FALSE(build_dsn(in).has_value());
    in = base_input();
    in.original = std::make_shared<FailingSource>();
    auto r = build_dsn(in);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, 5);
}

TEST(Dsn, ShouldNotifyFollowsRfc3461) {
    smtp::DsnNotify none;  // no NOTIFY: failures and delays
    EXPECT_TRUE(should_notify(none, Action::Failed));
    EXPECT_TRUE(should_notify(none, Action::Delayed));
    EXPECT_FALSE(should_notify(none, Action::Delivered));
    EXPECT_FALSE(should_notify(none, Action::Relayed));
    smtp::DsnNotify never{true, true, false, false, false};
    for (auto a : {Action::Failed, Action::Delayed, Action::Delivered, Action::Relayed, Action::Expanded})
        EXPECT_FALSE(should_notify(never, a));
    smtp::DsnNotify success{true, false, true, false, false};
    EXPECT_TRUE(should_notify(success, Action::Delivered));
    EXPECT_TRUE(should_notify(success, Action::Relayed));
    EXPECT_TRUE(should_notify(success, Action::Expanded));
    EXPECT_FALSE(should_notify(success, Action::Failed));
    EXPECT_FALSE(should_notify(success, Action::Delayed));
    smtp::DsnNotify failure{true, false, false, true, false};
    EXPECT_TRUE(should_notify(failure, Action::Failed));
    EXPECT_FALSE(should_notify(failure, Action::Delayed));
    smtp::DsnNotify delay{true, false, false, false, true};
    EXPECT_TRUE(should_notify(delay, Action::Delayed));
    EXPECT_FALSE(should_notify(delay, Action::Failed));
}

// Python's email package reads what we wrote: multipart/report, three parts of the right types,
// the delivery-status fields per recipient (dsn_check.py).
class DsnPython : public ::testing::Test {
protected:
    void SetUp() override {
        // python3 is a test dependency (scripts/deps.sh test): without it this is a failure, not a skip.
        ASSERT_EQ(std::system("python3 -c 'import email.policy' >/dev/null 2>&1"), 0)
            << "python3 with the email package missing: run scripts/deps.sh test";
        dir_ = std::filesystem::temp_directory_path() / ("tern-dsn-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, const std::string& message, const std::string& json) {
        auto path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << message;
        if (!json.empty()) std::ofstream(path + ".json") << json;
        return path;
    }
    int check(const std::vector<std::string>& files) {
        std::string cmd = "python3 " TERN_SOURCE_DIR "/tests/unit/delivery/dsn_check.py";
        for (const auto& f : files) cmd += " '" + f + "'";
        return std::system(cmd.c_str());
    }
    std::filesystem::path dir_;
};

TEST_F(DsnPython, GeneratedDsnsParse) {
    std::vector<std::string> files;
    {
        auto in = base_input();
        in.envid = "QQ314159";
        in.recipients[0].orcpt = "rfc822;bob@example.net";
        in.recipients[0].reply = "550 5.1.1 " + std::string(3000, 'z') + " end";  // folded diagnostic
        DsnRecipient second = in.recipients[0];
        second.address = "eve@example.net";
        second.reply = "554 transaction failed";
        second.remote_mta = "";
        second.orcpt = "";
        in.recipients.push_back(second);
        files.push_back(write("bounce.eml", build(in).message, R"J({
            "to": "alice@example.com", "subject": "Undelivered Mail Returned to Sender",
            "part3": "message/rfc822", "returned_subject": "lunch",
            "message_fields": {"Original-Envelope-Id": "QQ314159", "Reporting-MTA": "dns; mx.example.org"},
            "recipients": [
              {"Final-Recipient": "rfc822; bob@example.net", "Original-Recipient": "rfc822;bob@example.net",
               "Action": "failed", "Status": "5.1.1", "Remote-MTA": "dns; mx.example.net"},
              {"Final-Recipient": "rfc822; eve@example.net", "Original-Recipient": null, "Action": "failed",
               "Status": "5.0.0", "Remote-MTA": null, "Diagnostic-Code": "X-Tern; 554 transaction failed"}]})J"));
    }
    {
        auto in = base_input();
        in.recipients[0].action = Action::Delayed;
        in.recipients[0].reply = "451 4.4.1 connection refused";
        in.recipients[0].retry_until = 1797052000;
        files.push_back(write("delay.eml", build(in).message, R"J({
            "subject": "Delayed Mail (still being retried)", "part3": "text/rfc822-headers", "returned_subject": "lunch",
            "recipients": [{"Action": "delayed", "Status": "4.4.1",
                            "Will-Retry-Until": "Sat, 12 Dec 2026 05:06:40 +0000"}]})J"));
    }
    {
        auto in = base_input();
        in.ret = smtp::DsnRet::Hdrs;
        in.recipients[0].action = Action::Delivered;
        in.recipients[0].reply = "250 2.1.5 ok";
        files.push_back(write("success.eml", build(in).message, R"J({
            "subject": "Successful Mail Delivery Report", "part3": "text/rfc822-headers",
            "recipients": [{"Action": "delivered", "Status": "2.1.5"}]})J"));
    }
    {
        auto in = base_input();
        in.original_sender = "j\xc3\xb6rg@example.com";
        in.smtputf8 = true;
        in.original = base::bytes_from_string("Subject: gr\xc3\xbc\xc3\x9f""e\r\n\r\nhallo\r\n");
        files.push_back(write("global.eml", build(in).message, R"J({
            "report_type": "global-delivery-status", "part3": "message/global",
            "recipients": [{"Action": "failed", "Status": "5.1.1"}]})J"));
    }
    {
        auto in = base_input();
        in.original = nullptr;
        files.push_back(write("two-parts.eml", build(in).message, R"J({"part3": null})J"));
    }
    EXPECT_EQ(check(files), 0);
}

TEST_F(DsnPython, CheckerRejectsWhatIsNotADsn) {
    // The checker must be able to fail: a plain message, a wrong expectation, a bare LF.
    auto plain = write("plain.eml", "From: a@b\r\nSubject: x\r\n\r\nhi\r\n", "");
    EXPECT_NE(check({plain}), 0);
    auto wrong = write("wrong.eml", build(base_input()).message, R"J({"recipients": [{"Action": "delivered"}]})J");
    EXPECT_NE(check({wrong}), 0);
    std::string m = build(base_input()).message;
    m.replace(m.find("\r\nSubject:"), 2, "\n");
    auto bare = write("bare.eml", m, "");
    EXPECT_NE(check({bare}), 0);
}
