// The maildrop file format (sendmail command -> pickup) and the pickup's preparation of a local
// submission: round trips, refusals of malformed or unbounded envelopes, the "." rule, CRLF,
// Received:/Date:/Message-ID:/From: additions, -t recipients and Bcc: removal.
#include "queue/maildrop.hpp"

#include <gtest/gtest.h>

namespace tern::queue::maildrop {
namespace {

DropEnvelope sample() {
    DropEnvelope e;
    e.uid = 1000;
    e.user = "alice";
    e.sender = "alice@example.org";
    e.full_name = "Alice Example";
    e.extract = true;
    e.eight_bit = true;
    e.notify = "success,failure";
    e.ret = "hdrs";
    e.envid = "env-1";
    e.recipients = {"bob@example.org", "root"};
    return e;
}

TEST(MaildropFormat, RoundTrip) {
    for (const auto& e : {sample(), DropEnvelope{}}) {
        auto text = format(e);
        ASSERT_TRUE(text) << text.error().message;
        auto parsed = parse(*text + "Subject: x\n\nbody\n");
        ASSERT_TRUE(parsed) << parsed.error().message;
        EXPECT_EQ(parsed->envelope, e);
        EXPECT_EQ(parsed->message_offset, text->size());
    }
    DropEnvelope null_sender;
    null_sender.sender = "";
    auto text = format(null_sender);
    ASSERT_TRUE(text);
    EXPECT_EQ(parse(*text)->envelope.sender, std::optional<std::string>(""));
}

TEST(MaildropFormat, RefusesLineEndsInValues) {
    auto e = sample();
    e.full_name = "Mallory\nBcc: victim@example.org";
    EXPECT_FALSE(format(e));
    e = sample();
    e.recipients.push_back("x@example.org\r");
    EXPECT_FALSE(format(e));
    e = sample();
    e.notify = "sometimes";
    EXPECT_FALSE(format(e));
}

TEST(MaildropFormat, RefusesBadFiles) {
    const std::string head = std::string(kMagic) + "\nuid 5\nuser u\n";
    EXPECT_TRUE(parse(head + "\n"));
    EXPECT_FALSE(parse(""));
    EXPECT_FALSE(parse("TERN-MAILDROP 2\nuid 5\nuser u\n\n"));
    EXPECT_FALSE(parse(head));                                   // no empty line: no end
    EXPECT_FALSE(parse(std::string(kMagic) + "\nuser u\n\n"));   // no uid
    EXPECT_FALSE(parse(head + "uid 6\n\n"));                     // twice
    EXPECT_FALSE(parse(std::string(kMagic) + "\nuid -1\nuser u\n\n"));
    EXPECT_FALSE(parse(std::string(kMagic) + "\nuid 99999999999\nuser u\n\n"));
    EXPECT_FALSE(parse(head + "colour blue\n\n"));               // unknown line
    EXPECT_FALSE(parse(head + "rcpt \n\n"));
    EXPECT_FALSE(parse(head + "rcpt a\rb\n\n"));
    EXPECT_FALSE(parse(head + "extract yes\n\n"));
    EXPECT_FALSE(parse(head + "ret most\n\n"));
    EXPECT_FALSE(parse(head + "rcpt " + std::string(kMaxEnvelopeLine, 'a') + "\n\n"));
    EXPECT_FALSE(parse(head + std::string(kMaxEnvelopeLine + 10, 'a')));  // a long line, unterminated
    std::string many = head;
    for (std::size_t i = 0; i <= kMaxRecipients; ++i) many += "rcpt r" + std::to_string(i) + "@x\n";
    EXPECT_FALSE(parse(many + "\n"));
}

std::string read_all(bool dot_ends, std::vector<std::string_view> chunks, bool* ended = nullptr) {
    InputReader r(dot_ends);
    std::string out;
    for (auto c : chunks)
        if (!r.feed(c, out)) break;
    r.finish(out);
    if (ended) *ended = r.ended();
    return out;
}

TEST(MaildropInput, LoneDotEndsUnlessI) {
    bool ended = false;
    EXPECT_EQ(read_all(true, {"a\n.\nafter\n"}, &ended), "a\n");
    EXPECT_TRUE(ended);
    EXPECT_EQ(read_all(true, {"a\r\n", ".", "\r", "\n", "after"}), "a\r\n");
    EXPECT_EQ(read_all(true, {".\n"}), "");
    EXPECT_EQ(read_all(true, {"a\n..x\n.b\n. \n"}), "a\n..x\n.b\n. \n");  // no unstuffing: not SMTP
    EXPECT_EQ(read_all(true, {"a\n", ".", "b\n"}), "a\n.b\n");
    EXPECT_EQ(read_all(true, {"a\n."}), "a\n");                             // at the end of input
    EXPECT_EQ(read_all(true, {"x.\n"}), "x.\n");
    EXPECT_EQ(read_all(true, {"a\n.\rb\n"}), "a\n.\rb\n");
    EXPECT_EQ(read_all(false, {"a\n.\nafter\n"}, &ended), "a\n.\nafter\n");
    EXPECT_FALSE(ended);
}

TEST(MaildropCrlf, EveryLineEndBecomesCrlf) {
    CrlfWriter w;
    std::string out;
    for (std::string_view c : {"a\nb\r", "\nc\r", "d\r\n\n", "\xc3\xa9\r"}) w.feed(c, out);
    w.finish(out);
    EXPECT_EQ(out, "a\r\nb\r\nc\r\nd\r\n\r\n\xc3\xa9\r\n");
    EXPECT_TRUE(w.eight_bit());
    CrlfWriter plain;
    std::string o2;
    plain.feed("x\n", o2);
    EXPECT_FALSE(plain.eight_bit());
}

Origin origin() { return Origin{"alice", 1000, "mx.example.org", "0123456789abcdef0123456789abcdef", 1800000000}; }

TEST(MaildropPrepare, AddsTraceAndMissingFields) {
    DropEnvelope e;
    e.uid = 1000;
    e.user = "alice";
    e.full_name = "Alice Example";
    e.recipients = {"bob@example.org", "root", "<bob@example.org>"};
    std::string msg = "Subject: cron\nX-A: 1\n folded\n\nbody\n";
    auto p = prepare(e, msg, origin(), true);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->envelope.mail_from, "alice@mx.example.org");
    ASSERT_EQ(p->envelope.recipients.size(), 2u);
    EXPECT_EQ(p->envelope.recipients[0].address, "bob@example.org");
    EXPECT_EQ(p->envelope.recipients[1].address, "root@mx.example.org");
    EXPECT_EQ(p->envelope.received_at, 1800000000);
    EXPECT_TRUE(p->head.starts_with("Received: from local user alice (uid 1000)\r\n\tby mx.example.org (Tern) with local id "
                                    "0123456789abcdef0123456789abcdef;\r\n\t"));
    EXPECT_NE(p->head.find("\r\nSubject: cron\r\nX-A: 1\r\n folded\r\n"), std::string::npos);
    EXPECT_NE(p->head.find("\r\nDate: "), std::string::npos);
    EXPECT_NE(p->head.find("\r\nMessage-ID: <0123456789abcdef0123456789abcdef@mx.example.org>\r\n"), std::string::npos);
    EXPECT_NE(p->head.find("\r\nFrom: Alice Example <alice@mx.example.org>\r\n"), std::string::npos);
    EXPECT_TRUE(p->head.ends_with("\r\n\r\n"));
    EXPECT_EQ(msg.substr(p->body_offset), "body\n");
}

TEST(MaildropPrepare, KeepsPresentFieldsAndTheGivenSender) {
    DropEnvelope e;
    e.sender = "";  // -f '<>'
    e.recipients = {"bob@example.org"};
    std::string msg = "From: Someone <s@example.org>\r\nDate: Mon, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nb";
    auto p = prepare(e, msg, origin(), true);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->envelope.mail_from, "");
    EXPECT_EQ(p->head.find("\r\nDate: ", 10), p->head.find("\r\nDate: Mon, 1 Jan 2026"));
    EXPECT_EQ(p->head.find("Message-ID: <0123"), std::string::npos);
    EXPECT_EQ(p->head.find("From: Alice"), std::string::npos);
    EXPECT_EQ(msg.substr(p->body_offset), "b");
}

