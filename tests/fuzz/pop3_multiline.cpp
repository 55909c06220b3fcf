// libFuzzer target: the chunked multi-line encoder (MultilineStuffer) and TOP cut (TopCutter) that
// RETR/TOP use to stream a message, against the whole-message append_multiline() and top_of().
// Must never crash, and never differ from them wherever the message is cut into pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/pop3/response.hpp"

using namespace tern::pop3;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    // First octet: the piece size (1..256); second: TOP's line count; the rest: the message.
    const std::size_t piece = std::size_t{data[0]} + 1;
    const std::uint64_t lines = data[1] == 255 ? UINT64_MAX : data[1] % 8;
    std::string_view message(reinterpret_cast<const char*>(data) + 2, size - 2);

    std::string whole;
    append_multiline(whole, message);
    std::string streamed;
    MultilineStuffer stuffer;
    for (std::size_t at = 0; at < message.size(); at += piece) stuffer.append(streamed, message.substr(at, piece));
    stuffer.finish(streamed);
    check(streamed == whole);

    std::string top;
    TopCutter cut(lines);
    for (std::size_t at = 0; at < message.size() && !cut.done(); at += piece) {
        std::string_view p = message.substr(at, piece);
        std::size_t n = cut.take(p);
        check(n <= p.size());
        check(n == p.size() || cut.done());
        top.append(p.substr(0, n));
    }
    check(top == top_of(message, lines));
    return 0;
}
