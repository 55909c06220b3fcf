// Transcript tests of the SMTP session state machine (RFC 5321): every command, every state,
// the error codes, limits, pipelining and input split at every point.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace tern::smtp::testing {
namespace {

const char* kEhlo = "EHLO client.example.net\r\n";

TEST(SmtpSession, GreetingNamesHost) {
    Transcript t;
    EXPECT_EQ(t.greeting(), "220 mx.example.org ESMTP Tern\r\n");
}

TEST(SmtpSession, EhloAdvertisesExtensions) {
    Transcript t;
    std::string r = t.send(kEhlo);
    EXPECT_EQ(r,
              "250-mx.example.org Hello client.example.net [192.0.2.7]\r\n"
              "250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
              "250-SMTPUTF8\r\n250-CHUNKING\r\n250-DSN\r\n250 HELP\r\n");
}

TEST(SmtpSession, HeloHasNoExtensions) {
    Transcript t;
    EXPECT_EQ(t.send("HELO client\r\n"), "250 mx.example.org Hello client [192.0.2.7]\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example> SIZE=10\r\n"), "555 5.5.4 MAIL parameters need EHLO\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example>\r\n"), "250 2.1.0 Ok\r\n");
}

// RFC 5321 §4.1.4: an odd HELO/EHLO name ("my_host", a trailing dot) is no reason to refuse mail.
TEST(SmtpSession, UnusualHeloNamesDeliver) {
    for (const char* name : {"my_host", "host.example."}) {
        for (const char* verb : {"EHLO", "HELO"}) {
            Transcript t;
            std::string hello = std::string(verb) + " " + name + "\r\n";
            EXPECT_TRUE(t.send(hello).starts_with(std::string("250") + (verb[0] == 'E' ? "-" : " ") +
                                                  "mx.example.org Hello " + name + " "))
                << hello;
            t.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n");
            ASSERT_EQ(t.commits.size(), 1u) << hello;
            EXPECT_EQ(t.commits[0].envelope.helo, name);
            EXPECT_TRUE(t.commits[0].message.starts_with(std::string("Received: from ") + name + " ([192.0.2.7])"));
        }
    }
    Transcript t;
    EXPECT_EQ(t.send("EHLO my\x01host\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
    EXPECT_EQ(t.send("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
    EXPECT_EQ(t.send("HELO my host\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
}

TEST(SmtpSession, FullTransaction) {
    Transcript t;
    t.send(kEhlo);
    EXPECT_EQ(t.send("MAIL FROM:<sender@remote.example>\r\n"), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<Bob@Example.ORG>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(t.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(t.send("Subject: hi\r\n\r\n..hidden\r\nbody\r\n.\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    const auto& c = t.commits[0];
    EXPECT_EQ(c.envelope.mail_from, "sender@remote.example");
    ASSERT_EQ(c.envelope.recipients.size(), 2u);
    EXPECT_EQ(c.envelope.recipients[0].address, "alice@example.org");
    EXPECT_EQ(c.envelope.recipients[1].address, "Bob@example.org");
    EXPECT_EQ(c.envelope.helo, "client.example.net");
    EXPECT_EQ(c.envelope.client_ip, "192.0.2.7");
    EXPECT_EQ(body_of(c), "Subject: hi\r\n\r\n.hidden\r\nbody\r\n");
    EXPECT_TRUE(c.message.starts_with("Received: from client.example.net ([192.0.2.7])\r\n\tby mx.example.org (Tern) with ESMTP id T1.1;"))
        << c.message;
    EXPECT_EQ(c.message.find("\tfor <"), std::string::npos) << "two recipients: no 'for' clause";
    EXPECT_EQ(t.send("QUIT\r\n"), "221 2.0.0 mx.example.org closing connection\r\n");
    EXPECT_TRUE(t.closed);
}

TEST(SmtpSession, ReceivedNamesSingleRecipient) {
    Transcript t;
    t.send(std::string(kEhlo) + "MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_NE(t.commits[0].message.find("\r\n\tfor <alice@example.org>; "), std::string::npos);
    EXPECT_EQ(t.commits[0].envelope.mail_from, "");
}

TEST(SmtpSession, SequenceErrors) {
    Transcript t;
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
    t.send(kEhlo);
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
    EXPECT_EQ(t.send("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
    t.send("MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
    EXPECT_EQ(t.send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
    EXPECT_EQ(t.send("RSET\r\n"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(SmtpSession, RecipientVerdicts) {
    Transcript t;
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(t.send("RCPT TO:<nobody@example.org>\r\n"),
              "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n");
    EXPECT_EQ(t.send("RCPT TO:<victim@elsewhere.example>\r\n"),
              "554 5.7.1 <victim@elsewhere.example>: Relay access denied\r\n");
    EXPECT_EQ(t.send("DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
    EXPECT_EQ(t.send("RCPT TO:<postmaster>\r\n"), "250 2.1.5 Ok\r\n");  // RFC 5321 §4.5.1
    t.host().lookups_fail = true;
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "451 4.3.0 <alice@example.org>: Temporary lookup failure\r\n");
}

TEST(SmtpSession, RecipientLimit) {
    auto cfg = Transcript::make_config();
    cfg.limits.recipients = 2;
    Transcript t(cfg);
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<bob@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<postmaster@example.org>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
    t.send("DATA\r\nhello\r\n.\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_EQ(t.commits[0].envelope.recipients.size(), 2u);
}

TEST(SmtpSession, SizeLimitAtMailAndInData) {
    auto cfg = Transcript::make_config();
    cfg.limits.message_size = 100;
    Transcript t(cfg);
    t.send(kEhlo);
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example> SIZE=101\r\n"), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    t.send("MAIL FROM:<a@b.example> SIZE=50\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    std::string big(200, 'x');
    EXPECT_EQ(t.send(big + "\r\n.\r\n"), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    EXPECT_TRUE(t.commits.empty()) << "nothing of an oversized message is kept";
    // The session is back in sync and usable.
    EXPECT_EQ(t.send("MAIL FROM:<a@b.example>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpSession, SmugglingEndingsNeverEndData) {
    for (std::string ending : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"}) {
        Transcript t;
        t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
        std::string out = t.send("Subject: x\r\n\r\nfirst" + ending + "MAIL FROM:<evil@x.example>\r\n");
        EXPECT_EQ(out, "") << "data must not end on " << ::testing::PrintToString(ending);
        out = t.send("RCPT TO:<bob@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n");
        // The whole thing is one message with bare newlines, refused as such: exactly one reply.
        EXPECT_EQ(out, "550 5.6.0 Message contains bare CR or LF characters (RFC 5321 section 2.3.8)\r\n")
            << ::testing::PrintToString(ending);
        EXPECT_TRUE(t.commits.empty());
    }
}

TEST(SmtpSession, BareLfInCommandIsRejected) {
    Transcript t;
    EXPECT_EQ(t.send("EHLO a\nMAIL FROM:<a@b.example>\r\n"),
              "500 5.5.2 Bare CR or LF in command line (RFC 5321 section 2.3.8)\r\n");
    EXPECT_EQ(t.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, LongLineAndTooManyErrors) {
    auto cfg = Transcript::make_config();
    cfg.limits.bad_commands = 3;
    Transcript t(cfg);
    EXPECT_EQ(t.send("NOOP " + std::string(600, 'a') + "\r\n"), "500 5.5.2 Line too long\r\n");
    EXPECT_EQ(t.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(t.send("BOGUS\r\n"), "500 5.5.2 Command unrecognized\r\n");
    EXPECT_EQ(t.send("BOGUS\r\n"),
              "500 5.5.2 Command unrecognized\r\n421 4.7.0 mx.example.org Too many errors, closing connection\r\n");
    EXPECT_TRUE(t.closed);
}

TEST(SmtpSession, VrfyExpnHelpNoop) {
    Transcript t;
    t.send(kEhlo);
    EXPECT_EQ(t.send("VRFY alice\r\n"), "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
    EXPECT_EQ(t.send("EXPN staff\r\n"), "502 5.5.1 EXPN not available\r\n");
    EXPECT_TRUE(t.send("HELP\r\n").starts_with("214-2.0.0 Commands:"));
    EXPECT_EQ(t.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, Pipelining) {
    Transcript t;
    std::string out = t.send(std::string(kEhlo).substr(0, 0) + "EHLO c\r\nMAIL FROM:<a@b.example>\r\n"
                             "RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n");
    EXPECT_NE(out.find("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1"), std::string::npos) << out;
    EXPECT_TRUE(out.ends_with("354 End data with <CR><LF>.<CR><LF>\r\n"));
    EXPECT_EQ(t.send("x\r\n.\r\nQUIT\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n221 2.0.0 mx.example.org closing connection\r\n");
}

TEST(SmtpSession, CommitFailureIs451) {
    Transcript t;
    t.fail_commits = true;
    EXPECT_TRUE(t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n")
                    .ends_with("451 4.3.0 Error: queue file write error, try again later\r\n"));
}

// A full disk is not a queue failure to retry at once: 452 4.3.1 "mail system full" (RFC 3463 §3.4).
TEST(SmtpSession, CommitOnAFullDiskIs452) {
    Transcript t;
    t.fail_commits = true;
    t.commit_errno = ENOSPC;
    EXPECT_TRUE(t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n")
                    .ends_with("452 4.3.1 Insufficient system storage, try again later\r\n"));
}

TEST(SmtpSession, Chunking) {
    Transcript t;
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n");
    EXPECT_EQ(t.send("BDAT 12\r\nSubject: a\r\n"), "250 2.0.0 12 octets received\r\n");
    EXPECT_EQ(t.send("DATA\r\n"), "503 5.5.1 Error: DATA after BDAT\r\n");
    EXPECT_EQ(t.send("BDAT 9 LAST\r\n\r\n.body\r\n"), "250 2.0.0 Ok: queued as 0000000000000001\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_EQ(body_of(t.commits[0]), "Subject: a\r\n\r\n.body\r\n") << "BDAT data is not dot-unstuffed";
    // A chunk without a transaction is read and discarded, and the session stays in sync.
    EXPECT_EQ(t.send("BDAT 6 LAST\r\nQUIT\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
    EXPECT_EQ(t.send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, DsnParametersKept) {
    Transcript t;
    t.send(std::string(kEhlo) + "MAIL FROM:<a@b.example> RET=HDRS ENVID=abc+2Bdef\r\n"
           "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice+2Bx@example.org\r\n"
           "DATA\r\nx\r\n.\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    const auto& e = t.commits[0].envelope;
    EXPECT_EQ(e.ret, DsnRet::Hdrs);
    EXPECT_EQ(e.envid, "abc+def");
    ASSERT_EQ(e.recipients.size(), 1u);
    EXPECT_TRUE(e.recipients[0].notify.success);
    EXPECT_TRUE(e.recipients[0].notify.failure);
    EXPECT_FALSE(e.recipients[0].notify.delay);
    EXPECT_EQ(e.recipients[0].orcpt, "rfc822;alice+x@example.org");
}

TEST(SmtpSession, SubmissionNeedsAuth) {
    auto cfg = Transcript::make_config();
    cfg.kind = ListenerKind::Submission;
    cfg.tls_active = true;
    Transcript t(cfg);
    t.send(kEhlo);
    EXPECT_EQ(t.send("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
}

TEST(SmtpSession, Utf8NeedsSmtputf8) {
    Transcript t;
    t.send(kEhlo);
    EXPECT_EQ(t.send("MAIL FROM:<j\xC3\xB6rg@b.example>\r\n"), "553 5.6.7 Non-ASCII sender address requires SMTPUTF8\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<j\xC3\xB6rg@b.example> SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpSession, TimeoutAndShutdownReplies) {
    Transcript t;
    EXPECT_EQ(t.session().timeout_reply(), "421 4.4.2 mx.example.org Error: timeout exceeded\r\n");
    Transcript u;
    EXPECT_EQ(u.session().shutdown_reply(), "421 4.3.2 mx.example.org Service shutting down, try again later\r\n");
}

// The same conversation split at every point (and byte by byte) gives the same replies and
// the same committed message (Boost.Beast / Dovecot habit).
TEST(SmtpSession, EverySplitPointGivesSameResult) {
    const std::string conv = std::string(kEhlo) +
                             "MAIL FROM:<a@b.example> BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
                             "Subject: split\r\n\r\n..dot\r\nline\r\n.\r\n"
                             "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 7 LAST\r\nchunk\r\n"
                             "QUIT\r\n";
    Transcript whole;
    std::string expected = whole.send(conv);
    ASSERT_EQ(whole.commits.size(), 2u);
    for (std::size_t split = 0; split <= conv.size(); ++split) {
        Transcript t;
        std::string out = t.send(conv.substr(0, split));
        out += t.send(conv.substr(split));
        ASSERT_EQ(out, expected) << "split at " << split;
        ASSERT_EQ(t.commits.size(), 2u);
        EXPECT_EQ(t.commits[0].message, whole.commits[0].message);
        EXPECT_EQ(t.commits[1].message, whole.commits[1].message);
    }
    Transcript bytewise;
    std::string out;
    for (char c : conv) out += bytewise.send(std::string_view(&c, 1));
    EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace tern::smtp::testing

namespace tern::smtp::testing {
namespace {

SessionConfig submission_config(bool tls_active) {
    auto c = Transcript::make_config();
    c.kind = ListenerKind::Submission;
    c.tls_available = true;
    c.tls_active = tls_active;
    c.scram_secret = "test-secret";
    return c;
}

// Answers VerifyPassword steps: alice's password is "pw".
std::string run_auth(Transcript& t, std::string_view bytes) {
    t.session().receive(bytes);
    std::string out;
    for (;;) {
        auto a = t.session().advance();
        out += a.output;
        if (a.next == Session::Next::VerifyPassword) {
            auto r = t.session().take_password_check();
            t.session().password_checked(r.user == "alice@example.org" && r.password == "pw");
            continue;
        }
        return out;
    }
}

TEST(SmtpStartTls, DiscardsPipelinedPlaintext) {
    Transcript t(submission_config(false));
    std::string ehlo = t.send("EHLO c\r\n");
    EXPECT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos);
    EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << "no AUTH advertised before TLS";
    t.session().receive("STARTTLS\r\nRSET\r\n");
    auto a = t.session().advance();
    EXPECT_EQ(a.output, "220 2.0.0 Ready to start TLS\r\n") << "RSET sent before the handshake is never answered";
    EXPECT_EQ(a.next, Session::Next::StartTls);
    t.session().tls_started();
    EXPECT_EQ(t.drain(), "") << "nothing buffered survives the handshake";
    std::string after = t.send("EHLO c\r\n");
    EXPECT_EQ(after.find("STARTTLS"), std::string::npos);
    EXPECT_NE(after.find("250-AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n"), std::string::npos) << after;
}

TEST(SmtpAuth, RequiresTlsOnSubmission) {
    Transcript t(submission_config(false));
    t.send("EHLO c\r\n");
    EXPECT_EQ(t.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

TEST(SmtpAuth, NotOfferedOnPort25) {
    Transcript t;
    t.send("EHLO c\r\n");
    EXPECT_EQ(t.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n"), "503 5.5.1 Error: authentication not enabled\r\n");
}

TEST(SmtpAuth, PlainThenSubmit) {
    Transcript t(submission_config(true));
    t.send("EHLO c\r\n");
    // "\0alice@example.org\0pw"
    EXPECT_EQ(run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n"), "235 2.7.0 Authentication successful\r\n");
    EXPECT_EQ(t.session().authenticated(), "alice@example.org");
    EXPECT_EQ(t.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n"), "503 5.5.1 Error: already authenticated\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<bob@example.org>\r\n"),
              "553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user alice@example.org\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<alice@example.org>\r\n"), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<friend@elsewhere.example>\r\n"), "250 2.1.5 Ok\r\n") << "authenticated: relay queued";
    EXPECT_EQ(t.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(t.send("From: Bob <bob@example.org>\r\n\r\nhi\r\n.\r\n"),
              "553 5.7.1 From: <bob@example.org> is not owned by user alice@example.org\r\n");
    EXPECT_TRUE(t.commits.empty());
    t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    EXPECT_EQ(t.send("From: \"Sales, Team\" <sales@example.org> (alias)\r\nSubject: x\r\n\r\nhi\r\n.\r\n"),
              "250 2.0.0 Ok: queued as 0000000000000001\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    const std::string& m = t.commits[0].message;
    EXPECT_NE(m.find("\r\nDate: "), std::string::npos) << "RFC 6409 §8.3: Date added";
    EXPECT_NE(m.find("\r\nMessage-ID: <"), std::string::npos) << "RFC 6409 §8.2: Message-ID added";
    EXPECT_NE(m.find("with ESMTPSA id"), std::string::npos) << m;  // RFC 3848: TLS and AUTH
    EXPECT_EQ(t.commits[0].envelope.auth_user, "alice@example.org");
}

TEST(SmtpAuth, LoginExchangeAndFailureLimit) {
    Transcript t(submission_config(true));
    t.send("EHLO c\r\n");
    EXPECT_EQ(run_auth(t, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");          // "Username:"
    EXPECT_EQ(run_auth(t, "YWxpY2VAZXhhbXBsZS5vcmc=\r\n"), "334 UGFzc3dvcmQ6\r\n");  // "Password:"
    EXPECT_EQ(run_auth(t, "d3Jvbmc=\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
    EXPECT_EQ(t.session().auth_failures(), 1u);
    // Unknown user: the very same answer.
    EXPECT_EQ(run_auth(t, "AUTH PLAIN AGdob3N0QGV4YW1wbGUub3JnAHB3\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
    EXPECT_EQ(run_auth(t, "AUTH LOGIN\r\n*\r\n"), "334 VXNlcm5hbWU6\r\n501 5.7.0 Authentication cancelled\r\n");
    EXPECT_EQ(run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHg=\r\n"),
              "535 5.7.8 Authentication credentials invalid\r\n"
              "421 4.7.0 mx.example.org Too many failed authentications, closing connection\r\n");
    EXPECT_EQ(t.session().advance().next, Session::Next::Close);
}

TEST(SmtpAuth, UnknownMechanismAndBadBase64) {
    Transcript t(submission_config(true));
    t.send("EHLO c\r\n");
    EXPECT_EQ(t.send("AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
    EXPECT_EQ(t.send("AUTH PLAIN !!!\r\n"), "501 5.5.2 Cannot decode response\r\n");
}

}  // namespace
}  // namespace tern::smtp::testing

namespace tern::smtp::testing {
namespace {

// Found in review: each of these was a way around a rule.
TEST(SmtpReview, LoginMadeInClearDoesNotSurviveStartTls) {
    auto cfg = Transcript::make_config();
    cfg.kind = ListenerKind::Submission;
    cfg.tls_available = true;
    cfg.allow_plaintext_auth = true;
    Transcript t(cfg);
    t.send("EHLO c\r\n");
    EXPECT_EQ(run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n"), "235 2.7.0 Authentication successful\r\n");
    t.session().receive("STARTTLS\r\n");
    EXPECT_EQ(t.session().advance().next, Session::Next::StartTls);
    t.session().tls_started();
    t.send("EHLO c\r\n");
    EXPECT_EQ(t.send("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
}

TEST(SmtpReview, FromHeaderVariantsAreAllChecked) {
    for (std::string from : {"From : bob@example.org\r\n",
                             "FROM:\tAlice <alice@example.org>,\r\n bob@example.org\r\n",
                             "From: (alice@example.org) bob@example.org\r\n"}) {
        Transcript t(submission_config(true));
        t.send("EHLO c\r\n");
        run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n");
        t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
        EXPECT_EQ(t.send(from + "\r\nbody\r\n.\r\n"),
                  "553 5.7.1 From: <bob@example.org> is not owned by user alice@example.org\r\n")
            << ::testing::PrintToString(from);
        EXPECT_TRUE(t.commits.empty());
    }
}

// Issue 7: a From: that parsed to nothing was let through. Now every From:/Sender: must parse,
// name at least one mailbox and appear once (RFC 5322 §3.4, §3.6, §3.6.2; RFC 6409 §8.1).
TEST(SmtpReview, MalformedFromIsRefused) {
    for (std::string header : std::initializer_list<std::string>{
             "From: \"x <ceo@bank.example>\r\n",                   // unterminated quote
             "From: \"x <alice@example.org>\r\n",                  // ... even around one's own address
             "From: <ceo@bank.example\r\n",                         // unterminated angle bracket
             "From: alice@example.org (ceo@bank.example\r\n",       // unterminated comment
             "From: ceo@bank.example)\r\n",                         // unbalanced ')'
             "From: <alice@example.org> <bob@example.org>\r\n",     // two angle-addrs, no comma
             "From: undisclosed-recipients:;\r\n",                  // a group with no mailbox
             "From: alice\r\n",                                     // no domain
             "From:\r\n",                                           // empty
             "From: (just a comment)\r\n",
             "From: alice@example.org\r\nFrom: bob@example.org\r\n", // From: twice
             "From: alice@example.org\r\nFrom: alice@example.org\r\n",
             "From: alice@example.org\r\nSender: \"bob <bob@example.org>\r\n",
             "From: alice@example.org\r\nSender: alice@example.org, alice@example.org\r\n",
             "From: alice@example.org\r\nSender: alice@example.org\r\nSender: alice@example.org\r\n",
             "From: " + std::string(100, '(') + "alice@example.org" + std::string(100, ')') + "\r\n",
         }) {
        Transcript t(submission_config(true));
        t.send("EHLO c\r\n");
        run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n");
        t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
        std::string r = t.send(header + "Subject: x\r\n\r\nbody\r\n.\r\n");
        EXPECT_TRUE(r.starts_with("554 5.6.0 ")) << ::testing::PrintToString(header) << " -> " << r;
        EXPECT_TRUE(t.commits.empty()) << ::testing::PrintToString(header);
    }
}

TEST(SmtpReview, WellFormedFromVariantsAreAccepted) {
    for (std::string header : {
             "From: alice@example.org\r\n",
             "From: \"Smith, Alice\" <alice@example.org>\r\n",      // comma inside quotes
             "From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\r\n",
             "From: Alice (the (real) one) <alice@example.org>\r\n",
             "From: Alice\r\n <alice@example.org>\r\n",            // folded
             "From: sales@example.org, alice@example.org\r\nSender: alice@example.org\r\n",
             "From: Team: alice@example.org;\r\n",                  // RFC 6854 group
             "Subject: no From at all\r\n",                          // none to check (unchanged)
         }) {
        Transcript t(submission_config(true));
        t.send("EHLO c\r\n");
        run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n");
        t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
        std::string r = t.send(header + "\r\nbody\r\n.\r\n");
        EXPECT_TRUE(r.starts_with("250 2.0.0 ")) << ::testing::PrintToString(header) << " -> " << r;
    }
    // Sender: is checked for ownership too.
    Transcript t(submission_config(true));
    t.send("EHLO c\r\n");
    run_auth(t, "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\n");
    t.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    EXPECT_EQ(t.send("From: alice@example.org\r\nSender: Bob <bob@example.org>\r\n\r\nx\r\n.\r\n"),
              "553 5.7.1 Sender: <bob@example.org> is not owned by user alice@example.org\r\n");
}

TEST(SmtpReview, DuplicateRecipientDeliversOnce) {
    Transcript t;
    t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok (duplicate recipient)\r\n");
    t.send("DATA\r\nx\r\n.\r\n");
    ASSERT_EQ(t.commits.size(), 1u);
    EXPECT_EQ(t.commits[0].envelope.recipients.size(), 1u);
}

// Issue 7: 2,000 identical RCPTs were all answered 250. Every accepted RCPT counts toward
// limits.recipients, duplicates included (RFC 5321 §4.5.3.1.8), and they still collapse into one.
TEST(SmtpReview, DuplicateRecipientsCountTowardTheLimit) {
    auto cfg = Transcript::make_config();
    cfg.limits.recipients = 3;
    Transcript t(cfg);
    t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok (duplicate recipient)\r\n");
    EXPECT_EQ(t.send("RCPT TO:<Alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");  // local part's case kept
    EXPECT_EQ(t.send("RCPT TO:<alice@example.org>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
    EXPECT_EQ(t.send("RCPT TO:<bob@example.org>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
    // Refused recipients do not use up the allowance.
    Transcript u(cfg);
    u.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(u.send("RCPT TO:<nobody@example.org>\r\n").substr(0, 4), "550 ");
    EXPECT_EQ(u.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(u.send("RCPT TO:<bob@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(u.send("RCPT TO:<postmaster@example.org>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(u.send("RCPT TO:<alice@example.org>\r\n"), "452 4.5.3 Error: too many recipients\r\n");

    // Pipelined flood: at most `recipients` 250s; one delivery; the next transaction starts afresh.
    Transcript f(cfg);
    std::string batch = "EHLO c\r\nMAIL FROM:<a@b.example>\r\n";
    for (int i = 0; i < 2000; ++i) batch += "RCPT TO:<alice@example.org>\r\n";
    std::string r = f.send(batch);
    std::size_t ok = 0, full = 0;
    for (std::size_t p = 0; (p = r.find("250 2.1.5", p)) != std::string::npos; ++p) ++ok;
    for (std::size_t p = 0; (p = r.find("452 4.5.3", p)) != std::string::npos; ++p) ++full;
    EXPECT_EQ(ok, 3u);
    EXPECT_EQ(full, 1997u);
    EXPECT_FALSE(f.closed) << "452 is no error that closes the connection";
    f.send("DATA\r\nx\r\n.\r\n");
    ASSERT_EQ(f.commits.size(), 1u);
    EXPECT_EQ(f.commits[0].envelope.recipients.size(), 1u);
    f.send("MAIL FROM:<a@b.example>\r\n");
    EXPECT_EQ(f.send("RCPT TO:<alice@example.org>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpReview, RefusedRecipientsCountAsErrors) {
    auto cfg = Transcript::make_config();
    cfg.limits.bad_commands = 3;
    Transcript t(cfg);
    t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
    t.send("RCPT TO:<nobody1@example.org>\r\nRCPT TO:<nobody2@example.org>\r\n");
    std::string out = t.send("RCPT TO:<nobody3@example.org>\r\n");
    EXPECT_TRUE(out.ends_with("421 4.7.0 mx.example.org Too many errors, closing connection\r\n")) << out;
    EXPECT_TRUE(t.closed);
}

}  // namespace
}  // namespace tern::smtp::testing
