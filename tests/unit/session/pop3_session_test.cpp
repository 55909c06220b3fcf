// Transcript tests of the POP3 session state machine (RFC 1939, 2449, 2595, 5034, 3206): every
// state, every command, every error path, the TLS and plaintext rules, locking and the UPDATE state,
// and input split at every point. Must assert the exact bytes a client would see.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/log.hpp"
#include "pop3_transcript.hpp"
#include "proto/pop3/apop.hpp"

namespace tern::pop3::testing {
namespace {

const std::string kTimestamp = "<4242.1.1795000000@pop.example.org>";
const std::string kAuthFailed = "-ERR [AUTH] Authentication failed\r\n";
const std::string kAliceIn = "+OK Maildrop locked and ready, 3 messages (106 octets)\r\n";
const std::string kNeedTls = "-ERR [AUTH] Plaintext authentication requires TLS (use STLS)\r\n";
const std::string kWrongState = "-ERR Command not valid in this state\r\n";

std::string apop_line(std::string_view user = "alice@example.org", std::string_view secret = "tanstaaf") {
    return "APOP " + std::string(user) + " " + apop_digest(kTimestamp, secret) + "\r\n";
}

// Logs alice in with APOP (allowed without TLS) and checks it worked.
void login_alice(Transcript& t) { ASSERT_EQ(t.send(apop_line()), kAliceIn); }

TEST(Pop3Session, GreetingCarriesApopTimestamp) {
    Transcript t;
    EXPECT_EQ(t.greeting(), "+OK pop.example.org POP3 ready " + kTimestamp + "\r\n");
    EXPECT_EQ(t.session().apop_timestamp(), kTimestamp);
    EXPECT_FALSE(t.session().authenticated());
}

// ---- CAPA and TLS --------------------------------------------------------------------------------

TEST(Pop3Session, CapaBeforeAndAfterTls) {
    Transcript t(tls_config());
    const std::string common = "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    // Before TLS: no USER, no plaintext SASL mechanisms, STLS offered (RFC 2595 §3.1, §4).
    EXPECT_EQ(t.send("CAPA\r\n"), common + "SASL SCRAM-SHA-256\r\nSTLS\r\nIMPLEMENTATION Tern\r\n.\r\n");
    EXPECT_EQ(t.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
    EXPECT_EQ(t.tls_handshakes, 1);
    EXPECT_TRUE(t.session().tls_active());
    EXPECT_EQ(t.send("CAPA\r\n"),
              common + "USER\r\nSASL SCRAM-SHA-256 PLAIN LOGIN\r\nIMPLEMENTATION Tern\r\n.\r\n");
    // A second STLS is refused (RFC 2595 §4).
    EXPECT_EQ(t.send("STLS\r\n"), "-ERR Command not permitted when TLS active\r\n");
    login_alice(t);
    // TRANSACTION: the authentication capabilities are gone (RFC 2449 §5).
    EXPECT_EQ(t.send("CAPA\r\n"), common + "IMPLEMENTATION Tern\r\n.\r\n");
    EXPECT_EQ(t.send("STLS\r\n"), kWrongState);
}

TEST(Pop3Session, CapaWithoutTlsSupport) {
    Transcript t;  // no certificate, plaintext off: only SCRAM, no STLS
    EXPECT_EQ(t.send("CAPA\r\n"), "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
                                  "PIPELINING\r\nSASL SCRAM-SHA-256\r\nIMPLEMENTATION Tern\r\n.\r\n");
    EXPECT_EQ(t.send("STLS\r\n"), "-ERR STLS not available\r\n");
    Transcript p(plaintext_config());
    EXPECT_NE(p.send("CAPA\r\n").find("USER\r\nSASL SCRAM-SHA-256 PLAIN LOGIN\r\n"), std::string::npos);
}

TEST(Pop3Session, ImplicitTlsNeedsNoStls) {
    auto cfg = tls_config();
    cfg.tls_active = true;  // pop3s
    Transcript t(cfg);
    std::string capa = t.send("CAPA\r\n");
    EXPECT_NE(capa.find("USER\r\n"), std::string::npos);
    EXPECT_EQ(capa.find("STLS"), std::string::npos);
    EXPECT_EQ(t.send("USER alice@example.org\r\nPASS secret\r\n"), "+OK Send password\r\n" + kAliceIn);
}

// CVE-2011-0411: a command pipelined behind STLS must never be answered, before or after TLS.
TEST(Pop3Session, StlsDropsPipelinedInput) {
    Transcript t(tls_config());
    EXPECT_EQ(t.send("STLS\r\nCAPA\r\n"), "+OK Begin TLS negotiation\r\n");
    EXPECT_EQ(t.session().buffered(), 0u);
    EXPECT_EQ(t.send(""), "");
    // Bytes that arrive while the handshake runs are dropped too.
    Transcript u(tls_config());
    u.during_handshake = "USER alice@example.org\r\nPASS secret\r\n";
    EXPECT_EQ(u.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
    EXPECT_EQ(u.send("PASS secret\r\n"), "-ERR USER first\r\n") << "no USER survived the handshake";
    EXPECT_TRUE(u.checked_users.empty());
}

TEST(Pop3Session, StlsStepByStep) {
    FakeHost host;
    Session s(tls_config(), host, "S1");
    s.receive("USER a\r\nSTLS\r\nUSER injected\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.output, kNeedTls + "+OK Begin TLS negotiation\r\n");
    EXPECT_EQ(a.next, Session::Next::StartTls);
    s.receive("NOOP\r\n");  // plaintext after STLS: ignored
    EXPECT_EQ(s.advance().next, Session::Next::StartTls) << "nothing is processed until tls_started()";
    s.tls_started();
    a = s.advance();
    EXPECT_EQ(a.output, "");
    EXPECT_EQ(a.next, Session::Next::Read);
    s.receive("USER alice@example.org\r\n");
    EXPECT_EQ(s.advance().output, "+OK Send password\r\n");
}

// ---- USER / PASS ---------------------------------------------------------------------------------

TEST(Pop3Session, UserPassGoesThroughVerifyStep) {
    FakeHost host;
    Session s(plaintext_config(), host, "S1");
    s.receive("USER Alice@Example.org\r\nPASS secret\r\nSTAT\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.output, "+OK Send password\r\n");
    ASSERT_EQ(a.next, Session::Next::VerifyPassword);
    EXPECT_EQ(s.buffered(), 6u) << "STAT waits for the verdict";
    EXPECT_EQ(s.advance().next, Session::Next::VerifyPassword) << "still waiting";
    auto check = s.take_password_check();
    EXPECT_EQ(check.user, "Alice@Example.org");
    EXPECT_EQ(check.password, "secret");
    EXPECT_EQ(s.take_password_check().password, "") << "handed over once";
    EXPECT_TRUE(host.lock_calls.empty()) << "no lock before the verdict";
    s.password_checked(true);
    a = s.advance();
    EXPECT_EQ(a.output, kAliceIn + "+OK 3 106\r\n");
    EXPECT_EQ(a.next, Session::Next::Read);
    EXPECT_TRUE(s.authenticated());
    EXPECT_EQ(s.account(), "alice@example.org");
    EXPECT_EQ(host.locked.count("alice@example.org"), 1u);
}

TEST(Pop3Session, PasswordWithSpaces) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("USER bob@example.org\r\nPASS hunter2 with spaces\r\n"),
              "+OK Send password\r\n+OK Maildrop locked and ready, 0 messages (0 octets)\r\n");
}

TEST(Pop3Session, WrongPasswordAndUnknownUserLookAlike) {
    Transcript t(plaintext_config());
    std::string wrong = t.send("USER alice@example.org\r\nPASS nope\r\n");
    std::string unknown = t.send("USER nobody@example.org\r\nPASS secret\r\n");
    EXPECT_EQ(wrong, "+OK Send password\r\n" + kAuthFailed);
    EXPECT_EQ(unknown, wrong);
    EXPECT_EQ(t.session().auth_failures(), 2u);
    EXPECT_EQ(t.checked_users, (std::vector<std::string>{"alice@example.org", "nobody@example.org"}))
        << "both went through the same verify step";
    EXPECT_TRUE(t.host().lock_calls.empty());
    EXPECT_FALSE(t.closed);
}

TEST(Pop3Session, AuthFailureLimitCloses) {
    Transcript t(plaintext_config());
    t.send("USER alice@example.org\r\nPASS 1\r\n");
    EXPECT_EQ(t.send(apop_line("alice@example.org", "wrong")), kAuthFailed);
    EXPECT_FALSE(t.closed);
    EXPECT_EQ(t.send("AUTH PLAIN " + b64(std::string("\0alice@example.org\0bad", 22)) + "\r\nCAPA\r\n"), kAuthFailed);
    EXPECT_TRUE(t.closed) << "third failure closes (limit 3)";
    EXPECT_TRUE(t.host().lock_calls.empty());
}

TEST(Pop3Session, PassNeedsUserFirst) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("PASS secret\r\n"), "-ERR USER first\r\n");
    // RFC 1939 §7: PASS must follow USER immediately; CAPA in between forgets the name.
    t.send("USER alice@example.org\r\n");
    t.send("CAPA\r\n");
    EXPECT_EQ(t.send("PASS secret\r\n"), "-ERR USER first\r\n");
    EXPECT_TRUE(t.checked_users.empty());
}

TEST(Pop3Session, PlaintextRefusedWithoutTls) {
    Transcript t(tls_config());
    EXPECT_EQ(t.send("USER alice@example.org\r\n"), kNeedTls);
    EXPECT_EQ(t.send("PASS secret\r\n"), "-ERR USER first\r\n");
    EXPECT_EQ(t.send("AUTH PLAIN\r\n"), kNeedTls);
    EXPECT_EQ(t.send("AUTH login\r\n"), kNeedTls);
    EXPECT_TRUE(t.checked_users.empty());
    Transcript n;  // no TLS at all
    EXPECT_EQ(n.send("USER alice@example.org\r\n"), "-ERR [AUTH] Plaintext authentication disabled\r\n");
    // APOP never sends the password: allowed.
    login_alice(n);
}

// ---- APOP ----------------------------------------------------------------------------------------

TEST(Pop3Session, Apop) {
    Transcript t;
    EXPECT_EQ(t.send(apop_line("alice@example.org", "wrong")), kAuthFailed);
    EXPECT_EQ(t.send(apop_line("nobody@example.org", "tanstaaf")), kAuthFailed) << "unknown user: same reply";
    EXPECT_EQ(t.send("APOP alice@example.org c4c9334bac560ecc979e58001b3e22fb\r\n"), kAuthFailed)
        << "a digest for another timestamp";
    EXPECT_TRUE(t.closed);
    Transcript u;
    std::string digest = apop_digest(kTimestamp, "tanstaaf");
    for (auto& c : digest) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(u.send("apop ALICE@example.org " + digest + "\r\n"), kAliceIn);
    EXPECT_EQ(u.session().account(), "alice@example.org");
    EXPECT_EQ(u.send("APOP x y\r\n"), kWrongState);
}

// ---- AUTH (RFC 5034) -----------------------------------------------------------------------------

TEST(Pop3Session, AuthPlainInitialResponse) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("AUTH PLAIN " + b64(std::string("\0alice@example.org\0secret", 25)) + "\r\n"), kAliceIn);
    EXPECT_EQ(t.checked_users, std::vector<std::string>{"alice@example.org"});
}

