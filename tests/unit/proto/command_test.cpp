// Unit tests for the SMTP command parser (smtp/command.hpp): every verb, every ESMTP parameter,
// every error code. Must never depend on I/O or on anything outside tern_proto.
#include "proto/smtp/command.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace tern::smtp {
namespace {

Command ok(std::string_view line, bool utf8 = true) {
    auto r = parse_command(line, utf8);
    EXPECT_TRUE(r.has_value()) << "should accept: " << line << " — got " << (r ? 0 : r.error().code) << " "
                               << (r ? "" : r.error().text);
    return r ? *r : Command{};
}

// The reply the client would see: "501 5.5.4".
std::string rejects(std::string_view line, bool utf8 = true) {
    auto r = parse_command(line, utf8);
    if (r) return "accepted";
    EXPECT_FALSE(r.error().text.empty());
    return std::to_string(r.error().code) + " " + r.error().enhanced;
}

TEST(Command, VerbsAreCaseInsensitive) {
    EXPECT_EQ(ok("quit").verb, Verb::Quit);
    EXPECT_EQ(ok("QuIt").verb, Verb::Quit);
    EXPECT_EQ(ok("ehlo client.example").verb, Verb::Ehlo);
    EXPECT_EQ(ok("StartTLS").verb, Verb::StartTls);
    EXPECT_EQ(ok("mail from:<a@b.c>").verb, Verb::Mail);
}

TEST(Command, UnknownVerb) {
    EXPECT_EQ(rejects("FOO"), "500 5.5.2");
    EXPECT_EQ(rejects(""), "500 5.5.2");
    EXPECT_EQ(rejects(" HELO x"), "500 5.5.2");
    EXPECT_EQ(rejects("HELOx"), "500 5.5.2");
    EXPECT_EQ(rejects("MAIL\tFROM:<a@b>"), "500 5.5.2");
    auto r = parse_command("XYZZY");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().text, "Command unrecognized");
}

TEST(Command, ForbiddenCharactersAnywhere) {
    EXPECT_EQ(rejects(std::string("NOOP a\0b", 8)), "500 5.5.2");
    EXPECT_EQ(rejects("NOOP a\rb"), "500 5.5.2");
    EXPECT_EQ(rejects("NOOP a\nb"), "500 5.5.2");
    EXPECT_EQ(rejects("QUIT\r"), "500 5.5.2");
    EXPECT_EQ(rejects("MAIL FROM:<a@b.c>\nRCPT TO:<d@e.f>"), "500 5.5.2");
}

