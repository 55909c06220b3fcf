// The SMTP client state machine for one connection (see session.hpp). RFC sections beside the
// code that decides. Pure: bytes in, bytes out; the body is read through base::ByteSource.
#include "client/smtp/session.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "proto/sasl/sasl.hpp"

namespace tern::client::smtp {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

Status from_reply(const Reply& r) { return Status{r.code, r.enhanced, r.text(), true}; }

Status made(int code, std::string enhanced, std::string text) {
    return Status{code, std::move(enhanced), std::move(text), false};
}

// RFC 3461 §4: xtext = *( xchar / hexchar ), xchar is '!'..'~' except '+' and '='.
std::string xtext(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= '!' && c <= '~' && c != '+' && c != '=') out += ch;
        else {
            out += '+';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// A mailbox we are about to put between angle brackets: no octet that could end the path or the
// command line early (command injection), and whether it needs SMTPUTF8 (RFC 6531 §3.3).
bool safe_address(std::string_view a, bool& utf8) {
    for (const char ch : a) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>') return false;
        if (c >= 0x80) utf8 = true;
    }
    return true;
}

bool notify_ok(std::string_view n) {
    if (n.empty()) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ','; });
}

bool ret_ok(std::string_view r) { return upper(r) == "FULL" || upper(r) == "HDRS"; }

}  // namespace

Capabilities parse_ehlo(const Reply& reply) {
    Capabilities caps;
    caps.esmtp = true;
    // RFC 5321 §4.1.1.1: the first line is the server's name; each further line is
    // ehlo-keyword *( SP ehlo-param ).
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::string_view line = reply.lines[i];
        const std::size_t sp = line.find_first_of(" =");
        const std::string key = upper(line.substr(0, sp));
        std::string_view params = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        if (key == "PIPELINING") caps.pipelining = true;
        else if (key == "8BITMIME") caps.eight_bit_mime = true;
        else if (key == "SMTPUTF8") caps.smtputf8 = true;
        else if (key == "CHUNKING") caps.chunking = true;
        else if (key == "DSN") caps.dsn = true;
        else if (key == "STARTTLS") caps.starttls = true;
        else if (key == "ENHANCEDSTATUSCODES") caps.enhanced_status = true;
        else if (key == "SIZE") {
            // RFC 1870 §4: "SIZE" [SP number]; 0 or no number: no fixed maximum.
            std::uint64_t n = 0;
            auto [p, ec] = std::from_chars(params.data(), params.data() + params.size(), n);
            caps.size = (ec == std::errc{} && p == params.data() + params.size()) ? n : 0;
        } else if (key == "AUTH") {
            while (!params.empty()) {
                const std::size_t e = params.find(' ');
                std::string m = upper(params.substr(0, e));
                if (!m.empty() && std::find(caps.auth.begin(), caps.auth.end(), m) == caps.auth.end())
                    caps.auth.push_back(std::move(m));
                params = e == std::string_view::npos ? std::string_view{} : params.substr(e + 1);
            }
        }
    }
    return caps;
}

Session::Session(Options options) : options_(std::move(options)) {
    if (options_.chunk_size == 0) options_.chunk_size = 64 * 1024;
    tls_active_ = options_.implicit_tls;
    pending_.push_back({Expect::Greeting});
}

void Session::add(Message message) { queued_.push_back(std::move(message)); }
void Session::finish() { finishing_ = true; }

void Session::receive(std::string_view bytes) {
    // Nothing received while a TLS handshake is due belongs to the TLS session (RFC 3207 §4.2;
    // CVE-2021-38371): it is dropped, not buffered.
    if (end_ != ConnectionEnd::Open || waiting_tls_) return;
    input_.append(bytes);
}

void Session::send(std::string& out, std::string line, Expect e, std::size_t index) {
    out += line;
    out += "\r\n";
    pending_.push_back({e, index});
}

std::vector<MessageOutcome> Session::take_outcomes() { return std::exchange(outcomes_, {}); }

