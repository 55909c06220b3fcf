// End to end in memory: the POP3 client session wired directly to Tern's POP3 server session
// (src/session/pop3, with the fake maildrop host of tests/unit/session/pop3_transcript.hpp). Logs
// in with USER/PASS, APOP, SCRAM-SHA-256 and after STLS; UIDL; RETR of every message byte for byte;
// DELE + QUIT removes them, and without QUIT nothing is removed.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "../session/pop3_transcript.hpp"
#include "client/pop3/session.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::client::pop3 {
namespace {

namespace server = ::tern::pop3::testing;

// Client and server talking through memory; the server's TLS handshake is done inline by its
// transcript, the client's when advance() asks for it.
struct Wire {
    explicit Wire(Options options, ::tern::pop3::SessionConfig cfg = server::make_config())
        : srv(cfg),
          client(std::move(options), [this](const Chunk& c) {
              messages[c.id].append(c.data);
              max_chunk = std::max(max_chunk, c.data.size());
              if (c.last) ++lasts[c.id];
          }) {
        client.receive(srv.greeting());
    }

    // Runs until the client is idle (logged in, nothing queued) or the connection is over.
    Session::Next run() {
        for (int guard = 0; guard < 100000; ++guard) {
            auto a = client.advance();
            std::string reply;
            if (!a.output.empty()) {
                wrote += a.output;
                reply = srv.send(a.output);
            }
            if (a.next == Session::Next::StartTls) client.tls_started();
            if (a.next == Session::Next::Close) return a.next;
            if (!reply.empty()) {
                client.receive(reply);
                continue;
            }
            if (a.next == Session::Next::StartTls) continue;
            return a.next;  // Idle, or Read with nothing coming: stuck
        }
        ADD_FAILURE() << "never settled";
        return Session::Next::Close;
    }

    server::FakeHost& host() { return srv.host(); }

    server::Transcript srv;
    Session client;
    std::string wrote;
    std::map<std::uint64_t, std::string> messages;
    std::map<std::uint64_t, int> lasts;
    std::size_t max_chunk = 0;
};

Options alice() {
    Options o;
    o.user = "alice@example.org";
    o.password = "secret";
    return o;
}

// What RETR must deliver: the stored octets, plus the CRLF the server adds to a message that
// lacks one (RFC 1939 §3).
std::string as_retrieved(const std::string& data) { return data.ends_with("\r\n") ? data : data + "\r\n"; }

// UIDL, RETR of every message, DELE of every message (unless keep), QUIT; checks the bytes.
void download_all(Wire& w, bool keep) {
    const auto stored = w.host().maildrops["alice@example.org"];
    ASSERT_EQ(stored.size(), 3u);
    ASSERT_EQ(w.run(), Session::Next::Idle) << w.wrote;
    ASSERT_TRUE(w.client.authenticated());
    w.client.uidl();
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto uidl = w.client.take_outcomes();
    ASSERT_EQ(uidl.size(), 1u);
    ASSERT_TRUE(uidl[0].ok);
    ASSERT_EQ(uidl[0].entries.size(), 3u);
    std::map<std::uint32_t, std::uint64_t> retr;
    for (const auto& e : uidl[0].entries) {
        EXPECT_EQ(e.uid, stored[e.msg - 1].uidl);
        retr[e.msg] = w.client.retr(e.msg);
        if (!keep) w.client.dele(e.msg);
    }
    w.client.quit();
    EXPECT_EQ(w.run(), Session::Next::Close);
    for (const auto& [msg, id] : retr) {
        EXPECT_EQ(w.messages[id], as_retrieved(stored[msg - 1].data)) << "message " << msg;
        EXPECT_EQ(w.lasts[id], 1);
    }
    for (const auto& o : w.client.take_outcomes()) EXPECT_TRUE(o.ok && o.from_server) << o.id << " " << o.text;
    EXPECT_EQ(w.client.end(), ConnectionEnd::Quit);
    EXPECT_TRUE(w.client.update_confirmed());
    EXPECT_EQ(w.host().maildrops["alice@example.org"].size(), keep ? 3u : 0u);
    EXPECT_TRUE(w.host().locked.empty());
}

TEST(Pop3ClientServer, UserPassDownloadAndDelete) {
    Options o = alice();
    o.allow_plaintext_password = true;
    o.method = LoginMethod::UserPass;
    Wire w(o, server::plaintext_config());
    download_all(w, false);
    EXPECT_EQ(w.client.login_method(), LoginMethod::UserPass);
    EXPECT_NE(w.wrote.find("PASS secret\r\n"), std::string::npos);
    EXPECT_TRUE(w.client.capabilities().pipelining);
}

TEST(Pop3ClientServer, ApopLogin) {
    Options o = alice();
    o.use_apop = true;
    o.apop_secret = "tanstaaf";
    Wire w(o);
    download_all(w, false);
    EXPECT_EQ(w.client.login_method(), LoginMethod::Apop);
    EXPECT_EQ(w.client.greeting_timestamp(), "<4242.1.1795000000@pop.example.org>");
}

TEST(Pop3ClientServer, ScramLoginWithoutTls) {
    Wire w(alice());
    auto creds = sasl::derive_scram("secret", "0123456789abcdef", 4096);
    ASSERT_TRUE(creds);
    w.srv.scram["alice@example.org"] = *creds;
    download_all(w, true);
    EXPECT_EQ(w.client.login_method(), LoginMethod::Scram);
    EXPECT_EQ(w.wrote.find("secret"), std::string::npos);  // never in clear
}

TEST(Pop3ClientServer, ScramWrongPasswordFails) {
    Options o = alice();
    o.password = "wrong";
    Wire w(o);
    w.srv.scram["alice@example.org"] = *sasl::derive_scram("secret", "0123456789abcdef", 4096);
    w.client.uidl();
    EXPECT_EQ(w.run(), Session::Next::Close);
    EXPECT_EQ(w.client.end(), ConnectionEnd::AuthFailed);
    auto out = w.client.take_outcomes();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].ok);
}

