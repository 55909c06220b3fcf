// SMTP session core: input framing, the state loop, and the one function that changes state.
// Command handlers live in commands.cpp, the Received: header in received.cpp. Must never
// process a command while a commit is pending (the 250 waits for the spool), and never frame a
// line on anything but CRLF (RFC 5321 §2.3.8).
#include "base/ascii.hpp"
#include "session/smtp/session.hpp"

#include <cerrno>

#include "base/log.hpp"
#include "proto/smtp/line_reader.hpp"
#include "proto/smtp/reply.hpp"

namespace tern::smtp {

Session::Session(SessionConfig config, SessionHost& host, std::string peer_ip, std::string id)
    : config_(std::move(config)), host_(host), peer_ip_(std::move(peer_ip)), id_(std::move(id)) {}

const char* Session::state_name(const State& s) {
    static constexpr const char* names[] = {"connected", "ready",     "transaction", "data",
                                            "bdat",      "committing", "closed", "auth"};
    return names[s.index()];
}

void Session::enter(State next, const char* why) {
    if (log::level() <= log::Level::Debug)
        log::debug("smtp[", id_, "] ", state_name(state_), " -> ", state_name(next), " (", why, ")");
    state_ = std::move(next);
}

void Session::trace_in(std::string_view line) const {
    if (!log::trace_enabled()) return;
    // Never log credentials: AUTH payloads are masked (the mechanism name stays).
    if (ascii::istarts_with(line, "AUTH ")) {
        auto sp = line.find(' ', 5);
        log::info("smtp[", id_, "] C: ", line.substr(0, sp), sp == std::string_view::npos ? "" : " ****");
        return;
    }
    log::info("smtp[", id_, "] C: ", line);
}

void Session::trace_out(std::string_view reply) const {
    if (!log::trace_enabled()) return;
    while (!reply.empty()) {
        auto eol = reply.find("\r\n");
        log::info("smtp[", id_, "] S: ", reply.substr(0, eol));
        if (eol == std::string_view::npos) break;
        reply.remove_prefix(eol + 2);
    }
}

void Session::say(std::string& out, std::string text) const {
    trace_out(text);
    out += text;
}

std::string Session::greeting() {
    // RFC 5321 §4.2: the greeting names the server; ESMTP signals extension support.
    std::string g = reply(220, "", config_.hostname + " ESMTP Tern");
    trace_out(g);
    return g;
}

void Session::receive(std::string_view bytes) { input_.append(bytes); }

Session::Action Session::advance() {
    Action a;
    a.output = std::move(deferred_out_);
    deferred_out_.clear();
    while (step(a.output)) {
    }
    if (input_pos_ > 0) {
        input_.erase(0, input_pos_);
        input_pos_ = 0;
    }
    if (std::holds_alternative<Closed>(state_)) a.next = Next::Close;
    else if (std::holds_alternative<Committing>(state_)) a.next = Next::Commit;
    else if (starttls_pending_) a.next = Next::StartTls;
    else if (auto* au = std::get_if<Authenticating>(&state_)) {
        if (au->waiting == Authenticating::Waiting::Password) a.next = Next::VerifyPassword;
        else if (au->waiting == Authenticating::Waiting::Scram) a.next = Next::LookupScram;
    }
    return a;
}

bool Session::step(std::string& out) {
    std::string_view in(input_.data() + input_pos_, input_.size() - input_pos_);
    if (std::holds_alternative<Closed>(state_) || std::holds_alternative<Committing>(state_) || starttls_pending_)
        return false;
    if (auto* au = std::get_if<Authenticating>(&state_);
        au && (au->waiting == Authenticating::Waiting::Password || au->waiting == Authenticating::Waiting::Scram))
        return false;

    if (auto* d = std::get_if<ReceivingData>(&state_)) {
        auto st = d->reader.feed(in);
        input_pos_ += st.consumed;
        feed_assembly(*d->assembly, d->reader.pending());  // on to the spool's body: not kept here
        d->reader.clear_pending();
        if (!st.done) return false;
        return finish_data(out);
    }
    if (auto* c = std::get_if<ReceivingChunk>(&state_)) {
        // RFC 3030 §2: exactly `size` octets follow BDAT, whatever the reply will be.
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(c->remaining, in.size()));
        if (c->txn && c->error.empty()) {
            if (c->txn->bdat_size + n > config_.limits.message_size) {
                c->error = reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
                c->txn->bdat.reset();  // nothing of it is kept
            } else {
                auto piece = in.substr(0, n);
                c->txn->bdat_newlines.feed(piece);
                feed_assembly(*c->txn->bdat, piece);
                c->txn->bdat_size += n;
            }
        }
        c->remaining -= n;
        input_pos_ += n;
        if (c->remaining > 0) return false;
        return finish_chunk(out);
    }
    if (in.empty()) return false;

