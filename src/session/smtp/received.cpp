// The trace header every accepting SMTP server adds (RFC 5321 §4.4, RFC 5322 §3.6.7), and the
// hand-over of a finished message to the commit step. Must never copy client-supplied text into
// the header unsanitised (a HELO name with CR/LF or parentheses could forge header structure).
#include "proto/message/date.hpp"
#include "session/smtp/session.hpp"

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
    // RFC 3848 protocol types; RFC 6531 §3.7.3 UTF8 variants.
    std::string with = esmtp_ ? "ESMTP" : "SMTP";
    if (!auth_user_.empty()) with += "A";
    if (env.smtputf8) with = "UTF8" + with;
    std::string h = "Received: from " + sanitize(helo_) + " ([" + peer_ip_ + "])\r\n\tby " + config_.hostname +
                    " (Tern) with " + with + " id " + id_ + "." + std::to_string(transactions_);
    // Name the recipient only when there is exactly one, so Bcc recipients stay private.
    if (env.recipients.size() == 1) h += "\r\n\tfor <" + env.recipients.front().address + ">";
    h += "; " + message::rfc5322_date(env.received_at) + "\r\n";
    return h;
}

PendingCommit Session::make_commit(queue::Envelope env, std::string body) {
    ++transactions_;
    PendingCommit c;
    std::string header = received_header(env);
    c.message.reserve(header.size() + body.size());
    c.message = std::move(header);
    c.message += body;
    c.envelope = std::move(env);
    return c;
}

}  // namespace tern::smtp
