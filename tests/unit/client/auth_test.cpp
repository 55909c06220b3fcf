// Transcript tests of AUTH on the client side (RFC 4954, PLAIN RFC 4616, LOGIN): the credentials
// go after EHLO over TLS only, PLAIN is preferred, LOGIN answers 334 twice, a refusal ends the
// connection before any MAIL, and nothing is sent for a message once AUTH failed.
#include "harness.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::client::smtp::testing {
namespace {

const std::string kEhloTlsAuth = "250-mx.example.org\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n";
const std::string kEhloAfterTls = "250-mx.example.org\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 100\r\n";

Options auth_options() {
    Options o = make_options();
    o.auth_user = "relay-user";
    o.auth_password = "s3cret";
    return o;
}

TEST(ClientAuth, PlainAfterStartTls) {
    auto run = converse_all_splits(auth_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, kEhloTlsAuth, "220 go\r\n", kEhloAfterTls, "235 2.7.0 ok\r\n",
                                    "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.handshakes, 1);
    const std::string plain = sasl::base64_encode(std::string("\0relay-user\0s3cret", 18));
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nSTARTTLS\r\nEHLO relay.example.net\r\nAUTH PLAIN " + plain +
                  "\r\nMAIL FROM:<a@example.net> SIZE=3\r\nRCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(plain, "AHJlbGF5LXVzZXIAczNjcmV0");
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
    EXPECT_EQ(run.end, ConnectionEnd::Quit);
}

TEST(ClientAuth, LoginWhenPlainIsNotOffered) {
    Options o = auth_options();
    o.implicit_tls = true;  // TLS from the first byte: no STARTTLS
    auto run = converse_all_splits(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                                   {kGreeting, "250-mx.example.org\r\n250 AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n",
                                    "334 UGFzc3dvcmQ6\r\n", "235 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                                    "250 done\r\n", "221 bye\r\n"});
    EXPECT_EQ(run.handshakes, 0);
    EXPECT_EQ(run.sent,
              "EHLO relay.example.net\r\nAUTH LOGIN\r\n" + sasl::base64_encode("relay-user") + "\r\n" +
                  sasl::base64_encode("s3cret") +
                  "\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientAuth, RefusedCredentialsEndTheConnectionTemporarily) {
    auto run = converse(auth_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {kGreeting, kEhloTlsAuth, "220 go\r\n", kEhloAfterTls,
                         "535 5.7.8 Authentication credentials invalid\r\n"},
                        1000);
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.last, Session::Next::Close);
    EXPECT_TRUE(run.sent.ends_with("\r\nQUIT\r\n")) << run.sent;
    EXPECT_EQ(run.sent.find("MAIL"), std::string::npos);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_TRUE(status_of(run, 0, 0).temporary());  // the message was never offered
    Session s(auth_options());
    s.add(make_message(1, "a@example.net", {"b@example.org"}, "x\r\n"));
    Transcript t;
    for (const auto& turn : {kGreeting, kEhloTlsAuth, std::string("220 go\r\n"), kEhloAfterTls,
                             std::string("535 5.7.8 Authentication credentials invalid\r\n")}) {
        s.receive(turn);
        pump(s, t);
    }
    EXPECT_EQ(s.end_status().code, 535);
    EXPECT_EQ(s.end_status().text, "Authentication credentials invalid");
    EXPECT_EQ(s.mails_sent(), 0u);
}

TEST(ClientAuth, NoPasswordWithoutTls) {
    auto run = converse(auth_options(), {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {kGreeting, "250-mx.example.org\r\n250 AUTH PLAIN\r\n"}, 1000);
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
    Options o = auth_options();
    o.auth_without_tls = true;
    run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                   {kGreeting, "250-mx.example.org\r\n250 AUTH PLAIN\r\n", "235 ok\r\n", "250 ok\r\n", "250 ok\r\n",
                    "354 go\r\n", "250 done\r\n", "221 bye\r\n"},
                   1000);
    EXPECT_TRUE(run.sent.starts_with("EHLO relay.example.net\r\nAUTH PLAIN ")) << run.sent;
    EXPECT_TRUE(status_of(run, 0, 0).accepted());
}

TEST(ClientAuth, NoCommonMechanism) {
    Options o = auth_options();
    o.implicit_tls = true;
    auto run = converse(o, {make_message(1, "a@example.net", {"b@example.org"}, "x\r\n")},
                        {kGreeting, "250-mx.example.org\r\n250 AUTH CRAM-MD5\r\n"}, 1000);
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent, "EHLO relay.example.net\r\nQUIT\r\n");
}

TEST(ClientWaiting, TellsWhichReplyIsAwaited) {
    Session s(make_options());
    s.add(make_message(1, "a@example.net", {"b@example.org"}, "x\r\n"));
    EXPECT_EQ(s.waiting_for(), Waiting::Greeting);
    s.advance();
    s.receive(kGreeting);
    s.advance();
    EXPECT_EQ(s.waiting_for(), Waiting::Command);  // EHLO
    s.receive(kEhloBasic);
    s.advance();
    EXPECT_EQ(s.waiting_for(), Waiting::Command);  // MAIL
    EXPECT_EQ(s.mails_sent(), 1u);
    s.receive("250 ok\r\n");
    s.advance();
    s.receive("250 ok\r\n");
    s.advance();
    EXPECT_EQ(s.waiting_for(), Waiting::DataStart);
    s.receive("354 go\r\n");
    auto a = s.advance();
    while (a.next == Session::Next::Write) a = s.advance();
    EXPECT_EQ(s.waiting_for(), Waiting::DataEnd);
    s.receive("250 done\r\n");
    s.advance();
    EXPECT_EQ(s.waiting_for(), Waiting::Nothing);
}

}  // namespace
}  // namespace tern::client::smtp::testing
