// The IMAP command table: name -> grammar, plus the small commands (AUTHENTICATE, LOGIN, ENABLE,
// ID, COMPRESS, GETQUOTA*). Must never know about session state; the session's own table says
// which state allows which command.
#include "proto/imap/command.hpp"

#include "base/ascii.hpp"
#include "proto/imap/command_parsers.hpp"
#include "proto/imap/grammar_util.hpp"

namespace tern::imap {
using namespace detail;

namespace {

R<CommandArgs> no_args(Cursor& c) {
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(NoArgs{});
}

R<CommandArgs> parse_authenticate(Cursor& c) {
    AuthenticateArgs a;
    TERN_IMAP_TRY(mech, c.atom("SASL mechanism"));
    if (!is_atom(mech)) return Err("Invalid SASL mechanism");
    a.mechanism = std::move(mech);
    if (!c.done()) {
        // RFC 4959 §7: initial-response = base64 / "="
        const Arg& ir = c.take();
        if (ir.kind != Arg::Kind::Atom) return Err("Invalid initial response");
        for (char ch : ir.text)
            if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '+' || ch == '/' || ch == '='))
                return Err("Invalid initial response");
        a.initial_response = ir.text;
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(a));
}

R<CommandArgs> parse_login(Cursor& c) {
    TERN_IMAP_TRY(user, c.astring("user name"));
    TERN_IMAP_TRY(pass, c.astring("password"));
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(LoginArgs{std::move(user), std::move(pass)});
}

R<CommandArgs> parse_enable(Cursor& c) {
    EnableArgs e;  // RFC 5161 §4: "ENABLE" 1*(SP capability)
    if (c.done()) return Err("Missing capability");
    while (!c.done()) {
        TERN_IMAP_TRY(cap, c.atom("capability"));
        if (!is_atom(cap)) return Err("Invalid capability");
        e.capabilities.push_back(std::move(cap));
    }
    return CommandArgs(std::move(e));
}

R<CommandArgs> parse_id(Cursor& c) {
    IdArgs id;
    TERN_IMAP_TRY(a, c.next("ID parameters"));
    if (!is_nil(*a)) {
        // RFC 2971 §4: "(" string SP nstring *(SP string SP nstring) ")" / NIL; §3.3: at most 30
        // pairs, fields up to 30 octets, values up to 1024.
        if (a->kind != Arg::Kind::List || a->list.size() % 2 || a->list.size() > 60)
            return Err("Invalid ID parameters");
        for (std::size_t i = 0; i < a->list.size(); i += 2) {
            TERN_IMAP_TRY(field, string_arg(a->list[i], "ID field"));
            if (field.size() > 30) return Err("ID field too long");
            std::optional<std::string> value;
            if (!is_nil(a->list[i + 1])) {
                TERN_IMAP_TRY(v, string_arg(a->list[i + 1], "ID value"));
                if (v.size() > 1024) return Err("ID value too long");
                value = std::move(v);
            }
            id.fields.emplace_back(std::move(field), std::move(value));
        }
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(id));
}

R<CommandArgs> parse_compress(Cursor& c) {
    TERN_IMAP_TRY(mech, c.atom("compression mechanism"));  // RFC 4978 §3
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(CompressArgs{std::move(mech)});
}

R<CommandArgs> parse_getquota(Cursor& c) {
    TERN_IMAP_TRY(root, c.astring("quota root"));  // RFC 9208 §4.2
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(QuotaArgs{std::move(root)});
}

using Parser = R<CommandArgs> (*)(Cursor&);

struct Entry {
    std::string_view name;
    Cmd cmd;
    Parser parse;
    bool uid_ok;  // may follow "UID" (RFC 9051 §6.4.9, RFC 4315 §2.1, RFC 5256 §3)
};

R<CommandArgs> fetch_plain(Cursor& c) { return parse_fetch(c, false); }
R<CommandArgs> fetch_uid(Cursor& c) { return parse_fetch(c, true); }
R<CommandArgs> list_cmd(Cursor& c) { return parse_list(c, false); }
R<CommandArgs> lsub_cmd(Cursor& c) { return parse_list(c, true); }

