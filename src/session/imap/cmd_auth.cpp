// IMAP authentication: STARTTLS (RFC 9051 §6.2.1), AUTHENTICATE with SASL-IR (§6.2.2, RFC 4959)
// and LOGIN (§6.2.3). Must never answer pipelined input behind STARTTLS (CVE-2011-0411), never
// accept a password in clear text unless configured to, and never log one.
#include <algorithm>

#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "proto/sasl/sasl.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {
namespace {

bool is_plaintext_mechanism(std::string_view m) { return m == "PLAIN" || m == "LOGIN"; }

void wipe(std::string& s) { std::fill(s.begin(), s.end(), '\0'); }

}  // namespace

void Session::cmd_starttls(const ParsedCommand& c, std::string& out) {
    if (tls_active_) return bad(out, c.tag, "TLS is active already");
    if (!config_.tls_available) return bad(out, c.tag, "STARTTLS is not available");
    say(out, tagged(c.tag, "OK", "", "Begin TLS negotiation now"));
    // RFC 9051 §6.2.1 / CVE-2011-0411: whatever the client pipelined behind STARTTLS is dropped.
    input_pos_ = input_.size();
    reader_.reset();
    starting_tls_ = true;
}

void Session::cmd_login(ParsedCommand& c, std::string& out) {
    auto& a = std::get<LoginArgs>(c.args);
    if (!plaintext_allowed()) {
        wipe(a.password);
        // RFC 9051 §6.2.3 with LOGINDISABLED: a tagged NO; RFC 5530 PRIVACYREQUIRED says why.
        return say(out, tagged(c.tag, "NO", "PRIVACYREQUIRED", "LOGIN needs TLS (use STARTTLS or port 993)"));
    }
    Verifying v;
    v.tag = c.tag;
    v.check.user = std::move(a.user);
    v.check.password = std::move(a.password);
    pending_ = std::make_unique<Pending>(Pending{std::move(v)});
}

void Session::cmd_authenticate(ParsedCommand& c, std::string& out) {
    auto& a = std::get<AuthenticateArgs>(c.args);
    auto names = sasl::mechanism_names();
    if (std::find(names.begin(), names.end(), a.mechanism) == names.end())
        return say(out, tagged(c.tag, "NO", "CANNOT", "Unsupported authentication mechanism"));
    if (!plaintext_allowed() && is_plaintext_mechanism(a.mechanism))
        return say(out, tagged(c.tag, "NO", "PRIVACYREQUIRED", "Plaintext authentication needs TLS"));
    auto mech = sasl::make_mechanism(a.mechanism, config_.sasl_fake_secret);
    if (!mech) return say(out, tagged(c.tag, "NO", "CANNOT", "Unsupported authentication mechanism"));
    std::optional<std::string> decoded;
    if (a.initial_response) {
        // RFC 4959 §3: "=" is an empty initial response.
        if (*a.initial_response == "=") decoded = std::string();
        else decoded = sasl::base64_decode(*a.initial_response);
        if (!decoded) return say(out, tagged(c.tag, "BAD", "", "Bad base64 in the initial response"));
    }
    auto step = mech->start(decoded ? std::optional<std::string_view>(*decoded) : std::nullopt);
    if (decoded) wipe(*decoded);
    if (a.initial_response) wipe(*a.initial_response);
    sasl_step(c.tag, std::move(step), std::move(mech), out);
}

void Session::sasl_line(std::string_view line, std::string& out) {
    auto ex = std::move(std::get<SaslExchange>(pending_->what));
    pending_.reset();
    // RFC 9051 §6.2.2: "*" cancels; the command fails with BAD.
    if (line == "*") return say(out, tagged(ex.tag, "BAD", "", "AUTHENTICATE cancelled"));
    if (ex.final_empty) {
        if (!line.empty()) return auth_failed(out, ex.tag, "non-empty response after success data");
        return logged_in(out, ex.tag, ex.authcid);
    }
    auto decoded = sasl::base64_decode(line);
    if (!decoded) return say(out, tagged(ex.tag, "BAD", "", "Bad base64 in the response"));
    auto step = ex.mech->respond(*decoded);
    wipe(*decoded);
    sasl_step(ex.tag, std::move(step), std::move(ex.mech), out);
}

void Session::sasl_step(std::string tag, sasl::Step step, std::unique_ptr<sasl::Mechanism> mech, std::string& out) {
    using K = sasl::Step::Kind;
    switch (step.kind) {
        case K::Challenge:
            say(out, continuation(sasl::base64_encode(step.data)));
            pending_ = std::make_unique<Pending>(Pending{SaslExchange{std::move(tag), std::move(mech), false, {}}});
            reader_.expect_line();
            return;
        case K::VerifyPassword: {
            Verifying v;
            v.tag = std::move(tag);
            v.mech = std::move(mech);
            v.check.user = std::move(step.authcid);
            v.check.password = std::move(step.password);
            pending_ = std::make_unique<Pending>(Pending{std::move(v)});
            return;
        }
        case K::NeedScram:
            pending_ = std::make_unique<Pending>(Pending{ScramLookup{std::move(tag), std::move(mech), std::move(step.authcid)}});
            return;
        case K::Failure:
            return auth_failed(out, tag, step.data.empty() ? "sasl failure" : step.data);
        case K::Success:
            break;
    }
    // No proxy logins: the authorization identity, if given, must be the authenticated one.
    if (!step.authzid.empty() && host_.canonical_account(step.authzid) != host_.canonical_account(step.authcid))
        return auth_failed(out, tag, "authzid differs from authcid");
    if (!step.data.empty()) {
        // Success data (SCRAM's server-final message) goes in a last challenge answered by an
        // empty line (RFC 9051 §6.2.2, RFC 4422 §5).
        say(out, continuation(sasl::base64_encode(step.data)));
        pending_ = std::make_unique<Pending>(Pending{SaslExchange{std::move(tag), nullptr, true, std::move(step.authcid)}});
        reader_.expect_line();
        return;
    }
    logged_in(out, tag, step.authcid);
}

void Session::auth_failed(std::string& out, std::string_view tag, std::string_view why) {
    // One answer for unknown users and wrong passwords (RFC 5530 AUTHENTICATIONFAILED).
    log::info("imap[", id_, "] authentication failed: ", why);
    say(out, tagged(tag, "NO", "AUTHENTICATIONFAILED", "Authentication failed"));
    if (++auth_failures_ >= config_.limits.auth_failures) {
        say(out, untagged("BYE Too many failed logins"));
        state_ = State::Logout;
    }
}

void Session::logged_in(std::string& out, std::string_view tag, std::string_view user) {
    account_ = host_.canonical_account(user);
    state_ = State::Authenticated;
    reader_.set_limits(config_.limits.after_login);
    log::info("imap[", id_, "] logged in as ", account_);
    // RFC 9051 §6.2.2/§6.2.3: the capabilities may change at login; send them with the OK.
    say(out, tagged(tag, "OK", "CAPABILITY " + capabilities(), "Logged in"));
}

}  // namespace tern::imap
