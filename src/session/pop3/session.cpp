// POP3 session core: input framing, the state loop, tracing, and the one function that changes
// state. Command handlers live in commands.cpp. Must never process a command while a password check,
// SCRAM lookup or TLS handshake is pending, never frame a line on anything but CRLF, and never
// answer plaintext that was pipelined behind STLS (RFC 2595 §4, CVE-2011-0411).
#include "session/pop3/session.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "proto/pop3/response.hpp"
#include "proto/smtp/line_reader.hpp"

namespace tern::pop3 {

Session::Session(SessionConfig config, Pop3Host& host, std::string id)
    : config_(std::move(config)), host_(host), id_(std::move(id)) {
    // RFC 1939 §7: the APOP timestamp is a msg-id, unique for each greeting.
    timestamp_ = "<" + config_.unique_token + "@" + config_.hostname + ">";
    tls_active_ = config_.tls_active;
}

Session::~Session() { release(); }

const char* Session::state_name(const State& s) {
    static constexpr const char* names[] = {"authorization", "sasl",        "verifying", "scram-lookup",
                                            "starting-tls",  "transaction", "update",    "closed"};
    return names[s.index()];
}

void Session::enter(State next, const char* why) {
    if (log::level() <= log::Level::Debug)
        log::debug("pop3[", id_, "] ", state_name(state_), " -> ", state_name(next), " (", why, ")");
    state_ = std::move(next);
    if (std::holds_alternative<Closed>(state_)) sending_.reset();
    // RFC 1939 §6: a session that ends other than by QUIT in TRANSACTION leaves the maildrop as it
    // was; the Update path has expunged already when it gets here.
    if (std::holds_alternative<Closed>(state_)) release();
}

void Session::release() {
    if (!locked_) return;
    locked_ = false;
    host_.unlock(account_);
    log::debug("pop3[", id_, "] unlocked ", account_);
}

void Session::trace_in(std::string_view line) const {
    if (!log::trace_enabled()) return;
    // Never log credentials: SASL responses, PASS, the APOP digest and AUTH initial responses.
    if (std::holds_alternative<SaslExchange>(state_)) {
        log::info("pop3[", id_, "] C: ****");
        return;
    }
    auto upper4 = [&](std::string_view kw) {
        if (line.size() < kw.size() + 1 || line[kw.size()] != ' ') return false;
        for (std::size_t i = 0; i < kw.size(); ++i)
            if ((line[i] & ~0x20) != kw[i]) return false;
        return true;
    };
    if (upper4("PASS")) return log::info("pop3[", id_, "] C: ", line.substr(0, 4), " ****");
    if (upper4("APOP") || upper4("AUTH")) {
        auto sp = line.find(' ', 5);
        return log::info("pop3[", id_, "] C: ", line.substr(0, sp), sp == std::string_view::npos ? "" : " ****");
    }
    log::info("pop3[", id_, "] C: ", line);
}

void Session::trace_out(std::string_view reply) const {
    if (!log::trace_enabled()) return;
    while (!reply.empty()) {
        auto eol = reply.find("\r\n");
        log::info("pop3[", id_, "] S: ", reply.substr(0, eol));
        if (eol == std::string_view::npos) break;
        reply.remove_prefix(eol + 2);
    }
}

void Session::say(std::string& out, std::string text) const {
    trace_out(text);
    out += text;
}

void Session::say_multiline(std::string& out, std::string first, std::string_view body) const {
    // Message data is not traced (size and privacy): only the status line and a length.
    trace_out(first);
    if (log::trace_enabled()) log::info("pop3[", id_, "] S: <", body.size(), " octets, then \".\">");
    out += first;
    append_multiline(out, body);
}

void Session::send_message(std::string& out, std::string first, base::ByteSourceRef source,
                           std::optional<std::uint64_t> top_lines, std::uint32_t uid) {
    // Message data is not traced (size and privacy): only the status line and a length.
    trace_out(first);
    if (log::trace_enabled()) log::info("pop3[", id_, "] S: <", source->size(), " octets at most, then \".\">");
    Sending s;
    s.reply_start = out.size();
    out += first;
    s.uid = uid;
    s.buffer_size = static_cast<std::size_t>(
        std::clamp<std::uint64_t>(source->size(), 1, std::max<std::size_t>(config_.limits.message_chunk, 1)));
    s.buffer = std::make_unique_for_overwrite<char[]>(s.buffer_size);
    s.source = std::move(source);
    if (top_lines) s.top.emplace(*top_lines);
    sending_ = std::move(s);
}

void Session::pump(std::string& out) {
    Sending& s = *sending_;
    const std::uint64_t size = s.source->size();
    bool done = s.offset >= size;
    if (!done) {
        auto n = s.source->read(s.offset, std::span<char>(s.buffer.get(), s.buffer_size));
        if (n && *n == 0) n = fail("message ended early at octet " + std::to_string(s.offset), EIO);
        if (!n) {
            log::error("pop3[", id_, "] read ", account_, " uid ", s.uid, " at ", s.offset,
                       " failed: ", n.error().message);
            if (!s.started) {
                // Nothing of the reply has left: take back the "+OK" and say why.
                out.resize(s.reply_start);
                sending_.reset();
                return say(out, err(code::kSysTemp, "Unable to read message"));
            }
            // "+OK" and part of the message are out: nothing more can be said in-band (a
            // terminator would pass a truncated message as whole), so the connection closes.
            return enter(Closed{}, "message read failed");
        }
        std::string_view piece(s.buffer.get(), *n);
        s.offset += *n;
        if (s.top) piece = piece.substr(0, s.top->take(piece));
        // RFC 1939 §3 byte-stuffing, carried across chunk boundaries by the stuffer. Room for
        // the chunk and a few stuffed dots, so that the output does not double its capacity.
        out.reserve(out.size() + piece.size() + piece.size() / 64 + 8);
        s.stuffer.append(out, piece);
        done = s.offset >= size || (s.top && s.top->done());
    }
    s.started = true;
    if (done) {
        s.stuffer.finish(out);
        sending_.reset();
    }
}

std::string Session::greeting() {
    // RFC 1939 §4 greeting; the timestamp makes APOP possible (§7).
    std::string g = ok(config_.hostname + " POP3 ready " + timestamp_);
    trace_out(g);
    return g;
}

void Session::receive(std::string_view bytes) {
    // RFC 2595 §4: nothing sent before the TLS handshake completes may be acted upon after it.
    if (std::holds_alternative<StartingTls>(state_) || std::holds_alternative<Closed>(state_)) return;
    input_.append(bytes);
}

Session::Action Session::advance() {
    Action a;
    a.output = std::move(deferred_out_);
    deferred_out_.clear();
    bool cut = false;
    for (;;) {
        if (sending_) {
            // One chunk of a RETR/TOP response per advance(): the network layer writes it before
            // asking for the next, so a session holds one chunk of a message, not all of it.
            pump(a.output);
            if (sending_) {
                cut = true;
                break;
            }
            if (std::holds_alternative<Closed>(state_)) break;
        }
        if (a.output.size() >= config_.limits.output_high_water) {
            cut = input_pos_ < input_.size();
            break;
        }
        if (!step(a.output)) break;
    }
    if (input_pos_ > 0) {
        input_.erase(0, input_pos_);
        input_pos_ = 0;
    }
    if (std::holds_alternative<Closed>(state_)) a.next = Next::Close;
    else if (std::holds_alternative<Verifying>(state_)) a.next = Next::VerifyPassword;
    else if (std::holds_alternative<ScramLookup>(state_)) a.next = Next::LookupScram;
    else if (std::holds_alternative<StartingTls>(state_)) a.next = Next::StartTls;
    else if (std::holds_alternative<Update>(state_)) a.next = Next::Expunge;
    else if (cut) a.next = Next::Continue;
    return a;
}

bool Session::step(std::string& out) {
    if (!std::holds_alternative<Authorization>(state_) && !std::holds_alternative<SaslExchange>(state_) &&
        !std::holds_alternative<Transaction>(state_))
        return false;
    std::string_view in(input_.data() + input_pos_, input_.size() - input_pos_);
    if (in.empty()) return false;
    bool sasl = std::holds_alternative<SaslExchange>(state_);
    // RFC 2449 §4: command lines are at most 255 octets; RFC 5034 §4: SASL responses may be as long
    // as the mechanism needs.
    std::size_t max = sasl ? config_.limits.sasl_line : config_.limits.command_line;
    auto r = smtp::next_line(in, max, skipping_long_line_);
    using Kind = smtp::LineResult::Kind;
    switch (r.kind) {
        case Kind::NeedMore:
            return false;
        case Kind::TooLong: {
            bool was_skipping = skipping_long_line_;
            input_pos_ += r.consumed;
            skipping_long_line_ = !r.complete;
            if (!was_skipping) {
                trace_in("<line too long>");
                if (sasl) auth_failed(out, "sasl response too long");
                else bad_command(out, "Line too long");
            }
            return r.consumed > 0 && !std::holds_alternative<Closed>(state_);
        }
        case Kind::BareNewline:
            input_pos_ += r.consumed;
            trace_in("<line with bare CR or LF>");
            if (sasl) auth_failed(out, "bare CR or LF in sasl response");
            else bad_command(out, "Bare CR or LF in command line");
            return !std::holds_alternative<Closed>(state_);
        case Kind::Line:
            input_pos_ += r.consumed;
            return on_line(r.line, out);
    }
    return false;
}

bool Session::on_line(std::string_view line, std::string& out) {
    trace_in(line);
    if (std::holds_alternative<SaslExchange>(state_)) sasl_line(line, out);
    else on_command(line, out);
    return !std::holds_alternative<Closed>(state_);
}

void Session::bad_command(std::string& out, std::string text) {
    if (++bad_commands_ >= config_.limits.bad_commands) {
        say(out, err("Too many bad commands, closing connection"));
        return enter(Closed{}, "too many bad commands");
    }
    say(out, err(text));
}

void Session::auth_failed(std::string& out, std::string_view why) {
    // One reply for unknown users, wrong passwords and malformed exchanges alike (RFC 3206 §5).
    log::info("pop3[", id_, "] authentication failed: ", why);
    say(out, err(code::kAuth, "Authentication failed"));
    if (++auth_failures_ >= config_.limits.auth_failures) return enter(Closed{}, "too many auth failures");
    enter(Authorization{}, "auth failed");
}

void Session::login(std::string& out, std::string_view user) {
    std::string account = host_.canonical_account(user);
    switch (host_.lock(account)) {
        case LockResult::Locked:
            break;
        case LockResult::InUse:
            // RFC 2449 §8.1.2: another session holds the maildrop; credentials were fine.
            say(out, err(code::kInUse, "Maildrop already locked"));
            return enter(Authorization{}, "maildrop in use");
        case LockResult::Error:
            say(out, err(code::kSysTemp, "Unable to lock maildrop"));
            return enter(Authorization{}, "lock failed");
    }
    locked_ = true;
    account_ = account;
    auto snap = host_.snapshot(account);
    if (!snap) {
        log::error("pop3[", id_, "] snapshot of ", account, " failed: ", snap.error().message);
        release();
        account_.clear();
        say(out, err(code::kSysTemp, "Unable to open maildrop"));
        return enter(Authorization{}, "snapshot failed");
    }
    // RFC 1939 §7: unique-ids are 1..70 printable characters and unique within the maildrop.
    std::vector<std::string_view> ids;
    ids.reserve(snap->size());
    for (const auto& m : *snap) ids.push_back(m.uidl);
    std::sort(ids.begin(), ids.end());
    bool ids_ok = std::adjacent_find(ids.begin(), ids.end()) == ids.end() &&
                  std::all_of(ids.begin(), ids.end(), [](std::string_view u) { return valid_uidl(u); });
    if (!ids_ok) {
        log::error("pop3[", id_, "] maildrop ", account, " has invalid or duplicate unique-ids");
        release();
        account_.clear();
        say(out, err(code::kSysPerm, "Maildrop is damaged, contact your administrator"));
        return enter(Authorization{}, "bad unique-ids");
    }
    std::uint64_t total = 0;
    for (const auto& m : *snap) total += m.size;
    std::size_t n = snap->size();
    log::info("pop3[", id_, "] login ", account, " (", n, " messages)");
    say(out, ok("Maildrop locked and ready, " + std::to_string(n) + " messages (" + std::to_string(total) +
                " octets)"));
    Transaction t;
    t.deleted.assign(n, false);
    t.messages = std::move(*snap);
    enter(std::move(t), "logged in");
}

Session::PasswordCheck Session::take_password_check() {
    auto* v = std::get_if<Verifying>(&state_);
    if (!v || v->taken) return {};
    v->taken = true;
    PasswordCheck c{v->check.user, std::move(v->check.password)};  // the user stays for login()
    v->check.password.clear();
    return c;
}

void Session::password_checked(bool ok) {
    auto* v = std::get_if<Verifying>(&state_);
    if (!v) return log::warn("pop3[", id_, "] password_checked() while not verifying");
    auto mech = std::move(v->mech);
    std::string user = std::move(v->check.user);
    if (mech) {
        auto step = mech->verified(ok);
        return sasl_step(std::move(step), std::move(mech), deferred_out_);
    }
    if (!ok) return auth_failed(deferred_out_, "USER/PASS rejected");
    login(deferred_out_, user);
}

std::string Session::scram_user() const {
    auto* s = std::get_if<ScramLookup>(&state_);
    return s ? s->user : std::string();
}

void Session::scram_credentials(std::optional<sasl::ScramCredentials> creds) {
    auto* s = std::get_if<ScramLookup>(&state_);
    if (!s) return log::warn("pop3[", id_, "] scram_credentials() while not looking up");
    auto mech = std::move(s->mech);
    auto step = mech->credentials(std::move(creds));
    sasl_step(std::move(step), std::move(mech), deferred_out_);
}

void Session::tls_started() {
    if (!std::holds_alternative<StartingTls>(state_)) return log::warn("pop3[", id_, "] tls_started() unexpected");
    // RFC 2595 §4: the session restarts in AUTHORIZATION with nothing from before the handshake.
    input_.clear();
    input_pos_ = 0;
    skipping_long_line_ = false;
    tls_active_ = true;
    enter(Authorization{}, "tls started");
}

void Session::abort() {
    if (!std::holds_alternative<Closed>(state_)) enter(Closed{}, "connection dropped");
}

std::string Session::timeout_reply() {
    // RFC 1939 §3: an autologout does not enter UPDATE, so nothing is deleted.
    enter(Closed{}, "idle timeout");
    std::string r = err("Disconnected for inactivity");
    trace_out(r);
    return r;
}

std::string Session::shutdown_reply() {
    enter(Closed{}, "server shutdown");
    std::string r = err(code::kSysTemp, "Server shutting down, try again later");
    trace_out(r);
    return r;
}

bool Session::authenticated() const { return std::holds_alternative<Transaction>(state_); }

}  // namespace tern::pop3
