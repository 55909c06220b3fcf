// POP3 client login transcripts: greeting and CAPA, STLS (RFC 2595) incl. bytes injected before the
// handshake, APOP (RFC 1939 §7 example), SCRAM-SHA-256 (RFC 7677 §3 vector, client and session),
// AUTH PLAIN (RFC 5034), USER/PASS, and the refusal to send a password in clear text.
#include <gtest/gtest.h>

#include "client/pop3/session.hpp"
#include "pop3_harness.hpp"
#include "proto/sasl/sasl.hpp"
#include "proto/sasl/scram_client.hpp"

namespace tern::client::pop3 {
namespace {

using namespace testing;
using sasl::base64_encode;

// RFC 7677 §3.
constexpr const char* kNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

TEST(Pop3ClientScram, Rfc7677Vector) {
    sasl::ScramClient c("user", "pencil", kNonce);
    auto first = c.first();
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    auto fin = c.final(kServerFirst);
    ASSERT_TRUE(fin) << fin.error().message;
    EXPECT_EQ(*fin, kClientFinal);
    EXPECT_FALSE(c.verified());
    EXPECT_TRUE(c.verify(kServerFinal));
    EXPECT_TRUE(c.verified());
}

TEST(Pop3ClientScram, RefusesBadServerMessages) {
    auto final_of = [](std::string server_first) {
        sasl::ScramClient c("user", "pencil", kNonce);
        EXPECT_TRUE(c.first());
        return c.final(server_first).has_value();
    };
    EXPECT_FALSE(final_of("r=someoneElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));  // nonce not ours
    EXPECT_FALSE(final_of("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));  // nothing added
    EXPECT_FALSE(final_of("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1"));   // too few rounds
    EXPECT_FALSE(final_of("r=rOprNGfwEbeRWgbNEkqOx,s=!!!,i=4096"));
    EXPECT_FALSE(final_of("m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
    EXPECT_FALSE(final_of("r=rOprNGfwEbeRWgbNEkqOx,i=4096"));
    sasl::ScramClient c("user", "pencil", kNonce);
    ASSERT_TRUE(c.first());
    ASSERT_TRUE(c.final(kServerFirst));
    EXPECT_FALSE(c.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="));  // one bit off
    EXPECT_FALSE(c.verified());
    EXPECT_FALSE(final_of("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000"));  // a spin
    sasl::ScramClient e("user", "pencil", kNonce);
    ASSERT_TRUE(e.first());
    ASSERT_TRUE(e.final(kServerFirst));
    EXPECT_FALSE(e.verify("e=invalid-proof"));
    EXPECT_EQ(sasl::scram_escape_name("a,b=c"), "a=2Cb=3Dc");
    sasl::ScramClient odd("a,b=c", "pencil", kNonce);
    EXPECT_EQ(*odd.first(), "n,,n=a=2Cb=3Dc,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(Pop3ClientLogin, ApopTimestampExtraction) {
    EXPECT_EQ(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
              "<1896.697170952@dbc.mtview.ca.us>");
    EXPECT_EQ(apop_timestamp("ready"), "");
    EXPECT_EQ(apop_timestamp("ready <>"), "");
    EXPECT_EQ(apop_timestamp("ready <a b>"), "");
    EXPECT_EQ(apop_timestamp("ready <unterminated"), "");
}

TEST(Pop3ClientLogin, ApopRfc1939Example) {
    Options o;
    o.user = "mrose";
    o.password = "tanstaaf";
    o.use_apop = true;
    auto run = converse_all_splits(o, [](Session& s) { s.stat(); },
                                   {kGreeting, kCapaPlain, "+OK mrose's maildrop has 2 messages (320 octets)\r\n",
                                    "+OK 2 320\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\n");
    EXPECT_EQ(run.method, LoginMethod::Apop);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_TRUE(run.outcomes[0].ok);
    EXPECT_EQ(run.outcomes[0].count, 2u);
    EXPECT_EQ(run.outcomes[0].size, 320u);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(Pop3ClientLogin, ApopNeedsATimestamp) {
    Options o = user_options();
    o.method = LoginMethod::Apop;
    auto run = converse_all_splits(o, {}, {"+OK ready\r\n", kCapaPlain});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent, "CAPA\r\nQUIT\r\n");
}

std::string scram_capa() { return "+OK\r\nSASL PLAIN SCRAM-SHA-256\r\nUSER\r\n.\r\n"; }

TEST(Pop3ClientLogin, ScramRfc7677ThroughTheSession) {
    Options o;
    o.user = "user";
    o.password = "pencil";
    o.scram_nonce = kNonce;
    auto run = converse_all_splits(
        o, [](Session& s) { s.noop(); },
        {kGreeting, scram_capa(), "+ " + base64_encode(kServerFirst) + "\r\n",
         "+ " + base64_encode(kServerFinal) + "\r\n", "+OK welcome\r\n", "+OK\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nAUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO") +
                            "\r\n" + base64_encode(kClientFinal) + "\r\n\r\nNOOP\r\n");
    EXPECT_EQ(run.method, LoginMethod::Scram);
    EXPECT_EQ(run.end, ConnectionEnd::Open);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_TRUE(run.outcomes[0].ok);
}

TEST(Pop3ClientLogin, ScramWrongServerSignatureCancels) {
    Options o;
    o.user = "user";
    o.password = "pencil";
    o.scram_nonce = kNonce;
    auto run = converse_all_splits(
        o, [](Session& s) { s.noop(); },
        {kGreeting, scram_capa(), "+ " + base64_encode(kServerFirst) + "\r\n",
         "+ " + base64_encode("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") + "\r\n", "-ERR cancelled\r\n"});
    EXPECT_TRUE(run.sent.ends_with(base64_encode(kClientFinal) + "\r\n*\r\nQUIT\r\n")) << run.sent;
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_FALSE(run.outcomes[0].ok);
    EXPECT_FALSE(run.outcomes[0].from_server);
}

TEST(Pop3ClientLogin, ScramOkWithoutServerProofIsNoLogin) {
    Options o;
    o.user = "user";
    o.password = "pencil";
    o.scram_nonce = kNonce;
    auto run = converse_all_splits(o, {}, {kGreeting, scram_capa(), "+ " + base64_encode(kServerFirst) + "\r\n",
                                           "+OK trust me\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_TRUE(run.sent.ends_with("QUIT\r\n"));
}

TEST(Pop3ClientLogin, NoClearTextPasswordWithoutTls) {
    auto run = converse_all_splits(user_options(), [](Session& s) { s.stat(); },
                                   {kGreeting, "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent, "CAPA\r\nQUIT\r\n");
    EXPECT_EQ(run.sent.find("secret"), std::string::npos);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_FALSE(run.outcomes[0].ok);
    // Even when asked for explicitly.
    Options o = user_options();
    o.method = LoginMethod::UserPass;
    run = converse_all_splits(o, {}, {kGreeting, "-ERR no CAPA\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent.find("PASS"), std::string::npos);
}

TEST(Pop3ClientLogin, PlainPreferredOverUserWhenAllowed) {
    Options o = user_options();
    o.allow_plaintext_password = true;
    auto run = converse_all_splits(o, {}, {kGreeting, "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n", "+OK in\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nAUTH PLAIN " + base64_encode(std::string("\0alice@example.org\0secret", 25)) + "\r\n");
    EXPECT_EQ(run.method, LoginMethod::Plain);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(Pop3ClientLogin, UserPassOnOldServer) {
    Options o = user_options();
    o.allow_plaintext_password = true;
    auto run = converse_all_splits(o, {}, {kGreeting, "-ERR what is CAPA\r\n", "+OK\r\n", "+OK in\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\n");
    EXPECT_FALSE(run.caps.known);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(Pop3ClientLogin, RefusalKeepsResponseCode) {
    Options o = user_options();
    o.allow_plaintext_password = true;
    Session s(o);
    s.uidl();
    s.receive(kGreeting);
    s.advance();
    s.receive(kCapaPlain);
    s.advance();
    s.receive("+OK\r\n");
    s.advance();
    s.receive("-ERR [IN-USE] maildrop locked\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.next, Session::Next::Close);
    EXPECT_EQ(a.output, "QUIT\r\n");
    EXPECT_EQ(s.end(), ConnectionEnd::AuthFailed);
    EXPECT_EQ(s.end_status().code, "IN-USE");
    auto out = s.take_outcomes();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, "IN-USE");
    EXPECT_FALSE(out[0].from_server);
}

TEST(Pop3ClientLogin, GreetingRefused) {
    auto run = converse_all_splits(user_options(), [](Session& s) { s.stat(); }, {"-ERR [SYS/TEMP] go away\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::GreetingRefused);
    EXPECT_EQ(run.sent, "");
    EXPECT_EQ(run.last, Session::Next::Close);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_EQ(run.outcomes[0].code, "SYS/TEMP");
}

TEST(Pop3ClientTls, StlsThenCapaAgainThenPassword) {
    auto run = converse_all_splits(
        user_options(), {},
        {kGreeting, "+OK\r\nSTLS\r\nUSER\r\n.\r\n", "+OK Begin TLS negotiation\r\n",
         "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n", "+OK\r\n", "+OK in\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nSTLS\r\nCAPA\r\nUSER alice@example.org\r\nPASS secret\r\n");
    EXPECT_EQ(run.handshakes, 1);
    EXPECT_TRUE(run.caps.pipelining);
    EXPECT_FALSE(run.caps.stls);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(Pop3ClientTls, BytesBeforeTheHandshakeAreNeverUsed) {
    // RFC 2595 §4 / CVE-2011-0411 in reverse: a man in the middle appends a fake CAPA answer to
    // the plaintext "+OK"; the client must ask CAPA again over TLS and use only that answer.
    auto run = converse(user_options(), {},
                        {kGreeting, "+OK\r\nSTLS\r\nUSER\r\n.\r\n",
                         "+OK Begin TLS\r\n+OK\r\nSASL PLAIN\r\n.\r\n",
                         "+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n"},
                        1000);
    EXPECT_EQ(run.handshakes, 1);
    EXPECT_TRUE(run.caps.has_sasl("SCRAM-SHA-256"));
    EXPECT_FALSE(run.caps.has_sasl("PLAIN"));
    EXPECT_EQ(run.end, ConnectionEnd::Open);
    EXPECT_TRUE(run.sent.starts_with("CAPA\r\nSTLS\r\nCAPA\r\nAUTH SCRAM-SHA-256 ")) << run.sent;
}

TEST(Pop3ClientTls, RequiredButNotOffered) {
    Options o = user_options();
    o.require_tls = true;
    auto run = converse_all_splits(o, {}, {kGreeting, kCapaPlain});
    EXPECT_EQ(run.end, ConnectionEnd::TlsUnavailable);
    EXPECT_EQ(run.sent, "CAPA\r\nQUIT\r\n");
    run = converse_all_splits(o, {}, {kGreeting, "+OK\r\nSTLS\r\n.\r\n", "-ERR no TLS today\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::TlsUnavailable);
    EXPECT_EQ(run.sent, "CAPA\r\nSTLS\r\nQUIT\r\n");
}

TEST(Pop3ClientTls, OpportunisticRefusalStillNoClearPassword) {
    auto run = converse_all_splits(user_options(), {}, {kGreeting, "+OK\r\nSTLS\r\nUSER\r\n.\r\n", "-ERR no\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent, "CAPA\r\nSTLS\r\nQUIT\r\n");
}

TEST(Pop3ClientTls, ImplicitTlsNeedsNoStls) {
    Options o = user_options();
    o.implicit_tls = true;
    auto run = converse_all_splits(o, {}, {kGreeting, kCapaPlain, "+OK\r\n", "+OK\r\n"});
    EXPECT_EQ(run.sent, "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\n");
    EXPECT_EQ(run.handshakes, 0);
}

TEST(Pop3ClientLogin, NoCommandInjectionThroughCredentials) {
    for (auto [user, pass] : {std::pair<std::string, std::string>{"alice\r\nDELE 1", "secret"},
                              {"alice", "secret\r\nDELE 1"},
                              {"alice", std::string("se\0cret", 7)},
                              {"", "secret"}}) {
        Options o;
        o.user = user;
        o.password = pass;
        o.allow_plaintext_password = true;
        auto run = converse_all_splits(o, {}, {kGreeting, kCapaPlain});
        EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
        EXPECT_EQ(run.sent, "CAPA\r\nQUIT\r\n");
    }
}

TEST(Pop3ClientTls, BytesDuringTheHandshakeAreDropped) {
    Session s(user_options());
    s.receive(kGreeting);
    s.advance();
    s.receive("+OK\r\nSTLS\r\n.\r\n");
    s.advance();
    s.receive("+OK go\r\n");
    EXPECT_EQ(s.advance().next, Session::Next::StartTls);
    s.receive("+OK\r\nUSER\r\n.\r\n");  // plaintext that arrived while the handshake ran
    s.tls_started();
    auto a = s.advance();
    EXPECT_EQ(a.output, "CAPA\r\n");
    s.receive("+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n");
    a = s.advance();
    EXPECT_TRUE(a.output.starts_with("AUTH SCRAM-SHA-256 ")) << a.output;
    EXPECT_FALSE(s.capabilities().user);
}

TEST(Pop3ClientLogin, TraceMasksSecrets) {
    EXPECT_EQ(mask_secrets("CAPA\r\nUSER alice\r\nPASS secret\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
                           "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH SCRAM-SHA-256\r\nbj0sLHI9\r\n\r\n*\r\n"
                           "RETR 1\r\nQUIT\r\n"),
              "CAPA\r\nUSER alice\r\nPASS ****\r\nAPOP mrose ****\r\nAUTH PLAIN ****\r\nAUTH SCRAM-SHA-256\r\n"
              "****\r\n\r\n*\r\nRETR 1\r\nQUIT\r\n");
}

TEST(Pop3ClientTls, HandshakeFailure) {
    Session s(user_options());
    s.receive(kGreeting);
    s.advance();
    s.receive("+OK\r\nSTLS\r\n.\r\n");
    EXPECT_EQ(s.advance().output, "STLS\r\n");
    s.receive("+OK go\r\n");
    EXPECT_EQ(s.advance().next, Session::Next::StartTls);
    s.tls_failed("bad certificate");
    EXPECT_EQ(s.end(), ConnectionEnd::TlsFailed);
    EXPECT_EQ(s.advance().next, Session::Next::Close);
}

}  // namespace
}  // namespace tern::client::pop3
