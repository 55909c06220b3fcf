// libFuzzer target for the IMAP client session (src/client/imap/session.hpp): arbitrary server
// bytes, in arbitrary pieces, against a session with a sync-like batch of requests queued.
// advance() must always return, never put the password on the wire before TLS (nothing allows it
// here), never hand out a chunk over chunk_size, answer every request exactly once by the end,
// and stay closed once it says Close.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "client/imap/session.hpp"

using namespace tern::client::imap;

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
    o.scram_nonce = "fuzznonce";
    o.limits.chunk_size = 1 + data[0] % 64;
    o.limits.max_line = 8192;
    o.limits.max_entries = 1000;
    o.pipeline_window = 1 + (data[0] >> 5);
    o.write_chunk = 1 + data[0] % 7;
    o.enable_utf8 = data[0] & 1;
    const std::size_t piece = 1 + (data[0] >> 2) % 32;
    Session s(o, [&](const Chunk& c) { check(c.data.size() <= o.limits.chunk_size); });
    std::set<std::uint64_t> ids;
    ids.insert(s.list("", "*"));
    SelectOptions so;
    so.condstore = true;
    ids.insert(s.select("INBOX", so));
    ids.insert(s.fetch("1:*", "(UID FLAGS MODSEQ BODY.PEEK[])"));
    StoreOptions st;
    st.flags = {"\\Seen"};
    st.unchanged_since = 5;
    ids.insert(s.store("1:3", st));
    ids.insert(s.search("UNSEEN"));
    ids.insert(s.move("2", "Trash"));
    ids.insert(s.append("Entwürfe", tern::base::bytes_from_string("Subject: x\r\n\r\nbody\r\n")));
    ids.insert(s.idle());
    ids.insert(s.logout());
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    bool closed = false;
    for (std::size_t i = 0; i < in.size() && !closed; i += piece) {
        s.receive(in.substr(i, piece));
        for (int guard = 0;; ++guard) {
            check(guard < 100000);
            auto a = s.advance();
            if (!s.tls_active()) {
                check(a.output.find("pa55word") == std::string::npos);
                check(a.output.find("AUTHENTICATE PLAIN") == std::string::npos);
                check(a.output.find(" LOGIN ") == std::string::npos);
            }
            if (a.next == Session::Next::StartTls) {
                if (i % 2) s.tls_started();
                else s.tls_failed("fuzz");
                continue;
            }
            if (a.next == Session::Next::Write) continue;
            if (s.idling() && (i & 4)) s.done();
            if (a.next == Session::Next::Close) closed = true;
            break;
        }
    }
    if (!closed) s.connection_lost("eof");
    check(s.advance().next == Session::Next::Close);
    std::set<std::uint64_t> answered;
    for (const auto& out : s.take_outcomes()) check(answered.insert(out.id).second);
    check(answered == ids);
    return 0;
}