TEST(Pop3Session, AuthPlainChallengeAndAuthzid) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("AUTH PLAIN\r\n"), "+ \r\n");
    // authzid equal to the authcid (up to canonical form) is accepted.
    EXPECT_EQ(t.send(b64(std::string("ALICE@example.org\0alice@example.org\0secret", 42)) + "\r\n"), kAliceIn);
    Transcript u(plaintext_config());
    // Another authzid: no proxy logins.
    EXPECT_EQ(u.send("AUTH PLAIN " + b64(std::string("bob@example.org\0alice@example.org\0secret", 40)) + "\r\n"),
              kAuthFailed);
    EXPECT_TRUE(u.host().lock_calls.empty());
    // Wrong password through SASL: the same reply.
    EXPECT_EQ(u.send("AUTH PLAIN " + b64(std::string("\0alice@example.org\0nope", 23)) + "\r\n"), kAuthFailed);
    EXPECT_TRUE(u.closed == false);
}

TEST(Pop3Session, AuthLogin) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
    EXPECT_EQ(t.send(b64("alice@example.org") + "\r\n"), "+ UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(t.send(b64("secret") + "\r\n"), kAliceIn);
    Transcript u(plaintext_config());
    EXPECT_EQ(u.send("AUTH LOGIN " + b64("alice@example.org") + "\r\n" + b64("bad") + "\r\n"),
              "+ UGFzc3dvcmQ6\r\n" + kAuthFailed);
}