TEST(Pop3ClientServer, StlsThenPassword) {
    Options o = alice();
    o.method = LoginMethod::UserPass;
    Wire w(o, server::tls_config());
    download_all(w, false);
    EXPECT_EQ(w.srv.tls_handshakes, 1);
    EXPECT_TRUE(w.client.tls_active());
    EXPECT_LT(w.wrote.find("STLS\r\n"), w.wrote.find("PASS secret"));
}

TEST(Pop3ClientServer, WithoutTlsNoPasswordIsSent) {
    Options o = alice();
    o.method = LoginMethod::UserPass;  // the server offers no USER without TLS; the client must not try
    Wire w(o);
    w.client.uidl();
    EXPECT_EQ(w.run(), Session::Next::Close);
    EXPECT_EQ(w.client.end(), ConnectionEnd::AuthFailed);
    EXPECT_EQ(w.wrote.find("secret"), std::string::npos);
}

TEST(Pop3ClientServer, NoQuitNoDeletion) {
    Options o = alice();
    o.allow_plaintext_password = true;
    o.method = LoginMethod::UserPass;
    Wire w(o, server::plaintext_config());
    ASSERT_EQ(w.run(), Session::Next::Idle);
    w.client.dele(1);
    w.client.dele(2);
    ASSERT_EQ(w.run(), Session::Next::Idle);
    w.client.connection_lost("cable pulled");
    w.srv.session().abort();
    EXPECT_FALSE(w.client.update_confirmed());
    EXPECT_EQ(w.host().maildrops["alice@example.org"].size(), 3u);
}

TEST(Pop3ClientServer, LargeDottedMessageStreamedInChunks) {
    Options o = alice();
    o.allow_plaintext_password = true;
    o.chunk_size = 4096;
    o.method = LoginMethod::UserPass;
    ::tern::pop3::SessionConfig cfg = server::plaintext_config();
    Wire w(o, cfg);
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; big.size() < (1u << 20); ++i) big += (i % 5 == 0 ? "." : "") + std::string(i % 997, 'x') + "\r\n";
    big += ".\r\n..\r\nlast line without CRLF";
    w.host().maildrops["alice@example.org"].push_back({13, big, "1795000000.13"});
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto id = w.client.retr(4);
    auto top = w.client.top(4, 3);
    ASSERT_EQ(w.run(), Session::Next::Idle);
    EXPECT_EQ(w.messages[id], big + "\r\n");
    EXPECT_EQ(w.messages[top].substr(0, 16), "Subject: big\r\n\r\n");
    EXPECT_LE(w.max_chunk, 4096u);
    auto out = w.client.take_outcomes();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].octets, big.size() + 2);
}

}  // namespace
}  // namespace tern::client::pop3
