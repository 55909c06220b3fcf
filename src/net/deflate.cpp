// Raw deflate both ways for IMAP COMPRESS (RFC 4978) over zlib. Must never grow a buffer beyond
// what one call was given, and never report data the peer sent as decoded before it is.
#include "net/deflate.hpp"

#include <limits>

namespace tern::net {

Deflater::Deflater(int level) {
    // RFC 4978 §3 / §4: raw deflate; windowBits -15 makes zlib leave out its own header.
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

Deflater::~Deflater() {
    if (ok_) deflateEnd(&z_);
}

bool Deflater::compress(std::string_view in, bool flush, std::string& out) {
    if (!ok_) return false;
    // Slices keep avail_in within uInt; each runs until zlib has taken it all (and, at the end,
    // until the sync flush is complete: avail_out left over means nothing more is pending).
    constexpr std::size_t kSlice = 64u << 10;
    do {
        std::size_t n = std::min(in.size(), kSlice);
        bool last = n == in.size();
        int mode = last && flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(n);
        for (;;) {
            std::size_t room = deflateBound(&z_, z_.avail_in) + 16;
            std::size_t old = out.size();
            out.resize(old + room);
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
            z_.avail_out = static_cast<uInt>(room);
            int rc = deflate(&z_, mode);
            out.resize(old + (room - z_.avail_out));
            if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            if (z_.avail_in == 0 && z_.avail_out != 0) break;
        }
        in.remove_prefix(n);
    } while (!in.empty());
    return true;
}

Inflater::Inflater() { ok_ = inflateInit2(&z_, -15) == Z_OK; }

Inflater::~Inflater() {
    if (ok_) inflateEnd(&z_);
}

Inflater::Result Inflater::inflate(std::string_view in, std::span<char> out) {
    Result r;
    if (!ok_ || ended_) {
        r.status = Status::Error;
        return r;
    }
    constexpr std::size_t kMax = std::numeric_limits<uInt>::max();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(std::min(in.size(), kMax));
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(std::min(out.size(), kMax));
    uInt in_before = z_.avail_in, out_before = z_.avail_out;
    int rc = ::inflate(&z_, Z_SYNC_FLUSH);
    r.consumed = in_before - z_.avail_in;
    r.produced = out_before - z_.avail_out;
    if (rc == Z_STREAM_END) ended_ = true;
    if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR)) r.status = Status::Error;
    return r;
}

}  // namespace tern::net
