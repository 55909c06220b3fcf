// POP3 client session (see session.hpp): login choice, STLS, request pipelining and the response
// dispatch. Must never write a password before TLS unless the options allow it, never act on
// bytes that arrived before a TLS handshake, and never mark a request done without its response.
#include "client/pop3/session.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "base/ascii.hpp"
#include "proto/pop3/apop.hpp"
#include "proto/sasl/sasl.hpp"
#include "proto/sasl/scram_client.hpp"

namespace tern::client::pop3 {

namespace {

constexpr std::size_t kMaxCapaLines = 1000;
constexpr std::size_t kMaxCommandLine = 255;  // RFC 2449 §4: octets incl. CRLF

Status made_up(std::string text) {
    Status s;
    s.kind = Status::Kind::Err;
    s.text = std::move(text);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

template <class T>
bool parse_num(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// "a b rest" -> first token and the rest (leading spaces skipped).
std::pair<std::string_view, std::string_view> token(std::string_view s) {
    while (s.starts_with(' ')) s.remove_prefix(1);
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos) return {s, {}};
    auto rest = s.substr(sp + 1);
    while (rest.starts_with(' ')) rest.remove_prefix(1);
    return {s.substr(0, sp), rest};
}

// RFC 1939 §5: scan listing / unique-id listing = msg SP (size | unique-id) [SP more]
bool parse_entry(std::string_view line, bool uid, ListEntry& e) {
    auto [n, rest] = token(line);
    if (!parse_num(n, e.msg) || e.msg == 0) return false;
    auto [v, more] = token(rest);
    (void)more;
    if (v.empty()) return false;
    if (uid) {
        e.uid = std::string(v);
        return true;
    }
    return parse_num(v, e.size);
}

bool safe_text(std::string_view s) {  // nothing that could end or split a command line
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace

bool Capabilities::has_sasl(std::string_view mech) const {
    return std::find(sasl.begin(), sasl.end(), upper(mech)) != sasl.end();
}

Capabilities parse_capa(const std::vector<std::string>& lines) {
    Capabilities c;
    c.known = true;
    for (const auto& l : lines) {
        auto [name, args] = token(l);
        const std::string key = upper(name);
        if (key == "TOP") c.top = true;                       // RFC 2449 §6.1
        else if (key == "USER") c.user = true;                // §6.2
        else if (key == "SASL") {                             // §6.3
            std::string_view rest = args;
            while (!rest.empty()) {
                auto [m, r] = token(rest);
                if (!m.empty()) c.sasl.push_back(upper(m));
                rest = r;
            }
        } else if (key == "RESP-CODES") c.resp_codes = true;  // §6.4
        else if (key == "LOGIN-DELAY") {                      // §6.5
            c.login_delay = true;
            std::uint64_t v = 0;
            if (parse_num(token(args).first, v)) c.login_delay_seconds = v;
        } else if (key == "PIPELINING") c.pipelining = true;  // §6.6
        else if (key == "EXPIRE") {                           // §6.7
            c.expire = true;
            c.expire_value = std::string(args);
        } else if (key == "UIDL") c.uidl = true;              // §6.8
        else if (key == "IMPLEMENTATION") c.implementation = std::string(args);  // §6.9
        else if (key == "STLS") c.stls = true;                // RFC 2595 §4
    }
    return c;
}

std::string apop_timestamp(std::string_view text) {
    // RFC 1939 §7: the greeting carries a msg-id style timestamp, "<" ... ">", somewhere in it.
    const auto open = text.find('<');
    if (open == std::string_view::npos) return {};
    const auto close = text.find('>', open);
    if (close == std::string_view::npos || close == open + 1 || close - open > 256) return {};
    const auto ts = text.substr(open, close - open + 1);
    if (ts.find_first_of(" <", 1) != std::string_view::npos) return {};
    return std::string(ts);
}

std::string mask_secrets(std::string_view text) {
    std::string out;
    while (!text.empty()) {
        auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf == std::string_view::npos ? text.size() : lf + 1);
        text.remove_prefix(line.size());
        std::string_view eol;
        const auto body_end = line.find_first_of("\r\n");
        if (body_end != std::string_view::npos) {
            eol = line.substr(body_end);
            line = line.substr(0, body_end);
        }
        auto [verb, rest] = token(line);
        const std::string v = upper(verb);
        if (v == "PASS") {
            out += "PASS ****";
        } else if (v == "APOP") {
            out += "APOP " + std::string(token(rest).first) + " ****";
        } else if (v == "AUTH") {
            auto [mech, initial] = token(rest);
            out += "AUTH " + std::string(mech) + (initial.empty() ? "" : " ****");
        } else if (v == "CAPA" || v == "STLS" || v == "USER" || v == "STAT" || v == "LIST" || v == "UIDL" ||
                   v == "RETR" || v == "TOP" || v == "DELE" || v == "RSET" || v == "NOOP" || v == "QUIT") {
            out += line;
        } else {
            out += line.empty() || line == "*" ? std::string(line) : "****";  // a SASL response
        }
        out += eol;
    }
    return out;
}

Session::Session(Options options, ChunkSink sink) : options_(std::move(options)), sink_(std::move(sink)) {
    tls_active_ = options_.implicit_tls;
    pending_.push_back(Pending{Expect::Greeting, {}, false, {}, {}});  // RFC 1939 §4: server speaks first
}

Session::~Session() = default;

std::uint64_t Session::add(Command c, std::uint32_t msg, std::uint32_t lines) {
    const std::uint64_t id = next_id_++;
    if (quit_queued_ || end_ != ConnectionEnd::Open) {
        Outcome o;
        o.id = id;
        o.command = c;
        o.msg = msg;
        o.text = quit_queued_ ? "request after QUIT" : "connection is over";
        outcomes_.push_back(std::move(o));
        return id;
    }
    if (c == Command::Quit) quit_queued_ = true;
    queue_.push_back(Request{id, c, msg, lines});
    return id;
}

std::uint64_t Session::stat() { return add(Command::Stat); }
std::uint64_t Session::list(std::uint32_t msg) { return add(Command::List, msg); }
std::uint64_t Session::uidl(std::uint32_t msg) { return add(Command::Uidl, msg); }
std::uint64_t Session::retr(std::uint32_t msg) { return add(Command::Retr, msg); }
std::uint64_t Session::top(std::uint32_t msg, std::uint32_t lines) { return add(Command::Top, msg, lines); }
std::uint64_t Session::dele(std::uint32_t msg) { return add(Command::Dele, msg); }
std::uint64_t Session::rset() { return add(Command::Rset); }
std::uint64_t Session::noop() { return add(Command::Noop); }
std::uint64_t Session::quit() { return add(Command::Quit); }

void Session::receive(std::string_view bytes) {
    // RFC 2595 §4: nothing received between "+OK" to STLS and the handshake is ever used.
    if (waiting_tls_ || tls_due_ || end_ != ConnectionEnd::Open) return;
    reader_.feed(bytes);
}

Session::Action Session::advance() {
    std::string out = std::exchange(deferred_, {});
    for (;;) {
        while (end_ == ConnectionEnd::Open && !tls_due_ && step(out)) {
        }
        if (end_ != ConnectionEnd::Open || tls_due_) break;
        const std::size_t before = pending_.size();
        if (authenticated_) send_requests(out);
        if (pending_.size() == before || reader_.buffered() == 0) break;
    }
    out += std::exchange(deferred_, {});
    if (end_ != ConnectionEnd::Open) return {std::move(out), Next::Close};
    if (tls_due_) {
        tls_due_ = false;
        waiting_tls_ = true;
        return {std::move(out), Next::StartTls};
    }
    if (authenticated_ && pending_.empty() && queue_.empty()) return {std::move(out), Next::Idle};
    return {std::move(out), Next::Read};
}

void Session::tls_started() {
    if (!waiting_tls_) return;
    waiting_tls_ = false;
    tls_active_ = true;
    // RFC 2595 §4: forget what was learned before the handshake; ask CAPA again.
    reader_.discard();
    caps_ = Capabilities{};
    send(deferred_, "CAPA", Expect::Capa);
}

void Session::tls_failed(std::string_view why) {
    waiting_tls_ = false;
    end_with(ConnectionEnd::TlsFailed, made_up("TLS handshake failed: " + std::string(why)));
}

void Session::connection_lost(std::string_view why) {
    end_with(ConnectionEnd::Dropped, made_up("connection lost: " + std::string(why)));
}

std::vector<Outcome> Session::take_outcomes() { return std::exchange(outcomes_, {}); }

bool Session::multiline(const Pending& p) const {
    if (p.expect == Expect::Capa) return true;
    if (p.expect != Expect::Request) return false;
    switch (p.request.command) {
        case Command::List:
        case Command::Uidl: return p.request.msg == 0;  // RFC 1939 §5: with an argument, one line
        case Command::Retr:
        case Command::Top: return true;
        default: return false;
    }
}

bool Session::streamed(const Pending& p) const {
    return p.expect == Expect::Request && (p.request.command == Command::Retr || p.request.command == Command::Top);
}

void Session::pop_front() { pending_.pop_front(); }

bool Session::step(std::string& out) {
    if (waiting_tls_) return false;
    if (pending_.empty()) {
        if (reader_.buffered() > 0) end_with(ConnectionEnd::ProtocolError, made_up("response to no command"));
        return false;
    }
    Pending& p = pending_.front();
    if (!p.status_done) {
        Status s;
        const auto r = reader_.status(s);
        if (r == ResponseReader::Result::Incomplete) return false;
        if (r == ResponseReader::Result::Error) {
            end_with(ConnectionEnd::ProtocolError, made_up(reader_.error()));
            return false;
        }
        if (s.kind == Status::Kind::Continue) {
            if (p.expect != Expect::Auth) {
                end_with(ConnectionEnd::ProtocolError, made_up("\"+\" continuation outside AUTH"));
                return false;
            }
            auth_step(s, out);
            return true;
        }
        if (s.ok() && multiline(p)) {
            p.status_done = true;
            p.outcome.ok = true;
            p.outcome.from_server = true;
            p.outcome.code = s.code;
            p.outcome.text = s.text;
            return true;
        }
        Pending done = std::move(p);
        pop_front();
        on_status(done, s, out);
        return true;
    }
    if (streamed(p)) {
        chunk_.clear();
        const auto r = reader_.body_chunk(chunk_, options_.chunk_size);
        if (r == ResponseReader::Result::Incomplete) return false;
        if (r == ResponseReader::Result::Data) {
            p.outcome.octets += chunk_.size();
            if (sink_) sink_(Chunk{p.request.id, p.request.msg, chunk_, false});
            return true;
        }
        if (sink_) sink_(Chunk{p.request.id, p.request.msg, {}, true});
        Pending done = std::move(p);
        pop_front();
        on_body_end(done, out);
        return true;
    }
    std::string line;
    const auto r = reader_.body_line(line);
    if (r == ResponseReader::Result::Incomplete) return false;
    if (r == ResponseReader::Result::Error) {
        end_with(ConnectionEnd::ProtocolError, made_up(reader_.error()));
        return false;
    }
    if (r == ResponseReader::Result::End) {
        Pending done = std::move(p);
        pop_front();
        on_body_end(done, out);
        return true;
    }
    if (p.expect == Expect::Capa) {
        if (p.lines.size() >= kMaxCapaLines) {
            end_with(ConnectionEnd::ProtocolError, made_up("CAPA response too long"));
            return false;
        }
        p.lines.push_back(std::move(line));
        return true;
    }
    ListEntry e;
    if (p.outcome.entries.size() >= options_.max_listing) {
        end_with(ConnectionEnd::ProtocolError, made_up("listing longer than max_listing"));
        return false;
    }
    if (!parse_entry(line, p.request.command == Command::Uidl, e)) {
        end_with(ConnectionEnd::ProtocolError, made_up("malformed listing line"));
        return false;
    }
    p.outcome.entries.push_back(std::move(e));
    return true;
}

void Session::on_body_end(Pending& p, std::string& out) {
    if (p.expect == Expect::Capa) {
        caps_ = parse_capa(p.lines);
        return after_capa(out);
    }
    outcomes_.push_back(std::move(p.outcome));
}

void Session::on_status(Pending& p, const Status& s, std::string& out) {
    switch (p.expect) {
        case Expect::Greeting:
            // RFC 1939 §4: the greeting is +OK; anything else means no session.
            if (!s.ok()) return end_with(ConnectionEnd::GreetingRefused, s);
            timestamp_ = apop_timestamp(s.text);
            return send(out, "CAPA", Expect::Capa);  // RFC 2449 §5
        case Expect::Capa:  // -ERR: a server older than RFC 2449; nothing known
            caps_ = Capabilities{};
            return after_capa(out);
        case Expect::Stls:
            if (s.ok()) {
                tls_due_ = true;
                return;
            }
            if (options_.require_tls) return end_with(ConnectionEnd::TlsUnavailable, s);
            return login(out);
        case Expect::User:
            if (!s.ok()) return end_with(ConnectionEnd::AuthFailed, s);
            return send(out, "PASS " + options_.password, Expect::Pass);
        case Expect::Apop:
        case Expect::Pass:
            if (!s.ok()) return end_with(ConnectionEnd::AuthFailed, s);
            return logged_in(out);
        case Expect::Auth:
            if (!s.ok()) {
                if (!auth_error_.empty()) return end_with(ConnectionEnd::AuthFailed, made_up(auth_error_));
                return end_with(ConnectionEnd::AuthFailed, s);
            }
            // RFC 5802 §5: the server must prove it knows the password too; +OK without it is no login.
            if (used_method_ == LoginMethod::Scram && !sasl_done_) {
                return end_with(ConnectionEnd::AuthFailed, made_up("SCRAM: the server did not prove its identity"));
            }
            return logged_in(out);
        case Expect::Request:
            return finish_request(p, s);
    }
}

void Session::after_capa(std::string& out) {
    if (!tls_active_) {
        if (caps_.stls && options_.tls_possible) return send(out, "STLS", Expect::Stls);  // RFC 2595 §4
        if (options_.require_tls) {
            return end_with(ConnectionEnd::TlsUnavailable, made_up("TLS required but the server offers no STLS"));
        }
    }
    login(out);
}

void Session::login(std::string& out) {
    if (!safe_text(options_.user) || !safe_text(options_.password) || options_.user.empty()) {
        return end_with(ConnectionEnd::AuthFailed, made_up("user name or password unusable in a command"));
    }
    const bool clear_ok = tls_active_ || options_.allow_plaintext_password;  // RFC 2595 §3.1
    LoginMethod m = options_.method;
    if (m == LoginMethod::Auto) {
        if (options_.use_apop && !timestamp_.empty()) m = LoginMethod::Apop;
        else if (caps_.has_sasl("SCRAM-SHA-256")) m = LoginMethod::Scram;
        else if (caps_.has_sasl("PLAIN") && clear_ok) m = LoginMethod::Plain;
        else if ((caps_.user || !caps_.known) && clear_ok) m = LoginMethod::UserPass;
        else if (!clear_ok && (caps_.user || !caps_.known || caps_.has_sasl("PLAIN"))) {
            return end_with(ConnectionEnd::AuthFailed, made_up("refusing to send the password without TLS"));
        } else {
            return end_with(ConnectionEnd::AuthFailed, made_up("no login method in common with the server"));
        }
    }
    if ((m == LoginMethod::Plain || m == LoginMethod::UserPass) && !clear_ok) {
        return end_with(ConnectionEnd::AuthFailed, made_up("refusing to send the password without TLS"));
    }
    used_method_ = m;
    switch (m) {
        case LoginMethod::Apop: {
            if (timestamp_.empty()) {
                return end_with(ConnectionEnd::AuthFailed, made_up("APOP asked for but the greeting has no timestamp"));
            }
            // RFC 1939 §7: APOP name digest, digest = MD5(timestamp secret) in lower-case hex.
            const std::string& secret = options_.apop_secret.empty() ? options_.password : options_.apop_secret;
            return send(out, "APOP " + options_.user + " " + tern::pop3::apop_digest(timestamp_, secret),
                        Expect::Apop);
        }
        case LoginMethod::Scram: {
            scram_ = std::make_unique<sasl::ScramClient>(options_.user, options_.password, options_.scram_nonce);
            auto first = scram_->first();
            if (!first) return end_with(ConnectionEnd::AuthFailed, made_up(first.error().message));
            // RFC 5034 §4: the initial response goes on the AUTH line unless that would pass 255
            // octets; then it answers the server's empty challenge.
            std::string line = "AUTH SCRAM-SHA-256 " + sasl::base64_encode(*first);
            if (line.size() + 2 <= kMaxCommandLine) return send(out, std::move(line), Expect::Auth);
            sasl_initial_ = sasl::base64_encode(*first);
            return send(out, "AUTH SCRAM-SHA-256", Expect::Auth);
        }
        case LoginMethod::Plain: {
            // RFC 4616 §2: [authzid] NUL authcid NUL passwd
            std::string msg = sasl::base64_encode(std::string("\0", 1) + options_.user + std::string("\0", 1) +
                                                  options_.password);
            std::string line = "AUTH PLAIN " + msg;
            if (line.size() + 2 <= kMaxCommandLine) return send(out, std::move(line), Expect::Auth);
            sasl_initial_ = std::move(msg);
            return send(out, "AUTH PLAIN", Expect::Auth);
        }
        case LoginMethod::UserPass:
        case LoginMethod::Auto:
            return send(out, "USER " + options_.user, Expect::User);
    }
}

void Session::auth_step(const Status& s, std::string& out) {
    // RFC 5034 §4: each "+ " carries a base64 challenge; "*" cancels the exchange.
    auto cancel = [&](std::string why) {
        if (auth_error_.empty()) auth_error_ = std::move(why);
        out += "*\r\n";
    };
    if (!auth_error_.empty()) return cancel(auth_error_);  // a second challenge after "*": still no
    if (!sasl_initial_.empty()) {
        if (!s.text.empty()) return cancel("non-empty challenge before the initial response");
        out += std::exchange(sasl_initial_, {}) + "\r\n";
        return;
    }
    if (used_method_ != LoginMethod::Scram || !scram_) return cancel("unexpected SASL challenge");
    auto data = sasl::base64_decode(s.text);
    if (!data) return cancel("SASL challenge is not base64");
    if (!scram_sent_final_) {
        auto fin = scram_->final(*data);
        if (!fin) return cancel(fin.error().message);
        scram_sent_final_ = true;
        out += sasl::base64_encode(*fin) + "\r\n";
        return;
    }
    if (sasl_done_) return cancel("unexpected SASL challenge after the server's proof");
    auto v = scram_->verify(*data);
    if (!v) return cancel(v.error().message);
    sasl_done_ = true;
    out += "\r\n";  // RFC 4422 §5: an empty response acknowledges the additional data
}

void Session::logged_in(std::string& out) {
    (void)out;
    authenticated_ = true;
    scram_.reset();
}

void Session::send(std::string& out, std::string line, Expect e) {
    out += line;
    out += "\r\n";
    Pending p;
    p.expect = e;
    pending_.push_back(std::move(p));
}

void Session::send_requests(std::string& out) {
    // RFC 2449 §6.6: with PIPELINING the client may send several commands without waiting; the
    // window bounds what is in flight (and what the server may have to buffer).
    const std::size_t window = caps_.pipelining ? std::max<std::size_t>(1, options_.pipeline_window) : 1;
    while (!queue_.empty() && pending_.size() < window) {
        Request r = queue_.front();
        queue_.pop_front();
        const std::string n = std::to_string(r.msg);
        std::string line;
        switch (r.command) {
            case Command::Stat: line = "STAT"; break;
            case Command::List: line = r.msg ? "LIST " + n : "LIST"; break;
            case Command::Uidl: line = r.msg ? "UIDL " + n : "UIDL"; break;
            case Command::Retr: line = "RETR " + n; break;
            case Command::Top: line = "TOP " + n + " " + std::to_string(r.lines); break;
            case Command::Dele: line = "DELE " + n; break;
            case Command::Rset: line = "RSET"; break;
            case Command::Noop: line = "NOOP"; break;
            case Command::Quit: line = "QUIT"; break;
        }
        out += line + "\r\n";
        Pending p;
        p.expect = Expect::Request;
        p.request = r;
        p.outcome.id = r.id;
        p.outcome.command = r.command;
        p.outcome.msg = r.msg;
        pending_.push_back(std::move(p));
    }
}

void Session::finish_request(Pending& p, const Status& s) {
    Outcome& o = p.outcome;
    o.ok = s.ok();
    o.from_server = true;
    o.code = s.code;
    o.text = s.text;
    if (o.ok) {
        ListEntry e;
        switch (p.request.command) {
            case Command::Stat: {  // RFC 1939 §5: "+OK nn mm"
                auto [c, rest] = token(s.text);
                if (!parse_num(c, o.count) || !parse_num(token(rest).first, o.size)) {
                    return end_with(ConnectionEnd::ProtocolError, made_up("malformed STAT response"));
                }
                break;
            }
            case Command::List:
            case Command::Uidl:
                if (!parse_entry(s.text, p.request.command == Command::Uidl, e) || e.msg != p.request.msg) {
                    return end_with(ConnectionEnd::ProtocolError, made_up("malformed listing response"));
                }
                o.entries.push_back(std::move(e));
                break;
            default: break;
        }
    }
    const bool quit = p.request.command == Command::Quit;
    outcomes_.push_back(std::move(o));
    // RFC 1939 §6: only QUIT's +OK says the marked messages were removed.
    if (quit) end_with(s.ok() ? ConnectionEnd::Quit : ConnectionEnd::QuitFailed, s);
}

void Session::end_with(ConnectionEnd e, Status why) {
    if (end_ != ConnectionEnd::Open) return;
    end_ = e;
    end_status_ = why;
    scram_.reset();
    // A refused login or missing TLS still ends politely (RFC 1939 §6 QUIT in AUTHORIZATION).
    if (e == ConnectionEnd::AuthFailed || e == ConnectionEnd::TlsUnavailable) deferred_ += "QUIT\r\n";
    Status failed = why;
    if (e == ConnectionEnd::Quit || e == ConnectionEnd::QuitFailed) return;
    for (auto& p : pending_) {
        if (p.expect != Expect::Request) continue;
        p.outcome.ok = false;
        p.outcome.from_server = false;
        p.outcome.code = why.code;
        p.outcome.text = why.text;
        outcomes_.push_back(std::move(p.outcome));
    }
    pending_.clear();
    for (auto& r : queue_) {
        Outcome o;
        o.id = r.id;
        o.command = r.command;
        o.msg = r.msg;
        o.code = why.code;
        o.text = why.text;
        outcomes_.push_back(std::move(o));
    }
    queue_.clear();
}

}  // namespace tern::client::pop3
