// The selected mailbox's view as the SEARCH matcher sees it: shared by SEARCH, SORT and THREAD,
// which all select messages with search_match. Must never open a message (the caller adds the
// source when needs_content() says so).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "session/imap/search_match.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

// "*" stands for the view's highest sequence number and UID; "$" for `saved` (UIDs).
inline SearchContext search_context(const Session::View& v, const std::vector<std::uint32_t>& saved) {
    SearchContext ctx;
    ctx.max_seq = static_cast<std::uint32_t>(v.msgs.size());
    ctx.max_uid = v.msgs.empty() ? 0 : v.msgs.back().uid;
    ctx.saved = &saved;
    return ctx;
}

// Message i (0-based) of the view, without its source.
inline SearchMessage search_message(const Session::View& v, std::size_t i) {
    const auto& m = v.msgs[i];
    SearchMessage sm;
    sm.seq = static_cast<std::uint32_t>(i + 1);
    sm.uid = m.uid;
    sm.modseq = m.modseq;
    sm.size = m.size;
    sm.internal_date = m.internal_date;
    sm.flags = v.flags(m);
    sm.recent = v.is_recent(m.uid);  // the ranges are empty in an IMAP4rev2 session
    return sm;
}

}  // namespace tern::imap