TEST(Pop3Session, AuthCancelBadBase64AndUnknownMechanism) {
    Transcript t(plaintext_config());
    EXPECT_EQ(t.send("AUTH PLAIN\r\n*\r\n"), "+ \r\n-ERR Authentication cancelled\r\n");
    EXPECT_EQ(t.send("AUTH PLAIN\r\n!!!\r\n"), "+ \r\n" + kAuthFailed);
    EXPECT_EQ(t.send("AUTH PLAIN %%%\r\n"), kAuthFailed);
    EXPECT_FALSE(t.closed) << "a cancel is not a failure";
    EXPECT_EQ(t.send("AUTH PLAIN\r\n" + b64("no nul") + "\r\n"), "+ \r\n" + kAuthFailed);
    EXPECT_TRUE(t.closed);
    Transcript u(plaintext_config());
    EXPECT_EQ(u.send("AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism\r\n");
    EXPECT_EQ(u.send("AUTH\r\n"), "-ERR Syntax: AUTH mechanism [initial-response]\r\n");
    // "=" is an empty initial response (RFC 5034 §4): PLAIN cannot parse it.
    EXPECT_EQ(u.send("AUTH PLAIN =\r\n"), kAuthFailed);
    // A SASL line longer than the limit fails the exchange without desynchronising.
    auto cfg = plaintext_config();
    cfg.limits.sasl_line = 64;
    Transcript v(cfg);
    EXPECT_EQ(v.send("AUTH PLAIN\r\n" + std::string(100, 'A') + "\r\nCAPA\r\n").substr(0, 4 + kAuthFailed.size()),
              "+ \r\n" + kAuthFailed);
    EXPECT_EQ(v.send("NOOP\r\n"), kWrongState);
}

// A SCRAM-SHA-256 client (RFC 5802 §3) good enough to drive the session.
struct ScramClient {
    ScramClient(std::string pw, std::string u) : password(std::move(pw)), user(std::move(u)) {}
    std::string password, user, cnonce = "clientnonce123", first_bare, auth_message, salted;
    std::string first() {
        first_bare = "n=" + user + ",r=" + cnonce;
        return "n,," + first_bare;
    }
    static std::string hmac(std::string_view key, std::string_view data) {
        unsigned char out[32];
        unsigned len = 0;
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
             data.size(), out, &len);
        return std::string(reinterpret_cast<char*>(out), len);
    }
    std::string final(const std::string& server_first) {
        auto field = [&](char k) {
            auto p = server_first.find(std::string(1, k) + "=");
            auto e = server_first.find(',', p);
            return server_first.substr(p + 2, e == std::string::npos ? std::string::npos : e - p - 2);
        };
        std::string nonce = field('r'), salt = *sasl::base64_decode(field('s'));
        int iters = std::stoi(field('i'));
        unsigned char sp[32];
        PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iters,
                          EVP_sha256(), 32, sp);
        salted.assign(reinterpret_cast<char*>(sp), 32);
        std::string without_proof = "c=biws,r=" + nonce;
        auth_message = first_bare + "," + server_first + "," + without_proof;
        std::string client_key = hmac(salted, "Client Key");
        unsigned char stored[32];
        unsigned len = 0;
        EVP_Digest(client_key.data(), client_key.size(), stored, &len, EVP_sha256(), nullptr);
        std::string sig = hmac(std::string_view(reinterpret_cast<char*>(stored), 32), auth_message);
        std::string proof = client_key;
        for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ sig[i]);
        return without_proof + ",p=" + sasl::base64_encode(proof);
    }
    std::string expected_server_final() const {
        return "v=" + sasl::base64_encode(hmac(hmac(salted, "Server Key"), auth_message));
    }
};

