// SORT, UID SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO) with ESORT's RETURN options (RFC
// 5267 §3) and THREAD, UID THREAD (RFC 5256 §4): the search matcher picks the messages, their
// header sections give the keys, sort_thread.* orders them. Must never send EXPUNGE while
// answering a non-UID SORT or THREAD (RFC 9051 §7.5.1), and never read more of a message than its
// header section (at most 64 KiB).
#include <algorithm>
#include <cerrno>

#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/search_match.hpp"
#include "session/imap/session.hpp"
#include "session/imap/view_search.hpp"
#include "session/imap/sort_thread.hpp"

namespace tern::imap {
namespace {

constexpr std::size_t kMaxHeader = 64u << 10;

// The message's header section: read in 8 KiB steps up to the empty line, at most kMaxHeader.
Result<std::string> read_header(const base::ByteSource& src) {
    std::string head;
    std::size_t limit = static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), kMaxHeader));
    while (head.size() < limit) {
        std::size_t old = head.size();
        head.resize(std::min(limit, old + 8192));
        auto n = src.read(old, std::span<char>(head.data() + old, head.size() - old));
        if (!n) return std::unexpected(n.error());
        head.resize(old + *n);
        if (*n == 0) break;
        auto from = old >= 3 ? old - 3 : 0;
        if (head.find("\n\r\n", from) != std::string::npos || head.find("\n\n", from) != std::string::npos) break;
    }
    return head;
}

// The messages of the view that match `key`, in mailbox order, with their sort fields (header
// fields only when `headers`). A message that cannot be read (expunged meanwhile) matches nothing.
std::vector<SortFields> candidates(store::MailStore& store, const Session::View& v, const SearchKey& key,
                                   const std::vector<std::uint32_t>& saved, bool uid, bool headers,
                                   const std::string& id) {
    const SearchContext ctx = search_context(v, saved);
    const bool content = needs_content(key);
    MatchCache cache;
    std::vector<SortFields> out;
    for (std::size_t i = 0; i < v.msgs.size(); ++i) {
        const auto& m = v.msgs[i];
        SearchMessage sm = search_message(v, i);
        base::ByteSourceRef source;
        if (content || headers) {
            auto src = store.open_message(v.box, m.uid);
            if (!src) continue;
            source = *src;
            sm.source = source.get();
        }
        auto r = matches(key, ctx, sm, cache);
        if (!r) {
            if (r.error().code != ENOENT) log::warn("imap[", id, "] SORT/THREAD of uid ", m.uid, ": ", r.error().message);
            continue;
        }
        if (!*r) continue;
        SortFields f;
        f.number = uid ? m.uid : sm.seq;
        f.seq = sm.seq;
        f.size = m.size;
        f.internal_date = m.internal_date;
        f.sent_date = m.internal_date;
        if (headers) {
            auto head = read_header(*source);
            if (!head) {
                log::warn("imap[", id, "] SORT/THREAD of uid ", m.uid, ": ", head.error().message);
                continue;
            }
            read_sort_fields(*head, f);
        }
        out.push_back(std::move(f));
    }
    return out;
}

bool uses_modseq(const SearchKey& k) {
    if (k.kind == SearchKey::Kind::ModSeq) return true;
    for (const auto& c : k.children)
        if (uses_modseq(c)) return true;
    return false;
}

bool charset_ok(const std::string& charset) {
    // RFC 5256 §3: US-ASCII and UTF-8 must be supported; others get BADCHARSET (RFC 9051 §7.1).
    return charset.empty() || charset == "UTF-8" || charset == "US-ASCII";
}