TEST(MaildropPrepare, ExtractsRecipientsAndDropsBcc) {
    DropEnvelope e;
    e.user = "alice";
    e.extract = true;
    e.recipients = {"extra@example.org"};
    std::string msg =
        "To: Bob <bob@example.org>, carol@example.org\nCc: undisclosed-recipients:;\nBcc: secret@example.org,\n"
        " bob@example.org\nSubject: hi\n\nbody\n";
    auto p = prepare(e, msg, origin(), true);
    ASSERT_TRUE(p) << p.error().message;
    std::vector<std::string> got;
    for (auto& r : p->envelope.recipients) got.push_back(r.address);
    EXPECT_EQ(got, (std::vector<std::string>{"extra@example.org", "bob@example.org", "carol@example.org",
                                             "secret@example.org"}));
    EXPECT_EQ(p->head.find("secret"), std::string::npos) << p->head;
    EXPECT_EQ(p->head.find("Bcc"), std::string::npos);
    EXPECT_NE(p->head.find("\r\nTo: Bob <bob@example.org>, carol@example.org\r\n"), std::string::npos);

    // Resent-* fields, when present, name the recipients instead (RFC 5322 §3.6.6).
    std::string resent = "To: old@example.org\nResent-To: new@example.org\nResent-Bcc: hidden@example.org\n\nb\n";
    e.recipients.clear();
    p = prepare(e, resent, origin(), true);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->envelope.recipients.size(), 2u);
    EXPECT_EQ(p->envelope.recipients[0].address, "new@example.org");
    EXPECT_EQ(p->envelope.recipients[1].address, "hidden@example.org");
    EXPECT_EQ(p->head.find("hidden"), std::string::npos);

    // Without -t, To: is only text; and -t with no recipient anywhere is an error.
    e.extract = false;
    EXPECT_FALSE(prepare(e, "To: bob@example.org\n\nb\n", origin(), true));
    e.extract = true;
    auto none = prepare(e, "Subject: x\n\nb\n", origin(), true);
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no recipient"), std::string::npos);
    // Bare user names, as local tools write them, are users of this host.
    p = prepare(e, "To: root, alice\nCc: bob@example.org\n\nb\n", origin(), true);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->envelope.recipients.size(), 3u);
    EXPECT_EQ(p->envelope.recipients[0].address, "root@mx.example.org");
    EXPECT_EQ(p->envelope.recipients[1].address, "alice@mx.example.org");
    // An unparsable address field is skipped and noted.
    p = prepare(e, "To: bob@example.org\nCc: <<broken\n\nb\n", origin(), true);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->envelope.recipients.size(), 1u);
    EXPECT_EQ(p->notes.size(), 1u);
}