constexpr Entry kTable[] = {
    {"CAPABILITY", Cmd::Capability, no_args, false},
    {"NOOP", Cmd::Noop, no_args, false},
    {"LOGOUT", Cmd::Logout, no_args, false},
    {"STARTTLS", Cmd::StartTls, no_args, false},
    {"AUTHENTICATE", Cmd::Authenticate, parse_authenticate, false},
    {"LOGIN", Cmd::Login, parse_login, false},
    {"ENABLE", Cmd::Enable, parse_enable, false},
    {"SELECT", Cmd::Select, parse_select, false},
    {"EXAMINE", Cmd::Examine, parse_select, false},
    {"CREATE", Cmd::Create, parse_create, false},
    {"DELETE", Cmd::Delete, parse_one_mailbox, false},
    {"RENAME", Cmd::Rename, parse_rename, false},
    {"SUBSCRIBE", Cmd::Subscribe, parse_one_mailbox, false},
    {"UNSUBSCRIBE", Cmd::Unsubscribe, parse_one_mailbox, false},
    {"LIST", Cmd::List, list_cmd, false},
    {"LSUB", Cmd::Lsub, lsub_cmd, false},
    {"NAMESPACE", Cmd::Namespace, no_args, false},
    {"STATUS", Cmd::Status, parse_status, false},
    {"APPEND", Cmd::Append, parse_append, false},
    {"IDLE", Cmd::Idle, no_args, false},
    {"CLOSE", Cmd::Close, no_args, false},
    {"UNSELECT", Cmd::Unselect, no_args, false},
    {"EXPUNGE", Cmd::Expunge, no_args, true},
    {"CHECK", Cmd::Check, no_args, false},
    {"SEARCH", Cmd::Search, parse_search, true},
    {"FETCH", Cmd::Fetch, fetch_plain, true},
    {"STORE", Cmd::Store, parse_store, true},
    {"COPY", Cmd::Copy, parse_copy, true},
    {"MOVE", Cmd::Move, parse_copy, true},
    {"SORT", Cmd::Sort, parse_sort, true},
    {"THREAD", Cmd::Thread, parse_thread, true},
    {"COMPRESS", Cmd::Compress, parse_compress, false},
    {"ID", Cmd::Id, parse_id, false},
    {"GETQUOTA", Cmd::GetQuota, parse_getquota, false},
    {"GETQUOTAROOT", Cmd::GetQuotaRoot, parse_one_mailbox, false},
};

}  // namespace

std::string_view command_name(Cmd c) {
    for (auto& e : kTable)
        if (e.cmd == c) return e.name;
    return "?";
}

std::expected<ParsedCommand, std::string> parse_command(const Command& command) {
    ParsedCommand out;
    out.tag = command.tag;
    std::string_view name = command.name;
    std::size_t first = 0;
    if (name == "UID") {
        out.uid = true;
        if (command.args.empty() || command.args[0].kind != Arg::Kind::Atom) return Err("Missing UID command");
        name = command.args[0].text;
        first = 1;
    }
    std::string upname = upper(name);
    for (auto& e : kTable) {
        if (upname != e.name) continue;
        if (out.uid && !e.uid_ok) return Err("Unknown UID command " + upname.substr(0, 40));
        out.cmd = e.cmd;
        std::vector<Arg> rest;  // the arguments after "UID <name>"
        const std::vector<Arg>* args = &command.args;
        if (first) {
            rest.assign(command.args.begin() + 1, command.args.end());
            args = &rest;
        }
        Cursor c(*args, upname);
        R<CommandArgs> parsed;
        if (out.uid && e.cmd == Cmd::Fetch) parsed = fetch_uid(c);
        else if (out.uid && e.cmd == Cmd::Expunge) parsed = parse_uid_expunge(c);
        else parsed = e.parse(c);
        if (!parsed) return Err(std::move(parsed.error()));
        out.args = std::move(*parsed);
        return out;
    }
    return Err(out.uid ? "Unknown UID command " + upname.substr(0, 40) : "Unknown command " + upname.substr(0, 40));
}

}  // namespace tern::imap
