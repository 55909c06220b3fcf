// STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3): one
// store transaction for the whole set. Must never change flags in a read-only (EXAMINE) session
// and never send EXPUNGE while answering a (non-UID) STORE.
#include <algorithm>

#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_store(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<StoreArgs>(c.args);
    auto& v = *view_;
    if (v.read_only) return say(out, tagged(c.tag, "NO", "READ-ONLY", "The mailbox is read-only (EXAMINE)"));
    auto idx = resolve(a.set, c.uid, c.tag, out);
    if (!idx) return;
    if (a.unchanged_since) enable_condstore(out);  // RFC 7162 §3.1: a CONDSTORE-enabling command
    std::vector<std::uint32_t> uids;
    for (auto i : *idx) uids.push_back(v.msgs[i].uid);
    const auto mode = a.mode == StoreArgs::Mode::Add      ? store::FlagMode::Add
                      : a.mode == StoreArgs::Mode::Remove ? store::FlagMode::Remove
                                                          : store::FlagMode::Replace;
    store::StoreFlagsResult result;
    if (!uids.empty()) {
        auto r = store_.store_flags(v.box, uids, mode, a.flags, a.unchanged_since);
        if (!r) {
            if (r.error().code == EINVAL) return say(out, tagged(c.tag, "BAD", "", r.error().message));
            return say(out, store_error(c.tag, r.error(), "STORE"));
        }
        result = std::move(*r);
    }
    // RFC 9051 §7.3.5: a new keyword changes the mailbox's FLAGS, announced before its use.
    const std::size_t keywords_before = v.keywords.size();
    for (const auto& m : result.updated)
        for (const auto& f : m.flags)
            if (!f.starts_with("\\")) v.keywords.insert(f);
    if (v.keywords.size() != keywords_before) say_flags(out, v);
    for (auto& m : result.updated) {
        auto seq = v.seq_of(m.uid);
        if (!seq) continue;
        auto& known = v.msgs[seq - 1];
        const bool changed = known.modseq != m.modseq;
        v.set_flags(known, m.flags);
        known.modseq = m.modseq;
        // RFC 9051 §6.4.6: the new flags, unless .SILENT; RFC 7162 §3.1.3: with CONDSTORE a
        // silent STORE still reports the new MODSEQ of changed messages.
        if (a.silent && !(condstore_ && changed)) continue;
        std::string line = std::to_string(seq) + " FETCH (";
        if (c.uid) line += "UID " + std::to_string(m.uid) + " ";
        if (!a.silent) {
            line += "FLAGS ";
            append_flag_list(line, v.flags(known), shows_recent(known.uid));
            if (condstore_) line += " ";
        }
        if (condstore_) line += "MODSEQ (" + std::to_string(known.modseq) + ")";
        line += ")";
        say(out, untagged(line));
    }
    // RFC 9051 §7.5.1: no EXPUNGE during STORE; UID STORE may carry them.
    sync(out, c.uid);
    if (state_ == State::Logout) return;
    if (!result.modified.empty()) {
        // RFC 7162 §3.1.3: MODIFIED lists the messages that failed the UNCHANGEDSINCE test.
        std::vector<std::uint32_t> nums;
        for (auto u : result.modified)
            if (auto s = v.seq_of(u)) nums.push_back(c.uid ? u : s);
        return say(out, tagged(c.tag, "OK", "MODIFIED " + compress_numbers(nums), "Conditional STORE failed for some"));
    }
    say(out, tagged(c.tag, "OK", "", std::string(c.uid ? "UID " : "") + "STORE completed"));
}

}  // namespace tern::imap
