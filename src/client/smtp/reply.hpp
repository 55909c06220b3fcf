// Parser for SMTP replies as a client receives them (RFC 5321 §4.2, RFC 2034 enhanced status
// codes): bytes in, one complete reply (all its lines) out. Pure and bounded: must never read past
// the reply it returns, never grow without limit on a server that never ends a line or a reply.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::client::smtp {

struct Reply {
    int code = 0;                    // 200..599
    std::string enhanced;            // "2.1.0" when the first line carried one (RFC 2034 §4), else ""
    std::vector<std::string> lines;  // text of each line, code (and enhanced code) removed
    std::string text() const;        // the lines joined by "\n"
    bool positive() const { return code / 100 == 2; }
    bool temporary() const { return code / 100 == 4; }
    bool permanent() const { return code / 100 == 5; }
};

// Limits (RFC 5321 §4.5.3.1.5 says a reply line is at most 512 octets; real servers send longer
// EHLO and error texts, so the bound is generous but finite).
inline constexpr std::size_t kMaxReplyLine = 2048;   // octets, CRLF included
inline constexpr std::size_t kMaxReplyLines = 128;   // lines in one multiline reply

struct ReplyParse {
    enum class Status { Incomplete, Complete, Error } status = Status::Incomplete;
    Reply reply;              // valid when Complete
    std::size_t consumed = 0; // octets of input the reply used (Complete only)
    std::string error;        // why, when Error
};

// Looks for one complete reply at the start of `input`. Incomplete: feed more bytes and call
// again with the whole buffer. Lines end in CRLF; a bare LF is accepted as a line end (servers
// that send it exist; it cannot make two replies out of one). Every line must carry the same
// code; "code-" continues, "code " or a bare "code" ends the reply (RFC 5321 §4.2.1).
ReplyParse parse_reply(std::string_view input);

}  // namespace tern::client::smtp
