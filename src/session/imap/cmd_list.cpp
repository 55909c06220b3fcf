// LIST (RFC 9051 §6.3.9, with RFC 5258 selection/return options SUBSCRIBED and CHILDREN, RFC 6154
// special-use attributes, RFC 5819 RETURN (STATUS)) and rev1's LSUB (RFC 3501 §6.3.9). Pattern
// matching is over UTF-8 names; '%' never crosses the "/" delimiter. Must never list another
// account's mailboxes.
#include <algorithm>
#include <map>
#include <set>

#include "base/ascii.hpp"
#include "proto/imap/mailbox.hpp"
#include "proto/imap/mutf7.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {
namespace {

// RFC 9051 §6.3.9: '*' matches zero or more characters, '%' the same but not the delimiter.
// Iterative with backtracking to the last '*' / '%' (linear-ish; no recursion on input).
bool wildcard_match(std::string_view pat, std::string_view name) {
    // Dynamic programming over (pattern position, name position): bounded by 1024 x 1024.
    const std::size_t P = pat.size(), N = name.size();
    std::vector<char> cur(N + 1, 0), next(N + 1, 0);
    cur[0] = 1;
    for (std::size_t i = 0; i < P; ++i) {
        std::fill(next.begin(), next.end(), 0);
        char p = pat[i];
        if (p == '*' || p == '%') {
            bool carry = false;
            for (std::size_t j = 0; j <= N; ++j) {
                if (cur[j]) carry = true;
                if (carry) next[j] = 1;
                if (p == '%' && j < N && name[j] == kHierarchyDelimiter) carry = false;
            }
        } else {
            for (std::size_t j = 0; j < N; ++j)
                if (cur[j] && name[j] == p) next[j + 1] = 1;
        }
        std::swap(cur, next);
    }
    return cur[N];
}

// INBOX is case-insensitive (RFC 9051 §5.1): fold a pattern whose first level spells it.
std::string fold_pattern(std::string p) {
    if (p.size() >= 5 && ascii::to_lower(p.substr(0, 5)) == "inbox" && (p.size() == 5 || p[5] == kHierarchyDelimiter))
        p.replace(0, 5, "INBOX");
    return p;
}

const char* special_use_attr(store::SpecialUse u) {
    switch (u) {
        case store::SpecialUse::Sent: return "\\Sent";
        case store::SpecialUse::Drafts: return "\\Drafts";
        case store::SpecialUse::Trash: return "\\Trash";
        case store::SpecialUse::Junk: return "\\Junk";
        case store::SpecialUse::Archive: return "\\Archive";
        case store::SpecialUse::None: break;
    }
    return nullptr;
}

}  // namespace