std::string challenge_of(std::string_view line) {
    EXPECT_TRUE(line.starts_with("+ ") && line.ends_with("\r\n")) << line;
    if (line.size() < 4) return {};
    return sasl::base64_decode(line.substr(2, line.size() - 4)).value_or("<bad base64>");
}

TEST(Pop3Session, AuthScramFullExchange) {
    Transcript t;  // SCRAM needs no TLS
    t.scram["alice@example.org"] = *sasl::derive_scram("secret", "saltsaltsaltsalt", 4096);
    ScramClient c{"secret", "alice@example.org"};
    std::string server_first = challenge_of(t.send("AUTH SCRAM-SHA-256 " + b64(c.first()) + "\r\n"));
    EXPECT_EQ(t.scram_users, std::vector<std::string>{"alice@example.org"});
    ASSERT_TRUE(server_first.starts_with("r=" + c.cnonce)) << server_first;
    // Server-final data is sent as a challenge, the client answers with an empty line (RFC 4422 §5).
    std::string server_final = challenge_of(t.send(b64(c.final(server_first)) + "\r\n"));
    EXPECT_EQ(server_final, c.expected_server_final());
    EXPECT_FALSE(t.session().authenticated());
    EXPECT_EQ(t.send("\r\n"), kAliceIn);
    EXPECT_TRUE(t.session().authenticated());
}

TEST(Pop3Session, AuthScramWrongPasswordAndUnknownUser) {
    for (std::string user : {"alice@example.org", "nobody@example.org"}) {
        Transcript t;
        t.scram["alice@example.org"] = *sasl::derive_scram("secret", "saltsaltsaltsalt", 4096);
        ScramClient c{"wrong", user};
        EXPECT_EQ(t.send("AUTH SCRAM-SHA-256\r\n"), "+ \r\n");
        std::string server_first = challenge_of(t.send(b64(c.first()) + "\r\n"));
        EXPECT_TRUE(server_first.starts_with("r=" + c.cnonce)) << user;
        EXPECT_EQ(t.send(b64(c.final(server_first)) + "\r\n"), kAuthFailed) << user;
        EXPECT_TRUE(t.host().lock_calls.empty());
    }
}

// ---- Locking -------------------------------------------------------------------------------------

TEST(Pop3Session, LockContention) {
    FakeHost host;
    Transcript first(make_config(), &host, "A");
    Transcript second(make_config(), &host, "B");
    login_alice(first);
    // RFC 2449 §8.1.2: the second session is told the maildrop is in use and stays in AUTHORIZATION.
    EXPECT_EQ(second.send(apop_line()), "-ERR [IN-USE] Maildrop already locked\r\n");
    EXPECT_FALSE(second.session().authenticated());
    EXPECT_EQ(second.send("STAT\r\n"), kWrongState);
    EXPECT_EQ(first.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (3 messages left)\r\n");
    EXPECT_EQ(second.send(apop_line()), kAliceIn) << "free again after QUIT";
}

TEST(Pop3Session, LockAndSnapshotFailures) {
    Transcript t;
    t.host().lock_error = true;
    EXPECT_EQ(t.send(apop_line()), "-ERR [SYS/TEMP] Unable to lock maildrop\r\n");
    t.host().lock_error = false;
    t.host().snapshot_fails = true;
    EXPECT_EQ(t.send(apop_line()), "-ERR [SYS/TEMP] Unable to open maildrop\r\n");
    EXPECT_TRUE(t.host().locked.empty()) << "unlocked after the failed snapshot";
    t.host().snapshot_fails = false;
    t.host().maildrops["alice@example.org"][1].uidl = "has space";
    EXPECT_EQ(t.send(apop_line()), "-ERR [SYS/PERM] Maildrop is damaged, contact your administrator\r\n");
    t.host().maildrops["alice@example.org"][1].uidl = "1795000000.10";  // duplicate
    EXPECT_EQ(t.send(apop_line()), "-ERR [SYS/PERM] Maildrop is damaged, contact your administrator\r\n");
    EXPECT_TRUE(t.host().locked.empty());
    EXPECT_FALSE(t.closed) << "none of these are credential failures";
}

// ---- TRANSACTION ---------------------------------------------------------------------------------

TEST(Pop3Session, StatListUidl) {
    Transcript t;
    login_alice(t);
    EXPECT_EQ(t.send("STAT\r\n"), "+OK 3 106\r\n");
    EXPECT_EQ(t.send("LIST\r\n"), "+OK 3 messages (106 octets)\r\n1 23\r\n2 44\r\n3 39\r\n.\r\n");
    EXPECT_EQ(t.send("LIST 2\r\n"), "+OK 2 44\r\n");
    EXPECT_EQ(t.send("UIDL\r\n"),
              "+OK Unique-ID listing follows\r\n1 1795000000.10\r\n2 1795000000.11\r\n3 1795000000.12\r\n.\r\n");
    EXPECT_EQ(t.send("uidl 3\r\n"), "+OK 3 1795000000.12\r\n");
    EXPECT_EQ(t.send("NOOP\r\n"), "+OK\r\n");
}

TEST(Pop3Session, NoSuchMessage) {
    Transcript t;
    login_alice(t);
    for (std::string cmd : {"LIST 0", "LIST 4", "UIDL 99", "RETR 0", "RETR 18446744073709551616", "DELE 4", "TOP 9 1"})
        EXPECT_EQ(t.send(cmd + "\r\n"), "-ERR No such message\r\n") << cmd;
    EXPECT_EQ(t.host().reads, 0);
    EXPECT_FALSE(t.closed) << "not counted as bad commands";
}

TEST(Pop3Session, RetrByteStuffsAndTerminates) {
    Transcript t;
    login_alice(t);
    EXPECT_EQ(t.send("RETR 1\r\n"), "+OK 23 octets\r\nSubject: one\r\n\r\nhello\r\n.\r\n");
    // Dot-lines are stuffed, and the missing final CRLF is added before the terminator.
    EXPECT_EQ(t.send("RETR 2\r\n"),
              "+OK 44 octets\r\nSubject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nend\r\n.\r\n");
    t.host().read_fails = true;
    EXPECT_EQ(t.send("RETR 3\r\n"), "-ERR [SYS/TEMP] Unable to read message\r\n");
}

TEST(Pop3Session, Top) {
    Transcript t;
    login_alice(t);
    EXPECT_EQ(t.send("TOP 3 0\r\n"), "+OK Top of message follows\r\nFrom: x\r\nSubject: three\r\n\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 3 2\r\n"), "+OK Top of message follows\r\nFrom: x\r\nSubject: three\r\n\r\nl1\r\nl2\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 2 1\r\n"), "+OK Top of message follows\r\nSubject: dots\r\n\r\n..leading dot\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 1 1000\r\n"), "+OK Top of message follows\r\nSubject: one\r\n\r\nhello\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 1\r\n"), "-ERR Syntax: TOP msg lines\r\n");
}

