// SMTP command handlers: one function per command, each checking its preconditions (state,
// parameters, limits) before acting (OpenSMTPD's check/proceed split). Must never accept a
// recipient the host refused, nor start a transaction the listener's rules forbid.
#include <algorithm>

#include "base/log.hpp"
#include "proto/smtp/reply.hpp"
#include "session/smtp/session.hpp"

namespace tern::smtp {
namespace {

bool has_non_ascii(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool any_mail_param(const MailParams& p) {
    return p.size || p.body != BodyType::Unspecified || p.smtputf8 || p.ret != DsnRet::Unspecified ||
           !p.envid.empty() || !p.auth.empty();
}

}  // namespace

void Session::on_command(const Command& c, std::string& out) {
    switch (c.verb) {
        case Verb::Helo: return cmd_helo(c, out, false);
        case Verb::Ehlo: return cmd_helo(c, out, true);
        case Verb::Mail: return cmd_mail(c, out);
        case Verb::Rcpt: return cmd_rcpt(c, out);
        case Verb::Data: return cmd_data(out);
        case Verb::Bdat: return cmd_bdat(c, out);
        case Verb::Rset: return cmd_rset(out);
        case Verb::Noop: return say(out, reply(250, "2.0.0", "Ok"));
        case Verb::Quit:
            say(out, reply(221, "2.0.0", config_.hostname + " closing connection"));
            return enter(Closed{}, "quit");
        case Verb::Help:
            // RFC 5321 §4.1.1.8
            return say(out, reply(214, "2.0.0",
                                  "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY\n"
                                  "See RFC 5321"));
        case Verb::Vrfy:
            // RFC 5321 §3.5.3: 252 when we will not verify but will accept delivery attempts.
            return say(out, reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"));
        case Verb::Expn:
            // RFC 5321 §3.5.2: EXPN may be disabled; list membership is not disclosed.
            return say(out, reply(502, "5.5.1", "EXPN not available"));
        case Verb::StartTls: return cmd_starttls(c, out);
        case Verb::Auth: return cmd_auth(c, out);
    }
}

void Session::cmd_helo(const Command& c, std::string& out, bool extended) {
    // RFC 5321 §4.1.4: EHLO/HELO in a transaction resets it, like RSET.
    if (c.helo_lenient)  // accepted, not refused over its name (RFC 5321 §4.1.4); noted for the operator
        log::info("smtp[", id_, "] unusual ", extended ? "EHLO" : "HELO", " name from ", peer_ip_, ": ", c.arg);
    helo_ = c.arg;
    esmtp_ = extended;
    enter(Ready{}, extended ? "ehlo" : "helo");
    std::string first = config_.hostname + " Hello " + c.arg + " [" + peer_ip_ + "]";
    if (!extended) return say(out, reply(250, "", first));
    // RFC 5321 §4.1.1.1 / §2.2.2: the extensions we support and honour.
    std::vector<std::string> lines = {
        first,
        "PIPELINING",                                          // RFC 2920
        "SIZE " + std::to_string(config_.limits.message_size), // RFC 1870
        "8BITMIME",                                            // RFC 6152
        "ENHANCEDSTATUSCODES",                                 // RFC 2034
        "SMTPUTF8",                                            // RFC 6531
        "CHUNKING",                                            // RFC 3030
        "DSN",                                                 // RFC 3461
    };
    // RFC 3207 §4: STARTTLS only before TLS; RFC 4954 §4 + RFC 8314: AUTH only once passwords
    // cannot travel in clear (unless configured otherwise).
    if (config_.tls_available && !config_.tls_active) lines.push_back("STARTTLS");
    if (auth_allowed()) {
        std::string mechs = "AUTH";
        for (auto& m : sasl::mechanism_names()) mechs += " " + m;
        lines.push_back(mechs);
    }
    lines.push_back("HELP");
    say(out, reply_lines(250, lines));
}

void Session::cmd_mail(const Command& c, std::string& out) {
    if (std::holds_alternative<Connected>(state_))
        return bad_command(out, 503, "5.5.1", "Error: send HELO/EHLO first");
    if (std::holds_alternative<Transaction>(state_))
        return bad_command(out, 503, "5.5.1", "Error: nested MAIL command");
    if (!esmtp_ && any_mail_param(c.mail))
        return bad_command(out, 555, "5.5.4", "MAIL parameters need EHLO");
    if (config_.kind != ListenerKind::Smtp && auth_user_.empty()) {
        // RFC 6409 §4.3, RFC 4954 §6: submission requires authentication (and, on 587, TLS first).
        if (!config_.tls_active && !config_.allow_plaintext_auth)
            return say(out, reply(530, "5.7.0", "Must issue a STARTTLS command first"));
        return say(out, reply(530, "5.7.0", "Authentication required"));
    }
    if (c.mail.body == BodyType::BinaryMime)
        return bad_command(out, 555, "5.5.4", "BODY=BINARYMIME not supported");
    if (c.mail.size && *c.mail.size > config_.limits.message_size)
        // RFC 1870 §6.2
        return say(out, reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
    std::string from = c.path.mailbox ? c.path.mailbox->str() : "";
    if (!auth_user_.empty() && !from.empty() && !host_.sender_allowed(auth_user_, from))
        // RFC 6409 §6.1: the submitter may only use its own addresses.
        return say(out, reply(553, "5.7.1", "<" + from + ">: Sender address rejected: not owned by user " + auth_user_));
    if (has_non_ascii(from) && !c.mail.smtputf8)
        // RFC 6531 §3.5
        return say(out, reply(553, "5.6.7", "UTF-8 address requires the SMTPUTF8 parameter"));
    if (!host_.queue_has_room(c.mail.size.value_or(0)))
        // RFC 1870 §6.1, RFC 5321 §4.2.2 452; RFC 3463 §3.4 X.3.1 mail system full
        return say(out, reply(452, "4.3.1", "Insufficient system storage, try again later"));

    Transaction t;
    auto& e = t.envelope;
    e.mail_from = std::move(from);
    e.ret = c.mail.ret;
    e.envid = c.mail.envid;
    e.body = c.mail.body;
    e.smtputf8 = c.mail.smtputf8;
    e.auth_user = auth_user_;
    e.client_ip = peer_ip_;
    e.helo = helo_;
    e.received_at = host_.now();
    enter(std::move(t), "mail");
    say(out, reply(250, "2.1.0", "Ok"));
}

void Session::cmd_rcpt(const Command& c, std::string& out) {
    auto* t = std::get_if<Transaction>(&state_);
    if (!t) return bad_command(out, 503, "5.5.1", "Error: need MAIL command");
    if (!esmtp_ && (c.rcpt.notify.specified || !c.rcpt.orcpt.empty()))
        return bad_command(out, 555, "5.5.4", "RCPT parameters need EHLO");
    if (t->accepted_rcpts >= config_.limits.recipients) {
        // RFC 5321 §4.5.3.1.8 / §4.5.3.1.10: the client sends the rest in another transaction.
        // Counted per accepted RCPT command, duplicates included (as Postfix does), so a client
        // cannot make us answer an unbounded number of RCPTs by repeating one address.
        ++t->rejected_rcpts;
        return say(out, reply(452, "4.5.3", "Error: too many recipients"));
    }
    Mailbox rcpt = *c.path.mailbox;
    if (rcpt.domain.empty()) {
        // RFC 5321 §4.5.1: "postmaster" without a domain must be accepted.
        rcpt.domain = host_.postmaster_domain();
        if (rcpt.domain.empty()) {
            ++t->rejected_rcpts;
            return say(out, reply(550, "5.1.1", "Error: no postmaster here"));
        }
    }
    std::string address = rcpt.str();
    if (has_non_ascii(address) && !t->envelope.smtputf8) {
        ++t->rejected_rcpts;
        return say(out, reply(553, "5.6.7", "UTF-8 address requires SMTPUTF8 at MAIL"));
    }
    switch (host_.check_recipient(rcpt, auth_user_)) {
        case RcptVerdict::Accept:
            break;
        case RcptVerdict::RelayDenied:
            // No open relay: RFC 5321 §3.6.2 / §7.1. Refused recipients count as errors, so a
            // client harvesting addresses is cut off after limits.bad_commands of them.
            ++t->rejected_rcpts;
            return bad_command(out, 554, "5.7.1", "<" + address + ">: Relay access denied");
        case RcptVerdict::UnknownUser:
            ++t->rejected_rcpts;
            return bad_command(out, 550, "5.1.1", "<" + address + ">: Recipient address rejected: User unknown");
        case RcptVerdict::TemporaryFailure:
            ++t->rejected_rcpts;
            return say(out, reply(451, "4.3.0", "<" + address + ">: Temporary lookup failure"));
    }
    ++t->accepted_rcpts;
    for (const auto& existing : t->envelope.recipients)
        if (existing.address == address)  // the same recipient twice: one delivery (RFC 5321 §3.3)
            return say(out, reply(250, "2.1.5", "Ok (duplicate recipient)"));
    queue::Recipient r;
    r.address = std::move(address);
    r.notify = c.rcpt.notify;
    r.orcpt = c.rcpt.orcpt;
    t->envelope.recipients.push_back(std::move(r));
    say(out, reply(250, "2.1.5", "Ok"));
}

void Session::cmd_data(std::string& out) {
    auto* t = std::get_if<Transaction>(&state_);
    if (!t) return bad_command(out, 503, "5.5.1", "Error: need MAIL command");
    if (t->used_bdat) return bad_command(out, 503, "5.5.1", "Error: DATA after BDAT");  // RFC 3030 §3
    if (t->envelope.recipients.empty()) {
        // RFC 2920 §3.1: after pipelined RCPTs all failed, 554 rather than 503.
        if (t->rejected_rcpts > 0) return say(out, reply(554, "5.5.1", "Error: no valid recipients"));
        return bad_command(out, 503, "5.5.1", "Error: need RCPT command");
    }
    say(out, reply(354, "", "End data with <CR><LF>.<CR><LF>"));
    auto assembly = start_assembly(t->envelope);
    enter(ReceivingData{std::move(t->envelope), DataReader(config_.limits.message_size), std::move(assembly)}, "data");
}

void Session::cmd_bdat(const Command& c, std::string& out) {
    (void)out;
    ReceivingChunk chunk;
    chunk.remaining = c.chunk_size;
    chunk.last = c.last_chunk;
    auto* t = std::get_if<Transaction>(&state_);
    if (!t) {
        chunk.error = reply(503, "5.5.1", "Error: need MAIL command");
    } else if (t->envelope.recipients.empty()) {
        chunk.error = reply(503, "5.5.1", "Error: need RCPT command");
    } else if (c.chunk_size > config_.limits.message_size ||
               t->bdat_size + c.chunk_size > config_.limits.message_size) {
        chunk.error = reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    } else {
        t->used_bdat = true;
        if (!t->bdat) t->bdat = start_assembly(t->envelope);
        chunk.txn = std::move(*t);
    }
    enter(std::move(chunk), "bdat");
}

void Session::cmd_starttls(const Command& c, std::string& out) {
    (void)c;
    if (!config_.tls_available || config_.tls_active)
        return bad_command(out, 502, "5.5.1", config_.tls_active ? "TLS already active" : "STARTTLS not available");
    if (in_transaction()) return bad_command(out, 503, "5.5.1", "Error: STARTTLS inside a transaction");
    say(out, reply(220, "2.0.0", "Ready to start TLS"));
    // RFC 3207 §4.2, CVE-2011-0411: whatever the client pipelined after STARTTLS was sent in
    // clear and must never be answered inside TLS.
    input_pos_ = input_.size();
    starttls_pending_ = true;
}

void Session::cmd_rset(std::string& out) {
    // RFC 5321 §4.1.1.5: abort the transaction, keep the HELO/EHLO state.
    if (!std::holds_alternative<Connected>(state_)) enter(Ready{}, "rset");
    say(out, reply(250, "2.0.0", "Ok"));
}

}  // namespace tern::smtp
