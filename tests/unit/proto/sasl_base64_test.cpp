// Unit tests for SASL base64 (proto/sasl, RFC 4648): the §10 vectors, binary round trips, and strict
// rejection of anything non-canonical. Must never accept two spellings of the same bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/sasl/sasl.hpp"

namespace tern::sasl {
namespace {

TEST(SaslBase64, Rfc4648Section10Vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        auto d = base64_decode(encoded);
        ASSERT_TRUE(d) << encoded;
        EXPECT_EQ(*d, plain);
    }
}

TEST(SaslBase64, BinaryRoundTripAtEveryLength) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(255 - i);
    for (std::size_t n = 0; n <= all.size(); ++n) {
        const std::string in = all.substr(0, n);
        const std::string enc = base64_encode(in);
        EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
        auto dec = base64_decode(enc);
        ASSERT_TRUE(dec) << n;
        EXPECT_EQ(*dec, in);
    }
    EXPECT_EQ(base64_encode(std::string("\xfb\xff\xbf", 3)), "+/+/");
    EXPECT_EQ(base64_encode(std::string("\0\0\0", 3)), "AAAA");
}

TEST(SaslBase64, RejectsNonCanonicalAndForeignInput) {
    for (const std::string& bad : std::vector<std::string>{
             "Zg",    // padding is required (§3.2)
             "Zg=",   // length not a multiple of 4
             "Zh==",  // non-zero pad bits (§3.5): would also decode to "f"
             "Zm9=",  // likewise for a two-byte tail
             "Z===",  // one data character cannot encode a byte
             "====",
             "=Zg=",
             "Z=g=",
             "Zg==Zg==",  // padding in the middle
             " Zg==",
             "Zg==\n",
             "Zm9v\r\n",
             "Zm 9v",  // whitespace (§3.3)
             "-_8=",   // base64url alphabet (§5) is not base64
             "Zm9v!AAA",
             std::string("Zm\0v", 4),
         }) {
        EXPECT_FALSE(base64_decode(bad)) << "accepted \"" << bad << "\"";
    }
}

}  // namespace
}  // namespace tern::sasl
