// libFuzzer target for the SMTP client's reply parser (src/client/smtp/reply.hpp): arbitrary
// server bytes must never crash it; a complete reply must be stable under every prefix (Incomplete
// before its end, the same reply once whole) and within the documented bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/smtp/reply.hpp"

using namespace tern::client::smtp;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const ReplyParse p = parse_reply(in);
    if (p.status != ReplyParse::Status::Complete) return 0;
    check(p.consumed > 0 && p.consumed <= in.size());
    check(in[p.consumed - 1] == '\n');
    check(p.reply.code >= 200 && p.reply.code <= 599);
    check(!p.reply.lines.empty() && p.reply.lines.size() <= kMaxReplyLines);
    for (const auto& l : p.reply.lines) check(l.size() < kMaxReplyLine && l.find('\n') == std::string_view::npos);
    check(p.reply.enhanced.empty() || p.reply.enhanced[0] == static_cast<char>('0' + p.reply.code / 100));
    // The reply does not depend on what follows it, and is not complete before its last octet.
    const ReplyParse alone = parse_reply(in.substr(0, p.consumed));
    check(alone.status == ReplyParse::Status::Complete && alone.consumed == p.consumed);
    check(alone.reply.lines == p.reply.lines && alone.reply.enhanced == p.reply.enhanced);
    check(parse_reply(in.substr(0, p.consumed - 1)).status == ReplyParse::Status::Incomplete);
    return 0;
}
