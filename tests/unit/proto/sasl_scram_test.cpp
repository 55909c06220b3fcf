// Unit tests for SCRAM-SHA-256 (RFC 5802, RFC 7677): the RFC 7677 §3 exchange byte for byte, wrong
// passwords, unknown users, nonce and channel-binding checks, and the stored credential format. The
// client side is computed here independently with OpenSSL. Must never depend on a directory.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <string>

#include "proto/sasl/sasl.hpp"

namespace tern::sasl {
namespace {

using Kind = Step::Kind;

constexpr const char* kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kSaltB64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
    "Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

using Bytes = std::array<unsigned char, 32>;

std::string str(const Bytes& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
Bytes hmac(const std::string& key, const std::string& data) {
    Bytes out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    return out;
}

// The client's half of RFC 5802 §3, written against OpenSSL directly (not the code under test).
std::string client_final(const std::string& password, const std::string& client_first_bare,
                         const std::string& server_first, const std::string& without_proof) {
    const auto field = [&](char name) {
        auto at = server_first.find(std::string(1, name) + "=");
        auto end = server_first.find(',', at);
        return server_first.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
    };
    const std::string salt = *base64_decode(field('s'));
    const int iterations = std::stoi(field('i'));
    Bytes salted{};
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                      iterations, EVP_sha256(), 32, salted.data());
    const Bytes client_key = hmac(str(salted), "Client Key");
    Bytes stored{};
    unsigned int len = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored.data(), &len, EVP_sha256(), nullptr);
    const std::string auth = client_first_bare + "," + server_first + "," + without_proof;
    const Bytes sig = hmac(str(stored), auth);
    Bytes proof{};
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ sig[i];
    return without_proof + ",p=" + base64_encode(str(proof));
}

ScramCredentials rfc_credentials() {
    auto c = derive_scram("pencil", *base64_decode(kSaltB64), 4096);
    EXPECT_TRUE(c) << c.error().message;
    return *c;
}

std::string nonce_of(const std::string& server_first) {
    return server_first.substr(2, server_first.find(',') - 2);
}

TEST(SaslScram, Rfc7677Section3ExchangeExactly) {
    auto m = make_scram_for_test(kServerNonce);
    Step need = m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    ASSERT_EQ(need.kind, Kind::NeedScram) << need.data;
    EXPECT_EQ(need.authcid, "user");
    EXPECT_EQ(need.authzid, "");
    Step first = m->credentials(rfc_credentials());
    ASSERT_EQ(first.kind, Kind::Challenge) << first.data;
    EXPECT_EQ(first.data, kServerFirst);
    Step done = m->respond(kClientFinal);
    ASSERT_EQ(done.kind, Kind::Success) << done.data;
    EXPECT_EQ(done.data, kServerFinal);
    EXPECT_EQ(done.authcid, "user");
    EXPECT_EQ(m->respond(kClientFinal).kind, Kind::Failure);  // no replay within the exchange
}

TEST(SaslScram, IndependentClientReproducesTheRfcProof) {
    // Guards the helper the other tests rely on.
    EXPECT_EQ(client_final("pencil", std::string("n=user,r=") + kClientNonce, kServerFirst,
                           std::string("c=biws,r=") + kClientNonce + kServerNonce),
              kClientFinal);
}

TEST(SaslScram, EmptyChallengeWhenNoInitialResponse) {
    auto m = make_scram_for_test(kServerNonce);
    Step c = m->start(std::nullopt);
    ASSERT_EQ(c.kind, Kind::Challenge);
    EXPECT_EQ(c.data, "");
    ASSERT_EQ(m->respond("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
    ASSERT_EQ(m->credentials(rfc_credentials()).data, kServerFirst);
    EXPECT_EQ(m->respond(kClientFinal).data, kServerFinal);
}

TEST(SaslScram, WrongPasswordFails) {
    auto m = make_mechanism("SCRAM-SHA-256");
    ASSERT_EQ(m->start("n,,n=user,r=abcdefghijklmnop").kind, Kind::NeedScram);
    Step first = m->credentials(rfc_credentials());
    ASSERT_EQ(first.kind, Kind::Challenge);
    const std::string wp = "c=biws,r=" + nonce_of(first.data);
    Step s = m->respond(client_final("pencil2", "n=user,r=abcdefghijklmnop", first.data, wp));
    EXPECT_EQ(s.kind, Kind::Failure);
    EXPECT_TRUE(s.authcid.empty());
}

TEST(SaslScram, RandomServerNonceExtendsTheClientNonce) {
    std::string nonces[2];
    for (auto& n : nonces) {
        auto m = make_mechanism("SCRAM-SHA-256");
        ASSERT_EQ(m->start("n,,n=user,r=abcdefghijklmnop").kind, Kind::NeedScram);
        Step first = m->credentials(rfc_credentials());
        ASSERT_EQ(first.kind, Kind::Challenge);
        n = nonce_of(first.data);
        ASSERT_TRUE(n.starts_with("abcdefghijklmnop"));
        EXPECT_GE(n.size(), 16u + 24u);  // 18 random bytes, base64
        EXPECT_EQ(n.find(','), std::string::npos);
        // And the real client completes the exchange.
        Step done =
            m->respond(client_final("pencil", "n=user,r=abcdefghijklmnop", first.data, "c=biws,r=" + n));
        EXPECT_EQ(done.kind, Kind::Success) << done.data;
        EXPECT_TRUE(done.data.starts_with("v="));
    }
    EXPECT_NE(nonces[0], nonces[1]);
}

// The server-first message for an unknown user: salt, iteration count and nonce shaped as for a real
// user, the same salt on every attempt for the same name, and no proof is ever accepted.
TEST(SaslScram, UnknownUserLooksRealAndAlwaysFails) {
    auto first_for = [](std::string_view secret, const std::string& user) {
        auto m = make_mechanism("SCRAM-SHA-256", secret);
        EXPECT_EQ(m->start("n,,n=" + user + ",r=clientnonce").kind, Kind::NeedScram);
        Step first = m->credentials(std::nullopt);
        EXPECT_EQ(first.kind, Kind::Challenge);
        return first.data;
    };
    const std::string a1 = first_for("site-secret", "ghost"), a2 = first_for("site-secret", "ghost");
    const std::string b = first_for("site-secret", "other"), c = first_for("another-secret", "ghost");
    auto salt_of = [](const std::string& sf) {
        auto s = sf.find(",s="), i = sf.find(",i=");
        return sf.substr(s + 3, i - s - 3);
    };
    EXPECT_EQ(salt_of(a1), salt_of(a2));
    EXPECT_NE(salt_of(a1), salt_of(b));
    EXPECT_NE(salt_of(a1), salt_of(c));
    EXPECT_NE(nonce_of(a1), nonce_of(a2));  // nonces stay fresh
    // Same shape as stored credentials (new_scram_credentials): 16-byte salt, kScramIterations.
    auto real = new_scram_credentials("pw");
    ASSERT_TRUE(real);
    EXPECT_EQ(base64_decode(salt_of(a1))->size(), real->salt.size());
    EXPECT_TRUE(a1.ends_with(",i=" + std::to_string(real->iterations)));
    EXPECT_EQ(real->iterations, kScramIterations);

    for (std::string pw : {"", "pencil", "ghost"}) {
        auto m = make_mechanism("SCRAM-SHA-256", "site-secret");
        ASSERT_EQ(m->start("n,,n=ghost,r=clientnonce").kind, Kind::NeedScram);
        Step first = m->credentials(std::nullopt);
        Step s = m->respond(
            client_final(pw, "n=ghost,r=clientnonce", first.data, "c=biws,r=" + nonce_of(first.data)));
        EXPECT_EQ(s.kind, Kind::Failure);
        EXPECT_EQ(s.data, "SCRAM: invalid proof");  // the same reason a wrong password gets
    }
}

TEST(SaslScram, NonceMismatchFails) {
    for (std::string r : {std::string(kClientNonce), std::string(kClientNonce) + kServerNonce + "x",
                          std::string(kClientNonce) + "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1"}) {
        auto m = make_scram_for_test(kServerNonce);
        ASSERT_EQ(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
        ASSERT_EQ(m->credentials(rfc_credentials()).kind, Kind::Challenge);
        // A correct proof over the altered message: only the nonce check can reject it.
        Step s = m->respond(
            client_final("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", kServerFirst, "c=biws,r=" + r));
        EXPECT_EQ(s.kind, Kind::Failure);
        EXPECT_EQ(s.data, "SCRAM: nonce mismatch");
    }
}

TEST(SaslScram, ChannelBinding) {
    // "p=" means the client insists on channel binding, which we never offer (no -PLUS).
    auto p = make_scram_for_test(kServerNonce);
    Step refused = p->start("p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    EXPECT_EQ(refused.kind, Kind::Failure);
    EXPECT_EQ(p->respond("n,,n=user,r=x").kind, Kind::Failure);

    // "y": accepted, and the c= attribute must repeat that header ("eSws" = base64 "y,,").
    auto y = make_scram_for_test(kServerNonce);
    ASSERT_EQ(y->start("y,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
    ASSERT_EQ(y->credentials(rfc_credentials()).kind, Kind::Challenge);
    const std::string r = std::string(kClientNonce) + kServerNonce;
    EXPECT_EQ(
        y->respond(client_final("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", kServerFirst, "c=eSws,r=" + r))
            .kind,
        Kind::Success);

    // A c= that does not match the gs2 header fails even with a valid proof over it.
    for (std::string c : {"eSws", "biws=", "cD10bHMtZXhwb3J0ZXIsLA==", ""}) {
        auto m = make_scram_for_test(kServerNonce);
        ASSERT_EQ(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
        ASSERT_EQ(m->credentials(rfc_credentials()).kind, Kind::Challenge);
        Step s = m->respond(
            client_final("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO", kServerFirst, "c=" + c + ",r=" + r));
        EXPECT_EQ(s.kind, Kind::Failure) << c;
    }
}

TEST(SaslScram, AuthzidAndEscapedUserName) {
    auto m = make_scram_for_test(kServerNonce);
    Step need = m->start("n,a=ad=3Dmin,n=us=2Cer=3D,r=abc");
    ASSERT_EQ(need.kind, Kind::NeedScram) << need.data;
    EXPECT_EQ(need.authcid, "us,er=");
    EXPECT_EQ(need.authzid, "ad=min");
    auto creds = derive_scram("pw", "salt", 4096);
    ASSERT_TRUE(creds);
    Step first = m->credentials(*creds);
    ASSERT_EQ(first.kind, Kind::Challenge);
    const std::string cb = base64_encode("n,a=ad=3Dmin,");
    Step done =
        m->respond(client_final("pw", "n=us=2Cer=3D,r=abc", first.data, "c=" + cb + ",r=abc" + kServerNonce));
    ASSERT_EQ(done.kind, Kind::Success) << done.data;
    EXPECT_EQ(done.authcid, "us,er=");
    EXPECT_EQ(done.authzid, "ad=min");
}

TEST(SaslScram, ExtensionsAreIgnoredButMandatoryOnesRefused) {
    auto m = make_scram_for_test(kServerNonce);
    ASSERT_EQ(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO,x=future").kind, Kind::NeedScram);
    ASSERT_EQ(m->credentials(rfc_credentials()).data, kServerFirst);
    const std::string r = std::string(kClientNonce) + kServerNonce;
    EXPECT_EQ(m->respond(client_final("pencil", "n=user,r=rOprNGfwEbeRWgbNEkqO,x=future", kServerFirst,
                                      "c=biws,r=" + r + ",y=ext"))
                  .kind,
              Kind::Success);
    // RFC 5802 §5.1: "m=" MUST cause failure.
    EXPECT_EQ(make_scram_for_test(kServerNonce)->start("n,,m=ext,n=user,r=abc").kind, Kind::Failure);
}

TEST(SaslScram, MalformedClientFirstFails) {
    for (std::string bad : {
             "",
             "n",
             "n,",
             "n,,",
             "x,,n=user,r=abc",
             "n,,r=abc,n=user",
             "n,,n=user",
             "n,,n=user,r=",
             "n,,n=,r=abc",
             "n,,n=us=41er,r=abc",  // "=" escapes other than =2C / =3D (§5.1)
             "n,,n=us=2,r=abc",
             "n,b=x,n=user,r=abc",
             "n,a=,n=user,r=abc",
             "n,,n=user,r=ab\x7f",
             "n,,n=us\ter,r=abc",   // control character: not SASLprep-clean
             "n,,n=us\xffr,r=abc",  // not UTF-8
             "n,,n=user,r=abc,bogus",
         }) {
        EXPECT_EQ(make_scram_for_test(kServerNonce)->start(bad).kind, Kind::Failure)
            << ::testing::PrintToString(bad);
    }
    EXPECT_EQ(make_scram_for_test(kServerNonce)->start("n,,n=" + std::string(256, 'u') + ",r=abc").kind,
              Kind::Failure);
    EXPECT_EQ(make_scram_for_test(kServerNonce)->start("n,,n=" + std::string(255, 'u') + ",r=abc").kind,
              Kind::NeedScram);
}

TEST(SaslScram, MalformedClientFinalFails) {
    const std::string r = std::string(kClientNonce) + kServerNonce;
    for (std::string bad : {
             std::string(""), "c=biws,r=" + r, "r=" + r + ",c=biws,p=AAAA", "c=biws,r=" + r + ",p=",
             "c=biws,r=" + r + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",   // no padding
             "c=biws,r=" + r + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",  // 31 bytes
             "c=biws,r=" + r + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",  // one bit off
         }) {
        auto m = make_scram_for_test(kServerNonce);
        ASSERT_EQ(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
        ASSERT_EQ(m->credentials(rfc_credentials()).kind, Kind::Challenge);
        EXPECT_EQ(m->respond(bad).kind, Kind::Failure) << bad;
    }
}

TEST(SaslScram, OutOfOrderCallsFail) {
    EXPECT_EQ(make_scram_for_test(kServerNonce)->credentials(rfc_credentials()).kind, Kind::Failure);
    auto m = make_scram_for_test(kServerNonce);
    ASSERT_EQ(m->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO").kind, Kind::NeedScram);
    EXPECT_EQ(m->respond(kClientFinal).kind, Kind::Failure);  // final before the server spoke
    EXPECT_EQ(m->credentials(rfc_credentials()).kind, Kind::Failure);
    EXPECT_EQ(m->verified(true).kind, Kind::Failure);
}

TEST(SaslScramCredentials, FormatParseRoundTrip) {
    const ScramCredentials c = rfc_credentials();
    const std::string text = format_scram(c);
    EXPECT_TRUE(text.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")) << text;
    auto back = parse_scram(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
    // derive_scram is deterministic for a given salt; new_scram_credentials salts randomly.
    EXPECT_EQ(*derive_scram("pencil", c.salt, 4096), c);
    EXPECT_NE(*derive_scram("pencil", c.salt, 4097), c);
    auto n1 = new_scram_credentials("pencil"), n2 = new_scram_credentials("pencil");
    ASSERT_TRUE(n1 && n2);
    EXPECT_EQ(n1->salt.size(), kScramSaltBytes);
    EXPECT_NE(n1->salt, n2->salt);
    EXPECT_EQ(*parse_scram(format_scram(*n1)), *n1);
}

TEST(SaslScramCredentials, ParseRejectsMalformed) {
    const std::string good = format_scram(rfc_credentials());
    ASSERT_TRUE(parse_scram(good));
    const auto dollar = good.find('$', 14);
    const std::string keys = good.substr(dollar);
    for (std::string bad : {
             std::string(""),
             "SCRAM-SHA-1" + good.substr(13),
             "scram-sha-256" + good.substr(13),
             "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,  // zero iterations
             "SCRAM-SHA-256$04096:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
             "SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
             "SCRAM-SHA-256$4294967296:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
             "SCRAM-SHA-256$4096:" + keys,
             "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=" + keys,
             "SCRAM-SHA-256$4096W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
             good.substr(0, dollar),
             good + "A",
             good.substr(0, good.size() - 4) + "AA==",  // 31-byte ServerKey
             good + ":x",
         }) {
        EXPECT_FALSE(parse_scram(bad)) << bad;
    }
}

TEST(SaslScramCredentials, DeriveRejectsBadParameters) {
    EXPECT_FALSE(derive_scram("pw", "", 4096));
    EXPECT_FALSE(derive_scram("pw", "salt", 0));
    EXPECT_FALSE(derive_scram("pw", "salt", 0x80000000u));
    EXPECT_TRUE(derive_scram("pw", "salt", 1));
}

}  // namespace
}  // namespace tern::sasl
