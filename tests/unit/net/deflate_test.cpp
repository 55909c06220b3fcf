// The raw deflate layer of IMAP COMPRESS (RFC 4978): round trips, sync flush (a response is
// decodable at once, nothing held back), bounded inflate output, and corrupt or ended streams.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <zlib.h>

#include "net/deflate.hpp"

namespace tern::net {
namespace {

// Inflates all of `in` with a small output buffer, as Stream::read_some does.
std::string inflate_all(Inflater& z, std::string_view in, std::size_t chunk = 100) {
    std::string out;
    std::string buf(chunk, '\0');
    while (!in.empty()) {
        auto r = z.inflate(in, buf);
        EXPECT_EQ(r.status, Inflater::Status::Ok);
        if (r.status != Inflater::Status::Ok) break;
        EXPECT_LE(r.produced, chunk);
        out.append(buf.data(), r.produced);
        in.remove_prefix(r.consumed);
        if (r.consumed == 0 && r.produced == 0) break;
    }
    // Drain what zlib decoded but had no room for.
    for (;;) {
        auto r = z.inflate({}, buf);
        if (r.produced == 0) break;
        out.append(buf.data(), r.produced);
    }
    return out;
}

// An independent raw inflate (zlib directly), for what the peer sees.
std::string zlib_inflate(std::string_view in) {
    z_stream z{};
    EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
    std::string out(in.size() * 50 + 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
    out.resize(out.size() - z.avail_out);
    inflateEnd(&z);
    return out;
}

TEST(Deflate, EachFlushedWriteDecodesAtOnce) {
    Deflater d;
    std::string wire;
    ASSERT_TRUE(d.compress("* OK [CAPABILITY IMAP4rev1] ready\r\n", true, wire));
    // Z_SYNC_FLUSH ends with the empty stored block 00 00 FF FF (RFC 1951 §3.2.4).
    ASSERT_GE(wire.size(), 4u);
    EXPECT_EQ(wire.substr(wire.size() - 4), std::string("\0\0\xff\xff", 4));
    EXPECT_EQ(zlib_inflate(wire), "* OK [CAPABILITY IMAP4rev1] ready\r\n");
    ASSERT_TRUE(d.compress("a1 OK done\r\n", true, wire));
    EXPECT_EQ(zlib_inflate(wire), "* OK [CAPABILITY IMAP4rev1] ready\r\na1 OK done\r\n");
}

TEST(Deflate, RoundTripLargeTextCompressesWell) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "Line " + std::to_string(i % 97) + " of a rather ordinary mail body.\r\n";
    Deflater d;
    std::string wire;
    ASSERT_TRUE(d.compress(text, true, wire));
    EXPECT_LT(wire.size() * 10, text.size()) << wire.size() << " of " << text.size();
    Inflater z;
    EXPECT_EQ(inflate_all(z, wire), text);
}

TEST(Deflate, RandomDataAndUnflushedSlices) {
    std::mt19937 rng(7);
    std::string data(300000, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    Deflater d;
    std::string wire;
    // Slices without a flush, then one with: the result is the concatenation.
    ASSERT_TRUE(d.compress(std::string_view(data).substr(0, 100000), false, wire));
    ASSERT_TRUE(d.compress(std::string_view(data).substr(100000), true, wire));
    EXPECT_LT(wire.size(), data.size() + data.size() / 100) << "incompressible data barely grows";
    Inflater z;
    EXPECT_EQ(inflate_all(z, wire, 4096), data);
}

TEST(Deflate, InflateFromPythonStyleClientInPieces) {
    // A client's stream (zlib compressobj(wbits=-15) + Z_SYNC_FLUSH), fed one octet at a time.
    Deflater client(6);
    std::string wire;
    ASSERT_TRUE(client.compress("a LOGIN x y\r\n", true, wire));
    ASSERT_TRUE(client.compress("b SELECT INBOX\r\n", true, wire));
    Inflater z;
    std::string out;
    std::string buf(4096, '\0');
    for (char c : wire) {
        auto r = z.inflate(std::string_view(&c, 1), buf);
        ASSERT_EQ(r.status, Inflater::Status::Ok);
        EXPECT_EQ(r.consumed, 1u);
        out.append(buf.data(), r.produced);
    }
    EXPECT_EQ(out, "a LOGIN x y\r\nb SELECT INBOX\r\n");
}

TEST(Deflate, InflateOutputIsBoundedByTheBuffer) {
    // A bomb: 10 MB of zeros in ~10 KB. Each call fills at most the buffer and leaves the rest.
    Deflater d(9);
    std::string wire;
    ASSERT_TRUE(d.compress(std::string(10u << 20, '\0'), true, wire));
    ASSERT_LT(wire.size(), 20000u);
    Inflater z;
    char buf[4096];
    auto r = z.inflate(wire, buf);
    EXPECT_EQ(r.status, Inflater::Status::Ok);
    EXPECT_EQ(r.produced, sizeof buf);
    EXPECT_LT(r.consumed, wire.size());
}

TEST(Deflate, CorruptInputIsAnError) {
    Inflater z;
    char buf[64];
    // BTYPE 11 (reserved, RFC 1951 §3.2.3) in the first block header.
    auto r = z.inflate(std::string_view("\xff\xff\xff\xff", 4), buf);
    EXPECT_EQ(r.status, Inflater::Status::Error);
}

TEST(Deflate, EndOfStreamIsAnError) {
    // RFC 4978 has no end of compression: a final block ends the connection.
    z_stream c{};
    ASSERT_EQ(deflateInit2(&c, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    char in[] = "a NOOP\r\n";
    unsigned char out[64];
    c.next_in = reinterpret_cast<Bytef*>(in);
    c.avail_in = 8;
    c.next_out = out;
    c.avail_out = sizeof out;
    ASSERT_EQ(deflate(&c, Z_FINISH), Z_STREAM_END);
    std::size_t n = sizeof out - c.avail_out;
    deflateEnd(&c);
    Inflater z;
    char buf[64];
    auto r = z.inflate(std::string_view(reinterpret_cast<char*>(out), n), buf);
    EXPECT_EQ(r.status, Inflater::Status::Error);
    EXPECT_EQ(z.inflate(std::string_view("x", 1), buf).status, Inflater::Status::Error);
}

}  // namespace
}  // namespace tern::net
