// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3), CLOSE and UNSELECT (§6.4.1, §6.4.2, RFC 3691),
// STATUS (§6.3.11, RFC 8438 STATUS=SIZE). Must never leave a mailbox selected after a failed
// SELECT (RFC 9051 §6.3.2: the previous one is deselected first) and never expunge on UNSELECT.
#include <cerrno>

#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {
namespace {

constexpr const char* kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

bool has_flag(const store::MessageInfo& m, std::string_view f) {
    for (const auto& x : m.flags)
        if (x == f) return true;
    return false;
}

}  // namespace

void Session::cmd_select(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<SelectArgs>(c.args);
    const bool examine = c.cmd == Cmd::Examine;
    const bool was_selected = state_ == State::Selected;
    leave_selected();
    // RFC 9051 §6.3.2 / RFC 7162 §3.2.11: tell the client the old mailbox is closed.
    if (was_selected) say(out, untagged("OK [CLOSED] Previous mailbox closed"));
    auto name = mailbox_arg(a.mailbox, c.tag, out);
    if (!name) return;
    auto handle = store_.open_mailbox(account_, *name);
    if (!handle) return say(out, store_error(c.tag, handle.error(), command_name(c.cmd)));
    auto info = store_.mailbox_info(*handle);
    if (!info) return say(out, store_error(c.tag, info.error(), command_name(c.cmd)));
    if (info->noselect) return say(out, tagged(c.tag, "NO", "CANNOT", "That name holds no messages (\\Noselect)"));
    // RFC 7162 §3.2.5: QRESYNC parameters only after ENABLE QRESYNC.
    if (a.qresync && !qresync_) return bad(out, c.tag, "QRESYNC needs ENABLE QRESYNC first");
    View v;
    v.box = *handle;
    v.name = info->name;
    v.read_only = examine;
    // RFC 3501 §6.3.1: SELECT makes the messages no session has seen yet \Recent in this one
    // (claimed before the listing, so that the listing shows every message claimed).
    take_recent(v, 1, info->uidnext, info->first_recent_uid);
    auto list = store_.list_messages(*handle, 1, 0);
    if (!list) return say(out, store_error(c.tag, list.error(), command_name(c.cmd)));
    if (a.condstore) condstore_ = true;  // RFC 7162 §3.1.8: SELECT (CONDSTORE) enables it
    v.known_modseq = info->highest_modseq;
    v.uidnext = info->uidnext;
    std::uint32_t first_unseen = 0;
    v.msgs.reserve(list->size());
    for (auto& m : *list) {
        v.uidnext = std::max(v.uidnext, m.uid + 1);
        for (const auto& f : m.flags)
            if (!f.starts_with("\\")) v.keywords.insert(f);
        if (!first_unseen && !has_flag(m, "\\Seen")) first_unseen = static_cast<std::uint32_t>(v.msgs.size() + 1);
        v.msgs.push_back(v.make(std::move(m)));
    }
    list->clear();
    list->shrink_to_fit();
    say(out, untagged(std::to_string(v.msgs.size()) + " EXISTS"));
    if (!rev2_) {
        say(out, untagged(std::to_string(v.recent_count()) + " RECENT"));  // RFC 3501 §6.3.1; not in RFC 9051
        if (first_unseen) say(out, untagged("OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen"));
    }
    say_flags(out, v);
    say(out, untagged("OK [UIDVALIDITY " + std::to_string(v.box.uidvalidity) + "] UIDs valid"));
    say(out, untagged("OK [UIDNEXT " + std::to_string(v.uidnext) + "] Predicted next UID"));
    if (condstore_) say(out, untagged("OK [HIGHESTMODSEQ " + std::to_string(v.known_modseq) + "] Highest"));
    if (rev2_) {
        // RFC 9051 §6.3.2: a LIST response with the mailbox's name and attributes.
        say(out, untagged("LIST () \"/\" " + [&] {
                std::string s;
                append_astring(s, wire_name(v.name), utf8());
                return s;
            }()));
    }
    if (a.qresync && a.qresync->uidvalidity == v.box.uidvalidity) {
        // RFC 7162 §3.2.5.1: what changed since the client's last known modseq: the UIDs that
        // vanished (those it knows, when it says which) and the messages whose flags changed.
        const auto& q = *a.qresync;
        auto gone = store_.expunged_since(v.box, q.modseq);
        if (!gone) return say(out, store_error(c.tag, gone.error(), command_name(c.cmd)));
        const std::uint32_t star = v.uidnext > 1 ? v.uidnext - 1 : 1;
        std::vector<std::uint32_t> vanished;
        for (auto u : *gone)
            if (!q.known_uids || q.known_uids->contains(u, star)) vanished.push_back(u);
        if (!vanished.empty()) say(out, untagged("VANISHED (EARLIER) " + uid_set(vanished)));
        for (std::size_t i = 0; i < v.msgs.size(); ++i) {
            const auto& m = v.msgs[i];
            if (m.modseq <= q.modseq) continue;
            std::string line = std::to_string(i + 1) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS ";
            append_flag_list(line, v.flags(m), !rev2_ && v.is_recent(m.uid));
            line += " MODSEQ (" + std::to_string(m.modseq) + "))";
            say(out, untagged(line));
        }
    }
    enter_selected(std::move(v));
    say(out, tagged(c.tag, "OK", examine ? "READ-ONLY" : "READ-WRITE", std::string(command_name(c.cmd)) + " completed"));
}

