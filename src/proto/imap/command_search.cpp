// Grammar of SEARCH, SORT and THREAD (RFC 9051 §6.4.4, RFC 4731, RFC 5182, RFC 7162 §3.1.5,
// RFC 5256, RFC 5267). Must never recurse without bound: NOT/OR/list nesting stops at kMaxDepth.
#include "base/ascii.hpp"
#include "proto/imap/command_parsers.hpp"
#include "proto/imap/grammar_util.hpp"

namespace tern::imap {
using namespace detail;

namespace {

constexpr int kMaxDepth = 32;

R<Date> date_arg(Cursor& c) {
    TERN_IMAP_TRY(a, c.next("date"));
    // RFC 9051 §9 date = date-text / DQUOTE date-text DQUOTE
    if (a->kind != Arg::Kind::Atom && a->kind != Arg::Kind::Quoted) return Err("Invalid date");
    auto d = parse_date(a->text);
    if (!d) return Err("Invalid date " + a->text.substr(0, 40));
    return *d;
}

R<SearchKey> parse_key(Cursor& c, int depth);

R<SearchKey> parse_keys_and(Cursor& c, int depth) {
    SearchKey k;
    k.kind = SearchKey::Kind::And;
    while (!c.done()) {
        TERN_IMAP_TRY(child, parse_key(c, depth));
        k.children.push_back(std::move(child));
    }
    if (k.children.empty()) return Err("Missing search key");
    return k;
}

R<SearchKey> parse_key(Cursor& c, int depth) {
    using K = SearchKey::Kind;
    if (depth > kMaxDepth) return Err("Search keys nested too deeply");
    TERN_IMAP_TRY(a, c.next("search key"));
    SearchKey k;
    if (a->kind == Arg::Kind::List) {
        Cursor inner(a->list, "search key list");
        return parse_keys_and(inner, depth + 1);
    }
    if (a->kind != Arg::Kind::Atom) return Err("Invalid search key");
    const std::string name = upper(a->text);
    static constexpr std::pair<std::string_view, K> bare[] = {
        {"ALL", K::All}, {"ANSWERED", K::Answered}, {"DELETED", K::Deleted}, {"DRAFT", K::Draft},
        {"FLAGGED", K::Flagged}, {"SEEN", K::Seen}, {"NEW", K::New}, {"OLD", K::Old}, {"RECENT", K::Recent},
        {"UNANSWERED", K::Unanswered}, {"UNDELETED", K::Undeleted}, {"UNDRAFT", K::Undraft},
        {"UNFLAGGED", K::Unflagged}, {"UNSEEN", K::Unseen}};
    static constexpr std::pair<std::string_view, K> strings[] = {
        {"BCC", K::Bcc}, {"BODY", K::Body}, {"CC", K::Cc}, {"FROM", K::From},
        {"SUBJECT", K::Subject}, {"TEXT", K::Text}, {"TO", K::To}};
    static constexpr std::pair<std::string_view, K> dates[] = {
        {"BEFORE", K::Before}, {"ON", K::On}, {"SINCE", K::Since}, {"SENTBEFORE", K::SentBefore},
        {"SENTON", K::SentOn}, {"SENTSINCE", K::SentSince}};
    for (auto& [n, kind] : bare)
        if (name == n) {
            k.kind = kind;
            return k;
        }
    for (auto& [n, kind] : strings)
        if (name == n) {
            k.kind = kind;
            TERN_IMAP_TRY(s, c.astring("search string"));
            k.text = std::move(s);
            return k;
        }
    for (auto& [n, kind] : dates)
        if (name == n) {
            k.kind = kind;
            TERN_IMAP_TRY(d, date_arg(c));
            k.date = d;
            return k;
        }
    if (name == "KEYWORD" || name == "UNKEYWORD") {
        k.kind = name == "KEYWORD" ? K::Keyword : K::Unkeyword;
        TERN_IMAP_TRY(f, c.next("keyword"));
        // RFC 9051 §9 flag-keyword = atom (no backslash)
        if (f->kind != Arg::Kind::Atom || !is_atom(f->text)) return Err("Invalid keyword");
        k.text = f->text;
        return k;
    }
    if (name == "HEADER") {
        k.kind = K::Header;
        TERN_IMAP_TRY(field, c.astring("header field name"));
        TERN_IMAP_TRY(value, c.astring("search string"));
        k.text = std::move(field);
        k.value = std::move(value);
        return k;
    }
    if (name == "LARGER" || name == "SMALLER") {
        k.kind = name == "LARGER" ? K::Larger : K::Smaller;
        TERN_IMAP_TRY(n, c.number64("size", false));
        k.number = n;
        return k;
    }
    if (name == "UID") {
        k.kind = K::Uid;
        TERN_IMAP_TRY(set, c.sequence_set());
        k.set = std::move(set);
        return k;
    }
    if (name == "NOT") {
        k.kind = K::Not;
        TERN_IMAP_TRY(child, parse_key(c, depth + 1));
        k.children.push_back(std::move(child));
        return k;
    }
    if (name == "OR") {
        k.kind = K::Or;
        TERN_IMAP_TRY(left, parse_key(c, depth + 1));
        TERN_IMAP_TRY(right, parse_key(c, depth + 1));
        k.children.push_back(std::move(left));
        k.children.push_back(std::move(right));
        return k;
    }
    if (name == "MODSEQ") {
        // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
        k.kind = K::ModSeq;
        if (c.peek() && c.peek()->kind == Arg::Kind::Quoted) {
            c.take();
            TERN_IMAP_TRY(type, c.atom("entry type"));
            if (type != "PRIV" && type != "SHARED" && type != "ALL") return Err("Invalid entry type");
        }
        TERN_IMAP_TRY(n, c.number64("mod-sequence", false));
        k.number = n;
        return k;
    }
    auto set = parse_sequence_set(a->text);
    if (!set) return Err("Unknown search key " + a->text.substr(0, 40));
    k.kind = K::Sequence;
    k.set = std::move(*set);
    return k;
}

// RFC 4731 §3.1 search-return-opts = SP "RETURN" SP "(" [opts] ")"; RFC 5182 adds SAVE.
R<std::optional<SearchReturn>> parse_return(Cursor& c) {
    if (!c.peek_atom("RETURN")) return std::optional<SearchReturn>();
    c.take();
    TERN_IMAP_TRY(opts, c.list("RETURN options"));
    SearchReturn r;
    for (auto& o : *opts) {
        if (o.kind != Arg::Kind::Atom) return Err("Invalid RETURN option");
        std::string n = upper(o.text);
        if (n == "MIN") r.min = true;
        else if (n == "MAX") r.max = true;
        else if (n == "ALL") r.all = true;
        else if (n == "COUNT") r.count = true;
        else if (n == "SAVE") r.save = true;
        else return Err("Invalid RETURN option " + n.substr(0, 40));
    }
    if (opts->empty()) r.all = true;  // RFC 4731 §3.1: "RETURN ()" means ALL
    return std::optional<SearchReturn>(r);
}

}  // namespace

namespace detail {

R<CommandArgs> parse_search(Cursor& c) {
    SearchArgs s;
    TERN_IMAP_TRY(ret, parse_return(c));
    s.ret = ret;
    if (c.peek_atom("CHARSET")) {
        c.take();
        TERN_IMAP_TRY(cs, c.astring("charset"));
        s.charset = upper(cs);
    }
    TERN_IMAP_TRY(key, parse_keys_and(c, 0));
    s.key = std::move(key);
    return CommandArgs(std::move(s));
}

R<CommandArgs> parse_sort(Cursor& c) {
    SortArgs s;
    TERN_IMAP_TRY(ret, parse_return(c));
    s.ret = ret;
    TERN_IMAP_TRY(crit, c.list("sort criteria"));
    // RFC 5256 §5 sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
    bool reverse = false;
    using SK = SortCriterion::Key;
    static constexpr std::pair<std::string_view, SK> keys[] = {
        {"ARRIVAL", SK::Arrival}, {"CC", SK::Cc}, {"DATE", SK::Date}, {"FROM", SK::From}, {"SIZE", SK::Size},
        {"SUBJECT", SK::Subject}, {"TO", SK::To}, {"DISPLAYFROM", SK::DisplayFrom}, {"DISPLAYTO", SK::DisplayTo}};
    for (auto& a : *crit) {
        if (a.kind != Arg::Kind::Atom) return Err("Invalid sort criterion");
        std::string n = upper(a.text);
        if (n == "REVERSE" && !reverse) {
            reverse = true;
            continue;
        }
        bool found = false;
        for (auto& [kn, k] : keys)
            if (n == kn) {
                s.criteria.push_back({k, reverse});
                found = true;
            }
        if (!found) return Err("Invalid sort criterion " + n.substr(0, 40));
        reverse = false;
    }
    if (s.criteria.empty() || reverse) return Err("Invalid sort criteria");
    TERN_IMAP_TRY(cs, c.astring("charset"));
    s.charset = upper(cs);
    TERN_IMAP_TRY(key, parse_keys_and(c, 0));
    s.key = std::move(key);
    return CommandArgs(std::move(s));
}

R<CommandArgs> parse_thread(Cursor& c) {
    ThreadArgs t;
    TERN_IMAP_TRY(alg, c.atom("thread algorithm"));
    if (!is_atom(alg)) return Err("Invalid thread algorithm");
    t.algorithm = std::move(alg);
    TERN_IMAP_TRY(cs, c.astring("charset"));
    t.charset = upper(cs);
    TERN_IMAP_TRY(key, parse_keys_and(c, 0));
    t.key = std::move(key);
    return CommandArgs(std::move(t));
}

}  // namespace detail
}  // namespace tern::imap