TEST(Command, HeloEhlo) {
    EXPECT_EQ(ok("HELO mx.example.org").arg, "mx.example.org");
    EXPECT_EQ(ok("EHLO [192.0.2.1]").arg, "[192.0.2.1]");
    EXPECT_EQ(ok("EHLO [IPv6:2001:db8::1]").arg, "[IPv6:2001:db8::1]");
    EXPECT_EQ(ok("EHLO localhost").arg, "localhost");
    EXPECT_EQ(ok("EHLO  spaced.example ").arg, "spaced.example");  // extra SP tolerated
    EXPECT_EQ(rejects("HELO"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO "), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO two words"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO [300.1.1.1]"), "501 5.5.4");
    EXPECT_EQ(rejects("HELO a@b"), "501 5.5.4");
    EXPECT_FALSE(ok("EHLO mx.example.org").helo_lenient);
    EXPECT_FALSE(ok("EHLO [192.0.2.1]").helo_lenient);
}

// RFC 5321 §4.1.4: names that are no RFC 5321 Domain but plainly a host's name are accepted (and
// flagged for a log line); junk is still 501.
TEST(Command, HeloLenientNames) {
    for (const char* line : {"EHLO my_host", "HELO my_host", "EHLO host.example.", "HELO host.example.",
                             "EHLO bad_name.example", "EHLO -x.example", "EHLO WIN-PC_01", "EHLO a..b"}) {
        auto c = parse_command(line);
        ASSERT_TRUE(c.has_value()) << line;
        EXPECT_TRUE(c->helo_lenient) << line;
    }
    EXPECT_EQ(ok("EHLO my_host").arg, "my_host");
    EXPECT_EQ(ok("EHLO host.example.").arg, "host.example.");
    EXPECT_EQ(rejects("EHLO my host"), "501 5.5.4");          // a space: two words
    EXPECT_EQ(rejects("EHLO my\thost"), "501 5.5.4");
    EXPECT_EQ(rejects(std::string("EHLO my\x01host")), "501 5.5.4");  // control character
    EXPECT_EQ(rejects("EHLO my\x7fhost"), "501 5.5.4");      // DEL
    EXPECT_EQ(rejects("EHLO \xc3\xa9t\xc3\xa9"), "501 5.5.4");  // non-ASCII
    EXPECT_EQ(rejects("EHLO ..."), "501 5.5.4");             // no letter or digit
    EXPECT_EQ(rejects("EHLO _"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO <host>"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO host(x)"), "501 5.5.4");
    EXPECT_EQ(rejects("EHLO [my_host]"), "501 5.5.4");      // a bracket means an address literal
    EXPECT_EQ(rejects("EHLO " + std::string(300, 'a') + "_"), "501 5.5.4");
}

TEST(Command, NoArgumentVerbs) {
    for (auto v : {"DATA", "RSET", "QUIT", "STARTTLS"}) {
        std::string line = v;
        EXPECT_TRUE(parse_command(line).has_value()) << line;
        EXPECT_TRUE(parse_command(line + " ").has_value()) << "trailing SP is tolerated: " << line;
        EXPECT_EQ(rejects(line + " now"), "501 5.5.4") << line;
    }
}

TEST(Command, OptionalAndRequiredArguments) {
    EXPECT_EQ(ok("NOOP").arg, "");
    EXPECT_EQ(ok("NOOP hello there").arg, "hello there");
    EXPECT_EQ(ok("HELP").verb, Verb::Help);
    EXPECT_EQ(ok("HELP MAIL").arg, "MAIL");
    EXPECT_EQ(ok("VRFY postmaster").arg, "postmaster");
    EXPECT_EQ(ok("EXPN staff").arg, "staff");
    EXPECT_EQ(rejects("VRFY"), "501 5.5.4");
    EXPECT_EQ(rejects("EXPN "), "501 5.5.4");
}

TEST(Command, MailFrom) {
    Command c = ok("MAIL FROM:<alice@example.org>");
    EXPECT_EQ(c.verb, Verb::Mail);
    ASSERT_TRUE(c.path.mailbox);
    EXPECT_EQ(c.path.mailbox->str(), "alice@example.org");
    EXPECT_EQ(c.mail.size, std::nullopt);
    EXPECT_EQ(c.mail.body, BodyType::Unspecified);

    EXPECT_EQ(ok("mail from:<a@b.c>").path.mailbox->str(), "a@b.c");
    EXPECT_EQ(ok("MAIL From:<a@b.c>").path.mailbox->str(), "a@b.c");
    EXPECT_EQ(ok("MAIL FROM: <a@b.c>").path.mailbox->str(), "a@b.c");  // one SP after the colon
    EXPECT_FALSE(ok("MAIL FROM:<>").path.mailbox.has_value());          // null reverse-path
    EXPECT_EQ(ok("MAIL FROM:<@relay.example:a@b.c>").path.mailbox->str(), "a@b.c");
}

TEST(Command, MailFromSyntaxErrors) {
    EXPECT_EQ(rejects("MAIL"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL TO:<a@b.c>"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:a@b.c"), "501 5.5.4");       // brackets are required
    EXPECT_EQ(rejects("MAIL FROM:  <a@b.c>"), "501 5.5.4");   // only one SP is tolerated
    EXPECT_EQ(rejects("MAIL FROM:<a@b.c>SIZE=1"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<a..b@b.c>"), "501 5.1.7");
    EXPECT_EQ(rejects("MAIL FROM:<a@b.c"), "501 5.1.7");
    EXPECT_EQ(rejects("MAIL FROM:<a@-b.c>"), "501 5.1.7");
    EXPECT_EQ(rejects("MAIL FROM:<postmaster>"), "501 5.1.7");
}

TEST(Command, MailParameters) {
    Command c = ok("MAIL FROM:<a@b.c> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 AUTH=x+2By@z.org");
    EXPECT_EQ(c.mail.size, 12345u);
    EXPECT_EQ(c.mail.body, BodyType::EightBitMime);
    EXPECT_TRUE(c.mail.smtputf8);
    EXPECT_EQ(c.mail.ret, DsnRet::Hdrs);
    EXPECT_EQ(c.mail.envid, "QQ+1");
    EXPECT_EQ(c.mail.auth, "x+y@z.org");

    EXPECT_EQ(ok("MAIL FROM:<> size=0 body=7bit ret=full").mail.body, BodyType::SevenBit);
    EXPECT_EQ(ok("MAIL FROM:<> size=0 body=7bit ret=full").mail.ret, DsnRet::Full);
    EXPECT_EQ(ok("MAIL FROM:<> BODY=BINARYMIME").mail.body, BodyType::BinaryMime);
    EXPECT_EQ(ok("MAIL FROM:<> AUTH=<>").mail.auth, "<>");
    EXPECT_EQ(ok("MAIL FROM:<>  SIZE=1  SMTPUTF8").mail.size, 1u);  // repeated SP tolerated
    EXPECT_EQ(ok("MAIL FROM:<> SIZE=99999999999999999999").mail.size,
              std::numeric_limits<std::uint64_t>::max());  // 20 digits: saturates, fails the limit later
}

TEST(Command, MailParameterErrors) {
    EXPECT_EQ(rejects("MAIL FROM:<> FOO=bar"), "555 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> NOTIFY=NEVER"), "555 5.5.4");  // an RCPT parameter
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE=1 size=2"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SMTPUTF8 SMTPUTF8"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE="), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE=-1"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE=1k"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE=123456789012345678901"), "501 5.5.4");  // 21 digits
    EXPECT_EQ(rejects("MAIL FROM:<> BODY=9BIT"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> BODY"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SMTPUTF8=yes"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> RET=ALL"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> ENVID"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> ENVID=a+2"), "501 5.5.4");       // truncated hexchar
    EXPECT_EQ(rejects("MAIL FROM:<> ENVID=a+0D+0Ab"), "501 5.5.4");  // decodes to CR LF
    EXPECT_EQ(rejects("MAIL FROM:<> ENVID=+00"), "501 5.5.4");       // decodes to NUL
    EXPECT_EQ(rejects("MAIL FROM:<> ENVID=" + std::string(101, 'e')), "501 5.5.4");
    EXPECT_EQ(ok("MAIL FROM:<> ENVID=" + std::string(100, 'e')).mail.envid, std::string(100, 'e'));
    EXPECT_EQ(rejects("MAIL FROM:<> AUTH=a+zz"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> AUTH"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> =x"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> -SIZE=1"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SIZE=1=2"), "501 5.5.4");
    EXPECT_EQ(rejects("MAIL FROM:<> SI_ZE=1"), "501 5.5.4");
}

TEST(Command, Utf8Sender) {
    // RFC 6531 §3.4: a UTF-8 reverse-path needs SMTPUTF8 on the same command.
    EXPECT_EQ(ok("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8").path.mailbox->local, "j\xc3\xb6rg");
    EXPECT_EQ(rejects("MAIL FROM:<j\xc3\xb6rg@x.example>"), "553 5.6.7");
    EXPECT_EQ(rejects("MAIL FROM:<j\xc3\xb6rg@x.example> SMTPUTF8", false), "501 5.1.7");
    EXPECT_EQ(rejects("MAIL FROM:<j\xc3rg@x.example> SMTPUTF8"), "501 5.1.7");  // ill-formed UTF-8
}

TEST(Command, RcptTo) {
    Command c = ok("RCPT TO:<bob@example.org>");
    EXPECT_EQ(c.verb, Verb::Rcpt);
    EXPECT_EQ(c.path.mailbox->str(), "bob@example.org");
    EXPECT_FALSE(c.rcpt.notify.specified);
    EXPECT_EQ(c.rcpt.orcpt, "");
    EXPECT_EQ(ok("rcpt to: <bob@example.org>").path.mailbox->str(), "bob@example.org");
    EXPECT_EQ(ok("RCPT TO:<\"odd person\"@example.org>").path.mailbox->local, "odd person");
    EXPECT_EQ(ok("RCPT TO:<@hop.example:bob@example.org>").path.mailbox->str(), "bob@example.org");
}

TEST(Command, RcptToBarePostmaster) {
    // RFC 5321 §4.5.1: "RCPT TO:<Postmaster>" must be accepted without a domain.
    for (auto line : {"RCPT TO:<postmaster>", "RCPT TO:<Postmaster>", "rcpt to: <POSTMASTER> NOTIFY=NEVER"}) {
        Command c = ok(line);
        ASSERT_TRUE(c.path.mailbox) << line;
        EXPECT_EQ(*c.path.mailbox, (Mailbox{"postmaster", ""})) << line;
    }
    EXPECT_EQ(ok("RCPT TO:<postmaster@Example.org>").path.mailbox->domain, "example.org");
    EXPECT_EQ(rejects("RCPT TO:<postmaster>x"), "501 5.5.4");
    EXPECT_EQ(rejects("RCPT TO:<postmasterx>"), "501 5.1.3");
}

TEST(Command, RcptToErrors) {
    EXPECT_EQ(rejects("RCPT"), "501 5.5.4");
    EXPECT_EQ(rejects("RCPT FROM:<a@b.c>"), "501 5.5.4");
    EXPECT_EQ(rejects("RCPT TO:bob@example.org"), "501 5.5.4");
    EXPECT_EQ(rejects("RCPT TO:<>"), "501 5.1.3");
    EXPECT_EQ(rejects("RCPT TO:<bob@>"), "501 5.1.3");
    EXPECT_EQ(rejects("RCPT TO:<bob@exa mple.org>"), "501 5.1.3");
    EXPECT_EQ(rejects("RCPT TO:<j\xc3\xb6rg@x.example>", false), "501 5.1.3");
    EXPECT_EQ(rejects("RCPT TO:<a@b.c> SIZE=1"), "555 5.5.4");
}

TEST(Command, RcptNotify) {
    DsnNotify never{true, true, false, false, false};
    EXPECT_EQ(ok("RCPT TO:<a@b.c> NOTIFY=NEVER").rcpt.notify, never);
    EXPECT_EQ(ok("RCPT TO:<a@b.c> notify=never").rcpt.notify, never);
    DsnNotify sfd{true, false, true, true, true};
    EXPECT_EQ(ok("RCPT TO:<a@b.c> NOTIFY=SUCCESS,FAILURE,DELAY").rcpt.notify, sfd);
    DsnNotify f{true, false, false, true, false};
    EXPECT_EQ(ok("RCPT TO:<a@b.c> NOTIFY=failure").rcpt.notify, f);
    for (auto bad : {"NOTIFY", "NOTIFY=", "NOTIFY=NEVER,SUCCESS", "NOTIFY=SUCCESS,NEVER", "NOTIFY=SUCCESS,",
                     "NOTIFY=,DELAY", "NOTIFY=SUCCESS,SUCCESS", "NOTIFY=SOMETIMES"})
        EXPECT_EQ(rejects(std::string("RCPT TO:<a@b.c> ") + bad), "501 5.5.4") << bad;
    EXPECT_EQ(rejects("RCPT TO:<a@b.c> NOTIFY=NEVER NOTIFY=DELAY"), "501 5.5.4");
}

TEST(Command, RcptOrcpt) {
    EXPECT_EQ(ok("RCPT TO:<a@b.c> ORCPT=rfc822;bob+2Bx@example.org").rcpt.orcpt, "rfc822;bob+x@example.org");
    EXPECT_EQ(ok("RCPT TO:<a@b.c> ORCPT=RFC822;bob@example.org").rcpt.orcpt, "rfc822;bob@example.org");
    EXPECT_EQ(ok("RCPT TO:<a@b.c> ORCPT=utf-8;j\xc3\xb6rg@x.example").rcpt.orcpt, "utf-8;j\xc3\xb6rg@x.example");
    Command both = ok("RCPT TO:<a@b.c> NOTIFY=DELAY ORCPT=rfc822;a@b.c");
    EXPECT_TRUE(both.rcpt.notify.delay);
    EXPECT_EQ(both.rcpt.orcpt, "rfc822;a@b.c");
    for (auto bad : {"ORCPT", "ORCPT=bob@example.org", "ORCPT=x400;bob", "ORCPT=rfc822;", "ORCPT=rfc822;a+0Db",
                     "ORCPT=rfc822;j\xc3\xb6rg@x", "ORCPT=utf-8;j\xc3rg@x", "ORCPT=rfc822;a+G0"})
        EXPECT_EQ(rejects(std::string("RCPT TO:<a@b.c> ") + bad), "501 5.5.4") << bad;
    EXPECT_EQ(rejects("RCPT TO:<a@b.c> ORCPT=rfc822;" + std::string(494, 'x')), "501 5.5.4");  // > 500
    EXPECT_EQ(rejects("RCPT TO:<a@b.c> ORCPT=rfc822;a ORCPT=rfc822;b"), "501 5.5.4");
}

TEST(Command, Bdat) {
    Command c = ok("BDAT 1000");
    EXPECT_EQ(c.verb, Verb::Bdat);
    EXPECT_EQ(c.chunk_size, 1000u);
    EXPECT_FALSE(c.last_chunk);
    c = ok("bdat 0 last");
    EXPECT_EQ(c.chunk_size, 0u);
    EXPECT_TRUE(c.last_chunk);
    EXPECT_EQ(ok("BDAT 18446744073709551615 LAST").chunk_size, std::numeric_limits<std::uint64_t>::max());
    for (auto bad : {"BDAT", "BDAT x", "BDAT -1", "BDAT 1 FIRST", "BDAT 1 LAST x", "BDAT 1x",
                     "BDAT 18446744073709551616", "BDAT 000000000000000000001"})
        EXPECT_EQ(rejects(bad), "501 5.5.4") << bad;
}

TEST(Command, Auth) {
    Command c = ok("AUTH PLAIN AHVzZXIAcGFzcw==");
    EXPECT_EQ(c.verb, Verb::Auth);
    EXPECT_EQ(c.arg, "PLAIN AHVzZXIAcGFzcw==");
    EXPECT_EQ(ok("auth login").arg, "login");
    EXPECT_EQ(ok("AUTH PLAIN =").arg, "PLAIN =");
    for (auto bad : {"AUTH", "AUTH ", "AUTH PL/AIN", "AUTH PLAIN a b", "AUTH ABCDEFGHIJKLMNOPQRSTU"})
        EXPECT_EQ(rejects(bad), "501 5.5.4") << bad;
}

TEST(Xtext, DecodeAndEncode) {
    EXPECT_EQ(xtext_decode(""), "");
    EXPECT_EQ(xtext_decode("abc"), "abc");
    EXPECT_EQ(xtext_decode("a+2Bb+3Dc"), "a+b=c");
    EXPECT_EQ(xtext_decode("+2b"), "+");  // lower-case hex tolerated
    EXPECT_EQ(xtext_decode("+20"), " ");
    EXPECT_EQ(xtext_decode("a+"), std::nullopt);
    EXPECT_EQ(xtext_decode("a+2"), std::nullopt);
    EXPECT_EQ(xtext_decode("a+XY"), std::nullopt);
    EXPECT_EQ(xtext_decode("a=b"), std::nullopt);
    EXPECT_EQ(xtext_decode("a b"), std::nullopt);
    EXPECT_EQ(xtext_decode("a\xc3\xb6"), std::nullopt);
    EXPECT_EQ(xtext_encode("a+b=c d\r\n"), "a+2Bb+3Dc+20d+0D+0A");
    EXPECT_EQ(xtext_encode("\xc3\xb6"), "+C3+B6");
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(xtext_decode(xtext_encode(all)), all);
}

}  // namespace
}  // namespace tern::smtp
