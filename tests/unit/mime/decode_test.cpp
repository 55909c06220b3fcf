// Transfer-encoding decoders (mime/decode.hpp): base64 and quoted-printable on clean, sloppy and
// broken input, and the same output at every split point of the input.
#include "mime/decode.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::mime {
namespace {

template <class D>
std::string split_decode(std::string_view in, std::size_t cut, bool* damaged) {
    D d;
    std::string out;
    d.feed(in.substr(0, cut), out);
    d.feed(in.substr(cut), out);
    d.finish(out);
    *damaged = d.damaged();
    return out;
}

template <class D>
void expect_all_splits(std::string_view in, std::string_view expected, bool expect_damaged) {
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        bool damaged = false;
        ASSERT_EQ(split_decode<D>(in, cut, &damaged), expected) << "split at " << cut;
        ASSERT_EQ(damaged, expect_damaged) << "split at " << cut;
    }
    D d;
    std::string out;
    for (char c : in) d.feed(std::string_view(&c, 1), out);
    d.finish(out);
    EXPECT_EQ(out, expected);
}

TEST(Base64, Clean) {
    expect_all_splits<Base64Decoder>("SGVsbG8sIHdvcmxkIQ==", "Hello, world!", false);
    expect_all_splits<Base64Decoder>("YWJj", "abc", false);
    expect_all_splits<Base64Decoder>("", "", false);
}

TEST(Base64, LineBreaksAndMissingPaddingAreFine) {
    expect_all_splits<Base64Decoder>("SGVs\r\nbG8s\r\n IHdv\tcmxk\r\nIQ", "Hello, world!", false);
}

TEST(Base64, JunkIsSkippedAndReported) {
    // RFC 2045 §6.8: characters outside the alphabet are ignored.
    expect_all_splits<Base64Decoder>("SGV*sbG8#", "Hello", true);
    // A lone trailing sextet encodes nothing whole.
    expect_all_splits<Base64Decoder>("YWJjZ", "abc", true);
    // Data after padding: decoded as a new run, reported.
    expect_all_splits<Base64Decoder>("YQ==YmM=", "abc", true);
}

TEST(QuotedPrintable, Rfc2045Rules) {
    // (1) =XX, (5) soft line breaks, (3) trailing white space deleted.
    expect_all_splits<QpDecoder>("caf=C3=A9 au lait=\r\n, s'il vous pla=C3=AEt  \r\nfin\t\r\n",
                                 "caf\xC3\xA9 au lait, s'il vous pla\xC3\xAEt\r\nfin\r\n", false);
    // Soft break with white space after the "=" and a bare LF.
    expect_all_splits<QpDecoder>("a= \t\nb=\nc", "abc", false);
    // Trailing white space before a bare LF goes too.
    expect_all_splits<QpDecoder>("x \t\ny", "x\ny", false);
    // White space that is not trailing stays.
    expect_all_splits<QpDecoder>("a  b", "a  b", false);
    // Lower-case hex is accepted (lenient).
    expect_all_splits<QpDecoder>("=c3=a9", "\xC3\xA9", false);
    // "=" at the very end is a soft break.
    expect_all_splits<QpDecoder>("abc=", "abc", false);
}

TEST(QuotedPrintable, BadEscapesAreKeptAndReported) {
    expect_all_splits<QpDecoder>("100=%", "100=%", true);
    expect_all_splits<QpDecoder>("a=4x", "a=4x", true);
    expect_all_splits<QpDecoder>("end=4", "end=4", true);
    expect_all_splits<QpDecoder>("x=\ry", "xy", true);
}

TEST(QuotedPrintable, LongRunOfSpacesCostsNoMemory) {
    std::string in(100000, ' ');
    in += "x";
    bool damaged = false;
    EXPECT_EQ(decode_qp(in, &damaged), in);
    EXPECT_FALSE(damaged);
}

TEST(BodyDecoder, ChoosesByMechanism) {
    EXPECT_EQ(transfer_encoding(" Base64 "), TransferEncoding::Base64);
    EXPECT_EQ(transfer_encoding("QUOTED-PRINTABLE"), TransferEncoding::QuotedPrintable);
    EXPECT_EQ(transfer_encoding("8bit"), TransferEncoding::Identity);
    EXPECT_EQ(transfer_encoding("x-uuencode"), TransferEncoding::Identity);
    BodyDecoder d("quoted-printable");
    std::string out;
    d.feed("a=3D", out);
    d.finish(out);
    EXPECT_EQ(out, "a=");
}

}  // namespace
}  // namespace tern::mime
