// EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1). Must never remove a message without
// \Deleted, nor (UID EXPUNGE) one outside the given set.
#include <algorithm>

#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_expunge(const ParsedCommand& c, std::string& out) {
    auto& v = *view_;
    if (v.read_only) return say(out, tagged(c.tag, "NO", "READ-ONLY", "The mailbox is read-only (EXAMINE)"));
    std::vector<std::size_t> within;
    if (c.uid) {
        auto r = resolve(std::get<SetArgs>(c.args).set, true, c.tag, out);
        if (!r) return;
        within = std::move(*r);
    } else {
        for (std::size_t i = 0; i < v.msgs.size(); ++i) within.push_back(i);
    }
    std::vector<std::uint32_t> uids;
    for (auto i : within) {
        if (v.has_flag(v.msgs[i], "\\Deleted")) uids.push_back(v.msgs[i].uid);
    }
    if (!uids.empty()) {
        auto r = store_.expunge_deleted(v.box, uids);
        if (!r) return say(out, store_error(c.tag, r.error(), "EXPUNGE"));
        // RFC 9051 §7.5.1: one EXPUNGE response per removed message, before the tagged OK.
        for (auto u : r->uids) v.pending_expunge.push_back(u);
        announce_expunges(out);
    }
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(c.uid ? "UID " : "") + "EXPUNGE completed"));
}

}  // namespace tern::imap
