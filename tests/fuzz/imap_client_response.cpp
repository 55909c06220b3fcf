// libFuzzer target for the IMAP client's response reader (src/client/imap/response.hpp): arbitrary
// server bytes with small limits, fed whole and in pieces. next() must always return, never hand
// out a chunk over chunk_size, and give the same responses and body octets however it is fed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "client/imap/response.hpp"

using namespace tern::client::imap;

static void check_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "check failed at line %d\n", line);
    std::abort();
}
#define check(x) check_at((x), __LINE__)

namespace {

struct Seen {
    std::vector<int> kinds;
    std::string body;
    bool error = false;
};

Seen run(std::string_view in, std::size_t piece, const ReaderLimits& lim, bool utf8) {
    ResponseReader r(lim);
    r.set_utf8(utf8);
    Seen s;
    for (std::size_t i = 0; i < in.size() && !s.error; i += piece) {
        r.feed(in.substr(i, piece));
        for (int guard = 0;; ++guard) {
            check(guard < 1'000'000);
            Response resp;
            BodyChunk c;
            auto res = r.next(resp, c);
            if (res == ResponseReader::Result::Incomplete) break;
            if (res == ResponseReader::Result::Error) {
                s.error = true;
                break;
            }
            if (res == ResponseReader::Result::Chunk) {
                check(!c.data.empty() && c.data.size() <= lim.chunk_size);
                check(c.offset + c.data.size() <= c.size);
                s.body.append(c.data);
                continue;
            }
            s.kinds.push_back(static_cast<int>(resp.kind));
        }
    }
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    ReaderLimits lim;
    lim.max_line = 4096;
    lim.max_literal = 512;
    lim.max_literals = 64;
    lim.max_depth = 16;
    lim.max_entries = 256;
    lim.max_body = 1 << 20;
    lim.chunk_size = 1 + data[0] % 16;
    const bool utf8 = data[0] & 0x80;
    const std::size_t piece = 1 + (data[0] >> 4) % 8;
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    Seen whole = run(in, in.size() ? in.size() : 1, lim, utf8);
    Seen split = run(in, piece, lim, utf8);
    check(whole.error == split.error);
    if (!whole.error) {
        check(whole.kinds == split.kinds);
        check(whole.body == split.body);
    }
    return 0;
}