TEST(Pop3Session, DeleThenRset) {
    Transcript t;
    login_alice(t);
    EXPECT_EQ(t.send("DELE 2\r\n"), "+OK Message 2 deleted\r\n");
    EXPECT_EQ(t.send("DELE 2\r\n"), "-ERR Message 2 already deleted\r\n");
    for (std::string cmd : {"RETR 2", "TOP 2 0", "LIST 2", "UIDL 2"})
        EXPECT_EQ(t.send(cmd + "\r\n"), "-ERR Message 2 already deleted\r\n") << cmd;
    EXPECT_EQ(t.send("STAT\r\n"), "+OK 2 62\r\n");
    EXPECT_EQ(t.send("LIST\r\n"), "+OK 2 messages (62 octets)\r\n1 23\r\n3 39\r\n.\r\n");
    EXPECT_EQ(t.send("UIDL\r\n"), "+OK Unique-ID listing follows\r\n1 1795000000.10\r\n3 1795000000.12\r\n.\r\n");
    EXPECT_EQ(t.send("RSET\r\n"), "+OK Maildrop has 3 messages (106 octets)\r\n");
    EXPECT_EQ(t.send("STAT\r\n"), "+OK 3 106\r\n");
    EXPECT_EQ(t.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (3 messages left)\r\n");
    EXPECT_TRUE(t.host().expunged.empty()) << "nothing marked: no expunge call";
    EXPECT_TRUE(t.host().locked.empty());
    EXPECT_TRUE(t.closed);
}

TEST(Pop3Session, QuitExpungesExactlyTheMarkedMessages) {
    Transcript t;
    login_alice(t);
    t.send("DELE 3\r\nDELE 1\r\n");
    EXPECT_EQ(t.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (1 messages left)\r\n");
    ASSERT_EQ(t.host().expunged.size(), 1u);
    EXPECT_EQ(t.host().expunged[0].first, "alice@example.org");
    EXPECT_EQ(t.host().expunged[0].second, (std::vector<std::uint32_t>{10, 12}));
    EXPECT_EQ(t.host().maildrops["alice@example.org"].size(), 1u);
    EXPECT_EQ(t.host().unlock_calls, std::vector<std::string>{"alice@example.org"});
    EXPECT_TRUE(t.closed);
}

TEST(Pop3Session, QuitHandsTheExpungeToTheNetworkLayerAndAnswersAfterIt) {
    // The expunge waits for the store's writer and fsync: the session asks for it (Next::Expunge)
    // instead of calling the host on the I/O thread, and keeps the maildrop locked meanwhile.
    Transcript t;
    login_alice(t);
    t.send("DELE 2\r\n");
    Session& s = t.session();
    s.receive("QUIT\r\nNOOP\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.output, "");
    ASSERT_EQ(a.next, Session::Next::Expunge);
    EXPECT_TRUE(t.host().expunged.empty()) << "the session itself never expunges";
    EXPECT_EQ(t.host().locked.count("alice@example.org"), 1u) << "still locked while expunging";
    EXPECT_EQ(s.advance().next, Session::Next::Expunge) << "still waiting; pipelined NOOP not taken";
    auto req = s.take_expunge();
    EXPECT_EQ(req.account, "alice@example.org");
    EXPECT_EQ(req.uids, std::vector<std::uint32_t>{11});
    s.expunged({});
    a = s.advance();
    EXPECT_EQ(a.output, "+OK pop.example.org POP3 server signing off (2 messages left)\r\n");
    EXPECT_EQ(a.next, Session::Next::Close);
    EXPECT_TRUE(t.host().locked.empty());
}

TEST(Pop3Session, ExpungeFailureIsSysTemp) {
    Transcript t;
    login_alice(t);
    t.host().expunge_fails = true;
    EXPECT_EQ(t.send("DELE 1\r\nQUIT\r\n"),
              "+OK Message 1 deleted\r\n-ERR [SYS/TEMP] Some deleted messages not removed\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_TRUE(t.host().locked.empty()) << "unlocked even so";
}

TEST(Pop3Session, QuitInAuthorization) {
    Transcript t;
    EXPECT_EQ(t.send("QUIT\r\nCAPA\r\n"), "+OK pop.example.org POP3 server signing off\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_TRUE(t.host().unlock_calls.empty());
}

TEST(Pop3Session, DropWithoutQuitDeletesNothing) {
    FakeHost host;
    {
        Transcript t(make_config(), &host);
        login_alice(t);
        t.send("DELE 1\r\nDELE 2\r\n");
        t.session().abort();  // the connection dropped
        EXPECT_TRUE(host.locked.empty());
        EXPECT_EQ(t.send("QUIT\r\n"), "") << "a closed session ignores input";
    }
    EXPECT_TRUE(host.expunged.empty());
    EXPECT_EQ(host.unlock_calls.size(), 1u) << "unlocked once, not again by the destructor";
    {
        Transcript t(make_config(), &host);  // destroyed without abort()
        login_alice(t);
        t.send("DELE 1\r\n");
    }
    EXPECT_TRUE(host.expunged.empty());
    EXPECT_TRUE(host.locked.empty());
    EXPECT_EQ(host.maildrops["alice@example.org"].size(), 3u);
}

TEST(Pop3Session, TimeoutAndShutdownDeleteNothing) {
    Transcript t;
    login_alice(t);
    t.send("DELE 1\r\n");
    EXPECT_EQ(t.session().timeout_reply(), "-ERR Disconnected for inactivity\r\n");
    EXPECT_TRUE(t.host().locked.empty());
    EXPECT_TRUE(t.host().expunged.empty());
    Transcript u;
    login_alice(u);
    EXPECT_EQ(u.session().shutdown_reply(), "-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    EXPECT_TRUE(u.host().locked.empty());
    EXPECT_EQ(u.send("NOOP\r\n"), "");
    EXPECT_TRUE(u.closed);
}

// ---- Errors and limits ---------------------------------------------------------------------------

TEST(Pop3Session, WrongStateCommands) {
    Transcript t(plaintext_config());
    for (std::string cmd : {"STAT", "LIST", "UIDL", "RETR 1", "DELE 1", "TOP 1 1", "RSET", "NOOP"})
        EXPECT_EQ(t.send(cmd + "\r\n"), kWrongState) << cmd;
    EXPECT_FALSE(t.closed) << "8 of the default 10 bad commands";
    EXPECT_EQ(t.send("QUIT 1\r\n"), "-ERR Syntax: QUIT\r\n");
    EXPECT_EQ(t.send("STAT\r\n"), "-ERR Too many bad commands, closing connection\r\n");
    EXPECT_TRUE(t.closed);
}

TEST(Pop3Session, WrongStateInTransaction) {
    Transcript t(plaintext_config());
    login_alice(t);
    for (std::string cmd : {"USER a", "PASS b", "AUTH PLAIN", "STLS"})
        EXPECT_EQ(t.send(cmd + "\r\n"), kWrongState) << cmd;
    EXPECT_TRUE(t.session().authenticated());
}

TEST(Pop3Session, UnknownAndMalformedCommands) {
    Transcript t;
    EXPECT_EQ(t.send("HELO x\r\n"), "-ERR Unknown command\r\n");
    EXPECT_EQ(t.send("LAST\r\n"), "-ERR Unknown command\r\n");
    EXPECT_EQ(t.send("CAPA now\r\n"), "-ERR Syntax: CAPA\r\n");
    login_alice(t);
    EXPECT_EQ(t.send("RETR one\r\n"), "-ERR Invalid message number\r\n");
    EXPECT_EQ(t.send("RETR\r\n"), "-ERR Syntax: RETR msg\r\n");
}

TEST(Pop3Session, LongLinesAndBareNewlines) {
    Transcript t;
    // RFC 2449 §4: 255 octets including CRLF.
    EXPECT_EQ(t.send("USER " + std::string(248, 'a') + "\r\n"), kNeedTls.substr(0, 0) +
                                                                    "-ERR [AUTH] Plaintext authentication disabled\r\n")
        << "253 octets: a command";
    EXPECT_EQ(t.send("USER " + std::string(249, 'a') + "\r\n"), "-ERR Line too long\r\n");
    EXPECT_EQ(t.send(std::string(1000, 'x')), "-ERR Line too long\r\n") << "said once per line";
    EXPECT_EQ(t.send(std::string(1000, 'x') + "\r\nCAPA\r\n").substr(0, 29), "+OK Capability list follows\r\n");
    EXPECT_EQ(t.send("NOOP\nQUIT\r\n"), "-ERR Bare CR or LF in command line\r\n");
    EXPECT_FALSE(t.closed) << "QUIT was part of the bad line";
    EXPECT_EQ(t.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off\r\n");
}

TEST(Pop3Session, BadCommandLimitClosesAndKeepsMail) {
    auto cfg = make_config();
    cfg.limits.bad_commands = 3;
    Transcript t(cfg);
    login_alice(t);
    t.send("DELE 1\r\n");
    EXPECT_EQ(t.send("BOGUS\r\n"), "-ERR Unknown command\r\n");
    EXPECT_EQ(t.send("USER x\r\n"), kWrongState);
    EXPECT_EQ(t.send("BOGUS\r\nNOOP\r\n"), "-ERR Too many bad commands, closing connection\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_TRUE(t.host().expunged.empty()) << "closing is not QUIT: no UPDATE state";
    EXPECT_TRUE(t.host().locked.empty());
}

TEST(Pop3Session, PipelinedCommandsAnsweredInOrder) {
    Transcript t;
    EXPECT_EQ(t.send(apop_line() + "STAT\r\nDELE 1\r\nLIST 1\r\nUIDL 2\r\nQUIT\r\n"),
              kAliceIn + "+OK 3 106\r\n+OK Message 1 deleted\r\n-ERR Message 1 already deleted\r\n"
                         "+OK 2 1795000000.11\r\n+OK pop.example.org POP3 server signing off (2 messages left)\r\n");
}

TEST(Pop3Session, OutputHighWaterYieldsContinue) {
    auto cfg = make_config();
    cfg.limits.output_high_water = 40;
    Transcript t(cfg);
    login_alice(t);
    std::string out = t.send("RETR 1\r\nRETR 1\r\nRETR 1\r\nNOOP\r\n");
    EXPECT_EQ(t.continues, 3);
    std::string one = "+OK 23 octets\r\nSubject: one\r\n\r\nhello\r\n.\r\n";
    EXPECT_EQ(out, one + one + one + "+OK\r\n");
}

// ---- RETR/TOP stream the message a chunk at a time ------------------------------------------------

// Messages whose stuffing or TOP cut lands on a chunk boundary for some chunk size.
const FakeMessage kStreamed[] = {
    {20, "Subject: s\r\n\r\na\r\n.b\r\n..c\r\n.\r\nend\r\n", "9.20"},
    {21, "Subject: no final CRLF\r\n\r\nx\r\n.y", "9.21"},
    {22, "", "9.22"},
    {23, "Subject: CR last\r\n\r\nz\r", "9.23"},
    {24, ".\r\n\r\n.\r\n.", "9.24"},
};

TEST(Pop3Session, RetrAndTopAreTheSameAtEveryChunkSize) {
    // What the whole-message functions make of each message is the reference.
    auto retr = [](const FakeMessage& m) {
        std::string out = "+OK " + std::to_string(m.data.size()) + " octets\r\n";
        append_multiline(out, m.data);
        return out;
    };
    auto top = [](const FakeMessage& m, std::uint64_t n) {
        std::string out = "+OK Top of message follows\r\n";
        append_multiline(out, top_of(m.data, n));
        return out;
    };
    for (std::size_t chunk = 1; chunk <= 40; ++chunk) {
        auto cfg = make_config();
        cfg.limits.message_chunk = chunk;
        Transcript t(cfg);
        t.host().maildrops["alice@example.org"].assign(std::begin(kStreamed), std::end(kStreamed));
        ASSERT_TRUE(t.send(apop_line()).starts_with("+OK Maildrop locked and ready, 5 messages"));
        for (std::size_t i = 0; i < std::size(kStreamed); ++i) {
            const FakeMessage& m = kStreamed[i];
            std::string n = std::to_string(i + 1);
            int before = t.continues;
            ASSERT_EQ(t.send("RETR " + n + "\r\n"), retr(m)) << "chunk " << chunk << ", message " << n;
            // One chunk per advance(): a message of more than one chunk yields Continue.
            std::size_t chunks = (m.data.size() + chunk - 1) / chunk;
            EXPECT_EQ(t.continues - before, chunks > 1 ? static_cast<int>(chunks - 1) : 0) << "chunk " << chunk;
            for (std::uint64_t lines : {0, 1, 2, 1000})
                ASSERT_EQ(t.send("TOP " + n + " " + std::to_string(lines) + "\r\n"), top(m, lines))
                    << "chunk " << chunk << ", message " << n << ", lines " << lines;
        }
    }
    // Spelled out: RFC 1939 §3 stuffing and terminator, whatever the chunking.
    auto cfg = make_config();
    cfg.limits.message_chunk = 17;  // "Subject: s\r\n\r\na\r\n" | ".b\r\n..."
    Transcript t(cfg);
    t.host().maildrops["alice@example.org"].assign(std::begin(kStreamed), std::end(kStreamed));
    ASSERT_TRUE(t.send(apop_line()).starts_with("+OK Maildrop locked and ready, 5 messages"));
    EXPECT_EQ(t.send("RETR 1\r\n"), "+OK 34 octets\r\nSubject: s\r\n\r\na\r\n..b\r\n...c\r\n..\r\nend\r\n.\r\n");
    EXPECT_EQ(t.send("RETR 2\r\n"), "+OK 31 octets\r\nSubject: no final CRLF\r\n\r\nx\r\n..y\r\n.\r\n");
    EXPECT_EQ(t.send("RETR 3\r\n"), "+OK 0 octets\r\n.\r\n");
    EXPECT_EQ(t.send("RETR 4\r\n"), "+OK 22 octets\r\nSubject: CR last\r\n\r\nz\r\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 1 0\r\n"), "+OK Top of message follows\r\nSubject: s\r\n\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 1 99\r\n"), "+OK Top of message follows\r\nSubject: s\r\n\r\na\r\n..b\r\n...c\r\n..\r\nend\r\n.\r\n");
    EXPECT_EQ(t.send("TOP 3 5\r\n"), "+OK Top of message follows\r\n.\r\n");
}

TEST(Pop3Session, PipelinedCommandsWaitForAStreamedMessage) {
    auto cfg = make_config();
    cfg.limits.message_chunk = 4;
    Transcript t(cfg);
    login_alice(t);
    std::string one = "+OK 23 octets\r\nSubject: one\r\n\r\nhello\r\n.\r\n";
    EXPECT_EQ(t.send("RETR 1\r\nNOOP\r\nRETR 1\r\nQUIT\r\n"),
              one + "+OK\r\n" + one + "+OK pop.example.org POP3 server signing off (3 messages left)\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(t.continues, 2 * 5);  // 23 octets in 6 chunks of 4, twice
}

TEST(Pop3Session, ReadFailureBeforeAnythingIsSentIsAnErrorAfterwardsACloses) {
    auto cfg = make_config();
    cfg.limits.message_chunk = 8;
    Transcript t(cfg);
    login_alice(t);
    t.host().fail_read_at = 0;  // the first read fails: the "+OK" has not left, "-ERR" replaces it
    EXPECT_EQ(t.send("NOOP\r\nRETR 1\r\nNOOP\r\n"), "+OK\r\n-ERR [SYS/TEMP] Unable to read message\r\n+OK\r\n");
    EXPECT_FALSE(t.closed);
    // A later read fails (the message was expunged by someone else): part of it is on the wire
    // and no terminator may pass it as whole, so the connection closes.
    t.host().fail_read_at = 10;
    EXPECT_EQ(t.send("RETR 1\r\nNOOP\r\n"), "+OK 23 octets\r\nSubject: o");
    EXPECT_TRUE(t.closed);
    EXPECT_TRUE(t.host().locked.empty()) << "unlocked, nothing deleted";
    EXPECT_TRUE(t.host().expunged.empty());
}

TEST(Pop3Session, TraceMasksCredentials) {
    log::set_trace(true);
    ::testing::internal::CaptureStderr();
    {
        Transcript t(plaintext_config());
        t.send("USER alice@example.org\r\nPASS secret\r\nQUIT\r\n");
        Transcript u(plaintext_config());
        u.send("AUTH PLAIN\r\n" + b64(std::string("\0alice@example.org\0secret", 25)) + "\r\n");
        u.send("auth plain " + b64(std::string("\0alice@example.org\0secret", 25)) + "\r\n");
        Transcript v;
        v.send(apop_line());
    }
    std::string log = ::testing::internal::GetCapturedStderr();
    log::set_trace(false);
    EXPECT_NE(log.find("pop3[P1] C: USER alice@example.org\n"), std::string::npos) << log;
    EXPECT_NE(log.find("pop3[P1] C: PASS ****\n"), std::string::npos) << log;
    EXPECT_NE(log.find("pop3[P1] C: ****\n"), std::string::npos) << log;
    EXPECT_NE(log.find("pop3[P1] C: auth plain ****\n"), std::string::npos) << log;
    EXPECT_NE(log.find("pop3[P1] C: APOP alice@example.org ****\n"), std::string::npos) << log;
    EXPECT_NE(log.find("pop3[P1] S: +OK Send password\n"), std::string::npos) << log;
    EXPECT_EQ(log.find("secret"), std::string::npos) << log;
    EXPECT_EQ(log.find(b64(std::string("\0alice@example.org\0secret", 25))), std::string::npos) << log;
    EXPECT_EQ(log.find(apop_digest(kTimestamp, "tanstaaf")), std::string::npos) << log;
}

// ---- Framing: the same conversation cut anywhere gives the same bytes ------------------------------

void expect_split_invariant(const std::string& conv, SessionConfig cfg) {
    Transcript whole(cfg);
    std::string expected = whole.send(conv);
    for (std::size_t split = 0; split <= conv.size(); ++split) {
        Transcript t(cfg);
        std::string out = t.send(conv.substr(0, split));
        out += t.send(conv.substr(split));
        ASSERT_EQ(out, expected) << "split at " << split;
        ASSERT_EQ(t.host().expunged, whole.host().expunged) << "split at " << split;
    }
    Transcript bytewise(cfg);
    std::string out;
    for (char c : conv) out += bytewise.send(std::string_view(&c, 1));
    EXPECT_EQ(out, expected);
    EXPECT_EQ(bytewise.host().expunged, whole.host().expunged);
}

TEST(Pop3Session, EverySplitPointGivesSameResult) {
    const std::string conv =
        "CAPA\r\nUSER alice@example.org\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 2\r\nTOP 3 1\r\nRETR 2\r\n"
        "DELE 1\r\nRSET\r\nDELE 2\r\nBOGUS\r\nNOOP\r\nQUIT\r\n";
    Transcript probe(plaintext_config());
    std::string out = probe.send(conv);
    ASSERT_TRUE(out.ends_with("(2 messages left)\r\n")) << out;
    ASSERT_EQ(probe.host().expunged.size(), 1u);
    EXPECT_EQ(probe.host().expunged[0].second, std::vector<std::uint32_t>{11});
    expect_split_invariant(conv, plaintext_config());
}

TEST(Pop3Session, EverySplitPointSasl) {
    const std::string conv = "AUTH PLAIN\r\n" + b64(std::string("\0alice@example.org\0secret", 25)) +
                             "\r\nDELE 3\r\nQUIT\r\n";
    expect_split_invariant(conv, plaintext_config());
    expect_split_invariant(apop_line() + "RETR 2\r\nQUIT\r\n", make_config());
}

}  // namespace
}  // namespace tern::pop3::testing
