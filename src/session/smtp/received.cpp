// The trace header every accepting SMTP server adds (RFC 5321 §4.4, RFC 5322 §3.6.7), and the
// hand-over of a finished message to the commit step. Must never copy client-supplied text into
// the header unsanitised (a HELO name with CR/LF or parentheses could forge header structure).
#include "proto/message/date.hpp"
#include "session/smtp/session.hpp"

#include <cerrno>

#include "base/log.hpp"
#include "proto/smtp/reply.hpp"

namespace tern::smtp {
namespace {

// Keeps printable ASCII other than comment delimiters; HELO is client-controlled.
std::string sanitize(std::string_view s) {
    std::string r;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '\\' && c != '[' && c != ']') r += c;
        else if (u >= 0x80) r += c;  // UTF-8 (RFC 6531 §3.7.3 allows it in trace fields)
    }
    return r.substr(0, 255);
}

}  // namespace

std::string Session::received_header(const queue::Envelope& env) const {
    // RFC 3848 protocol types (ESMTP, ESMTPS with TLS, ESMTPA authenticated, ESMTPSA both);
    // RFC 6531 §3.7.3 and its registry: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA.
    std::string with = env.smtputf8 ? "UTF8SMTP" : esmtp_ ? "ESMTP" : "SMTP";
    if (esmtp_ || env.smtputf8) {
        if (config_.tls_active) with += "S";
        if (!auth_user_.empty()) with += "A";
    }
    std::string h = "Received: from " + sanitize(helo_) + " ([" + peer_ip_ + "])\r\n\tby " + config_.hostname +
                    " (Tern) with " + with + " id " + id_ + "." + std::to_string(transactions_);
    // Name the recipient only when there is exactly one, so Bcc recipients stay private.
    if (env.recipients.size() == 1) h += "\r\n\tfor <" + env.recipients.front().address + ">";
    h += "; " + message::rfc5322_date(env.received_at) + "\r\n";
    return h;
}

std::shared_ptr<Session::Assembly> Session::start_assembly(const queue::Envelope& env) {
    ++transactions_;
    auto a = std::make_shared<Assembly>(Assembly{
        config_.spill_dir.empty() ? queue::IncomingBody::in_memory({})
                                  : queue::IncomingBody(config_.spill_dir, config_.body_memory),
        {}, false, {}, false, {}});
    a->head_done = config_.kind == ListenerKind::Smtp;  // only submission holds its header back
    // RFC 5321 §4.4: the trace header goes first; everything it says is known at DATA / BDAT.
    if (auto r = a->body.append(received_header(env)); !r) fail_assembly(*a, r.error());
    return a;
}

void Session::fail_assembly(Assembly& a, const Error& e) {
    log::error("smtp[", id_, "] cannot keep the message: ", e.message);
    a.dropped = true;
    a.head.clear();
    a.body = queue::IncomingBody::in_memory({});  // gives back its memory and spill file
    a.refusal = e.code == ENOSPC  // RFC 5321 §4.2.2 452; RFC 3463 §3.4 X.3.1 mail system full
                    ? reply(452, "4.3.1", "Insufficient system storage, try again later")
                    : reply(451, "4.3.0", "Error: queue file write error, try again later");
}

bool Session::check_held_header(Assembly& a) {
    std::string out;
    if (!check_submission(a.head, out)) {  // RFC 6409 §8.1: refused, answered at the end of the data
        a.refusal = std::move(out);
        a.dropped = true;
        a.head.clear();
        a.body = queue::IncomingBody::in_memory({});
        return false;
    }
    a.head_done = true;
    std::string head = std::move(a.head);
    a.head = std::string();
    if (auto r = a.body.append(head); !r) {
        fail_assembly(a, r.error());
        return false;
    }
    return true;
}

void Session::feed_assembly(Assembly& a, std::string_view piece) {
    if (!a.hops.header_done()) a.hops.feed(piece);  // also after a refusal: a loop is reported as one
    if (a.dropped || piece.empty()) return;
    if (!a.head_done) {
        std::size_t from = a.head.size() >= 3 ? a.head.size() - 3 : 0;
        a.head.append(piece);
        // The header section ends at the first empty line (RFC 5322 §2.1), or at once when the
        // message starts with one.
        bool complete = a.head.starts_with("\r\n") || a.head.find("\r\n\r\n", from) != std::string::npos;
        if (complete || a.head.size() > kMaxHeldHeader) check_held_header(a);
        return;
    }
    if (auto r = a.body.append(piece); !r) fail_assembly(a, r.error());
}

bool Session::finish_assembly(Assembly& a, std::string& out) {
    // RFC 5321 §6.3: a message that has passed too many relays is in a loop; refuse it (never
    // queue it, so no bounce circles either). Our own Received: makes one more.
    if (std::size_t n = a.hops.count(); n + 1 > config_.limits.max_hops) {
        log::info("smtp[", id_, "] mail loop: ", n, " Received: header fields");
        a.dropped = true;
        a.head.clear();
        a.body = queue::IncomingBody::in_memory({});
        a.refusal = reply(554, "5.4.6", "too many hops (" + std::to_string(n) + " Received: header fields): mail loop?");
    }
    if (!a.dropped && !a.head_done) check_held_header(a);  // the message ended inside its header
    if (!a.dropped)
        if (auto r = a.body.finish(); !r) fail_assembly(a, r.error());
    if (a.dropped) {
        say(out, a.refusal);
        return false;
    }
    return true;
}

PendingCommit Session::make_commit(queue::Envelope env, Assembly& a) {
    PendingCommit c;
    c.envelope = std::move(env);
    c.message = std::move(a.body);
    return c;
}

}  // namespace tern::smtp
