// libFuzzer target for the SMTP client session (src/client/smtp/session.hpp): a fuzzed server
// answers a client with two queued messages, its bytes cut into pieces chosen by the input. Must
// never crash or loop; every line the client writes outside message data ends in CRLF with no
// other CR or LF; once the connection ends, every recipient has exactly one outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "client/smtp/session.hpp"

using namespace tern::client::smtp;

static void check(bool ok) {
    if (!ok) std::abort();
}

static Message message(std::uint64_t tag, std::string body) {
    Message m;
    m.tag = tag;
    m.sender = "a@example.net";
    m.recipients = {{"b@example.org", "SUCCESS", "rfc822;b@example.org"}, {"c@example.org", "", ""}};
    m.body = tern::base::bytes_from_string(std::move(body));
    return m;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    Options o;
    o.chunk_size = 1 + data[0] % 16;
    o.require_tls = data[1] & 1;
    if (data[0] & 0x40) {  // AUTH (RFC 4954) after EHLO, PLAIN or LOGIN, with or without TLS
        o.auth_user = "user";
        o.auth_password = "pw";
        o.auth_without_tls = data[0] & 0x20;
        o.implicit_tls = data[0] & 0x10;
    }
    Session s(o);
    s.add(message(1, ".a\r.\nb\r\n.\r\nc\xc3\xa9"));
    s.add(message(2, "short"));
    s.finish();
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    std::size_t piece = 1 + data[1] / 2 % 64;
    for (std::size_t pos = 0; pos <= in.size() && s.end() == ConnectionEnd::Open; pos += piece) {
        s.receive(in.substr(pos, piece));
        for (int guard = 0;; ++guard) {
            check(guard < 100000);
            auto a = s.advance();
            if (a.next == Session::Next::StartTls) {
                if (data[0] & 0x80) s.tls_failed("fuzz");
                else s.tls_started();
                continue;
            }
            if (a.next != Session::Next::Write) break;
        }
    }
    if (s.end() == ConnectionEnd::Open) s.connection_lost("fuzz");
    check(s.advance().next == Session::Next::Close);
    auto outcomes = s.take_outcomes();
    check(outcomes.size() == 2);
    for (const auto& m : outcomes) {
        check(m.recipients.size() == 2);
        for (const auto& r : m.recipients) check(r.status.code >= 200 && r.status.code <= 599);
    }
    return 0;
}
