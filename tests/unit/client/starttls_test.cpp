// Transcript tests of STARTTLS on the client side (RFC 3207): opportunistic use, EHLO again after
// the handshake, require_tls, and the CVE-2021-38371 class: replies a server (or an attacker in
// the path) sends after its 220 and before the handshake must never be used afterwards.
#include "harness.hpp"

namespace tern::client::smtp::testing {
namespace {

const std::string kEhloTls = "250-mx.example.org\r\n250-STARTTLS\r\n250 PIPELINING\r\n";

TEST(ClientStartTls, UsedWhenOfferedThenEhloAgain) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, kEhloTls, "220 2.0.0 go ahead\r\n", "250-mx.example.org\r\n250 SIZE 100\r\n",
                                    "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.handshakes, 1);
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nSTARTTLS\r\nEHLO relay.example.net\r\n"
              "MAIL FROM:<a@example.net> SIZE=3\r\nRCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
    // Capabilities are those of the second EHLO only (PIPELINING was offered before TLS only).
    EXPECT_FALSE(run.caps.pipelining);
    EXPECT_EQ(run.caps.size, 100u);
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientStartTls, BytesAfterThe220AreDiscardedAtEverySplit) {
    const std::string before = "220 2.0.0 go ahead\r\n";
    const std::string injected = "250-evil\r\n250-CHUNKING\r\n250 PIPELINING\r\n";
    const std::string turn = before + injected;
    for (std::size_t k = 0; k <= turn.size(); ++k) {
        Session s(make_options());
        s.add(make_message(1, "a@example.net", {"b@example.org"}, "x\r\n"));
        Transcript run;
        s.receive(kGreeting);
        pump(s, run);
        s.receive(kEhloTls);
        pump(s, run);
        ASSERT_TRUE(run.sent.ends_with("STARTTLS\r\n"));
        // The 220 and the injected replies arrive before the handshake, in two reads split at k.
        s.receive(std::string_view(turn).substr(0, k));
        auto a = s.advance();
        s.receive(std::string_view(turn).substr(k));
        if (a.next != Session::Next::StartTls) a = s.advance();
        ASSERT_EQ(a.next, Session::Next::StartTls) << k;
        s.tls_started();
        a = s.advance();
        EXPECT_EQ(a.output, "EHLO relay.example.net\r\n") << k;
        EXPECT_EQ(a.next, Session::Next::Read) << k;
        // Only the reply that comes over TLS answers the EHLO.
        s.receive("250-mx.example.org\r\n250 SIZE 100\r\n");
        a = s.advance();
        EXPECT_EQ(a.output, "MAIL FROM:<a@example.net> SIZE=3\r\n") << k;
        EXPECT_FALSE(s.capabilities().chunking) << k;
        EXPECT_FALSE(s.capabilities().pipelining) << k;
        EXPECT_TRUE(s.tls_active());
        EXPECT_EQ(s.end(), ConnectionEnd::Open);
    }
}

TEST(ClientStartTls, RefusedStartTlsIsOpportunistic) {
    auto run = converse_all_splits(make_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, kEhloTls, "454 4.7.0 TLS not available\r\n",
                                    "250 ok\r\n250 ok\r\n354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.handshakes, 0);
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientStartTls, RequireTlsWithoutStartTlsFailsTemporarily) {
    Options o = make_options();
    o.require_tls = true;
    auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")}, {kGreeting, kEhloBasic}, 1000);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    EXPECT_EQ(run.end, ConnectionEnd::TlsUnavailable);
    EXPECT_EQ(run.last, Session::Next::Close);
    EXPECT_TRUE(status_of(run, 0, 0).temporary());
}

TEST(ClientStartTls, RequireTlsAndStartTlsRefused) {
    Options o = make_options();
    o.require_tls = true;
    auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {kGreeting, kEhloTls, "454 4.7.0 not now\r\n"}, 1000);
    EXPECT_EQ(run.end, ConnectionEnd::TlsUnavailable);
    EXPECT_TRUE(status_of(run, 0, 0).temporary());
    EXPECT_EQ(status_of(run, 0, 0).text, "not now");
}

TEST(ClientStartTls, HandshakeFailure) {
    Session s(make_options());
    s.add(make_message(1, "a@example.net", {"b@example.org"}, "x\r\n"));
    Transcript run;
    for (const auto& t : {kGreeting, kEhloTls, std::string("220 go\r\n")}) {
        s.receive(t);
        auto a = s.advance();
        run.sent += a.output;
        run.last = a.next;
    }
    ASSERT_EQ(run.last, Session::Next::StartTls);
    s.tls_failed("certificate expired");
    EXPECT_EQ(s.advance().next, Session::Next::Close);
    EXPECT_EQ(s.end(), ConnectionEnd::TlsFailed);
    auto o = s.take_outcomes();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_TRUE(o[0].recipients[0].status.temporary());
}

TEST(ClientStartTls, NotUsedWhenTheDriverCannot) {
    Options o = make_options();
    o.tls_possible = false;
    auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")}, {kGreeting, kEhloTls}, 1000);
    EXPECT_TRUE(run.sent.ends_with("MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")) << run.sent;
}

}  // namespace
}  // namespace tern::client::smtp::testing
