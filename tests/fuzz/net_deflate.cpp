// libFuzzer target: the inflate side of IMAP COMPRESS (net/deflate.hpp), which takes a client's
// untrusted bytes. Must never crash or write beyond the buffer it is given; and whatever the
// deflate side compresses (the input as text) inflates back exactly, in any piece sizes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/deflate.hpp"

using namespace tern::net;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    {  // as compressed input: bounded output, no crash
        Inflater z;
        char buf[512];
        std::string_view rest = in;
        for (int guard = 0; guard < 100000 && !rest.empty(); ++guard) {
            auto r = z.inflate(rest, buf);
            check(r.produced <= sizeof buf && r.consumed <= rest.size());
            if (r.status != Inflater::Status::Ok || (r.consumed == 0 && r.produced == 0)) break;
            rest.remove_prefix(r.consumed);
        }
    }
    {  // as text: a round trip, flushed in pieces whose sizes come from the input
        Deflater d(size % 10);
        Inflater z;
        std::string wire, back;
        std::size_t pos = 0;
        while (pos < in.size()) {
            std::size_t n = 1 + static_cast<unsigned char>(in[pos]) * 37 % 4096;
            n = std::min(n, in.size() - pos);
            check(d.compress(in.substr(pos, n), (pos / 7) % 2 == 0 || pos + n == in.size(), wire));
            pos += n;
        }
        char buf[100];
        std::string_view rest = wire;
        for (;;) {
            auto r = z.inflate(rest, buf);
            check(r.status == Inflater::Status::Ok);
            back.append(buf, r.produced);
            rest.remove_prefix(r.consumed);
            if (r.produced == 0 && (rest.empty() || r.consumed == 0)) break;
        }
        check(back == in);
    }
    return 0;
}
