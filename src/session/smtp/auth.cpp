// SMTP AUTH (RFC 4954) driven through the pure SASL mechanisms: 334 challenges, base64 lines,
// "*" to cancel, 235 / 535. Password checks and credential lookups are handed to the network
// layer (they are slow or touch disk). Must never log a SASL payload, never offer or accept AUTH
// before TLS unless configured, and never say 235 unless the mechanism said Success.
#include "base/log.hpp"
#include "proto/smtp/reply.hpp"
#include "session/smtp/session.hpp"

namespace tern::smtp {

bool Session::auth_allowed() const {
    // Port 25 takes mail from other servers: no AUTH there. Submission: over TLS (RFC 8314 §3),
    // or in clear only where the configuration explicitly allows it.
    return config_.kind != ListenerKind::Smtp && (config_.tls_active || config_.allow_plaintext_auth);
}

void Session::cmd_auth(const Command& c, std::string& out) {
    if (config_.kind == ListenerKind::Smtp) return bad_command(out, 503, "5.5.1", "Error: authentication not enabled");
    if (!auth_allowed()) return say(out, reply(530, "5.7.0", "Must issue a STARTTLS command first"));
    if (std::holds_alternative<Connected>(state_)) return bad_command(out, 503, "5.5.1", "Error: send EHLO first");
    if (!auth_user_.empty()) return bad_command(out, 503, "5.5.1", "Error: already authenticated");
    if (in_transaction()) return bad_command(out, 503, "5.5.1", "Error: AUTH not allowed during a mail transaction");
    std::string_view arg = c.arg;
    auto sp = arg.find(' ');
    std::string_view name = arg.substr(0, sp);
    auto mechanism = sasl::make_mechanism(name, config_.scram_secret);
    if (!mechanism) return bad_command(out, 504, "5.5.4", "Unrecognized authentication type");
    std::optional<std::string> initial;
    if (sp != std::string_view::npos) {
        std::string_view ir = arg.substr(sp + 1);
        if (ir == "=") initial = "";  // RFC 4954 §4: "=" is an empty initial response
        else if (!(initial = sasl::base64_decode(ir))) return bad_command(out, 501, "5.5.2", "Cannot decode response");
    }
    Authenticating a;
    a.mechanism = std::move(mechanism);
    enter(std::move(a), "auth");
    auto& au = std::get<Authenticating>(state_);
    on_sasl_step(au.mechanism->start(initial ? std::optional<std::string_view>(*initial) : std::nullopt), out);
}

bool Session::on_auth_line(std::string_view line, std::string& out) {
    if (log::trace_enabled()) log::info("smtp[", id_, "] C: ****");
    auto& au = std::get<Authenticating>(state_);
    if (line == "*") {
        say(out, reply(501, "5.7.0", "Authentication cancelled"));
        enter(Ready{}, "auth cancelled");
        return true;
    }
    if (au.waiting == Authenticating::Waiting::FinalAck) {
        // The client's (empty) answer to the server's final message (e.g. SCRAM's v=...).
        sasl::Step held = std::move(au.pending);
        if (!line.empty()) {
            auth_failed(out, "unexpected data after the final server message");
        } else {
            held.data.clear();
            on_sasl_step(std::move(held), out);
        }
        return !std::holds_alternative<Closed>(state_);
    }
    auto decoded = sasl::base64_decode(line);
    if (!decoded) {
        say(out, reply(501, "5.5.2", "Cannot decode response"));
        enter(Ready{}, "auth: bad base64");
        return true;
    }
    on_sasl_step(au.mechanism->respond(*decoded), out);
    return !std::holds_alternative<Closed>(state_);
}

void Session::on_sasl_step(sasl::Step step, std::string& out) {
    auto& au = std::get<Authenticating>(state_);
    switch (step.kind) {
        case sasl::Step::Kind::Challenge:
            au.waiting = Authenticating::Waiting::Client;
            // RFC 4954 §4: "334 " followed by the base64 challenge (possibly empty).
            say(out, "334 " + sasl::base64_encode(step.data) + "\r\n");
            return;
        case sasl::Step::Kind::VerifyPassword:
            au.waiting = Authenticating::Waiting::Password;
            au.pending = std::move(step);
            return;
        case sasl::Step::Kind::NeedScram:
            au.waiting = Authenticating::Waiting::Scram;
            au.pending = std::move(step);
            return;
        case sasl::Step::Kind::Success: {
            if (step.authcid.empty()) {
                step.authcid = au.pending.authcid;
                step.authzid = au.pending.authzid;
            }
            std::string account = host_.canonical_account(step.authcid);
            // RFC 4954 §4: we do not let one user act for another.
            if (!step.authzid.empty() && host_.canonical_account(step.authzid) != account)
                return auth_failed(out, "authorization identity differs");
            if (!step.data.empty()) {
                // No success-with-data in SMTP: send it as a last challenge, expect an empty line.
                au.waiting = Authenticating::Waiting::FinalAck;
                say(out, "334 " + sasl::base64_encode(step.data) + "\r\n");
                au.pending = std::move(step);
                return;
            }
            auth_user_ = account;
            log::info("smtp[", id_, "] authenticated as ", auth_user_);
            say(out, reply(235, "2.7.0", "Authentication successful"));
            enter(Ready{}, "authenticated");
            return;
        }
        case sasl::Step::Kind::Failure:
            return auth_failed(out, step.data);
    }
}

void Session::auth_failed(std::string& out, std::string_view why) {
    ++auth_failures_;
    log::warn("smtp[", id_, "] authentication failed from ", peer_ip_, why.empty() ? "" : ": ", why);
    // RFC 4954 §6: the same answer for an unknown user and a wrong password.
    say(out, reply(535, "5.7.8", "Authentication credentials invalid"));
    if (auth_failures_ >= config_.auth_failures) {
        say(out, reply(421, "4.7.0", config_.hostname + " Too many failed authentications, closing connection"));
        enter(Closed{}, "too many auth failures");
        return;
    }
    enter(Ready{}, "auth failed");
}

Session::PasswordCheck Session::take_password_check() {
    auto& au = std::get<Authenticating>(state_);
    return {au.pending.authcid, std::move(au.pending.password)};
}

void Session::password_checked(bool ok) {
    auto& au = std::get<Authenticating>(state_);
    au.pending.password.clear();
    au.waiting = Authenticating::Waiting::Client;
    on_sasl_step(au.mechanism->verified(ok), deferred_out_);
}

std::string Session::scram_user() const { return std::get<Authenticating>(state_).pending.authcid; }

void Session::scram_credentials(std::optional<sasl::ScramCredentials> creds) {
    auto& au = std::get<Authenticating>(state_);
    au.waiting = Authenticating::Waiting::Client;
    on_sasl_step(au.mechanism->credentials(std::move(creds)), deferred_out_);
}

}  // namespace tern::smtp