    // RFC 4954 §4: a SASL response line may be up to 12288 octets.
    bool sasl = std::holds_alternative<Authenticating>(state_);
    auto r = next_line(in, sasl ? 12288 + 2 : config_.limits.command_line, skipping_long_line_);
    switch (r.kind) {
        case LineResult::Kind::NeedMore:
            return false;
        case LineResult::Kind::TooLong: {
            bool was_skipping = skipping_long_line_;
            input_pos_ += r.consumed;
            std::string_view used = in.substr(0, r.consumed);
            skipping_long_line_ = !(used.size() >= 2 && used.substr(used.size() - 2) == "\r\n");
            // RFC 5321 §4.5.3.1.4: "500 Line too long", said once per overlong line; RFC 4954 §4
            // 500 5.5.6 for a SASL response, which also ends the exchange.
            if (!was_skipping) {
                if (sasl) {
                    enter(Ready{}, "auth line too long");
                    bad_command(out, 500, "5.5.6", "Authentication exchange line is too long");
                } else {
                    bad_command(out, 500, "5.5.2", "Line too long");
                }
            }
            return r.consumed > 0 && !std::holds_alternative<Closed>(state_);
        }
        case LineResult::Kind::BareNewline:
            input_pos_ += r.consumed;
            if (sasl) enter(Ready{}, "bare newline in auth");
            trace_in("<line with bare CR or LF>");
            bad_command(out, 500, "5.5.2", "Bare CR or LF in command line (RFC 5321 section 2.3.8)");
            return r.consumed > 0 && !std::holds_alternative<Closed>(state_);
        case LineResult::Kind::Line:
            input_pos_ += r.consumed;
            if (sasl) return on_auth_line(r.line, out);
            return on_line(r.line, out);
    }
    return false;
}

bool Session::on_line(std::string_view line, std::string& out) {
    trace_in(line);
    auto cmd = parse_command(line);
    if (!cmd) {
        bad_command(out, cmd.error().code, cmd.error().enhanced, cmd.error().text);
    } else {
        on_command(*cmd, out);
    }
    return !std::holds_alternative<Closed>(state_);
}

void Session::bad_command(std::string& out, int code, std::string_view enhanced, std::string_view text) {
    say(out, reply(code, enhanced, text));
    if (++bad_commands_ >= config_.limits.bad_commands) {
        say(out, reply(421, "4.7.0", config_.hostname + " Too many errors, closing connection"));
        enter(Closed{}, "too many bad commands");
    }
}

