// POP3 command handlers: one function per command, each checking its preconditions (state,
// arguments, TLS policy) before acting. Must never hand out a message marked as deleted, let a
// password travel in the clear when plaintext authentication is off (RFC 2595 §3.1), nor reveal
// whether a user exists: every credential failure gets the same reply through auth_failed().
#include <algorithm>

#include "base/log.hpp"
#include "proto/pop3/apop.hpp"
#include "proto/pop3/command.hpp"
#include "proto/pop3/response.hpp"
#include "session/pop3/session.hpp"

namespace tern::pop3 {
namespace {

bool is_plaintext_mechanism(std::string_view name) { return name == "PLAIN" || name == "LOGIN"; }

// Commands valid in each state (RFC 1939 §4, §5, §7; RFC 2449 §5 CAPA in both; RFC 2595 §4 STLS and
// RFC 5034 §4 AUTH in AUTHORIZATION only).
bool valid_in_authorization(Verb v) {
    switch (v) {
        case Verb::User: case Verb::Pass: case Verb::Apop: case Verb::Auth:
        case Verb::Capa: case Verb::Stls: case Verb::Quit:
            return true;
        default:
            return false;
    }
}

bool valid_in_transaction(Verb v) {
    switch (v) {
        case Verb::Stat: case Verb::List: case Verb::Uidl: case Verb::Retr: case Verb::Dele:
        case Verb::Top: case Verb::Rset: case Verb::Noop: case Verb::Quit: case Verb::Capa:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::vector<std::string> Session::mechanisms() const {
    std::vector<std::string> out;
    for (auto& m : sasl::mechanism_names())
        if (plaintext_allowed() || !is_plaintext_mechanism(m)) out.push_back(m);
    return out;
}

void Session::on_command(std::string_view line, std::string& out) {
    auto parsed = parse_command(line);
    if (!parsed) return bad_command(out, parsed.error().text);
    Command& c = *parsed;

    if (auto* a = std::get_if<Authorization>(&state_)) {
        if (!valid_in_authorization(c.verb)) return bad_command(out, "Command not valid in this state");
        // RFC 1939 §7: PASS only immediately after USER; anything else forgets the name.
        if (c.verb != Verb::Pass) a->user.clear();
    } else if (!valid_in_transaction(c.verb)) {
        return bad_command(out, "Command not valid in this state");
    }

    switch (c.verb) {
        case Verb::Capa: return cmd_capa(out);
        case Verb::User: return cmd_user(c.arg1, out);
        case Verb::Pass: return cmd_pass(std::move(c.arg1), out);
        case Verb::Apop: return cmd_apop(c.arg1, c.arg2, out);
        case Verb::Auth:
            return cmd_auth(c.arg1, c.has_arg2 ? std::optional<std::string_view>(c.arg2) : std::nullopt, out);
        case Verb::Stls: return cmd_stls(out);
        case Verb::Quit: return cmd_quit(out);
        default: break;
    }

    // TRANSACTION state (RFC 1939 §5, §7).
    auto& t = std::get<Transaction>(state_);
    switch (c.verb) {
        case Verb::Stat: {
            // RFC 1939 §5: messages marked as deleted are not counted.
            std::size_t n = 0;
            std::uint64_t size = 0;
            for (std::size_t i = 0; i < t.messages.size(); ++i)
                if (!t.deleted[i]) ++n, size += t.messages[i].size;
            return say(out, ok(std::to_string(n) + " " + std::to_string(size)));
        }
        case Verb::List:
        case Verb::Uidl: {
            bool list = c.verb == Verb::List;
            auto value = [&](std::size_t i) {
                return list ? std::to_string(t.messages[i].size) : t.messages[i].uidl;
            };
            if (c.msg) {
                const MessageRef* m = message(c.msg, out);
                if (!m) return;
                return say(out, ok(std::to_string(*c.msg) + " " + value(*c.msg - 1)));
            }
            std::string body;
            std::size_t n = 0;
            std::uint64_t size = 0;
            for (std::size_t i = 0; i < t.messages.size(); ++i) {
                if (t.deleted[i]) continue;
                ++n;
                size += t.messages[i].size;
                body += std::to_string(i + 1) + " " + value(i) + "\r\n";
            }
            std::string first = list ? ok(std::to_string(n) + " messages (" + std::to_string(size) + " octets)")
                                     : ok("Unique-ID listing follows");
            return say_multiline(out, std::move(first), body);
        }
        case Verb::Retr:
        case Verb::Top: {
            const MessageRef* m = message(c.msg, out);
            if (!m) return;
            auto source = host_.open(account_, m->uid);
            if (!source) {
                log::error("pop3[", id_, "] open ", account_, " uid ", m->uid, " failed: ", source.error().message);
                return say(out, err(code::kSysTemp, "Unable to read message"));
            }
            // Streamed: advance() sends the message a chunk at a time, stuffed on the way, so a
            // session never holds a whole message (RFC 1939 §3 multi-line, §7 TOP).
            if (c.verb == Verb::Retr)
                return send_message(out, ok(std::to_string(m->size) + " octets"), std::move(*source),
                                    std::nullopt, m->uid);
            return send_message(out, ok("Top of message follows"), std::move(*source), c.lines, m->uid);
        }
        case Verb::Dele: {
            const MessageRef* m = message(c.msg, out);
            if (!m) return;
            // RFC 1939 §5: marked now, removed only in the UPDATE state.
            t.deleted[*c.msg - 1] = true;
            return say(out, ok("Message " + std::to_string(*c.msg) + " deleted"));
        }
        case Verb::Rset: {
            std::fill(t.deleted.begin(), t.deleted.end(), false);
            std::uint64_t size = 0;
            for (const auto& m : t.messages) size += m.size;
            return say(out, ok("Maildrop has " + std::to_string(t.messages.size()) + " messages (" +
                               std::to_string(size) + " octets)"));
        }
        case Verb::Noop:
            return say(out, ok());
        default:
            return bad_command(out, "Command not valid in this state");
    }
}

const MessageRef* Session::message(std::optional<std::uint64_t> msg, std::string& out) {
    auto& t = std::get<Transaction>(state_);
    if (!msg || *msg == 0 || *msg > t.messages.size()) {
        say(out, err("No such message"));
        return nullptr;
    }
    if (t.deleted[*msg - 1]) {
        // RFC 1939 §5: "may NOT refer to a message marked as deleted".
        say(out, err("Message " + std::to_string(*msg) + " already deleted"));
        return nullptr;
    }
    return &t.messages[*msg - 1];
}

void Session::cmd_capa(std::string& out) {
    // RFC 2449 §5-§6; the list may differ between AUTHORIZATION and TRANSACTION.
    bool auth_state = std::holds_alternative<Authorization>(state_);
    std::string body = "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (auth_state) {
        if (plaintext_allowed()) body += "USER\r\n";  // RFC 2449 §6.2
        auto mechs = mechanisms();
        if (!mechs.empty()) {  // RFC 2449 §6.3, RFC 5034 §3
            body += "SASL";
            for (auto& m : mechs) body += " " + m;
            body += "\r\n";
        }
        if (config_.tls_available && !tls_active_) body += "STLS\r\n";  // RFC 2595 §4
    }
    body += "IMPLEMENTATION Tern\r\n";  // RFC 2449 §6.9
    say_multiline(out, ok("Capability list follows"), body);
}

void Session::cmd_user(std::string_view name, std::string& out) {
    if (!plaintext_allowed()) {
        // RFC 2595 §3.1: no clear-text passwords unless TLS is active (or the operator allows it).
        return say(out, err(code::kAuth, config_.tls_available ? "Plaintext authentication requires TLS (use STLS)"
                                                               : "Plaintext authentication disabled"));
    }
    std::get<Authorization>(state_).user = std::string(name);
    // Same answer for every name: the session never tells whether a mailbox exists.
    say(out, ok("Send password"));
}

void Session::cmd_pass(std::string password, std::string& out) {
    auto& a = std::get<Authorization>(state_);
    if (a.user.empty()) return bad_command(out, "USER first");
    if (!plaintext_allowed()) return say(out, err(code::kAuth, "Plaintext authentication requires TLS"));
    Verifying v;
    v.check.user = std::move(a.user);
    v.check.password = std::move(password);
    enter(std::move(v), "pass");
}

void Session::cmd_apop(std::string_view name, std::string_view digest, std::string& out) {
    // RFC 1939 §7: MD5(timestamp + secret). An unknown user still costs one digest, against a
    // throw-away secret, so the reply and its timing do not depend on the user's existence.
    auto secret = host_.apop_secret(name);
    bool good = apop_verify(timestamp_, secret ? std::string_view(*secret) : std::string_view("\x01unknown"), digest);
    if (!good || !secret || logins_refused_) return auth_failed(out, "APOP rejected");
    login(out, name);
}

void Session::cmd_auth(std::string_view mech_name, std::optional<std::string_view> initial, std::string& out) {
    auto names = sasl::mechanism_names();
    if (std::find(names.begin(), names.end(), mech_name) == names.end())
        return say(out, err("Unsupported authentication mechanism"));
    if (!plaintext_allowed() && is_plaintext_mechanism(mech_name))
        return say(out, err(code::kAuth, config_.tls_available ? "Plaintext authentication requires TLS (use STLS)"
                                                               : "Plaintext authentication disabled"));
    auto mech = sasl::make_mechanism(mech_name, config_.sasl_fake_secret);
    if (!mech) return say(out, err("Unsupported authentication mechanism"));
    std::optional<std::string> decoded;
    if (initial) {
        // RFC 5034 §4: "=" is an empty initial response; anything else must be valid base64.
        if (*initial == "=") decoded = std::string();
        else decoded = sasl::base64_decode(*initial);
        if (!decoded) return auth_failed(out, "bad base64 in initial response");
    }
    auto step = mech->start(decoded ? std::optional<std::string_view>(*decoded) : std::nullopt);
    if (decoded) std::fill(decoded->begin(), decoded->end(), '\0');
    sasl_step(std::move(step), std::move(mech), out);
}

void Session::sasl_line(std::string_view line, std::string& out) {
    auto& ex = std::get<SaslExchange>(state_);
    if (line == "*") {
        // RFC 5034 §4: the client cancels; the AUTH command fails.
        say(out, err("Authentication cancelled"));
        return enter(Authorization{}, "auth cancelled");
    }
    if (ex.final_empty) {
        // The client acknowledged the server's final data with an empty response (RFC 4422 §5).
        if (!line.empty()) return auth_failed(out, "non-empty response after success data");
        std::string user = std::move(ex.authcid);
        return login(out, user);
    }
    auto decoded = sasl::base64_decode(line);
    // RFC 5034 §4: a response that is not valid base64 fails the AUTH command.
    if (!decoded) return auth_failed(out, "bad base64 in response");
    auto mech = std::move(ex.mech);
    auto step = mech->respond(*decoded);
    std::fill(decoded->begin(), decoded->end(), '\0');
    sasl_step(std::move(step), std::move(mech), out);
}

void Session::sasl_step(sasl::Step step, std::unique_ptr<sasl::Mechanism> mech, std::string& out) {
    using K = sasl::Step::Kind;
    switch (step.kind) {
        case K::Challenge:
            // RFC 5034 §4: "+" SP base64 challenge.
            say(out, "+ " + sasl::base64_encode(step.data) + "\r\n");
            return enter(SaslExchange{std::move(mech), false, {}, {}}, "sasl challenge");
        case K::VerifyPassword: {
            Verifying v;
            v.mech = std::move(mech);
            v.check.user = std::move(step.authcid);
            v.check.password = std::move(step.password);
            return enter(std::move(v), "sasl verify");
        }
        case K::NeedScram:
            return enter(ScramLookup{std::move(mech), std::move(step.authcid)}, "sasl scram lookup");
        case K::Failure:
            return auth_failed(out, step.data.empty() ? "sasl failure" : step.data);
        case K::Success:
            break;
    }
    // Only the authenticated identity itself may be requested as authorization identity: no proxy
    // logins (RFC 4616 §2 leaves the policy to the server).
    if (!step.authzid.empty() && host_.canonical_account(step.authzid) != host_.canonical_account(step.authcid))
        return auth_failed(out, "authzid differs from authcid");
    if (!step.data.empty()) {
        // POP3 has no room for data in +OK: send it as a challenge and expect an empty response
        // (RFC 4422 §5 point 3; SCRAM's server-final message).
        say(out, "+ " + sasl::base64_encode(step.data) + "\r\n");
        return enter(SaslExchange{std::move(mech), true, std::move(step.authcid), std::move(step.authzid)},
                     "sasl success data");
    }
    login(out, step.authcid);
}

void Session::cmd_stls(std::string& out) {
    if (tls_active_) return say(out, err("Command not permitted when TLS active"));  // RFC 2595 §4
    if (!config_.tls_available) return say(out, err("STLS not available"));
    say(out, ok("Begin TLS negotiation"));
    // RFC 2595 §4 / CVE-2011-0411: whatever the client pipelined after STLS is dropped unread.
    input_pos_ = input_.size();
    enter(StartingTls{}, "stls");
}

void Session::cmd_quit(std::string& out) {
    auto* t = std::get_if<Transaction>(&state_);
    if (!t) {
        // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without UPDATE.
        say(out, ok(config_.hostname + " POP3 server signing off"));
        return enter(Closed{}, "quit");
    }
    std::vector<std::uint32_t> uids;
    std::size_t left = 0;
    for (std::size_t i = 0; i < t->messages.size(); ++i) {
        if (t->deleted[i]) uids.push_back(t->messages[i].uid);
        else ++left;
    }
    // RFC 1939 §6: the UPDATE state removes the marked messages, then releases the maildrop. The
    // removal waits for the disk: the network layer runs it elsewhere and calls expunged().
    if (!uids.empty()) return enter(Update{std::move(uids), left}, "quit");
    say(out, ok(config_.hostname + " POP3 server signing off (" + std::to_string(left) + " messages left)"));
    enter(Closed{}, "quit, nothing to delete");
}

Session::ExpungeRequest Session::take_expunge() const {
    auto* u = std::get_if<Update>(&state_);
    if (!u) return {};
    return {account_, u->uids};
}

void Session::expunged(const Result<void>& r) {
    auto* u = std::get_if<Update>(&state_);
    if (!u) return;
    if (!r) {
        log::error("pop3[", id_, "] expunge in ", account_, " failed: ", r.error().message);
        say(deferred_out_, err(code::kSysTemp, "Some deleted messages not removed"));
    } else {
        log::info("pop3[", id_, "] deleted ", u->uids.size(), " messages from ", account_);
        say(deferred_out_,
            ok(config_.hostname + " POP3 server signing off (" + std::to_string(u->left) + " messages left)"));
    }
    enter(Closed{}, "update done");
}

}  // namespace tern::pop3