void Session::fail_all(ConnectionEnd end, Status status) {
    // Every recipient without a final answer gets a temporary one: the message can be tried again
    // elsewhere or later. A permanent server reply that ends the connection (a 554 greeting) is
    // kept in end_status() and quoted in the text, but does not fail recipients that were never
    // offered.
    Status temp = status;
    if (!temp.temporary()) {
        temp = made(451, "4.4.0", "connection ended: " + (status.code ? std::to_string(status.code) + " " : std::string()) + status.text);
    }
    if (txn_) {
        MessageOutcome o{txn_->message.tag, {}};
        for (std::size_t i = 0; i < txn_->message.recipients.size(); ++i) {
            const auto& r = txn_->rcpt[i];
            Status s = temp;
            if (txn_->mail_answered && !txn_->mail_ok) s = txn_->mail;
            else if (r && !r->accepted()) s = *r;
            o.recipients.push_back({txn_->message.recipients[i].address, std::move(s)});
        }
        outcomes_.push_back(std::move(o));
        txn_.reset();
    }
    for (auto& m : queued_) {
        MessageOutcome o{m.tag, {}};
        for (auto& r : m.recipients) o.recipients.push_back({r.address, temp});
        outcomes_.push_back(std::move(o));
    }
    queued_.clear();
    pending_.clear();
    input_.clear();
    sending_body_ = false;
    waiting_tls_ = false;
    end_ = end;
    end_status_ = std::move(status);
}

void Session::finish_transaction(const Status* data_reply) {
    MessageOutcome o{txn_->message.tag, {}};
    for (std::size_t i = 0; i < txn_->message.recipients.size(); ++i) {
        Status s;
        const auto& r = txn_->rcpt[i];
        if (!txn_->mail_ok) s = txn_->mail;                       // MAIL refused: its reply for all
        else if (!r) s = made(451, "4.4.0", "no reply to RCPT");  // cannot happen with a sane server
        else if (!r->accepted() || !data_reply) s = *r;
        else s = *data_reply;  // RFC 5321 §4.1.1.4: one reply to the data for every accepted RCPT
        o.recipients.push_back({txn_->message.recipients[i].address, std::move(s)});
    }
    outcomes_.push_back(std::move(o));
    // RFC 5321 §4.1.1.4: a completed DATA resets the transaction; anything else leaves it open
    // (or in doubt), so the next one starts with RSET (§4.1.1.5).
    need_rset_ = !(data_reply && data_reply->accepted());
    txn_.reset();
}

std::optional<Status> Session::preflight(const Message& m, bool& eight_bit) {
    bool utf8 = m.smtputf8;
    if (m.recipients.empty()) return made(554, "5.5.1", "no recipients");
    if (!safe_address(m.sender, utf8)) return made(550, "5.1.7", "sender address cannot be sent safely");
    for (const auto& r : m.recipients)
        if (r.address.empty() || !safe_address(r.address, utf8))
            return made(550, "5.1.3", "recipient address cannot be sent safely: " + r.address);
    if (!m.body) return made(451, "4.3.0", "no message body");
    // RFC 1870 §6: never send a message larger than the peer's fixed maximum.
    if (caps_.size && *caps_.size > 0 && m.body->size() > *caps_.size)
        return made(552, "5.3.4", "message size " + std::to_string(m.body->size()) + " exceeds the peer's limit of " +
                                      std::to_string(*caps_.size));
    // RFC 6531 §3.4: a message that needs SMTPUTF8 is not sent to a peer without it.
    if (utf8 && !caps_.smtputf8) return made(553, "5.6.7", "the peer does not support SMTPUTF8, which this message needs");
    // Scan the body as it will be sent (a second pass over the source, in bounded chunks).
    BodyScan scan;
    std::string buf(options_.chunk_size, '\0');
    for (std::uint64_t off = 0;;) {
        auto n = m.body->read(off, std::span<char>(buf.data(), buf.size()));
        if (!n) return made(451, "4.3.0", "reading the message failed: " + n.error().message);
        if (*n == 0) break;
        scan.feed(std::string_view(buf.data(), *n));
        off += *n;
    }
    scan.finish();
    eight_bit = scan.eight_bit();
    // RFC 6152 §3: 8-bit data only to a peer that offers 8BITMIME. (Downgrading to
    // quoted-printable is not done yet: the message bounces instead.)
    if (eight_bit && !caps_.eight_bit_mime)
        return made(554, "5.6.3", "the message has 8-bit data and the peer does not support 8BITMIME");
    // RFC 5321 §4.5.3.1.6: at most 998 octets per line, CRLF excluded: longer lines are broken
    // as they are sent (BodyEncoder), unless the options say to send them as they are.
    return std::nullopt;
}

