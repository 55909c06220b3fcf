// libFuzzer target: POP3 command framing (next_line at the RFC 2449 §4 limit) and parsing
// (parse_command), plus the multi-line encoder and TOP on the same bytes. Must never crash, never
// yield a Command carrying CR, LF or NUL, and never emit a body whose terminator comes early.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/pop3/apop.hpp"
#include "proto/pop3/command.hpp"
#include "proto/pop3/response.hpp"
#include "proto/smtp/line_reader.hpp"

using namespace tern::pop3;

static void check(bool ok) {
    if (!ok) std::abort();
}

static bool clean(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

static void check_command(std::string_view line) {
    auto c = parse_command(line);
    if (!c) {
        check(!c.error().text.empty());
        return;
    }
    check(clean(c->arg1) && clean(c->arg2));
    check(!verb_name(c->verb).empty());
    switch (c->verb) {
        case Verb::Retr: case Verb::Dele: case Verb::Top:
            check(c->msg.has_value());
            break;
        case Verb::Pass: case Verb::User: case Verb::Auth: case Verb::Apop:
            check(!c->arg1.empty());
            break;
        default:
            break;
    }
    // The wire form of any reply built from parsed text is one line.
    std::string r = err(c->arg1);
    check(r.find("\r\n") == r.size() - 2 && clean(r.substr(0, r.size() - 2)));
}

// Multi-line body: only the final ".\r\n" may be an unstuffed dot at a line start, and removing
// the stuffing gives back the input (plus the CRLF added when it lacked one).
static void check_multiline(std::string_view data) {
    std::string out;
    append_multiline(out, data);
    check(out.size() == multiline_size(data));
    check(out.size() >= 3 && out.substr(out.size() - 3) == ".\r\n");
    std::string unstuffed;
    bool line_start = true;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (line_start && out[i] == '.') {
            if (i + 1 < out.size() && out[i + 1] == '.') {
                ++i;  // drop the stuffed dot, keep the original
            } else {
                check(i == out.size() - 3);  // the terminator
                break;
            }
        }
        unstuffed.push_back(out[i]);
        line_start = out[i] == '\n';
    }
    std::string expected(data);
    if (!data.empty() && !(data.size() >= 2 && data.substr(data.size() - 2) == "\r\n")) expected += "\r\n";
    check(unstuffed == expected);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_command(in);

    bool skipping = false;
    std::string_view buf = in;
    for (;;) {
        auto r = tern::smtp::next_line(buf, kMaxCommandLine, skipping);
        if (r.kind == tern::smtp::LineResult::Kind::NeedMore) break;
        check(r.consumed > 0 && r.consumed <= buf.size());
        if (r.kind == tern::smtp::LineResult::Kind::Line) {
            check(r.line.size() + 2 <= kMaxCommandLine);
            check_command(r.line);
            skipping = false;
        } else if (r.kind == tern::smtp::LineResult::Kind::TooLong) {
            skipping = !r.complete;
        }
        buf.remove_prefix(r.consumed);
    }

    check_multiline(in);
    for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{5}, UINT64_MAX}) {
        std::string_view top = top_of(in, n);
        check(top.data() == in.data() && top.size() <= in.size());
    }
    if (valid_uidl(in)) check(in.size() >= 1 && in.size() <= 70 && clean(in));
    // A digest never verifies against a different secret's digest; any bytes are safe to compare.
    check(apop_verify("<1.2@h>", in, apop_digest("<1.2@h>", in)));
    (void)apop_verify("<1.2@h>", "secret", in);
    return 0;
}
