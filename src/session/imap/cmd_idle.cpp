// IDLE (RFC 9051 §6.3.13, RFC 2177): the session waits for DONE while the network layer wakes it
// on every change to the account's mail; each wake sends the updates. Must never answer anything
// but DONE while idling.
#include "base/ascii.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_idle(const ParsedCommand& c, std::string& out) {
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, continuation("idling"));
    pending_ = std::make_unique<Pending>(Pending{Idling{c.tag}});
    reader_.expect_line();
}

void Session::idle_line(std::string_view line, std::string& out) {
    auto tag = std::get<Idling>(pending_->what).tag;
    pending_.reset();
    // RFC 9051 §6.3.13: "DONE" (case-insensitive) ends the IDLE; anything else fails it.
    if (ascii::to_lower(line) != "done") return bad(out, tag, "Expected DONE to end IDLE");
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(tag, "OK", "", "IDLE terminated"));
}

}  // namespace tern::imap
