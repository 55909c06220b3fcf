// FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 CHANGEDSINCE and
// MODSEQ): builds one message's response at a time and streams message octets from the store in
// bounded chunks, so a 50 MB BODY[] never sits in memory. Must never send EXPUNGE while answering
// a FETCH (RFC 9051 §7.5.1) and never set \Seen in a read-only session.
#include <algorithm>
#include <cerrno>

#include "base/log.hpp"
#include "mime/part_tree.hpp"
#include "proto/imap/datetime.hpp"
#include "proto/imap/fetch_data.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"
#include "session/imap/summary.hpp"

namespace tern::imap {
namespace {

using Kind = FetchItem::Kind;

bool sets_seen(const FetchItem& i) {
    // RFC 9051 §6.4.5: BODY[...] and BINARY[...] (not .PEEK) and RFC822 / RFC822.TEXT set \Seen.
    return ((i.kind == Kind::BodySection || i.kind == Kind::Binary) && !i.peek) || i.kind == Kind::Rfc822 ||
           i.kind == Kind::Rfc822Text;
}

bool needs_tree(const FetchItem& i) {
    switch (i.kind) {
        case Kind::Envelope: case Kind::Body: case Kind::BodyStructure: case Kind::BodySection:
        case Kind::Binary: case Kind::BinarySize: case Kind::Rfc822Header: case Kind::Rfc822Text:
            return true;
        default:
            return false;
    }
}

// ENVELOPE, BODY and BODYSTRUCTURE: what the per-message summary holds (summary.hpp).
bool in_summary(const FetchItem& i) {
    return i.kind == Kind::Envelope || i.kind == Kind::Body || i.kind == Kind::BodyStructure;
}

// Summaries computed by a FETCH are kept in batches of this many (one store transaction each).
constexpr std::size_t kSummaryBatch = 1024;

FetchItem item(Kind k) {
    FetchItem i;
    i.kind = k;
    return i;
}

std::string part_text(const std::vector<std::uint32_t>& part) {
    std::string s;
    for (auto n : part) {
        if (!s.empty()) s += '.';
        s += std::to_string(n);
    }
    return s;
}

// The section as echoed in the response (RFC 9051 §7.5.2 "BODY[" section "]").
std::string section_text(const Section& s) {
    std::string out = part_text(s.part);
    const char* t = nullptr;
    switch (s.text) {
        case Section::Text::None: break;
        case Section::Text::Header: t = "HEADER"; break;
        case Section::Text::HeaderFields: t = "HEADER.FIELDS"; break;
        case Section::Text::HeaderFieldsNot: t = "HEADER.FIELDS.NOT"; break;
        case Section::Text::Text: t = "TEXT"; break;
        case Section::Text::Mime: t = "MIME"; break;
    }
    if (t) {
        if (!out.empty()) out += '.';
        out += t;
        if (s.text == Section::Text::HeaderFields || s.text == Section::Text::HeaderFieldsNot) {
            out += " (";
            for (std::size_t i = 0; i < s.fields.size(); ++i) {
                if (i) out += ' ';
                append_astring(out, s.fields[i]);
            }
            out += ')';
        }
    }
    return out;
}

}  // namespace

void Session::cmd_fetch(const ParsedCommand& c, std::string& out) {
    const auto& a = std::get<FetchArgs>(c.args);
    auto& v = *view_;
    auto idx = resolve(a.set, c.uid, c.tag, out);
    if (!idx) return;
    Fetching f;
    f.tag = c.tag;
    f.uid = c.uid;
    f.command = c.uid ? "UID FETCH" : "FETCH";
    f.items = a.items;
    auto has = [&](Kind k) {
        return std::any_of(f.items.begin(), f.items.end(), [&](const FetchItem& i) { return i.kind == k; });
    };
    // RFC 9051 §6.4.9: UID FETCH always reports the UID.
    if (c.uid && !has(Kind::Uid)) f.items.insert(f.items.begin(), item(Kind::Uid));
    if (a.changed_since) {
        // RFC 7162 §3.1.4.1: only messages changed since; MODSEQ is then reported as well.
        enable_condstore(out);
        if (!has(Kind::ModSeq)) f.items.push_back(item(Kind::ModSeq));
    }
    if (has(Kind::ModSeq)) enable_condstore(out);  // RFC 7162 §3.1: a CONDSTORE-enabling command
    // RFC 7162 §3.1.4.1: once CONDSTORE is on, a FETCH reporting FLAGS also reports MODSEQ.
    if (condstore_ && has(Kind::Flags) && !has(Kind::ModSeq)) f.items.push_back(item(Kind::ModSeq));
    if (a.vanished) {
        // RFC 7162 §3.2.6: UID FETCH (CHANGEDSINCE m VANISHED) first reports the UIDs in the set
        // expunged since m.
        if (!qresync_) return bad(out, c.tag, "VANISHED needs ENABLE QRESYNC first");
        auto gone = store_.expunged_since(v.box, *a.changed_since);
        if (!gone) return say(out, store_error(c.tag, gone.error(), "UID FETCH"));
        const std::uint32_t star = v.msgs.empty() ? (v.uidnext > 1 ? v.uidnext - 1 : 1) : v.msgs.back().uid;
        std::vector<std::uint32_t> vanished;
        for (auto u : *gone)
            if (a.set.contains(u, star)) vanished.push_back(u);
        if (!vanished.empty()) say(out, untagged("VANISHED (EARLIER) " + uid_set(vanished)));
    }
    for (auto i : *idx) {
        if (a.changed_since && v.msgs[i].modseq <= *a.changed_since) continue;
        f.uids.push_back(v.msgs[i].uid);
    }
    // \Seen as a side effect, set in one store transaction before anything is sent.
    if (!v.read_only && std::any_of(f.items.begin(), f.items.end(), sets_seen)) {
        std::vector<std::uint32_t> unseen;
        for (auto u : f.uids) {
            if (!v.has_flag(v.msgs[v.seq_of(u) - 1], "\\Seen")) unseen.push_back(u);
        }
        if (!unseen.empty()) {
            const std::string seen = "\\Seen";
            auto r = store_.store_flags(v.box, unseen, store::FlagMode::Add, std::span<const std::string>(&seen, 1));
            if (!r) {
                log::warn("imap[", id_, "] FETCH could not set \\Seen: ", r.error().message);
            } else {
                for (auto& m : r->updated)
                    if (auto s = v.seq_of(m.uid)) {
                        v.set_flags(v.msgs[s - 1], m.flags);
                        v.msgs[s - 1].modseq = m.modseq;
                    }
                // RFC 9051 §6.4.5: the changed FLAGS are reported with the data.
                if (!has(Kind::Flags)) f.items.push_back(item(Kind::Flags));
            }
        }
    }
    // The summary holds the texts of a session without UTF-8 (summary.hpp); when it covers every
    // item that needs the message, a listing reads no message at all.
    f.from_summary = config_.summaries && !utf8() &&
                     std::any_of(f.items.begin(), f.items.end(), in_summary) &&
                     std::all_of(f.items.begin(), f.items.end(), [](const FetchItem& i) {
                         return in_summary(i) || (!needs_tree(i) && i.kind != Kind::Rfc822);
                     });
    pending_ = std::make_unique<Pending>(Pending{std::move(f)});
}

void Session::keep_summaries(std::vector<std::pair<std::uint32_t, std::string>>& computed) {
    if (computed.empty()) return;
    // A cache fill: failing it (a busy store, say) costs only a parse next time.
    if (auto r = store_.set_summaries(view_->box, computed); !r)
        log::warn("imap[", id_, "] could not keep message summaries: ", r.error().message);
    computed.clear();
}

void Session::pump_fetch(std::string& out) {
    auto& f = std::get<Fetching>(pending_->what);
    auto& v = *view_;
    while (out.size() < config_.limits.output_high_water) {
        if (!f.segments.empty()) {
            auto& s = f.segments.front();
            if (!s.source) {
                out += s.text;
                f.segments.pop_front();
                continue;
            }
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(s.length, config_.limits.fetch_chunk));
            const std::size_t at = out.size();
            out.resize(at + want);
            auto n = s.source->read(s.offset, std::span<char>(out.data() + at, want));
            if (!n || *n == 0) {
                // The message went away mid-response (expunged and its body dropped): the literal
                // was announced, so it must be completed; pad it and end the connection after.
                out.resize(at);
                out.append(static_cast<std::size_t>(s.length), ' ');
                log::error("imap[", id_, "] message read failed mid-FETCH; closing the connection");
                f.segments.clear();
                say(out, ")\r\n");
                say(out, untagged("BYE Message data could not be read"));
                state_ = State::Logout;
                pending_.reset();
                return;
            }
            out.resize(at + *n);
            s.offset += *n;
            s.length -= *n;
            if (s.length == 0) f.segments.pop_front();
            continue;
        }
        if (f.next >= f.uids.size()) break;
        const std::uint32_t uid = f.uids[f.next++];
        const auto seq = v.seq_of(uid);
        if (!seq) continue;
        const auto& m = v.msgs[seq - 1];
        const bool want_source = std::any_of(f.items.begin(), f.items.end(), [](const FetchItem& i) {
            return needs_tree(i) || i.kind == Kind::Rfc822;
        });
        base::ByteSourceRef source;
        std::optional<mime::PartTree> tree;
        std::optional<MessageSummary> summary;
        if (f.from_summary) {
            auto blob = store_.summary(v.box, uid);
            if (!blob && blob.error().code == ENOENT) {  // expunged by another session
                f.missing = true;
                continue;
            }
            if (blob && *blob) summary = decode_summary(**blob);  // damaged or old: recomputed
        }
        if (want_source && !summary) {
            auto src = store_.open_message(v.box, uid);
            if (!src) {
                // RFC 5530 EXPUNGEISSUED: expunged by another session; nothing sent for it.
                if (src.error().code != ENOENT) log::warn("imap[", id_, "] FETCH open failed: ", src.error().message);
                f.missing = true;
                continue;
            }
            source = *src;
            if (std::any_of(f.items.begin(), f.items.end(), needs_tree)) {
                auto t = mime::parse_message(*source);
                if (!t) {
                    f.missing = true;
                    continue;
                }
                tree = std::move(*t);
                if (f.from_summary) {  // first use: compute it once and keep it
                    if (auto made = make_summary(*tree, *source)) {
                        auto blob = encode_summary(*made);
                        if (blob.size() <= kMaxSummaryBytes) f.new_summaries.emplace_back(uid, std::move(blob));
                        if (f.new_summaries.size() >= kSummaryBatch) keep_summaries(f.new_summaries);
                    }
                }
            }
        }
        std::string text = "* " + std::to_string(seq) + " FETCH (";
        bool first = true;
        auto sep = [&] {
            if (!first) text += ' ';
            first = false;
        };
        // A range up to fetch_chunk is read now, before its literal is announced: a message
        // expunged meanwhile then costs a NIL, not the connection. Larger ones stream later (a
        // read failing mid-literal can only end the connection, see above).
        auto literal_range = [&](std::uint64_t offset, std::uint64_t length) -> bool {
            if (length <= config_.limits.fetch_chunk) {
                std::string data(static_cast<std::size_t>(length), '\0');
                std::size_t got = 0;
                while (got < data.size()) {
                    auto n = source->read(offset + got, std::span<char>(data.data() + got, data.size() - got));
                    if (!n || *n == 0) {
                        text += "NIL";
                        return false;
                    }
                    got += *n;
                }
                append_literal(text, data);
                return true;
            }
            text += "{" + std::to_string(length) + "}\r\n";
            f.segments.push_back(Segment{std::move(text), {}, 0, 0});
            text.clear();
            if (length) f.segments.push_back(Segment{{}, source, offset, length});
            return true;
        };
        auto section_out = [&](const Section& sec, std::optional<Partial> partial) -> bool {
            auto d = section_data(*tree, *source, sec, partial);
            if (!d) {
                // Unreadable (expunged meanwhile): NIL keeps the response well-formed (nstring,
                // RFC 9051 §9); the command ends with NO [EXPUNGEISSUED].
                text += "NIL";
                return false;
            }
            switch (d->kind) {
                case SectionData::Range: return literal_range(d->offset, d->length);
                case SectionData::Bytes: append_literal(text, d->bytes); break;
                case SectionData::Missing: text += "\"\""; break;  // as Dovecot does (nstring)
            }
            return true;
        };
        bool ok = true;
        for (const auto& item : f.items) {
            sep();
            switch (item.kind) {
                case Kind::Uid: text += "UID " + std::to_string(m.uid); break;
                case Kind::Flags:
                    text += "FLAGS ";
                    append_flag_list(text, v.flags(m), shows_recent(m.uid));
                    break;
                case Kind::InternalDate: text += "INTERNALDATE \"" + format_date_time(m.internal_date) + "\""; break;
                case Kind::Rfc822Size: text += "RFC822.SIZE " + std::to_string(m.size); break;
                case Kind::ModSeq: text += "MODSEQ (" + std::to_string(m.modseq) + ")"; break;
                case Kind::Envelope:
                    text += "ENVELOPE ";
                    if (summary) text += summary->envelope;
                    else if (tree->root().envelope) append_envelope(text, *tree->root().envelope, utf8());
                    else append_envelope(text, mime::Envelope{}, utf8());
                    break;
                case Kind::Body:
                    text += "BODY ";
                    if (summary) text += summary->body;
                    else append_bodystructure(text, *tree, 0, false, utf8());
                    break;
                case Kind::BodyStructure:
                    text += "BODYSTRUCTURE ";
                    if (summary) text += summary->bodystructure;
                    else append_bodystructure(text, *tree, 0, true, utf8());
                    break;
                case Kind::Rfc822:
                    text += "RFC822 ";
                    ok = literal_range(0, source->size());
                    break;
                case Kind::Rfc822Header:
                    text += "RFC822.HEADER ";
                    ok = section_out(Section{.part = {}, .text = Section::Text::Header, .fields = {}}, std::nullopt);
                    break;
                case Kind::Rfc822Text:
                    text += "RFC822.TEXT ";
                    ok = section_out(Section{.part = {}, .text = Section::Text::Text, .fields = {}}, std::nullopt);
                    break;
                case Kind::BodySection:
                    text += "BODY[" + section_text(item.section) + "]";
                    if (item.partial) text += "<" + std::to_string(item.partial->offset) + ">";
                    text += ' ';
                    ok = section_out(item.section, item.partial);
                    break;
                case Kind::Binary: {
                    text += "BINARY[" + part_text(item.section.part) + "]";
                    if (item.partial) text += "<" + std::to_string(item.partial->offset) + ">";
                    text += ' ';
                    auto d = binary_data(*tree, *source, item.section.part, item.partial, config_.limits.max_binary);
                    if (!d) {
                        // RFC 3516 §4.3: an encoding we cannot undo fails the command; a part
                        // that does not exist is NIL.
                        if (d.error().code == kFetchUnknownCte) f.error_code = "UNKNOWN-CTE";
                        else if (d.error().code == kFetchTooBig) f.error_code = "LIMIT";
                        else if (d.error().code != kFetchNoSuchPart) ok = false;
                        text += "NIL";
                        break;
                    }
                    if (needs_literal8(*d)) append_literal8(text, *d);
                    else append_literal(text, *d);
                    break;
                }
                case Kind::BinarySize: {
                    text += "BINARY.SIZE[" + part_text(item.section.part) + "] ";
                    auto n = binary_size(*tree, *source, item.section.part);
                    if (!n) {
                        if (n.error().code == kFetchUnknownCte) f.error_code = "UNKNOWN-CTE";
                        text += "NIL";
                        break;
                    }
                    text += std::to_string(*n);
                    break;
                }
            }
            if (!ok) break;
        }
        if (!ok) {
            // A read failure before anything of this message was queued... except segments
            // already built: those are complete literals, so close the response properly.
            f.missing = true;
        }
        text += ")\r\n";
        f.segments.push_back(Segment{std::move(text), {}, 0, 0});
    }
    if (!f.segments.empty() || f.next < f.uids.size()) return;  // more to send: Continue
    // Done. RFC 9051 §7.5.1: no EXPUNGE during a (non-UID) FETCH; UID FETCH may carry them.
    auto done = std::move(f);
    pending_.reset();
    keep_summaries(done.new_summaries);
    sync(out, done.uid);
    if (state_ == State::Logout) return;
    if (!done.error_code.empty())
        return say(out, tagged(done.tag, "NO", done.error_code, done.command + " could not decode some parts"));
    // RFC 9051 §7.1 EXPUNGEISSUED; the text is Dovecot's, which clients and imaptest recognise.
    if (done.missing)
        return say(out, tagged(done.tag, "NO", "EXPUNGEISSUED", "Some of the requested messages no longer exist"));
    say(out, tagged(done.tag, "OK", "", done.command + " completed"));
}

}  // namespace tern::imap
