// libFuzzer target for the POP3 client session (src/client/pop3/session.hpp): arbitrary server
// bytes, in arbitrary pieces, against a session with a download batch queued. advance() must
// always return, never send the password before TLS (nothing allows it here), never hand out a
// chunk over chunk_size, and close for good once it says Close.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/pop3/session.hpp"

using namespace tern::client::pop3;

#include <cstdio>
static void check_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "check failed at line %d\n", line);
    std::abort();
}
#define check(x) check_at((x), __LINE__)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    Options o;
    o.user = "alice";
    o.password = "pa55word";
    o.use_apop = (data[0] & 1) != 0;
    o.chunk_size = 1 + data[0] % 64;
    o.pipeline_window = 1 + (data[0] >> 4);
    o.scram_nonce = "fuzznonce";
    const std::size_t piece = 1 + (data[0] >> 2) % 32;
    std::uint64_t octets = 0;
    Session s(o, [&](const Chunk& c) {
        check(c.data.size() <= o.chunk_size);
        octets += c.data.size();
    });
    s.uidl();
    s.retr(1);
    s.top(2, 1);
    s.dele(1);
    s.quit();
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    bool closed = false;
    for (std::size_t i = 0; i < in.size() && !closed; i += piece) {
        s.receive(in.substr(i, piece));
        for (int guard = 0;; ++guard) {
            check(guard < 1000);
            auto a = s.advance();
            // Before TLS, PLAIN/USER are never allowed here, and APOP and SCRAM never put the
            // password on the wire.
            if (!s.tls_active()) {
                check(a.output.find("pa55word") == std::string::npos);
                check(a.output.find("PASS ") == std::string::npos);
                check(a.output.find("AUTH PLAIN") == std::string::npos);
            }
            if (a.next == Session::Next::StartTls) {
                if (i % 2) s.tls_started();
                else s.tls_failed("fuzz");
                continue;
            }
            if (a.next == Session::Next::Close) closed = true;
            break;
        }
    }
    if (!closed) s.connection_lost("eof");
    check(s.advance().next == Session::Next::Close);
    std::uint64_t retr_octets = 0;
    for (const auto& out : s.take_outcomes()) retr_octets += out.octets;
    check(retr_octets == octets);
    return 0;
}
