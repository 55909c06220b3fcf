// SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH results (RFC 4731, and always for
// IMAP4rev2 sessions, RFC 9051 §7.3.4), SEARCHRES's SAVE (RFC 5182) and CONDSTORE's MODSEQ (RFC 7162
// §3.1.5). Matching itself is search_match.*: exact, on decoded text. Must never send EXPUNGE
// while answering a (non-UID) SEARCH.
#include <algorithm>
#include <cerrno>
#include <chrono>

#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/search_match.hpp"
#include "session/imap/session.hpp"
#include "session/imap/view_search.hpp"

namespace tern::imap {
namespace {

bool uses_modseq(const SearchKey& k) {
    if (k.kind == SearchKey::Kind::ModSeq) return true;
    for (const auto& c : k.children)
        if (uses_modseq(c)) return true;
    return false;
}

}  // namespace

void Session::cmd_search(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<SearchArgs>(c.args);
    auto& v = *view_;
    // RFC 9051 §6.4.4: UTF-8 must be supported (US-ASCII is a subset); others get BADCHARSET.
    if (!a.charset.empty() && a.charset != "UTF-8" && a.charset != "US-ASCII")
        return say(out, tagged(c.tag, "NO", "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset"));
    if (uses_modseq(a.key)) enable_condstore(out);  // RFC 7162 §3.1: a CONDSTORE-enabling command
    const SearchContext ctx = search_context(v, saved_search_);
    const bool content = needs_content(a.key);
    MatchCache cache;
    std::vector<std::uint32_t> hits;       // seq numbers or UIDs, ascending
    std::vector<std::uint32_t> hit_uids;   // for SAVE
    std::uint64_t max_modseq = 0;
    std::vector<std::uint64_t> hit_modseqs;  // parallel to hits
    // Issue 9: a search index (ImapHost::search_candidates) tells which messages may contain the
    // string of a top-level text key; every top-level key must hold, so the others are skipped.
    // Only a candidate set for a key ANDed at the top prunes; OR and NOT are scanned in full.
    std::vector<SearchCandidates> pruning;
    const auto asked = std::chrono::steady_clock::now();
    if (content)
        for (const auto& k : a.key.kind == SearchKey::Kind::And ? a.key.children : std::vector<SearchKey>{a.key})
            if (auto needles = index_needles(k); !needles.empty())
                if (auto cand = host_.search_candidates(v.box, needles)) pruning.push_back(std::move(*cand));
    const auto index_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - asked).count();
    std::size_t pruned = 0;
    for (std::size_t i = 0; i < v.msgs.size(); ++i) {
        const auto& m = v.msgs[i];
        if (!std::all_of(pruning.begin(), pruning.end(), [&](const SearchCandidates& p) {
                return m.uid > p.indexed_through || std::binary_search(p.uids.begin(), p.uids.end(), m.uid);
            })) {
            ++pruned;
            continue;
        }
        SearchMessage sm = search_message(v, i);
        base::ByteSourceRef source;
        if (content) {
            auto src = store_.open_message(v.box, m.uid);
            if (!src) continue;  // expunged meanwhile: it matches nothing
            source = *src;
            sm.source = source.get();
        }
        auto r = matches(a.key, ctx, sm, cache);
        if (!r) {
            if (r.error().code != ENOENT) log::warn("imap[", id_, "] SEARCH of uid ", m.uid, ": ", r.error().message);
            continue;
        }
        if (!*r) continue;
        hits.push_back(c.uid ? m.uid : sm.seq);
        hit_uids.push_back(m.uid);
        hit_modseqs.push_back(m.modseq);
        max_modseq = std::max(max_modseq, m.modseq);
    }
    if (!pruning.empty() && log::trace_enabled())
        log::info("imap[", id_, "] SEARCH: index skipped ", pruned, " of ", v.msgs.size(), " messages (index ",
                  index_us / 1000, ".", index_us / 100 % 10, " ms)");
    const bool esearch = a.ret.has_value() || rev2_;
    SearchReturn ret = a.ret.value_or(SearchReturn{});
    if (!ret.min && !ret.max && !ret.all && !ret.count && !ret.save) ret.all = true;  // RETURN () = ALL
    if (ret.save) {
        // RFC 5182 §2.4: with MIN and/or MAX only those are saved; otherwise every match.
        if ((ret.min || ret.max) && !ret.all && !ret.count) {
            std::vector<std::uint32_t> s;
            if (!hit_uids.empty()) {
                if (ret.min) s.push_back(hit_uids.front());
                if (ret.max && (s.empty() || s.back() != hit_uids.back())) s.push_back(hit_uids.back());
            }
            saved_search_ = std::move(s);
        } else {
            saved_search_ = hit_uids;
        }
    }
    const bool modseq = uses_modseq(a.key) && !hits.empty();
    if (!esearch) {
        std::string line = "SEARCH";
        for (auto n : hits) line += " " + std::to_string(n);
        if (modseq) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
        say(out, untagged(line));
    } else if (!(ret.save && !ret.min && !ret.max && !ret.all && !ret.count)) {
        // RFC 4731 §3.1; RFC 5182 §2.4: SAVE alone sends no ESEARCH.
        std::string line = "ESEARCH (TAG ";
        append_string(line, c.tag);
        line += ")";
        if (c.uid) line += " UID";
        if (ret.min && !hits.empty()) line += " MIN " + std::to_string(hits.front());
        if (ret.max && !hits.empty()) line += " MAX " + std::to_string(hits.back());
        if (ret.all && !hits.empty()) line += " ALL " + compress_numbers(hits);
        if (ret.count) line += " COUNT " + std::to_string(hits.size());
        if (modseq) {
            // RFC 7162 §3.1.5 with RFC 4731: the highest modseq of the messages returned; with only
            // MIN and/or MAX that is of those one or two.
            std::uint64_t shown = max_modseq;
            if (!ret.all && !ret.count) {
                shown = 0;
                if (ret.min) shown = std::max(shown, hit_modseqs.front());
                if (ret.max) shown = std::max(shown, hit_modseqs.back());
            }
            line += " MODSEQ " + std::to_string(shown);
        }
        say(out, untagged(line));
    }
    sync(out, c.uid);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(c.uid ? "UID " : "") + "SEARCH completed"));
}

}  // namespace tern::imap
