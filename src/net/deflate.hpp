// Raw deflate (RFC 1951, zlib windowBits -15) for IMAP COMPRESS=DEFLATE (RFC 4978): one zlib
// stream each way, no I/O. Must never hold back output the peer is waiting for (every compress()
// with flush ends in a Z_SYNC_FLUSH) and never inflate more than the caller's buffer holds.
#pragma once
#include <zlib.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace tern::net {

// Per connection: deflate ~256 KiB (windowBits 15, memLevel 8: zlib's 2^(w+2) + 2^(m+9)),
// inflate ~39 KiB (a 32 KiB window and its state).
class Deflater {
public:
    explicit Deflater(int level = 5);  // RFC 4978 §4: levels 1-5 are the sensible range
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    // Appends the compressed form of `in` to `out`. With `flush`, ends with Z_SYNC_FLUSH so the
    // peer can decode everything so far; without, zlib may keep some of it for later. Output per
    // call is bounded by in.size() plus a few bytes per 16 KiB (RFC 1951 stored blocks).
    // False on an internal zlib error (none is expected).
    bool compress(std::string_view in, bool flush, std::string& out);

private:
    z_stream z_{};
    bool ok_ = false;
};

class Inflater {
public:
    Inflater();
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    enum class Status { Ok, Error };
    struct Result {
        Status status = Status::Ok;
        std::size_t consumed = 0;  // octets of `in` used
        std::size_t produced = 0;  // octets written to `out`
    };
    // Decompresses from `in` into `out` until either is exhausted. Input that does not fit is
    // left unconsumed (a small compressed line may inflate to megabytes: the caller offers it
    // again with a fresh buffer). Error on corrupt data or on the end of the deflate stream:
    // RFC 4978 has no way to end compression but closing the connection.
    Result inflate(std::string_view in, std::span<char> out);

private:
    z_stream z_{};
    bool ok_ = false;
    bool ended_ = false;
};

}  // namespace tern::net