void Session::next_transaction(std::string& out) {
    while (!queued_.empty()) {
        if (need_rset_ && !caps_.pipelining) {
            need_rset_ = false;
            send(out, "RSET", Expect::Rset);  // MAIL goes once its reply is in
            return;
        }
        Message m = std::move(queued_.front());
        queued_.pop_front();
        bool eight_bit = false;
        if (auto refused = preflight(m, eight_bit)) {  // nothing sent for it
            MessageOutcome o{m.tag, {}};
            for (auto& r : m.recipients) o.recipients.push_back({r.address, *refused});
            outcomes_.push_back(std::move(o));
            continue;
        }
        if (need_rset_) {  // RFC 2920 §3.1: RSET may start a pipelined group
            need_rset_ = false;
            send(out, "RSET", Expect::Rset);
        }
        txn_.emplace();
        txn_->rcpt.resize(m.recipients.size());
        txn_->eight_bit = eight_bit;
        txn_->pipelined = caps_.pipelining;
        txn_->message = std::move(m);
        send_envelope(out);
        return;
    }
    if (finishing_) send(out, "QUIT", Expect::Quit);
}

void Session::send_envelope(std::string& out) {
    const Message& m = txn_->message;
    std::string mail = "MAIL FROM:<" + m.sender + ">";
    if (caps_.size) mail += " SIZE=" + std::to_string(m.body->size());  // RFC 1870 §3
    if (txn_->eight_bit) mail += " BODY=8BITMIME";                        // RFC 6152 §2
    bool utf8 = m.smtputf8;
    safe_address(m.sender, utf8);
    for (const auto& r : m.recipients) safe_address(r.address, utf8);
    if (utf8) mail += " SMTPUTF8";                                          // RFC 6531 §3.4
    if (caps_.dsn) {                                                        // RFC 3461 §4.3, §4.4
        if (ret_ok(m.ret)) mail += " RET=" + upper(m.ret);
        if (!m.envid.empty()) mail += " ENVID=" + xtext(m.envid);
    }
    send(out, std::move(mail), Expect::Mail);
    ++mails_sent_;
    if (!txn_->pipelined) return;  // RCPT once MAIL is answered
    // RFC 2920 §3.1: MAIL and every RCPT in one group; DATA last. BDAT waits for the RCPT replies.
    for (std::size_t i = 0; i < m.recipients.size(); ++i) send_rcpt(out, i);
    if (!caps_.chunking) send(out, "DATA", Expect::Data);
}

void Session::send_rcpt(std::string& out, std::size_t i) {
    const Recipient& r = txn_->message.recipients[i];
    std::string line = "RCPT TO:<" + r.address + ">";
    if (caps_.dsn) {  // RFC 3461 §4.1, §4.2
        if (notify_ok(r.notify)) line += " NOTIFY=" + upper(r.notify);
        if (const auto semi = r.orcpt.find(';'); semi != std::string::npos && semi > 0) {
            bool ignored = false;
            if (safe_address(r.orcpt.substr(0, semi), ignored))
                line += " ORCPT=" + r.orcpt.substr(0, semi) + ";" + xtext(r.orcpt.substr(semi + 1));
        }
    }
    send(out, std::move(line), Expect::Rcpt, i);
}