// RFC 5267 §3.2 ALL: the numbers in sort order as a sequence-set; only ascending runs become
// ranges ("4,1:3,7"), so the order is never in doubt.
std::string sorted_set(const std::vector<std::uint32_t>& n) {
    std::string out;
    for (std::size_t i = 0; i < n.size();) {
        std::size_t j = i;
        while (j + 1 < n.size() && n[j + 1] == n[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(n[i]);
        if (j > i) out += ":" + std::to_string(n[j]);
        i = j + 1;
    }
    return out;
}

}  // namespace

void Session::cmd_sort(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<SortArgs>(c.args);
    if (!charset_ok(a.charset))
        return say(out, tagged(c.tag, "NO", "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset"));
    bool headers = false;
    for (const auto& k : a.criteria)
        if (k.key != SortCriterion::Key::Arrival && k.key != SortCriterion::Key::Size) headers = true;
    const bool modseq_key = uses_modseq(a.key);
    if (modseq_key) enable_condstore(out);  // RFC 7162 §3.1: a CONDSTORE-enabling command
    auto msgs = candidates(store_, *view_, a.key, saved_search_, c.uid, headers, id_);
    auto order = sort_messages(msgs, a.criteria);
    // RFC 7162 §3.1.5 and §7 (search-sort-mod-seq): with a MODSEQ key, the highest mod-sequence
    // of the messages returned.
    std::uint64_t max_modseq = 0;
    for (const auto& f : msgs) max_modseq = std::max(max_modseq, view_->msgs[f.seq - 1].modseq);
    const bool modseq = modseq_key && !msgs.empty();
    std::vector<std::uint32_t> sorted;
    sorted.reserve(order.size());
    for (auto i : order) sorted.push_back(msgs[i].number);
    if (!a.ret) {
        std::string line = "SORT";
        for (auto n : sorted) line += " " + std::to_string(n);
        if (modseq) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
        say(out, untagged(line));
    } else {
        SearchReturn ret = *a.ret;
        if (!ret.min && !ret.max && !ret.all && !ret.count && !ret.save) ret.all = true;  // RETURN () = ALL
        if (ret.save) {
            // RFC 5182 §2.4 (as for SEARCH): MIN and/or MAX alone save only those; else all, as UIDs.
            std::vector<std::uint32_t> uids;
            for (auto i : order) uids.push_back(view_->msgs[msgs[i].seq - 1].uid);
            if ((ret.min || ret.max) && !ret.all && !ret.count && !uids.empty()) {
                std::vector<std::uint32_t> s;
                if (ret.min) s.push_back(uids.front());
                if (ret.max) s.push_back(uids.back());
                uids = std::move(s);
            }
            std::sort(uids.begin(), uids.end());
            uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
            saved_search_ = std::move(uids);
        }
        if (ret.min || ret.max || ret.all || ret.count) {
            // RFC 5267 §3.2: MIN and MAX are the first and last in sort order.
            std::string line = "ESEARCH (TAG ";
            append_string(line, c.tag);
            line += ")";
            if (c.uid) line += " UID";
            if (ret.min && !sorted.empty()) line += " MIN " + std::to_string(sorted.front());
            if (ret.max && !sorted.empty()) line += " MAX " + std::to_string(sorted.back());
            if (ret.all && !sorted.empty()) line += " ALL " + sorted_set(sorted);
            if (ret.count) line += " COUNT " + std::to_string(sorted.size());
            if (modseq) line += " MODSEQ " + std::to_string(max_modseq);  // RFC 7162 §3.1.5, RFC 4731
            say(out, untagged(line));
        }
    }
    sync(out, c.uid);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(c.uid ? "UID " : "") + "SORT completed"));
}

void Session::cmd_thread(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<ThreadArgs>(c.args);
    bool references = a.algorithm == "REFERENCES";
    // RFC 5256 §4: the algorithms advertised as THREAD=...; any other is an error.
    if (!references && a.algorithm != "ORDEREDSUBJECT")
        return bad(out, c.tag, "Unknown thread algorithm " + a.algorithm);
    if (!charset_ok(a.charset))
        return say(out, tagged(c.tag, "NO", "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset"));
    auto msgs = candidates(store_, *view_, a.key, saved_search_, c.uid, true, id_);
    auto tree = references ? thread_references(msgs) : thread_orderedsubject(msgs);
    auto threads = format_threads(tree, msgs);
    say(out, untagged(threads.empty() ? std::string("THREAD") : "THREAD " + threads));
    sync(out, c.uid);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(c.uid ? "UID " : "") + "THREAD completed"));
}

}  // namespace tern::imap