TEST(MaildropPrepare, TextWithoutHeaderIsBody) {
    DropEnvelope e;
    e.recipients = {"bob@example.org"};
    std::string msg = "From alice Mon Dec  7 05:00:00 2026\nhello world\nSubject: not a header\n";
    auto p = prepare(e, msg, origin(), true);
    ASSERT_TRUE(p);
    EXPECT_EQ(msg.substr(p->body_offset), "hello world\nSubject: not a header\n");
    EXPECT_EQ(p->head.find("not a header"), std::string::npos);
    EXPECT_TRUE(p->head.ends_with("\r\n\r\n"));
    // A header section that does not end within what was read is refused, not guessed.
    EXPECT_FALSE(prepare(e, "Subject: x\nX-Long: yyyy", origin(), false));
    EXPECT_TRUE(prepare(e, "Subject: x\nX-Long: yyyy", origin(), true));
}

TEST(MaildropPrepare, BadAddressesAndHeaderInjection) {
    DropEnvelope e;
    e.recipients = {"bob@@example.org"};
    EXPECT_FALSE(prepare(e, "\n", origin(), true));
    e.recipients = {"bob@example.org"};
    e.sender = "not an address@";
    EXPECT_FALSE(prepare(e, "\n", origin(), true));
    e.sender.reset();
    e.full_name = "Eve (evil) \"quoted\"";
    Origin o = origin();
    o.user = "eve\r\nX-Injected: 1";
    auto p = prepare(e, "\n", o, true);
    ASSERT_TRUE(p);  // the user name is a header comment: controls and parentheses dropped
    EXPECT_EQ(p->head.find("\r\nX-Injected"), std::string::npos);
    EXPECT_NE(p->head.find("From: \"Eve evil \\\"quoted\\\"\" <"), std::string::npos) << p->head;
    e.full_name = "Zoë";
    p = prepare(e, "\n", origin(), true);
    ASSERT_TRUE(p);
    EXPECT_NE(p->head.find("From: =?UTF-8?B?Wm/Dqw==?= <alice@mx.example.org>"), std::string::npos) << p->head;
}

TEST(MaildropQualify, Forms) {
    EXPECT_EQ(qualify("root", "h.example").value(), "root@h.example");
    EXPECT_EQ(qualify(" <Bob@Example.ORG> ", "h").value(), "Bob@example.org");
    EXPECT_FALSE(qualify("", "h"));
    EXPECT_FALSE(qualify("a b@c", "h"));
    EXPECT_FALSE(qualify("a@b\r\nc", "h"));
}

}  // namespace
}  // namespace tern::queue::maildrop
