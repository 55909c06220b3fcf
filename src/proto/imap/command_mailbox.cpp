// Grammar of the mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST,
// LSUB, STATUS, APPEND (RFC 9051 §6.3, RFC 5258, RFC 5819, RFC 6154, RFC 7162, RFC 3502).
// Must never interpret a mailbox name (that is mailbox.hpp's job) or touch a store.
#include "base/ascii.hpp"
#include "proto/imap/command_parsers.hpp"
#include "proto/imap/grammar_util.hpp"

namespace tern::imap {
using namespace detail;

namespace {

// RFC 9051 §9 list-mailbox = 1*list-char / string; list-char = ATOM-CHAR / list-wildcards / resp-specials
R<std::string> list_mailbox(const Arg& a) {
    if (a.kind == Arg::Kind::Quoted || a.kind == Arg::Kind::Literal) return a.text;
    if (a.kind != Arg::Kind::Atom || a.text.empty()) return Err("Invalid mailbox pattern");
    for (char c : a.text)
        if (!atom_char(c) && c != '%' && c != '*' && c != ']') return Err("Invalid mailbox pattern");
    return a.text;
}

R<std::vector<StatusItem>> status_items(const std::vector<Arg>& list) {
    // RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 3501 RECENT
    static constexpr std::pair<std::string_view, StatusItem> names[] = {
        {"MESSAGES", StatusItem::Messages}, {"UIDNEXT", StatusItem::UidNext},
        {"UIDVALIDITY", StatusItem::UidValidity}, {"UNSEEN", StatusItem::Unseen},
        {"DELETED", StatusItem::Deleted}, {"SIZE", StatusItem::Size}, {"RECENT", StatusItem::Recent},
        {"HIGHESTMODSEQ", StatusItem::HighestModSeq}, {"APPENDLIMIT", StatusItem::AppendLimit}};
    std::vector<StatusItem> out;
    for (auto& a : list) {
        if (a.kind != Arg::Kind::Atom) return Err("Invalid status item");
        std::string n = upper(a.text);
        bool found = false;
        for (auto& [sn, item] : names)
            if (n == sn) {
                out.push_back(item);
                found = true;
            }
        if (!found) return Err("Invalid status item " + n.substr(0, 40));
    }
    if (out.empty()) return Err("Empty status item list");
    return out;
}

}  // namespace

namespace detail {

R<CommandArgs> parse_select(Cursor& c) {
    SelectArgs s;
    TERN_IMAP_TRY(mb, c.mailbox());
    s.mailbox = std::move(mb);
    if (!c.done()) {
        // RFC 9051 §9 select-params = "(" select-param *(SP select-param) ")"
        TERN_IMAP_TRY(params, c.list("select parameters"));
        Cursor p(*params, "select parameters");
        if (p.done()) return Err("Empty select parameters");
        while (!p.done()) {
            TERN_IMAP_TRY(name, p.atom("select parameter"));
            if (name == "CONDSTORE" && !s.condstore) {
                s.condstore = true;
            } else if (name == "QRESYNC" && !s.qresync) {
                // RFC 7162 §3.2.5: (uidvalidity mod-sequence-value [known-uids [seq-match-data]])
                TERN_IMAP_TRY(q, p.list("QRESYNC parameters"));
                Cursor qc(*q, "QRESYNC parameters");
                QresyncParams qr;
                TERN_IMAP_TRY(uv, qc.number("UIDVALIDITY", true));
                TERN_IMAP_TRY(ms, qc.number64("mod-sequence", true));
                qr.uidvalidity = uv;
                qr.modseq = ms;
                if (!qc.done() && qc.peek()->kind == Arg::Kind::Atom) {
                    TERN_IMAP_TRY(known, qc.sequence_set());
                    if (known.saved) return Err("Invalid known UIDs");
                    qr.known_uids = std::move(known);
                }
                if (!qc.done()) {
                    TERN_IMAP_TRY(match, qc.list("sequence match data"));
                    Cursor mc(*match, "sequence match data");
                    TERN_IMAP_TRY(seqs, mc.sequence_set());
                    TERN_IMAP_TRY(uids, mc.sequence_set());
                    TERN_IMAP_CHECK(mc.end());
                    qr.seq_match_seqs = std::move(seqs);
                    qr.seq_match_uids = std::move(uids);
                }
                TERN_IMAP_CHECK(qc.end());
                s.qresync = std::move(qr);
            } else {
                return Err("Invalid select parameter " + name.substr(0, 40));
            }
        }
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(s));
}

R<CommandArgs> parse_create(Cursor& c) {
    CreateArgs a;
    TERN_IMAP_TRY(mb, c.mailbox());
    a.mailbox = std::move(mb);
    if (!c.done()) {
        // RFC 6154 §3: create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"
        TERN_IMAP_TRY(params, c.list("create parameters"));
        Cursor p(*params, "create parameters");
        while (!p.done()) {
            TERN_IMAP_TRY(name, p.atom("create parameter"));
            if (name != "USE") return Err("Invalid create parameter " + name.substr(0, 40));
            TERN_IMAP_TRY(uses, p.list("USE attributes"));
            for (auto& u : *uses) {
                if (u.kind != Arg::Kind::Atom || u.text.size() < 2 || u.text[0] != '\\' ||
                    !is_atom(std::string_view(u.text).substr(1)))
                    return Err("Invalid USE attribute");
                a.use.push_back(u.text);
            }
        }
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(a));
}

R<CommandArgs> parse_one_mailbox(Cursor& c) {
    TERN_IMAP_TRY(mb, c.mailbox());
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(MailboxArgs{std::move(mb)});
}

R<CommandArgs> parse_rename(Cursor& c) {
    TERN_IMAP_TRY(from, c.mailbox());
    TERN_IMAP_TRY(to, c.mailbox());
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(RenameArgs{std::move(from), std::move(to)});
}

R<CommandArgs> parse_list(Cursor& c, bool lsub) {
    ListArgs l;
    if (!lsub && c.peek() && c.peek()->kind == Arg::Kind::List) {
        // RFC 5258 §6 list-select-opts
        l.extended = true;
        for (auto& o : c.take().list) {
            if (o.kind != Arg::Kind::Atom) return Err("Invalid LIST selection option");
            std::string n = upper(o.text);
            if (n == "SUBSCRIBED") l.sel_subscribed = true;
            else if (n == "REMOTE") l.sel_remote = true;
            else if (n == "RECURSIVEMATCH") l.sel_recursive = true;
            else if (n == "SPECIAL-USE") l.sel_special_use = true;  // RFC 6154 §5.3
            else return Err("Invalid LIST selection option " + n.substr(0, 40));
        }
        // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option that it can modify.
        if (l.sel_recursive && !l.sel_subscribed && !l.sel_special_use)
            return Err("RECURSIVEMATCH needs another selection option");
    }
    TERN_IMAP_TRY(ref, c.mailbox());
    l.reference = std::move(ref);
    TERN_IMAP_TRY(pat, c.next("mailbox pattern"));
    if (pat->kind == Arg::Kind::List && !lsub) {
        l.extended = true;  // RFC 5258 §6 patterns
        if (pat->list.empty()) return Err("Empty pattern list");
        for (auto& p : pat->list) {
            TERN_IMAP_TRY(s, list_mailbox(p));
            l.patterns.push_back(std::move(s));
        }
    } else {
        TERN_IMAP_TRY(s, list_mailbox(*pat));
        l.patterns.push_back(std::move(s));
    }
    if (!lsub && c.peek_atom("RETURN")) {
        c.take();
        l.extended = true;
        TERN_IMAP_TRY(opts, c.list("RETURN options"));
        Cursor o(*opts, "RETURN options");
        while (!o.done()) {
            TERN_IMAP_TRY(n, o.atom("RETURN option"));
            if (n == "SUBSCRIBED") l.ret_subscribed = true;
            else if (n == "CHILDREN") l.ret_children = true;
            else if (n == "SPECIAL-USE") l.ret_special_use = true;
            else if (n == "STATUS" && !l.ret_status) {  // RFC 5819 §2
                TERN_IMAP_TRY(items, o.list("status items"));
                TERN_IMAP_TRY(st, status_items(*items));
                l.ret_status = std::move(st);
            } else return Err("Invalid LIST return option " + n.substr(0, 40));
        }
    }
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(l));
}

R<CommandArgs> parse_status(Cursor& c) {
    StatusArgs s;
    TERN_IMAP_TRY(mb, c.mailbox());
    s.mailbox = std::move(mb);
    TERN_IMAP_TRY(items, c.list("status items"));
    TERN_IMAP_TRY(st, status_items(*items));
    s.items = std::move(st);
    TERN_IMAP_CHECK(c.end());
    return CommandArgs(std::move(s));
}

R<CommandArgs> parse_append(Cursor& c) {
    AppendArgs a;
    TERN_IMAP_TRY(mb, c.mailbox());
    a.mailbox = std::move(mb);
    // RFC 3502 §6: append = "APPEND" SP mailbox 1*append-message
    // append-message = [SP flag-list] [SP date-time] SP literal (RFC 3516: or literal8)
    do {
        AppendMessage m;
        if (c.peek() && c.peek()->kind == Arg::Kind::List) {
            TERN_IMAP_TRY(flags, parse_flag_list(c.take().list));
            m.flags = std::move(flags);
        }
        if (c.peek() && c.peek()->kind == Arg::Kind::Quoted) {
            auto dt = parse_date_time(c.take().text);
            if (!dt) return Err("Invalid date-time");
            m.date = *dt;
        }
        TERN_IMAP_TRY(lit, c.next("message literal"));
        if (lit->kind == Arg::Kind::Atom && ascii::to_lower(lit->text) == "utf8") {
            // RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")" (the session checks that
            // UTF8=ACCEPT is enabled).
            TERN_IMAP_TRY(inner, c.next("UTF8 message"));
            if (inner->kind != Arg::Kind::List || inner->list.size() != 1 ||
                inner->list[0].kind != Arg::Kind::Literal8)
                return Err("Invalid APPEND: UTF8 needs a parenthesised literal8");
            m.utf8 = true;
            m.binary = true;
            m.data = inner->list[0].text;
            a.messages.push_back(std::move(m));
            continue;
        }
        if (lit->kind != Arg::Kind::Literal && lit->kind != Arg::Kind::Literal8)
            return Err("Invalid APPEND: the message must be a literal");
        m.binary = lit->kind == Arg::Kind::Literal8;
        m.data = lit->text;
        a.messages.push_back(std::move(m));
    } while (!c.done());
    return CommandArgs(std::move(a));
}

}  // namespace detail
}  // namespace tern::imap
