// libFuzzer target for the POP3 client's response reader (src/client/pop3/reply.hpp): arbitrary
// server bytes must never crash it, every result must stay within the documented bounds, and the
// items read must not depend on how the bytes were split (whole vs one octet at a time).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/pop3/reply.hpp"

using namespace tern::client::pop3;
using R = ResponseReader::Result;

static void check(bool ok) {
    if (!ok) std::abort();
}

// Reads status lines, body lines or message chunks (chosen by `modes`, cycling) until the reader
// needs more input or fails; returns a transcript of what it produced.
static std::string drain(ResponseReader& r, std::string_view modes, std::size_t& mode_at, std::size_t max,
                         bool& failed) {
    std::string log;
    while (!failed) {
        const char mode = modes.empty() ? 0 : modes[mode_at % modes.size()];
        R res;
        if (mode % 3 == 0) {
            Status s;
            res = r.status(s);
            if (res == R::Done) {
                check(s.text.find('\n') == std::string::npos && s.text.size() < kMaxResponseLine);
                check(s.code.find(']') == std::string::npos);
                log += "S" + std::to_string(static_cast<int>(s.kind)) + "[" + s.code + "]" + s.text + "\n";
            }
        } else if (mode % 3 == 1) {
            std::string line;
            res = r.body_line(line);
            if (res == R::Done) {
                check(line.find('\n') == std::string::npos && line.size() < kMaxResponseLine);
                log += "L" + line + "\n";
            }
            if (res == R::End) log += "E\n";
        } else {
            // Chunks: consecutive Data results concatenate, so the log keeps only the octets.
            std::string chunk;
            res = r.body_chunk(chunk, max);
            check(chunk.size() <= max);
            if (res == R::Data) {
                check(!chunk.empty());
                log += chunk;
                continue;  // same mode until the body ends or input runs out
            }
            if (res == R::End) log += "\nE\n";
        }
        if (res == R::Incomplete) break;
        if (res == R::Error) {
            failed = true;
            log += "X\n";
            break;
        }
        ++mode_at;
    }
    return log;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max = 1 + data[0] % 16;
    const std::size_t nmodes = 1 + data[1] % 4;
    if (size < 2 + nmodes) return 0;
    const std::string_view modes(reinterpret_cast<const char*>(data + 2), nmodes);
    const std::string_view in(reinterpret_cast<const char*>(data + 2 + nmodes), size - 2 - nmodes);

    ResponseReader whole;
    std::size_t at_whole = 0;
    bool failed_whole = false;
    whole.feed(in);
    const std::string a = drain(whole, modes, at_whole, max, failed_whole);
    check(whole.buffered() <= in.size());

    ResponseReader bytes;
    std::size_t at_bytes = 0;
    bool failed_bytes = false;
    std::string b;
    for (std::size_t i = 0; i < in.size() && !failed_bytes; ++i) {
        bytes.feed(in.substr(i, 1));
        b += drain(bytes, modes, at_bytes, max, failed_bytes);
        // Never more than one line (or three octets of an undecided line start) held back.
        check(bytes.buffered() <= kMaxResponseLine);
    }
    // A line-length error can come earlier byte by byte (an over-long line with no end yet), so
    // compare only when neither failed.
    if (!failed_whole && !failed_bytes) {
        check(a == b);
        check(at_whole == at_bytes);
    }
    return 0;
}
