// COPY and MOVE with their UID forms (RFC 9051 §6.4.7, §6.4.8, RFC 6851) and UIDPLUS's COPYUID
// (RFC 4315 §3). Bodies are shared, not copied (the store references one body). MOVE is one store
// transaction: a crash leaves the message in exactly one of the two mailboxes.
#include <cerrno>

#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_copy(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<CopyArgs>(c.args);
    const bool move = c.cmd == Cmd::Move;
    const std::string verb = std::string(c.uid ? "UID " : "") + (move ? "MOVE" : "COPY");
    auto& v = *view_;
    if (move && v.read_only) return say(out, tagged(c.tag, "NO", "READ-ONLY", "The mailbox is read-only (EXAMINE)"));
    auto idx = resolve(a.set, c.uid, c.tag, out);
    if (!idx) return;
    auto to = mailbox_arg(a.mailbox, c.tag, out);
    if (!to) return;
    std::vector<std::uint32_t> uids;
    for (auto i : *idx) uids.push_back(v.msgs[i].uid);
    if (uids.empty()) {
        // Nothing to do; the destination must still exist (RFC 9051 §6.4.7 TRYCREATE).
        auto h = store_.open_mailbox(account_, *to);
        if (!h) {
            if (h.error().code == ENOENT) return say(out, tagged(c.tag, "NO", "TRYCREATE", "No such mailbox"));
            return say(out, store_error(c.tag, h.error(), verb));
        }
        sync(out, c.uid);
        if (state_ == State::Logout) return;
        return say(out, tagged(c.tag, "OK", "", verb + " completed (no messages)"));
    }
    store::CopyResult copied;
    if (move) {
        auto r = store_.move_messages(v.box, uids, *to);
        if (!r) {
            if (r.error().code == ENOENT) return say(out, tagged(c.tag, "NO", "TRYCREATE", "No such mailbox"));
            return say(out, store_error(c.tag, r.error(), verb));
        }
        copied = std::move(r->first);
        // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGE responses.
        if (!copied.source_uids.empty())
            say(out, untagged("OK [COPYUID " + std::to_string(copied.uidvalidity) + " " + uid_set(copied.source_uids) +
                              " " + compress_numbers(copied.dest_uids) + "] Moved"));
        for (auto u : r->second.uids) v.pending_expunge.push_back(u);
        announce_expunges(out);
        sync(out, true);
        if (state_ == State::Logout) return;
        return say(out, tagged(c.tag, "OK", "", verb + " completed"));
    }
    auto r = store_.copy_messages(v.box, uids, *to);
    if (!r) {
        if (r.error().code == ENOENT) return say(out, tagged(c.tag, "NO", "TRYCREATE", "No such mailbox"));
        return say(out, store_error(c.tag, r.error(), verb));
    }
    copied = std::move(*r);
    sync(out, c.uid);
    if (state_ == State::Logout) return;
    if (copied.source_uids.empty()) return say(out, tagged(c.tag, "OK", "", verb + " completed"));
    say(out, tagged(c.tag, "OK",
                    "COPYUID " + std::to_string(copied.uidvalidity) + " " + uid_set(copied.source_uids) + " " +
                        compress_numbers(copied.dest_uids),
                    verb + " completed"));
}

}  // namespace tern::imap
