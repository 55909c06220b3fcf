// COMPRESS (RFC 4978): the session only decides; the network layer does the deflate once the
// session returns Next::StartCompress. Must never start compression twice on one connection, nor
// before the tagged OK has gone out uncompressed.
#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_compress(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<CompressArgs>(c.args);
    if (!config_.compress_available) return bad(out, c.tag, "COMPRESS is not supported");
    // RFC 4978 §3 with RFC 5530 §3 COMPRESSIONACTIVE: compression is on already (as Dovecot does).
    if (compressing_) return say(out, tagged(c.tag, "NO", "COMPRESSIONACTIVE", "DEFLATE is active already"));
    // RFC 4978 §3: "BAD ... invalid or unknown argument"; DEFLATE is the only mechanism (§3, §5).
    if (a.mechanism != "DEFLATE") return bad(out, c.tag, "Unknown compression mechanism " + a.mechanism);
    say(out, tagged(c.tag, "OK", "", "DEFLATE active"));
    compressing_ = true;
    starting_compress_ = true;  // advance() returns Next::StartCompress before reading on
}

std::string Session::take_unread() {
    // RFC 4978 §3: the client compresses from the first command after COMPRESS; whatever came
    // after the COMPRESS line is therefore compressed and goes back to the network layer.
    std::string rest = input_.substr(input_pos_);
    input_.clear();
    input_pos_ = 0;
    return rest;
}

}  // namespace tern::imap
