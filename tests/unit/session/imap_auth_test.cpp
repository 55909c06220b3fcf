// IMAP session: greeting, CAPABILITY, LOGIN, AUTHENTICATE (SASL-IR and continuations), STARTTLS
// (nothing pipelined behind it answered), LOGINDISABLED, and the limits before login.
#include <gtest/gtest.h>

#include "proto/sasl/sasl.hpp"
#include "session/imap/session.hpp"
#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapAuth, GreetingCarriesCapabilities) {
    Transcript t;
    EXPECT_TRUE(t.greeting().starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "));
    EXPECT_NE(t.greeting().find("AUTH=PLAIN"), std::string::npos);
}

TEST(ImapAuth, LoginThenCapabilitiesChange) {
    Transcript t;
    auto out = t.send("a CAPABILITY\r\n");
    EXPECT_NE(out.find("LITERAL-"), std::string::npos) << out;
    EXPECT_EQ(out.find("MOVE"), std::string::npos) << "no MOVE before login: " << out;
    out = t.login();
    EXPECT_TRUE(out.starts_with("L1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ")) << out;
    EXPECT_NE(out.find(" MOVE "), std::string::npos);
    EXPECT_EQ(t.checked_users, std::vector<std::string>{"alice@example.org"});
    EXPECT_TRUE(t.session().authenticated());
    EXPECT_EQ(t.session().account(), "alice@example.org");
}

