// libFuzzer target: SMTP command framing (next_line) and parsing (parse_command) on arbitrary bytes.
// Must never crash, and must never yield a Line or a Command that carries CR, LF or NUL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/smtp/command.hpp"
#include "proto/smtp/line_reader.hpp"

using namespace tern::smtp;

static void check(bool ok) {
    if (!ok) std::abort();
}

static void check_command(std::string_view line) {
    for (bool utf8 : {false, true}) {
        auto c = parse_command(line, utf8);
        if (!c) {
            check(c.error().code >= 500 && c.error().code <= 555);
            check(!c.error().text.empty());
            continue;
        }
        check(c->arg.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
        if (c->path.mailbox) {
            // A parsed path's mailbox must survive its canonical form.
            const Mailbox& m = *c->path.mailbox;
            if (!m.domain.empty()) {
                auto again = parse_mailbox(m.str(), utf8);
                check(again.has_value() && *again == m);
            }
        }
        if (!c->mail.envid.empty()) check(xtext_decode(xtext_encode(c->mail.envid)) == c->mail.envid);
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_command(in);

    // Frame the bytes the way a session does, with a small limit to reach TooLong paths too.
    for (std::size_t max_len : {std::size_t{16}, std::size_t{512}}) {
        std::string_view buf = in;
        bool skipping = false;
        for (;;) {
            LineResult r = next_line(buf, max_len, skipping);
            if (r.kind == LineResult::Kind::NeedMore) {
                check(r.consumed == 0);
                break;
            }
            check(r.consumed > 0 && r.consumed <= buf.size());
            if (r.kind == LineResult::Kind::Line) {
                check(r.line.size() + 2 <= max_len);
                check(r.line.find_first_of("\r\n") == std::string_view::npos);
                check(buf.substr(r.line.size(), 2) == "\r\n" && r.consumed == r.line.size() + 2);
                check_command(r.line);
                skipping = false;
            } else if (r.kind == LineResult::Kind::TooLong) {
                skipping = !r.complete;
            } else {
                check(r.complete && buf.substr(r.consumed - 2, 2) == "\r\n");
            }
            buf.remove_prefix(r.consumed);
        }
    }
    // xtext must round-trip on any bytes.
    check(xtext_decode(xtext_encode(in)) == std::string(in));
    return 0;
}