void Session::after_rcpts(std::string& out) {
    if (txn_->accepted == 0) {
        finish_transaction(nullptr);
        return;
    }
    if (caps_.chunking) {  // RFC 3030 §2: BDAT, no dot-stuffing
        txn_->encoder.emplace(false, options_.allow_long_lines ? 0 : kMaxLine);
        sending_body_ = true;
    } else {
        send(out, "DATA", Expect::Data);
    }
}

bool Session::send_body_chunk(std::string& out) {
    Transaction& t = *txn_;
    const bool bdat = caps_.chunking;
    std::string data;
    std::string& sink = bdat ? data : out;
    std::string buf(options_.chunk_size, '\0');
    bool last = false;
    do {
        auto n = t.message.body->read(t.offset, std::span<char>(buf.data(), buf.size()));
        if (!n) {
            // Mid-data there is no clean way to abort: the connection is dropped so that the peer
            // never takes a truncated message (RFC 5321 §4.1.1.4 would deliver it on CRLF.CRLF).
            fail_all(ConnectionEnd::Dropped, made(451, "4.3.0", "reading the message failed: " + n.error().message));
            return false;
        }
        t.offset += *n;
        t.encoder->feed(std::string_view(buf.data(), *n), sink);
        last = *n == 0 || t.offset >= t.message.body->size();
    } while (bdat && data.empty() && !last);  // no empty BDAT chunk but the last
    if (last) t.encoder->finish(sink);
    sending_body_ = false;
    if (bdat) {
        // RFC 3030 §2: BDAT <size> [LAST], then exactly that many octets.
        out += "BDAT " + std::to_string(data.size()) + (last ? " LAST" : "") + "\r\n";
        out += data;
        pending_.push_back({Expect::Bdat});
        t.body_done = last;
    } else if (last) {
        pending_.push_back({Expect::DataEnd});
        t.body_done = true;
    } else {
        sending_body_ = true;
    }
    return true;
}

void Session::after_ehlo(std::string& out) {
    // RFC 3207 §4: STARTTLS when offered and possible (opportunistic unless TLS is required).
    if (!tls_active_ && caps_.starttls && options_.tls_possible) {
        send(out, "STARTTLS", Expect::StartTls);
        return;
    }
    if (!tls_active_ && options_.require_tls) {
        out += "QUIT\r\n";
        fail_all(ConnectionEnd::TlsUnavailable, made(451, "4.7.0", "TLS is required and the peer does not offer STARTTLS"));
        return;
    }
    if (!options_.auth_user.empty() && !authenticated_) start_auth(out);
}

void Session::start_auth(std::string& out) {
    // RFC 4954 §4 and RFC 8314: a password goes only over TLS (unless the operator said otherwise).
    if (!tls_active_ && !options_.auth_without_tls) {
        out += "QUIT\r\n";
        fail_all(ConnectionEnd::AuthFailed, made(451, "4.7.0", "not sending the password without TLS"));
        return;
    }
    const auto offered = [&](std::string_view m) { return std::find(caps_.auth.begin(), caps_.auth.end(), m) != caps_.auth.end(); };
    if (offered("PLAIN")) {
        // RFC 4616 §2: [authzid] NUL authcid NUL passwd, as an initial response (RFC 4954 §4).
        std::string msg;
        msg += '\0';
        msg += options_.auth_user;
        msg += '\0';
        msg += options_.auth_password;
        send(out, "AUTH PLAIN " + sasl::base64_encode(msg), Expect::Auth, 0);
    } else if (offered("LOGIN")) {
        send(out, "AUTH LOGIN", Expect::Auth, 1);  // then the user name and the password on 334
    } else {
        out += "QUIT\r\n";
        fail_all(ConnectionEnd::AuthFailed, made(451, "4.7.0", "the peer offers no AUTH mechanism we can use (PLAIN, LOGIN)"));
    }
}

Waiting Session::waiting_for() const {
    if (end_ != ConnectionEnd::Open || pending_.empty()) return Waiting::Nothing;
    switch (pending_.front().expect) {
    case Expect::Greeting: return Waiting::Greeting;
    case Expect::Data: return Waiting::DataStart;
    case Expect::DataEnd:
    case Expect::Bdat: return Waiting::DataEnd;
    default: return Waiting::Command;
    }
}