TEST(ImapAuth, WrongPasswordAndThenTooMany) {
    Transcript t;
    EXPECT_EQ(t.login("alice@example.org", "nope"), "L1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    EXPECT_FALSE(t.session().authenticated());
    t.login("nobody@example.org", "x");
    auto out = t.login("alice@example.org", "wrong");
    EXPECT_TRUE(has_line(out, "* BYE Too many failed logins")) << out;
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(t.session().auth_failures(), 3u);
}

TEST(ImapAuth, LoginDisabledWithoutTls) {
    Transcript t(tls_config());
    EXPECT_NE(t.greeting().find("LOGINDISABLED"), std::string::npos);
    EXPECT_NE(t.greeting().find("STARTTLS"), std::string::npos);
    EXPECT_EQ(t.greeting().find("AUTH=PLAIN"), std::string::npos) << "no plaintext mechanism before TLS";
    EXPECT_EQ(t.login(), "L1 NO [PRIVACYREQUIRED] LOGIN needs TLS (use STARTTLS or port 993)\r\n");
    EXPECT_TRUE(t.checked_users.empty()) << "the password was never checked";
    EXPECT_EQ(t.send("a AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n"),
              "a NO [PRIVACYREQUIRED] Plaintext authentication needs TLS\r\n");
}

TEST(ImapAuth, StartTlsDropsPipelinedCommands) {
    Transcript t(tls_config());
    // CVE-2011-0411: the LOGIN pipelined behind STARTTLS in the same packet must not be answered.
    auto out = t.send("a STARTTLS\r\nb LOGIN alice@example.org secret\r\n");
    EXPECT_EQ(out, "a OK Begin TLS negotiation now\r\n");
    EXPECT_EQ(t.tls_handshakes, 1);
    EXPECT_TRUE(t.checked_users.empty());
    out = t.send("c CAPABILITY\r\n");
    EXPECT_EQ(out.find("STARTTLS"), std::string::npos) << out;
    EXPECT_EQ(out.find("LOGINDISABLED"), std::string::npos) << out;
    EXPECT_NE(out.find("AUTH=PLAIN"), std::string::npos) << out;
    EXPECT_TRUE(t.login().starts_with("L1 OK"));
    EXPECT_EQ(t.send("d STARTTLS\r\n"), "d BAD STARTTLS is not valid once authenticated\r\n");
}

TEST(ImapAuth, StartTlsTwiceIsRefused) {
    Transcript t(tls_config());
    t.send("a STARTTLS\r\n");
    EXPECT_EQ(t.send("b STARTTLS\r\n"), "b BAD TLS is active already\r\n");
}

TEST(ImapAuth, AuthenticatePlainWithInitialResponse) {
    Transcript t;
    std::string ir = sasl::base64_encode(std::string("\0alice@example.org\0secret", 25));
    auto out = t.send("a AUTHENTICATE PLAIN " + ir + "\r\n");
    EXPECT_TRUE(out.starts_with("a OK [CAPABILITY ")) << out;
    EXPECT_TRUE(t.session().authenticated());
}

TEST(ImapAuth, AuthenticatePlainWithContinuationAndCancel) {
    Transcript t;
    EXPECT_EQ(t.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    EXPECT_EQ(t.send("*\r\n"), "a BAD AUTHENTICATE cancelled\r\n");
    EXPECT_EQ(t.send("b AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    auto out = t.send(sasl::base64_encode(std::string("\0alice@example.org\0secret", 25)) + "\r\n");
    EXPECT_TRUE(out.starts_with("b OK [CAPABILITY ")) << out;
}

TEST(ImapAuth, AuthenticateBadBase64AndUnknownMechanism) {
    Transcript t;
    EXPECT_EQ(t.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    EXPECT_EQ(t.send("!!!\r\n"), "a BAD Bad base64 in the response\r\n");
    EXPECT_EQ(t.send("b AUTHENTICATE GSSAPI\r\n"), "b NO [CANNOT] Unsupported authentication mechanism\r\n");
}

TEST(ImapAuth, AuthenticateLoginMechanism) {
    Transcript t;
    EXPECT_EQ(t.send("a AUTHENTICATE LOGIN\r\n"), "+ " + sasl::base64_encode("Username:") + "\r\n");
    EXPECT_EQ(t.send(sasl::base64_encode("alice@example.org") + "\r\n"), "+ " + sasl::base64_encode("Password:") + "\r\n");
    auto out = t.send(sasl::base64_encode("secret") + "\r\n");
    EXPECT_TRUE(out.starts_with("a OK [CAPABILITY ")) << out;
}

TEST(ImapAuth, CommandsNeedTheRightState) {
    Transcript t;
    EXPECT_EQ(t.send("a SELECT INBOX\r\n"), "a BAD SELECT needs authentication first\r\n");
    EXPECT_EQ(t.send("b FETCH 1 FLAGS\r\n"), "b BAD FETCH needs a selected mailbox\r\n");
    t.login();
    EXPECT_EQ(t.send("c LOGIN a b\r\n"), "c BAD LOGIN is not valid once authenticated\r\n");
    EXPECT_EQ(t.send("d FETCH 1 FLAGS\r\n"), "d BAD FETCH needs a selected mailbox\r\n");
}

TEST(ImapAuth, TooManyBadCommandsEndTheSession) {
    Transcript t;
    std::string out;
    for (int i = 0; i < 20 && !t.closed; ++i) out = t.send("x" + std::to_string(i) + " FROB\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_TRUE(has_line(out, "* BYE Too many invalid commands")) << out;
}

TEST(ImapAuth, CommandsBeforeLoginAreBounded) {
    Transcript t;
    std::string out;
    int sent = 0;
    while (!t.closed && sent < 100) out = t.send("n" + std::to_string(sent++) + " NOOP\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(sent, 51);
    EXPECT_TRUE(has_line(out, "* BYE Too many commands without logging in")) << out;
}

TEST(ImapAuth, BeforeLoginOneLevelOfParenthesesAndShortLiterals) {
    Transcript t;
    auto out = t.send("a ID ((\"x\" \"y\"))\r\n");
    EXPECT_TRUE(out.starts_with("a BAD")) << out;
    // LITERAL- before login: a non-synchronizing literal over 4096 octets is refused (RFC 7888 §5).
    // Its octets would follow unasked and cannot be skipped safely before login: BYE and close.
    out = t.send("b LOGIN {5000+}\r\n");
    EXPECT_EQ(out, "* BYE [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)\r\n");
    EXPECT_TRUE(t.closed);
}

TEST(ImapAuth, LogoutSaysByeThenOk) {
    Transcript t;
    EXPECT_EQ(t.send("a LOGOUT\r\n"), "* BYE imap.example.org logging out\r\na OK LOGOUT completed\r\n");
    EXPECT_TRUE(t.closed);
}

TEST(ImapAuth, IdAnswersWithServerName) {
    Transcript t;
    EXPECT_EQ(t.send("a ID (\"name\" \"test\")\r\n"), "* ID (\"name\" \"Tern\")\r\na OK ID completed\r\n");
    EXPECT_EQ(t.send("b ID NIL\r\n"), "* ID (\"name\" \"Tern\")\r\nb OK ID completed\r\n");
}

TEST(ImapAuth, EnableListsOnlyNewlyEnabled) {
    Transcript t;
    t.login();
    EXPECT_EQ(t.send("a ENABLE IMAP4rev2 UTF8=ACCEPT X-UNKNOWN\r\n"),
              "* ENABLED IMAP4rev2 UTF8=ACCEPT\r\na OK ENABLE completed\r\n");
    EXPECT_EQ(t.send("b ENABLE IMAP4rev2\r\n"), "* ENABLED\r\nb OK ENABLE completed\r\n");
    t.send("c SELECT INBOX\r\n");
    EXPECT_EQ(t.send("d ENABLE UTF8=ACCEPT\r\n"), "d BAD ENABLE is only valid before SELECT\r\n");
}

TEST(ImapAuth, TimeoutAndShutdownSayBye) {
    Transcript t;
    EXPECT_EQ(t.session().idle_timeout(), std::chrono::seconds(60));
    t.login();
    EXPECT_EQ(t.session().idle_timeout(), std::chrono::seconds(1800)) << "RFC 9051 §5.4: at least 30 minutes";
    EXPECT_EQ(t.session().timeout_reply(), "* BYE Autologout; idle for too long\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
