// Unit tests for the PLAIN (RFC 4616) and LOGIN SASL mechanisms and the mechanism registry: full
// exchanges, malformed and over-long input, out-of-order calls. Must never use a real password store.
#include <gtest/gtest.h>

#include <string>

#include "proto/sasl/sasl.hpp"

namespace tern::sasl {
namespace {

using namespace std::string_literals;
using Kind = Step::Kind;

std::unique_ptr<Mechanism> mech(std::string_view name) {
    auto m = make_mechanism(name);
    EXPECT_NE(m, nullptr) << name;
    return m;
}

TEST(SaslRegistry, NamesAndFactory) {
    EXPECT_EQ(mechanism_names(), (std::vector<std::string>{"SCRAM-SHA-256", "PLAIN", "LOGIN"}));
    for (auto name : {"PLAIN", "plain", "Login", "LOGIN", "scram-sha-256", "SCRAM-SHA-256"}) {
        EXPECT_NE(make_mechanism(name), nullptr) << name;
    }
    for (auto name : {"", "CRAM-MD5", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN ", "XOAUTH2"}) {
        EXPECT_EQ(make_mechanism(name), nullptr) << name;
    }
}

TEST(SaslPlain, InitialResponseThenSuccess) {
    auto m = mech("PLAIN");
    Step s = m->start("\0alice@example.org\0s3cret pass"s);
    ASSERT_EQ(s.kind, Kind::VerifyPassword) << s.data;
    EXPECT_EQ(s.authcid, "alice@example.org");
    EXPECT_EQ(s.authzid, "");
    EXPECT_EQ(s.password, "s3cret pass");
    Step done = m->verified(true);
    EXPECT_EQ(done.kind, Kind::Success);
    EXPECT_EQ(done.authcid, "alice@example.org");
    EXPECT_EQ(done.authzid, "");
    EXPECT_TRUE(done.password.empty());
    // Finished: nothing more is accepted.
    EXPECT_EQ(m->respond("\0alice\0x"s).kind, Kind::Failure);
    EXPECT_EQ(m->verified(true).kind, Kind::Failure);
}

TEST(SaslPlain, EmptyChallengeWithoutInitialResponse) {
    auto m = mech("PLAIN");
    Step c = m->start(std::nullopt);
    ASSERT_EQ(c.kind, Kind::Challenge);
    EXPECT_EQ(c.data, "");  // RFC 4422 §5: empty challenge, the client then sends the message
    Step s = m->respond("admin\0bob\0pw"s);
    ASSERT_EQ(s.kind, Kind::VerifyPassword);
    EXPECT_EQ(s.authzid, "admin");
    EXPECT_EQ(s.authcid, "bob");
    EXPECT_EQ(s.password, "pw");
    Step done = m->verified(true);
    EXPECT_EQ(done.kind, Kind::Success);
    EXPECT_EQ(done.authzid, "admin");  // passed on: the protocol layer decides whether bob may be admin
}

TEST(SaslPlain, WrongPasswordFails) {
    auto m = mech("PLAIN");
    ASSERT_EQ(m->start("\0alice\0wrong"s).kind, Kind::VerifyPassword);
    Step f = m->verified(false);
    EXPECT_EQ(f.kind, Kind::Failure);
    EXPECT_TRUE(f.authcid.empty());
}

TEST(SaslPlain, MalformedMessagesFail) {
    const std::string max(255, 'a'), over(256, 'a');
    for (const std::string& bad : {
             ""s,               // "=" initial response: empty message
             "alice"s,          // no NUL
             "\0alice"s,        // one NUL
             "\0\0pw"s,         // empty authcid
             "\0alice\0"s,      // empty password
             "\0alice\0pw\0"s,  // third NUL
             "a\0b\0c\0d"s,
             "\0"s + over + "\0pw"s,  // authcid over 255 octets
             "\0alice\0"s + over,     // password over 255 octets
             over + "\0alice\0pw"s,   // authzid over 255 octets
             "\0al\xffice\0pw"s,      // not UTF-8
             "\0alice\0p\xc0\xafw"s,  // overlong UTF-8 in the password
             "\0al\rice\0pw"s,        // control character in the authcid
         }) {
        auto m = mech("PLAIN");
        Step s = m->start(bad);
        EXPECT_EQ(s.kind, Kind::Failure) << "accepted " << ::testing::PrintToString(bad);
        EXPECT_TRUE(s.password.empty());
        EXPECT_EQ(m->verified(true).kind, Kind::Failure);  // a failed exchange cannot be revived
    }
    auto m = mech("PLAIN");
    Step s = m->start("\0"s + max + "\0"s + max);
    EXPECT_EQ(s.kind, Kind::VerifyPassword);  // exactly 255 is fine
    auto u = mech("PLAIN");
    Step utf = u->start("\0j\xc3\xb6rg\0p\xc3\xa4ss"s);
    ASSERT_EQ(utf.kind, Kind::VerifyPassword);
    EXPECT_EQ(utf.authcid, "j\xc3\xb6rg");
}

TEST(SaslPlain, VerdictBeforeMessageFails) {
    auto m = mech("PLAIN");
    ASSERT_EQ(m->start(std::nullopt).kind, Kind::Challenge);
    EXPECT_EQ(m->verified(true).kind, Kind::Failure);
    EXPECT_EQ(m->respond("\0alice\0pw"s).kind, Kind::Failure);
}

TEST(SaslLogin, PromptsForUserThenPassword) {
    auto m = mech("LOGIN");
    Step u = m->start(std::nullopt);
    ASSERT_EQ(u.kind, Kind::Challenge);
    EXPECT_EQ(u.data, "Username:");
    Step p = m->respond("alice@example.org");
    ASSERT_EQ(p.kind, Kind::Challenge);
    EXPECT_EQ(p.data, "Password:");
    Step v = m->respond("hunter2");
    ASSERT_EQ(v.kind, Kind::VerifyPassword);
    EXPECT_EQ(v.authcid, "alice@example.org");
    EXPECT_EQ(v.password, "hunter2");
    EXPECT_EQ(v.authzid, "");
    Step done = m->verified(true);
    EXPECT_EQ(done.kind, Kind::Success);
    EXPECT_EQ(done.authcid, "alice@example.org");
    EXPECT_EQ(m->respond("again").kind, Kind::Failure);
}

TEST(SaslLogin, InitialResponseIsTheUserName) {
    auto m = mech("LOGIN");
    Step p = m->start("bob");
    ASSERT_EQ(p.kind, Kind::Challenge);
    EXPECT_EQ(p.data, "Password:");
    Step v = m->respond("pw");
    ASSERT_EQ(v.kind, Kind::VerifyPassword);
    EXPECT_EQ(v.authcid, "bob");
    EXPECT_EQ(m->verified(false).kind, Kind::Failure);
}

TEST(SaslLogin, MalformedInputFails) {
    EXPECT_EQ(mech("LOGIN")->start("").kind, Kind::Failure);  // empty user name
    EXPECT_EQ(mech("LOGIN")->start(std::string(256, 'u')).kind, Kind::Failure);
    EXPECT_EQ(mech("LOGIN")->start("bo\nb").kind, Kind::Failure);
    for (const std::string& bad : {""s, "p\0w"s, std::string(256, 'p')}) {
        auto m = mech("LOGIN");
        ASSERT_EQ(m->start("bob").kind, Kind::Challenge);
        Step s = m->respond(bad);
        EXPECT_EQ(s.kind, Kind::Failure);
        EXPECT_TRUE(s.password.empty());
    }
    auto m = mech("LOGIN");
    ASSERT_EQ(m->start(std::nullopt).kind, Kind::Challenge);
    EXPECT_EQ(m->verified(true).kind, Kind::Failure);  // no verdict before a password
    // Passwords need not be UTF-8 (legacy clients), but are capped at 255 octets.
    auto l = mech("LOGIN");
    ASSERT_EQ(l->start("bob").kind, Kind::Challenge);
    EXPECT_EQ(l->respond("p\xe4ss").kind, Kind::VerifyPassword);
}

TEST(SaslMechanisms, CredentialsAreOnlyForScram) {
    for (auto name : {"PLAIN", "LOGIN"}) {
        auto m = mech(name);
        EXPECT_EQ(m->credentials(ScramCredentials{}).kind, Kind::Failure);
    }
}

}  // namespace
}  // namespace tern::sasl