void Session::on_reply(const Reply& r, std::string& out) {
    const Pending p = pending_.front();
    pending_.pop_front();
    // RFC 5321 §3.1: a 4xx/5xx greeting (421 included): QUIT, and the caller tries the next MX.
    if (p.expect == Expect::Greeting) {
        if (r.positive()) {
            greeted_ = true;
            send(out, "EHLO " + options_.helo_name, Expect::Ehlo);
        } else {
            if (r.code != 421) out += "QUIT\r\n";
            fail_all(ConnectionEnd::GreetingRefused, from_reply(r));
        }
        return;
    }
    if (p.expect == Expect::Quit) {
        end_ = ConnectionEnd::Quit;
        end_status_ = from_reply(r);
        pending_.clear();
        return;
    }
    // RFC 5321 §3.8: 421 to any command: the server is closing the connection.
    if (r.code == 421) {
        fail_all(ConnectionEnd::ServerClosing, from_reply(r));
        return;
    }
    switch (p.expect) {
    case Expect::Ehlo:
        if (r.positive()) {
            caps_ = parse_ehlo(r);
            after_ehlo(out);
        } else if (r.permanent()) {
            send(out, "HELO " + options_.helo_name, Expect::Helo);  // RFC 5321 §4.1.4: HELO fallback
        } else {
            out += "QUIT\r\n";
            fail_all(ConnectionEnd::GreetingRefused, from_reply(r));
        }
        return;
    case Expect::Helo:
        if (r.positive()) {
            caps_ = Capabilities{};
            after_ehlo(out);
        } else {
            out += "QUIT\r\n";
            fail_all(ConnectionEnd::GreetingRefused, from_reply(r));
        }
        return;
    case Expect::StartTls:
        if (r.code == 220) {
            // RFC 3207 §4.2 and CVE-2021-38371: whatever followed the 220 came before the
            // handshake and is discarded; after it the client knows nothing (EHLO again).
            input_.clear();
            waiting_tls_ = true;
        } else if (options_.require_tls) {
            out += "QUIT\r\n";
            fail_all(ConnectionEnd::TlsUnavailable, from_reply(r));
        } else {
            caps_.starttls = false;  // opportunistic: carry on in plain text
        }
        return;
    case Expect::Auth:
        // RFC 4954 §4: 235 ends the exchange; 334 asks for the next LOGIN step; anything else
        // (535 5.7.8 bad credentials, 534, 454) fails this connection.
        if (r.code == 235) {
            authenticated_ = true;
        } else if (r.code == 334 && (p.index == 1 || p.index == 2)) {
            send(out, sasl::base64_encode(p.index == 1 ? options_.auth_user : options_.auth_password), Expect::Auth,
                 p.index + 1);
        } else {
            out += "QUIT\r\n";
            fail_all(ConnectionEnd::AuthFailed, from_reply(r));
        }
        return;
    case Expect::Rset:
        return;  // a failed RSET is not fatal: MAIL will tell
    case Expect::Mail:
        if (!txn_) return;
        txn_->mail_answered = true;
        txn_->mail = from_reply(r);
        txn_->mail_ok = r.positive();
        if (!txn_->pipelined) {
            if (txn_->mail_ok) send_rcpt(out, 0);
            else finish_transaction(nullptr);
        }
        return;
    case Expect::Rcpt: {
        if (!txn_) return;
        txn_->rcpt[p.index] = from_reply(r);
        if (r.positive() && txn_->mail_ok) ++txn_->accepted;
        const bool last = p.index + 1 == txn_->message.recipients.size();
        if (!txn_->pipelined && !last) send_rcpt(out, p.index + 1);
        else if (!txn_->pipelined || (last && caps_.chunking)) {
            if (txn_->pipelined && !txn_->mail_ok) finish_transaction(nullptr);
            else after_rcpts(out);
        }
        return;
    }
    case Expect::Data:
        if (!txn_) return;
        if (r.code == 354) {
            if (txn_->accepted == 0) {
                // RFC 2920 §3.1: DATA accepted although no RCPT was: send an empty message's end.
                out += ".\r\n";
                pending_.push_back({Expect::DataEnd});
                txn_->body_done = false;
                return;
            }
            txn_->encoder.emplace(true, options_.allow_long_lines ? 0 : kMaxLine);
            sending_body_ = true;
        } else {
            const Status s = from_reply(r);
            finish_transaction(txn_->accepted ? &s : nullptr);
        }
        return;
    case Expect::DataEnd: {
        if (!txn_) return;
        const Status s = from_reply(r);
        finish_transaction(txn_->accepted && txn_->body_done ? &s : nullptr);
        if (txn_) txn_.reset();
        return;
    }
    case Expect::Bdat: {
        if (!txn_) return;
        const Status s = from_reply(r);
        if (r.positive() && !txn_->body_done) sending_body_ = true;  // next chunk
        else finish_transaction(&s);  // RFC 3030 §2: a failed chunk fails the transaction
        return;
    }
    case Expect::Greeting:
    case Expect::Quit:
        return;
    }
}

