// Mailbox management: CREATE (RFC 9051 §6.3.4, RFC 6154 §3 CREATE-SPECIAL-USE), DELETE (§6.3.5),
// RENAME (§6.3.6), SUBSCRIBE / UNSUBSCRIBE (§6.3.7, §6.3.8) and NAMESPACE (§6.3.10, RFC 2342).
// Names are store keys (decoded and checked by proto/imap/mailbox): never paths.
#include "base/ascii.hpp"
#include "proto/imap/mailbox.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

void Session::cmd_create(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<CreateArgs>(c.args);
    std::string_view wire = a.mailbox;
    // RFC 9051 §6.3.4: a trailing delimiter declares the intent to create children; the name
    // itself is created without it.
    if (wire.size() > 1 && wire.back() == kHierarchyDelimiter) wire.remove_suffix(1);
    auto name = mailbox_arg(wire, c.tag, out);
    if (!name) return;
    if (is_inbox(*name)) return say(out, tagged(c.tag, "NO", "ALREADYEXISTS", "INBOX always exists"));
    store::SpecialUse use = store::SpecialUse::None;
    for (const auto& u : a.use) {
        // RFC 6154 §3: the roles the store knows; anything else is refused with USEATTR.
        std::string l = ascii::to_lower(u);
        if (l == "\\sent") use = store::SpecialUse::Sent;
        else if (l == "\\drafts") use = store::SpecialUse::Drafts;
        else if (l == "\\trash") use = store::SpecialUse::Trash;
        else if (l == "\\junk") use = store::SpecialUse::Junk;
        else if (l == "\\archive") use = store::SpecialUse::Archive;
        else return say(out, tagged(c.tag, "NO", "USEATTR", "Unsupported special-use attribute " + u));
    }
    auto r = store_.create_mailbox(account_, *name, use);
    if (!r) return say(out, store_error(c.tag, r.error(), "CREATE"));
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", "CREATE completed"));
}

void Session::cmd_delete(const ParsedCommand& c, std::string& out) {
    auto name = mailbox_arg(std::get<MailboxArgs>(c.args).mailbox, c.tag, out);
    if (!name) return;
    if (is_inbox(*name)) return say(out, tagged(c.tag, "NO", "CANNOT", "INBOX cannot be deleted"));
    if (view_ && view_->name == *name) {
        // Deleting the selected mailbox: deselect it first, as a CLOSE without expunge would.
        leave_selected();
        say(out, untagged("OK [CLOSED] Mailbox deselected"));
    }
    auto r = store_.delete_mailbox(account_, *name);
    if (!r) return say(out, store_error(c.tag, r.error(), "DELETE"));
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", "DELETE completed"));
}

void Session::cmd_rename(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<RenameArgs>(c.args);
    auto from = mailbox_arg(a.from, c.tag, out);
    if (!from) return;
    auto to = mailbox_arg(a.to, c.tag, out);
    if (!to) return;
    if (is_inbox(*to)) return say(out, tagged(c.tag, "NO", "ALREADYEXISTS", "INBOX always exists"));
    auto r = store_.rename_mailbox(account_, *from, *to);
    if (!r) return say(out, store_error(c.tag, r.error(), "RENAME"));
    if (view_ && view_->name == *from) view_->name = *to;
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", "RENAME completed"));
}

void Session::cmd_subscribe(const ParsedCommand& c, std::string& out) {
    auto name = mailbox_arg(std::get<MailboxArgs>(c.args).mailbox, c.tag, out);
    if (!name) return;
    const bool on = c.cmd == Cmd::Subscribe;
    // RFC 9051 §6.3.7: a name may be subscribed whether or not it exists (it may come back).
    auto r = store_.set_subscribed(account_, *name, on);
    if (!r) return say(out, store_error(c.tag, r.error(), command_name(c.cmd)));
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(command_name(c.cmd)) + " completed"));
}

void Session::cmd_namespace(const ParsedCommand& c, std::string& out) {
    // RFC 2342 §5: one personal namespace, no prefix, "/" as the delimiter; no shared ones.
    say(out, untagged("NAMESPACE ((\"\" \"/\")) NIL NIL"));
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", "NAMESPACE completed"));
}

}  // namespace tern::imap