bool Session::finish_data(std::string& out) {
    auto& d = std::get<ReceivingData>(state_);
    if (d.reader.too_big()) {
        // RFC 1870 §6.3 / RFC 5321 §4.5.3.1.10: nothing of the message is kept.
        say(out, reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
        enter(Ready{}, "message too big");
        return true;
    }
    if (d.reader.bare_newline()) {
        // RFC 5321 §2.3.8: CR and LF only as CRLF. Refusing such mail closes the smuggling
        // class for every server we relay to (CVE-2023-51764).
        say(out, reply(550, "5.6.0", "Message contains bare CR or LF characters (RFC 5321 section 2.3.8)"));
        enter(Ready{}, "bare newline in data");
        return true;
    }
    if (!finish_assembly(*d.assembly, out)) {
        enter(Ready{}, "message refused");
        return true;
    }
    auto commit = make_commit(std::move(d.envelope), *d.assembly);
    enter(Committing{std::move(commit)}, "end of data");
    return false;
}

bool Session::finish_chunk(std::string& out) {
    auto c = std::move(std::get<ReceivingChunk>(state_));
    if (!c.error.empty()) {
        say(out, c.error);
        enter(helo_.empty() && !esmtp_ ? State{Connected{}} : State{Ready{}}, "bdat refused");
        return true;
    }
    if (!c.txn) {  // cannot happen: a chunk without a transaction always carries an error
        enter(Ready{}, "bdat without transaction");
        return true;
    }
    if (!c.last) {
        std::string text = std::to_string(c.txn->bdat_size) + " octets received";
        say(out, reply(250, "2.0.0", text));
        enter(std::move(*c.txn), "bdat chunk");
        return true;
    }
    if (c.txn->bdat_newlines.found()) {
        say(out, reply(550, "5.6.0", "Message contains bare CR or LF characters (RFC 5321 section 2.3.8)"));
        enter(Ready{}, "bare newline in bdat");
        return true;
    }
    if (!finish_assembly(*c.txn->bdat, out)) {
        enter(Ready{}, "message refused");
        return true;
    }
    auto commit = make_commit(std::move(c.txn->envelope), *c.txn->bdat);
    enter(Committing{std::move(commit)}, "bdat last");
    return false;
}

PendingCommit Session::take_commit() {
    auto& c = std::get<Committing>(state_);
    return std::move(c.commit);
}

void Session::committed(const Result<std::uint64_t>& queue_id) {
    if (queue_id) {
        // RFC 5321 §6.1: this 250 is our promise; the spool has fsynced the message.
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llX", static_cast<unsigned long long>(*queue_id));
        say(deferred_out_, reply(250, "2.0.0", std::string("Ok: queued as ") + hex));
        log::info("smtp[", id_, "] queued ", hex);
    } else {
        log::error("smtp[", id_, "] queue write failed: ", queue_id.error().message);
        if (queue_id.error().code == ENOSPC)  // RFC 5321 §4.2.2 452; RFC 3463 §3.4 X.3.1 mail system full
            say(deferred_out_, reply(452, "4.3.1", "Insufficient system storage, try again later"));
        else
            say(deferred_out_, reply(451, "4.3.0", "Error: queue file write error, try again later"));
    }
    enter(Ready{}, "committed");
}

void Session::tls_started() {
    // RFC 3207 §4.2: forget everything learnt before TLS; the client must EHLO again. Nothing it
    // sent before the handshake is kept (it was discarded at STARTTLS).
    starttls_pending_ = false;
    config_.tls_active = true;
    input_.clear();
    input_pos_ = 0;
    helo_.clear();
    esmtp_ = false;
    auth_user_.clear();  // a login made in clear does not carry over into TLS
    enter(Connected{}, "tls started");
}

std::string Session::timeout_reply() {
    enter(Closed{}, "idle timeout");
    std::string r = reply(421, "4.4.2", config_.hostname + " Error: timeout exceeded");
    trace_out(r);
    return r;
}

std::string Session::shutdown_reply() {
    enter(Closed{}, "server shutdown");
    std::string r = reply(421, "4.3.2", config_.hostname + " Service shutting down, try again later");
    trace_out(r);
    return r;
}

bool Session::in_transaction() const {
    return std::holds_alternative<Transaction>(state_) || std::holds_alternative<ReceivingData>(state_) ||
           std::holds_alternative<ReceivingChunk>(state_) || std::holds_alternative<Committing>(state_);
}

bool Session::committing() const { return std::holds_alternative<Committing>(state_); }

}  // namespace tern::smtp