void Session::cmd_list(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<ListArgs>(c.args);
    const bool lsub = c.cmd == Cmd::Lsub;
    const char* verb = lsub ? "LSUB" : "LIST";
    // A pattern that is not valid modified UTF-7 cannot name a stored mailbox by its '&' runs;
    // it is matched as written (it then finds nothing with them), as Dovecot does: no BAD.
    auto decode_pat = [&](const std::string& s) -> std::optional<std::string> {
        if (utf8()) return s;
        auto d = mutf7_decode(s);
        if (!d) return s;
        return *d;
    };
    auto ref = decode_pat(a.reference);
    if (!ref) return say(out, tagged(c.tag, "BAD", "", "Bad modified UTF-7 in the reference"));
    // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
    if (!lsub && a.patterns.size() == 1 && a.patterns[0].empty() && !a.extended) {
        say(out, untagged("LIST (\\Noselect) \"/\" \"\""));
        say(out, tagged(c.tag, "OK", "", "LIST completed"));
        return;
    }
    std::vector<std::string> patterns;
    for (const auto& p : a.patterns) {
        auto d = decode_pat(p);
        if (!d) return say(out, tagged(c.tag, "BAD", "", "Bad modified UTF-7 in the pattern"));
        // The reference is prefixed to the pattern (RFC 9051 §6.3.9), unless the pattern is absolute.
        std::string full = (!ref->empty() && !d->starts_with("/")) ? *ref + *d : *d;
        patterns.push_back(fold_pattern(std::move(full)));
    }
    auto boxes = store_.list_mailboxes(account_);
    if (!boxes) return say(out, store_error(c.tag, boxes.error(), verb));
    auto subs = store_.subscriptions(account_);
    if (!subs) return say(out, store_error(c.tag, subs.error(), verb));
    std::set<std::string> subscribed(subs->begin(), subs->end());

    struct Entry {
        bool exists = false, noselect = false, subscribed = false, children = false;
        store::SpecialUse use = store::SpecialUse::None;
        const store::MailboxInfo* info = nullptr;
    };
    std::map<std::string, Entry> entries;
    for (const auto& b : *boxes) {
        auto& e = entries[b.name];
        e.exists = true;
        e.noselect = b.noselect;
        e.use = b.special_use;
        e.info = &b;
    }
    for (const auto& s : subscribed) entries[s].subscribed = true;
    // RFC 3501 §6.3.9: when "foo/bar" is subscribed but "foo" is not, LSUB "foo/%"-style
    // patterns (the "%" stops at the delimiter) must return "foo" flagged \Noselect.
    std::set<std::string> lsub_parents;
    if (lsub) {
        for (const auto& s : subscribed) {
            bool direct = false;
            for (const auto& p : patterns)
                if (wildcard_match(p, s)) direct = true;
            if (direct) continue;
            for (auto slash = s.find(kHierarchyDelimiter); slash != std::string::npos;
                 slash = s.find(kHierarchyDelimiter, slash + 1)) {
                std::string parent = s.substr(0, slash);
                if (subscribed.contains(parent)) continue;
                for (const auto& p : patterns)
                    if (p.find('%') != std::string::npos && wildcard_match(p, parent)) lsub_parents.insert(parent);
            }
        }
    }
    for (auto& [name, e] : entries) {
        if (!e.exists) continue;
        auto slash = name.rfind(kHierarchyDelimiter);
        if (slash != std::string::npos)
            if (auto p = entries.find(name.substr(0, slash)); p != entries.end()) p->second.children = true;
    }
    const bool only_subscribed = lsub || a.sel_subscribed;
    const bool show_subscribed = !lsub && (a.sel_subscribed || a.ret_subscribed);
    auto selected = [&](const Entry& e) {
        if (only_subscribed ? !e.subscribed : !e.exists) return false;
        return !(a.sel_special_use && e.use == store::SpecialUse::None);
    };
    auto matches = [&](const std::string& name) {
        for (const auto& p : patterns)
            if (wildcard_match(p, name)) return true;
        return false;
    };
    // RFC 5258 §3.5 RECURSIVEMATCH: a name that matches the pattern is listed with CHILDINFO when
    // a descendant meets the selection criteria but does not match the pattern itself; the
    // superiors of subscribed names are candidates even when they do not exist.
    std::set<std::string> child_info;
    if (a.sel_recursive) {
        std::vector<std::string> chosen;
        for (const auto& [name, e] : entries)
            if (selected(e) && !matches(name)) chosen.push_back(name);
        for (const auto& name : chosen)
            for (auto slash = name.rfind(kHierarchyDelimiter); slash != std::string::npos && slash > 0;
                 slash = name.rfind(kHierarchyDelimiter, slash - 1)) {
                auto sup = name.substr(0, slash);
                entries.try_emplace(sup);
                child_info.insert(sup);
                if (slash == 0) break;
            }
    }
    for (const auto& parent : lsub_parents) {
        std::string line = "LSUB (\\Noselect) \"/\" ";
        append_string(line, wire_name(parent), utf8());
        say(out, untagged(line));
    }
    for (const auto& [name, e] : entries) {
        const bool info = child_info.count(name) > 0;
        if (!selected(e) && !info) continue;
        if (!matches(name)) continue;
        std::string attrs;
        auto add = [&](const char* s) {
            if (!attrs.empty()) attrs += ' ';
            attrs += s;
        };
        if (!e.exists) add(lsub ? "\\Noselect" : "\\NonExistent");  // RFC 5258 §3.4
        else if (e.noselect) add("\\Noselect");
        if (e.exists) add(e.children ? "\\HasChildren" : "\\HasNoChildren");  // RFC 3348
        if (show_subscribed && e.subscribed) add("\\Subscribed");
        if (auto su = special_use_attr(e.use)) add(su);  // RFC 6154 §2
        std::string line = std::string(verb) + " (" + attrs + ") \"/\" ";
        append_string(line, wire_name(name), utf8());
        if (info) line += a.sel_subscribed ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : " (\"CHILDINFO\" (\"SPECIAL-USE\"))";
        say(out, untagged(line));
        if (a.ret_status && e.exists && !e.noselect && e.info) {
            // RFC 5819 §2: a STATUS response for each selectable mailbox listed.
            std::string items;
            for (auto item : *a.ret_status) {
                const char* k = nullptr;
                std::uint64_t v = 0;
                switch (item) {
                    case StatusItem::Messages: k = "MESSAGES"; v = e.info->messages; break;
                    case StatusItem::UidNext: k = "UIDNEXT"; v = e.info->uidnext; break;
                    case StatusItem::UidValidity: k = "UIDVALIDITY"; v = e.info->uidvalidity; break;
                    case StatusItem::HighestModSeq: k = "HIGHESTMODSEQ"; v = e.info->highest_modseq; break;
                    // RFC 3501 §6.3.10: not yet claimed by any session
                    case StatusItem::Recent: k = "RECENT"; v = unclaimed_recent(*e.info); break;
                    default: break;
                }
                if (!k) continue;
                if (!items.empty()) items += ' ';
                items += std::string(k) + " " + std::to_string(v);
            }
            std::string st = "STATUS ";
            append_string(st, wire_name(name), utf8());
            say(out, untagged(st + " (" + items + ")"));
        }
    }
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(verb) + " completed"));
}

}  // namespace tern::imap