void Session::say_flags(std::string& out, const View& v) {
    std::string keywords;
    for (const auto& k : v.keywords) keywords += " " + k;
    say(out, untagged(std::string("FLAGS (") + kSystemFlags + keywords + ")"));
    // RFC 9051 §7.1: "\\*" - clients may create new keywords.
    if (v.read_only) say(out, untagged("OK [PERMANENTFLAGS ()] Read-only mailbox"));
    else say(out, untagged(std::string("OK [PERMANENTFLAGS (") + kSystemFlags + keywords + " \\*)] Flags permitted"));
}

void Session::cmd_close(const ParsedCommand& c, std::string& out) {
    auto& v = *view_;
    if (c.cmd == Cmd::Close && !v.read_only) {
        // RFC 9051 §6.4.1: CLOSE removes \Deleted messages silently (no EXPUNGE responses).
        std::vector<std::uint32_t> uids;
        for (const auto& m : v.msgs)
            if (v.has_flag(m, "\\Deleted")) uids.push_back(m.uid);
        if (!uids.empty()) {
            auto r = store_.expunge_deleted(v.box, uids);
            if (!r) log::warn("imap[", id_, "] CLOSE could not expunge: ", r.error().message);
        }
    }
    leave_selected();
    say(out, tagged(c.tag, "OK", "", std::string(command_name(c.cmd)) + " completed"));
}

void Session::cmd_status(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<StatusArgs>(c.args);
    auto name = mailbox_arg(a.mailbox, c.tag, out);
    if (!name) return;
    auto handle = store_.open_mailbox(account_, *name);
    if (!handle) return say(out, store_error(c.tag, handle.error(), "STATUS"));
    auto info = store_.mailbox_info(*handle);
    if (!info) return say(out, store_error(c.tag, info.error(), "STATUS"));
    if (info->noselect) return say(out, tagged(c.tag, "NO", "NONEXISTENT", "That name holds no messages (\\Noselect)"));
    bool need_list = false;
    for (auto item : a.items)
        if (item == StatusItem::Unseen || item == StatusItem::Deleted || item == StatusItem::Size) need_list = true;
    std::uint64_t recent = 0;  // counted from the mailbox's listing when that is made anyway
    std::uint64_t unseen = 0, deleted = 0, size = 0;
    if (need_list) {
        auto list = store_.list_messages(*handle, 1, 0);
        if (!list) return say(out, store_error(c.tag, list.error(), "STATUS"));
        for (const auto& m : *list) {
            if (!has_flag(m, "\\Seen")) ++unseen;
            if (has_flag(m, "\\Deleted")) ++deleted;
            if (m.uid >= info->first_recent_uid) ++recent;
            size += m.size;
        }
    }
    std::string items;
    auto add = [&](const char* k, std::uint64_t v) {
        if (!items.empty()) items += ' ';
        items += k;
        items += ' ';
        items += std::to_string(v);
    };
    for (auto item : a.items) {
        switch (item) {
            case StatusItem::Messages: add("MESSAGES", info->messages); break;
            case StatusItem::UidNext: add("UIDNEXT", info->uidnext); break;
            case StatusItem::UidValidity: add("UIDVALIDITY", info->uidvalidity); break;
            case StatusItem::Unseen: add("UNSEEN", unseen); break;
            case StatusItem::Deleted: add("DELETED", deleted); break;
            case StatusItem::Size: add("SIZE", size); break;
            // RFC 3501 §6.3.10: messages with \Recent, i.e. not yet claimed by any session.
            case StatusItem::Recent: add("RECENT", need_list ? recent : unclaimed_recent(*info)); break;
            case StatusItem::HighestModSeq: add("HIGHESTMODSEQ", info->highest_modseq); break;
            case StatusItem::AppendLimit: break;
        }
    }
    std::string line = "STATUS ";
    append_string(line, wire_name(info->name), utf8());  // quoted, as LIST sends it
    line += " (" + items + ")";
    say(out, untagged(line));
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", "STATUS completed"));
}

}  // namespace tern::imap
