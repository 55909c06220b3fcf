// IMAP session core: input framing through the command reader, the command table (which state
// allows what), and the untagged updates that keep a selected mailbox in step with the store
// (RFC 9051 §5.2, §7.5.1). Must never send EXPUNGE outside the moments the RFC allows, and never
// renumber messages without telling the client.
#include "session/imap/session.hpp"

#include <algorithm>
#include <cerrno>

#include "base/log.hpp"
#include "proto/imap/mailbox.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/pending.hpp"

namespace tern::imap {

std::uint32_t Session::FlagSets::intern(std::vector<std::string> flags) {
    if (flags.empty()) return 0;
    if (auto it = index_.find(flags); it != index_.end()) return it->second;
    const auto i = static_cast<std::uint32_t>(sets_.size());
    sets_.push_back(flags);
    index_.emplace(std::move(flags), i);
    return i;
}

bool Session::View::has_flag(const ViewMessage& m, std::string_view flag) const {
    const auto& f = flags(m);
    return std::find(f.begin(), f.end(), flag) != f.end();
}

Session::ViewMessage Session::View::make(store::MessageInfo m) {
    ViewMessage v;
    v.uid = m.uid;
    v.modseq = m.modseq;
    v.size = m.size;
    v.internal_date = m.internal_date;
    v.flags = flag_sets.intern(std::move(m.flags));
    return v;
}

void Session::View::set_flags(ViewMessage& m, std::vector<std::string> flags) {
    m.flags = flag_sets.intern(std::move(flags));
    if (flag_sets.size() > 2 * msgs.size() + 64) compact_flags();
}

void Session::View::compact_flags() {
    FlagSets fresh;
    for (auto& m : msgs) m.flags = fresh.intern(flag_sets[m.flags]);
    flag_sets = std::move(fresh);
}

std::uint32_t Session::View::seq_of(std::uint32_t uid) const {
    auto it = std::lower_bound(msgs.begin(), msgs.end(), uid,
                               [](const ViewMessage& m, std::uint32_t u) { return m.uid < u; });
    if (it == msgs.end() || it->uid != uid) return 0;
    return static_cast<std::uint32_t>(it - msgs.begin()) + 1;
}

bool Session::View::is_recent(std::uint32_t uid) const {
    auto it = std::upper_bound(recent.begin(), recent.end(), uid,
                               [](std::uint32_t u, const auto& r) { return u < r.first; });
    return it != recent.begin() && uid < std::prev(it)->second;
}

std::uint32_t Session::View::recent_count() const {
    std::uint32_t n = 0;
    auto by_uid = [](const ViewMessage& m, std::uint32_t u) { return m.uid < u; };
    for (const auto& [first, last] : recent) {
        auto a = std::lower_bound(msgs.begin(), msgs.end(), first, by_uid);
        auto b = std::lower_bound(a, msgs.end(), last, by_uid);
        n += static_cast<std::uint32_t>(b - a);
    }
    return n;
}

void Session::View::add_recent(std::uint32_t first, std::uint32_t last) {
    if (first >= last) return;
    if (!recent.empty() && first <= recent.back().second) {  // claims ascend; join neighbours
        recent.back().second = std::max(recent.back().second, last);
        return;
    }
    recent.emplace_back(first, last);
}

Session::Session(SessionConfig config, store::MailStore& store, ImapHost& host, std::string id)
    : config_(std::move(config)), store_(store), host_(host), id_(std::move(id)),
      reader_(config_.limits.before_login), tls_active_(config_.tls_active) {}

Session::~Session() = default;

std::string Session::greeting() {
    // RFC 9051 §7.1.1: the greeting may carry the capabilities, saving a round trip.
    std::string out;
    say(out, untagged("OK [CAPABILITY " + capabilities() + "] " + config_.hostname + " Tern IMAP ready"));
    return out;
}

std::chrono::seconds Session::idle_timeout() const {
    return authenticated() ? config_.limits.idle_after_login : config_.limits.idle_before_login;
}

void Session::receive(std::string_view bytes) {
    if (starting_tls_) return;  // RFC 9051 §6.2.1: nothing pipelined behind STARTTLS is read
    if (input_pos_ > 0 && input_pos_ == input_.size()) {
        input_.clear();
        input_pos_ = 0;
    } else if (input_pos_ > (64u << 10)) {
        input_.erase(0, input_pos_);
        input_pos_ = 0;
    }
    input_.append(bytes);
}

void Session::say(std::string& out, std::string line) const {
    if (log::trace_enabled()) {
        std::string_view shown(line);
        if (shown.size() > 200) shown = shown.substr(0, 200);
        while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.remove_suffix(1);
        log::info("imap[", id_, "] S: ", shown);
    }
    out += line;
}

Session::Action Session::advance() {
    Action a;
    a.output = std::move(deferred_out_);
    deferred_out_.clear();
    for (;;) {
        if (state_ == State::Logout) {
            a.next = Next::Close;
            return a;
        }
        if (starting_tls_) {
            a.next = Next::StartTls;
            return a;
        }
        if (starting_compress_) {  // RFC 4978 §3: nothing after the OK may be read uncompressed
            starting_compress_ = false;
            a.next = Next::StartCompress;
            return a;
        }
        if (pending_) {
            auto& what = pending_->what;
            if (std::holds_alternative<Verifying>(what)) {
                a.next = Next::VerifyPassword;
                return a;
            }
            if (std::holds_alternative<ScramLookup>(what)) {
                a.next = Next::LookupScram;
                return a;
            }
            if (std::holds_alternative<Fetching>(what)) {
                pump_fetch(a.output);
                if (pending_ && std::holds_alternative<Fetching>(pending_->what)) {
                    a.next = Next::Continue;
                    return a;
                }
                continue;
            }
            if (std::holds_alternative<Idling>(what)) {
                // RFC 9051 §6.3.13: while idling the server sends updates as they happen.
                sync(a.output, true);
                if (state_ == State::Logout) continue;
                if (!step(a.output)) {
                    if (state_ == State::Logout) continue;
                    a.next = pending_ && std::holds_alternative<Idling>(pending_->what) ? Next::Idle : Next::Read;
                    return a;
                }
                continue;
            }
        }
        if (a.output.size() >= config_.limits.output_high_water) {
            a.next = Next::Continue;
            return a;
        }
        if (!step(a.output)) {
            if (state_ == State::Logout) continue;  // LOGOUT, BYE: close (RFC 9051 §6.1.3)
            a.next = pending_ && std::holds_alternative<Idling>(pending_->what) ? Next::Idle : Next::Read;
            return a;
        }
    }
}

bool Session::step(std::string& out) {
    std::string_view in(input_.data() + input_pos_, input_.size() - input_pos_);
    auto s = reader_.feed(in);
    input_pos_ += s.consumed;
    if (std::holds_alternative<NeedMore>(s.event)) return false;
    if (auto* lit = std::get_if<NeedLiteral>(&s.event)) {
        // RFC 9051 §7.5: the client waits for a continuation before sending the octets.
        if (lit->synchronizing) say(out, continuation("Ready for literal data"));
        return true;
    }
    if (auto* e = std::get_if<ReadError>(&s.event)) {
        if (log::trace_enabled()) log::info("imap[", id_, "] C: <unreadable command>");
        if (e->close) {
            say(out, untagged("BYE " + e->text));
            state_ = State::Logout;
            return false;
        }
        bad(out, e->tag, e->text);
        return state_ != State::Logout;
    }
    if (auto* line = std::get_if<Line>(&s.event)) {
        if (pending_ && std::holds_alternative<SaslExchange>(pending_->what)) {
            if (log::trace_enabled()) log::info("imap[", id_, "] C: <sasl response>");
            sasl_line(line->text, out);
        } else if (pending_ && std::holds_alternative<Idling>(pending_->what)) {
            if (log::trace_enabled()) log::info("imap[", id_, "] C: ", line->text);
            idle_line(line->text, out);
        }
        return state_ != State::Logout;
    }
    auto& raw = std::get<Command>(s.event);
    if (log::trace_enabled()) {
        bool secret = raw.name == "LOGIN" || raw.name == "AUTHENTICATE";
        log::info("imap[", id_, "] C: ", raw.tag, " ", raw.name, secret ? " ****" : "");
    }
    auto parsed = parse_command(raw);
    if (!parsed) {
        bad(out, raw.tag, parsed.error());
        return state_ != State::Logout;
    }
    if (!authenticated() && ++commands_before_login_ > config_.limits.commands_before_login) {
        say(out, untagged("BYE Too many commands without logging in"));
        state_ = State::Logout;
        return false;
    }
    dispatch(std::move(*parsed), out);
    return state_ != State::Logout;
}

void Session::bad(std::string& out, std::string_view tag, std::string_view text) {
    say(out, tag.empty() ? untagged(std::string("BAD ") + std::string(text)) : tagged(tag, "BAD", "", text));
    if (++bad_commands_ >= config_.limits.bad_commands) {
        say(out, untagged("BYE Too many invalid commands"));
        state_ = State::Logout;
    }
}

void Session::dispatch(ParsedCommand c, std::string& out) {
    // Which state allows a command (RFC 9051 §6.1-§6.4); BAD otherwise (RFC 9051 §7.1.5 / §6).
    enum Allowed { Any, NotAuth, Auth, Sel };
    struct Entry {
        Cmd cmd;
        Allowed allowed;
    };
    static constexpr Entry table[] = {
        {Cmd::Capability, Any},   {Cmd::Noop, Any},         {Cmd::Logout, Any},      {Cmd::Id, Any},
        {Cmd::StartTls, NotAuth}, {Cmd::Authenticate, NotAuth}, {Cmd::Login, NotAuth},
        {Cmd::Enable, Auth},      {Cmd::Select, Auth},      {Cmd::Examine, Auth},    {Cmd::Create, Auth},
        {Cmd::Delete, Auth},      {Cmd::Rename, Auth},      {Cmd::Subscribe, Auth},  {Cmd::Unsubscribe, Auth},
        {Cmd::List, Auth},        {Cmd::Lsub, Auth},        {Cmd::Namespace, Auth},  {Cmd::Status, Auth},
        {Cmd::Append, Auth},      {Cmd::Idle, Auth},
        {Cmd::Compress, Auth},  // RFC 4978 §3: authenticated or selected state
        {Cmd::Sort, Sel},         {Cmd::Thread, Sel},  // RFC 5256 §3, §4
        {Cmd::Close, Sel},        {Cmd::Unselect, Sel},     {Cmd::Expunge, Sel},     {Cmd::Check, Sel},
        {Cmd::Search, Sel},       {Cmd::Fetch, Sel},        {Cmd::Store, Sel},       {Cmd::Copy, Sel},
        {Cmd::Move, Sel},
    };
    const Entry* e = nullptr;
    for (const auto& t : table)
        if (t.cmd == c.cmd) e = &t;
    if (!e) return bad(out, c.tag, std::string(command_name(c.cmd)) + " is not supported");
    bool ok = false;
    switch (e->allowed) {
        case Any: ok = true; break;
        case NotAuth: ok = state_ == State::NotAuthenticated; break;
        case Auth: ok = state_ == State::Authenticated || state_ == State::Selected; break;
        case Sel: ok = state_ == State::Selected; break;
    }
    if (!ok) {
        const char* why = e->allowed == NotAuth ? " is not valid once authenticated"
                          : e->allowed == Sel  ? " needs a selected mailbox"
                                               : " needs authentication first";
        return bad(out, c.tag, std::string(command_name(c.cmd)) + why);
    }
    switch (c.cmd) {
        case Cmd::Capability: return cmd_capability(c, out);
        case Cmd::Noop: return cmd_noop(c, out);
        case Cmd::Check: return cmd_noop(c, out);  // RFC 3501 §6.4.1; gone from RFC 9051
        case Cmd::Logout: return cmd_logout(c, out);
        case Cmd::Id: return cmd_id(c, out);
        case Cmd::StartTls: return cmd_starttls(c, out);
        case Cmd::Authenticate: return cmd_authenticate(c, out);
        case Cmd::Login: return cmd_login(c, out);
        case Cmd::Enable: return cmd_enable(c, out);
        case Cmd::Select:
        case Cmd::Examine: return cmd_select(c, out);
        case Cmd::Create: return cmd_create(c, out);
        case Cmd::Delete: return cmd_delete(c, out);
        case Cmd::Rename: return cmd_rename(c, out);
        case Cmd::Subscribe:
        case Cmd::Unsubscribe: return cmd_subscribe(c, out);
        case Cmd::List:
        case Cmd::Lsub: return cmd_list(c, out);
        case Cmd::Namespace: return cmd_namespace(c, out);
        case Cmd::Status: return cmd_status(c, out);
        case Cmd::Append: return cmd_append(c, out);
        case Cmd::Idle: return cmd_idle(c, out);
        case Cmd::Close:
        case Cmd::Unselect: return cmd_close(c, out);
        case Cmd::Expunge: return cmd_expunge(c, out);
        case Cmd::Search: return cmd_search(c, out);
        case Cmd::Fetch: return cmd_fetch(c, out);
        case Cmd::Store: return cmd_store(c, out);
        case Cmd::Copy:
        case Cmd::Move: return cmd_copy(c, out);
        case Cmd::Compress: return cmd_compress(c, out);
        case Cmd::Sort: return cmd_sort(c, out);
        case Cmd::Thread: return cmd_thread(c, out);
        default: return bad(out, c.tag, std::string(command_name(c.cmd)) + " is not supported");
    }
}

std::optional<std::string> Session::mailbox_arg(std::string_view wire, std::string_view tag, std::string& out) {
    auto name = decode_mailbox(wire, utf8());
    if (!name) {
        say(out, tagged(tag, "NO", "CANNOT", "Bad mailbox name: " + name.error()));
        return std::nullopt;
    }
    return *name;
}

std::string Session::wire_name(std::string_view utf8_name) const {
    auto w = encode_mailbox(utf8_name, utf8());
    return w ? *w : std::string(utf8_name);
}

std::string Session::store_error(std::string_view tag, const Error& e, std::string_view what) const {
    // RFC 5530 response codes tell the client what kind of failure it was.
    switch (e.code) {
        case ENOENT:
            if (e.message.find("TRYCREATE") != std::string::npos)
                return tagged(tag, "NO", "TRYCREATE", std::string(what) + ": no such mailbox");
            return tagged(tag, "NO", "NONEXISTENT", std::string(what) + ": no such mailbox");
        case EEXIST:
            if (e.message.find("HASCHILDREN") != std::string::npos)
                return tagged(tag, "NO", "HASCHILDREN", std::string(what) + ": the mailbox has children");
            return tagged(tag, "NO", "ALREADYEXISTS", std::string(what) + ": the mailbox exists already");
        case EINVAL: return tagged(tag, "NO", "CANNOT", std::string(what) + ": " + e.message);
        case ENOSPC:
        case EFBIG: return tagged(tag, "NO", "OVERQUOTA", std::string(what) + ": " + e.message);
        case EBUSY: return tagged(tag, "NO", "INUSE", std::string(what) + ": the store is busy, try again");
        default:
            log::error("imap[", id_, "] ", what, " failed: ", e.message);
            return tagged(tag, "NO", "SERVERBUG", std::string(what) + " failed (server error)");
    }
}

std::optional<std::vector<std::size_t>> Session::resolve(const SequenceSet& set, bool uid, std::string_view tag,
                                                         std::string& out) {
    std::vector<std::size_t> idx;
    auto& v = *view_;
    if (set.saved) {
        // RFC 5182 §2.1: "$" is the saved result (UIDs); messages expunged since drop out.
        for (auto u : saved_search_)
            if (auto s = v.seq_of(u)) idx.push_back(s - 1);
        std::sort(idx.begin(), idx.end());
        return idx;
    }
    if (uid) {
        // RFC 9051 §6.4.9: "*" is the highest UID in use; UIDs that do not exist are ignored.
        if (v.msgs.empty()) return idx;
        const std::uint32_t star = v.msgs.back().uid;
        for (std::size_t i = 0; i < v.msgs.size(); ++i)
            if (set.contains(v.msgs[i].uid, star)) idx.push_back(i);
        return idx;
    }
    const auto count = static_cast<std::uint32_t>(v.msgs.size());
    for (const auto& r : set.ranges)
        if (r.first != kStar && r.last != kStar && std::max(r.first, r.last) > count) {
            // RFC 9051 §9: a sequence number must name an existing message; a range with "*"
            // always has one end in the mailbox (and names nothing in an empty one).
            bad(out, tag, "Invalid message sequence number (the mailbox has " + std::to_string(count) + ")");
            return std::nullopt;
        }
    bool too_many = false;
    auto seqs = expand(set, count, config_.limits.max_fetch_messages, &too_many);
    if (too_many) {
        bad(out, tag, "Too many messages in one command");
        return std::nullopt;
    }
    for (auto s : seqs) idx.push_back(s - 1);
    return idx;
}

void Session::enable_condstore(std::string& out) {
    if (condstore_) return;
    condstore_ = true;
    if (state_ == State::Selected && view_)
        say(out, untagged("OK [HIGHESTMODSEQ " + std::to_string(view_->known_modseq) + "] CONDSTORE enabled"));
}

void Session::enter_selected(View view) {
    view_ = std::move(view);
    state_ = State::Selected;
}

void Session::take_recent(View& v, std::uint32_t from, std::uint32_t upto, std::uint32_t first_unclaimed) {
    if (rev2_ || upto <= from) return;  // RFC 9051 dropped \Recent: a rev2 session claims nothing
    if (v.read_only) {
        // RFC 3501 §6.3.2: EXAMINE leaves \Recent for the next session that selects read-write.
        v.add_recent(std::max(from, first_unclaimed), upto);
        return;
    }
    auto claimed = store_.claim_recent(v.box, upto);
    if (!claimed) return log::warn("imap[", id_, "] could not claim \\Recent: ", claimed.error().message);
    v.add_recent(std::max(from, claimed->first), claimed->second);
}

std::uint64_t Session::unclaimed_recent(const store::MailboxInfo& info) {
    if (info.first_recent_uid >= info.uidnext) return 0;
    auto list = store_.list_messages(store::MailboxHandle{account_, info.id, info.uidvalidity}, info.first_recent_uid, 0);
    if (!list) return 0;
    return list->size();
}

void Session::leave_selected() {
    view_.reset();
    saved_search_.clear();
    if (state_ == State::Selected) state_ = State::Authenticated;
}

void Session::announce_expunges(std::string& out) {
    auto& v = *view_;
    if (v.pending_expunge.empty()) return;
    std::sort(v.pending_expunge.begin(), v.pending_expunge.end());
    if (qresync_) {
        // RFC 7162 §3.2.10: with QRESYNC, one VANISHED response (UIDs) replaces the EXPUNGEs.
        std::vector<std::uint32_t> gone;
        for (auto u : v.pending_expunge)
            if (auto seq = v.seq_of(u)) {
                gone.push_back(u);
                v.msgs.erase(v.msgs.begin() + (seq - 1));
            }
        if (!gone.empty()) say(out, untagged("VANISHED " + uid_set(gone)));
        v.pending_expunge.clear();
        return;
    }
    // RFC 9051 §7.5.1: each EXPUNGE renumbers the messages after it, so announce from the highest
    // sequence number down: each number sent is then valid when the client reads it.
    for (auto it = v.pending_expunge.rbegin(); it != v.pending_expunge.rend(); ++it) {
        auto seq = v.seq_of(*it);
        if (!seq) continue;
        say(out, untagged(std::to_string(seq) + " EXPUNGE"));
        v.msgs.erase(v.msgs.begin() + (seq - 1));
    }
    v.pending_expunge.clear();
}

void Session::sync(std::string& out, bool allow_expunge) {
    if (state_ != State::Selected || !view_) return;
    auto& v = *view_;
    auto info = store_.mailbox_info(v.box);
    if (!info) {
        if (info.error().code == ENOENT) {
            // The mailbox was deleted (or renamed away and re-created) under us: nothing the
            // client holds is valid any more (RFC 9051 §7.1.5 BYE).
            say(out, untagged("BYE The selected mailbox no longer exists"));
            state_ = State::Logout;
            return;
        }
        log::warn("imap[", id_, "] mailbox check failed: ", info.error().message);
        return;
    }
    if (info->highest_modseq != v.known_modseq || info->uidnext != v.uidnext) {
        auto gone = store_.expunged_since(v.box, v.known_modseq);
        auto changed = store_.list_messages(v.box, 1, v.known_modseq);
        if (!gone || !changed) {
            log::warn("imap[", id_, "] mailbox update failed: ", (!gone ? gone.error() : changed.error()).message);
            return;
        }
        for (auto u : *gone)
            if (v.seq_of(u) && std::find(v.pending_expunge.begin(), v.pending_expunge.end(), u) == v.pending_expunge.end())
                v.pending_expunge.push_back(u);
        // RFC 3501 §7.3.2: new messages are \Recent for the first session told about them.
        take_recent(v, v.uidnext, info->uidnext, info->first_recent_uid);
        // Expunges first (when allowed): the sequence numbers below are then the final ones.
        if (allow_expunge) announce_expunges(out);
        const std::size_t before = v.msgs.size();
        const std::uint32_t last_uid = v.msgs.empty() ? 0 : v.msgs.back().uid;
        std::vector<std::uint32_t> flag_changes;  // UIDs
        const std::size_t keywords_before = v.keywords.size();
        for (auto& m : *changed) {
            for (auto& f : m.flags)
                if (!f.starts_with("\\")) v.keywords.insert(f);
            if (m.uid > last_uid) {
                if (v.msgs.empty() || m.uid > v.msgs.back().uid) v.msgs.push_back(v.make(std::move(m)));
                continue;
            }
            auto seq = v.seq_of(m.uid);
            if (!seq) continue;
            auto& known = v.msgs[seq - 1];
            if (known.modseq >= m.modseq) continue;  // our own STORE, already answered
            bool flags_differ = v.flags(known) != m.flags;
            v.set_flags(known, std::move(m.flags));
            known.modseq = m.modseq;
            if (flags_differ || condstore_) flag_changes.push_back(known.uid);
        }
        // Only the counter read BEFORE the listings: a change that lands between them is listed
        // again next time rather than missed (an expunge listed by neither would be lost).
        v.known_modseq = std::max(v.known_modseq, info->highest_modseq);
        v.uidnext = std::max(v.uidnext, info->uidnext);
        // RFC 9051 §7.3.5: keywords new to the mailbox first change its FLAGS.
        if (v.keywords.size() != keywords_before) say_flags(out, v);
        // RFC 9051 §7.5.2: unsolicited FETCH with the new FLAGS (and MODSEQ with CONDSTORE).
        for (auto uid : flag_changes) {
            auto seq = v.seq_of(uid);
            const auto& m = v.msgs[seq - 1];
            std::string line = std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " FLAGS ";
            append_flag_list(line, v.flags(m), shows_recent(uid));
            if (condstore_) line += " MODSEQ (" + std::to_string(m.modseq) + ")";
            line += ")";
            say(out, untagged(line));
        }
        if (v.msgs.size() != before) {
            say(out, untagged(std::to_string(v.msgs.size()) + " EXISTS"));
            // RFC 3501 §7.3.2 (RFC 9051 dropped RECENT)
            if (!rev2_) say(out, untagged(std::to_string(v.recent_count()) + " RECENT"));
        }
    }
    if (allow_expunge) announce_expunges(out);
}

// ---- authentication results from the network layer ----

Session::PasswordCheck Session::take_password_check() {
    if (!pending_) return {};
    auto* v = std::get_if<Verifying>(&pending_->what);
    if (!v) return {};
    // The user stays for logged_in(); the password is handed over once.
    return PasswordCheck{v->check.user, std::move(v->check.password)};
}

void Session::password_checked(bool ok) {
    if (!pending_ || !std::holds_alternative<Verifying>(pending_->what))
        return log::warn("imap[", id_, "] password_checked() while not verifying");
    auto v = std::move(std::get<Verifying>(pending_->what));
    pending_.reset();
    if (v.mech) {
        auto step = v.mech->verified(ok && !logins_refused_);
        return sasl_step(v.tag, std::move(step), std::move(v.mech), deferred_out_);
    }
    if (!ok || logins_refused_) return auth_failed(deferred_out_, v.tag, "LOGIN rejected");
    logged_in(deferred_out_, v.tag, v.check.user);
}

std::string Session::scram_user() const {
    if (!pending_) return {};
    auto* s = std::get_if<ScramLookup>(&pending_->what);
    return s ? s->user : std::string();
}

void Session::scram_credentials(std::optional<sasl::ScramCredentials> creds) {
    if (!pending_ || !std::holds_alternative<ScramLookup>(pending_->what))
        return log::warn("imap[", id_, "] scram_credentials() while not looking up");
    auto s = std::move(std::get<ScramLookup>(pending_->what));
    pending_.reset();
    auto step = s.mech->credentials(std::move(creds));
    sasl_step(s.tag, std::move(step), std::move(s.mech), deferred_out_);
}

void Session::tls_started() {
    if (!starting_tls_) return log::warn("imap[", id_, "] tls_started() unexpected");
    // RFC 9051 §6.2.1: the session starts afresh over TLS; nothing read before counts.
    starting_tls_ = false;
    tls_active_ = true;
    input_.clear();
    input_pos_ = 0;
    reader_.reset();
}

void Session::abort() {
    pending_.reset();
    view_.reset();
    state_ = State::Logout;
}

std::string Session::timeout_reply() {
    std::string out;
    say(out, untagged("BYE Autologout; idle for too long"));
    state_ = State::Logout;
    return out;
}

std::string Session::shutdown_reply() {
    std::string out;
    say(out, untagged("BYE [UNAVAILABLE] Server shutting down"));
    state_ = State::Logout;
    return out;
}

}  // namespace tern::imap