Session::Action Session::advance() {
    Action a;
    if (end_ != ConnectionEnd::Open) return {std::string(), Next::Close};
    if (waiting_tls_) return {std::string(), Next::StartTls};
    if (ehlo_due_) {
        ehlo_due_ = false;
        send(a.output, "EHLO " + options_.helo_name, Expect::Ehlo);
    }
    if (!sending_body_) {
        while (!input_.empty()) {
            const ReplyParse rp = parse_reply(input_);
            if (rp.status == ReplyParse::Status::Incomplete) break;
            if (rp.status == ReplyParse::Status::Error) {
                fail_all(ConnectionEnd::ProtocolError, made(451, "4.5.0", "bad reply from the peer: " + rp.error));
                break;
            }
            input_.erase(0, rp.consumed);
            if (pending_.empty()) {  // a reply nobody asked for: 421 on idle timeout, or garbage
                if (rp.reply.code == 421) fail_all(ConnectionEnd::ServerClosing, from_reply(rp.reply));
                else fail_all(ConnectionEnd::ProtocolError, made(451, "4.5.0", "unexpected reply from the peer: " + std::to_string(rp.reply.code)));
                break;
            }
            on_reply(rp.reply, a.output);
            if (end_ != ConnectionEnd::Open || waiting_tls_ || sending_body_) break;
        }
    }
    if (end_ != ConnectionEnd::Open) {
        a.next = Next::Close;
        return a;
    }
    if (waiting_tls_) {
        a.next = Next::StartTls;
        return a;
    }
    if (sending_body_) {
        if (!send_body_chunk(a.output)) return {std::string(), Next::Close};
        a.next = sending_body_ ? Next::Write : Next::Read;
        return a;
    }
    if (pending_.empty() && greeted_ && !txn_) next_transaction(a.output);
    a.next = pending_.empty() ? Next::Idle : Next::Read;
    return a;
}

void Session::tls_started() {
    if (!waiting_tls_) return;
    waiting_tls_ = false;
    tls_active_ = true;
    input_.clear();
    caps_ = Capabilities{};  // RFC 3207 §4.2: discard knowledge from before the handshake
    ehlo_due_ = true;
}

void Session::tls_failed(std::string_view why) {
    if (end_ != ConnectionEnd::Open) return;
    fail_all(ConnectionEnd::TlsFailed, made(451, "4.7.0", "TLS handshake failed: " + std::string(why)));
}

void Session::connection_lost(std::string_view why) {
    if (end_ != ConnectionEnd::Open) return;
    if (pending_.size() == 1 && pending_.front().expect == Expect::Quit && !txn_ && queued_.empty()) {
        end_ = ConnectionEnd::Quit;  // closed before answering QUIT: nothing lost
        pending_.clear();
        return;
    }
    fail_all(ConnectionEnd::Dropped, made(451, "4.4.2", "connection lost: " + std::string(why)));
}

}  // namespace tern::client::smtp
