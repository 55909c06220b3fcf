// The PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login-00) server mechanisms: parse what the client
// sends and hand authcid + password to the caller for checking. Must never keep a password after the
// VerifyPassword step that hands it over, nor accept a malformed or over-long message.
#include "proto/sasl/internal.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::sasl::detail {

namespace {

class Plain final : public Mechanism {
public:
    Step start(std::optional<std::string_view> initial) override {
        if (state_ != State::Start) return fail_here("PLAIN: start called twice");
        if (!initial) {
            // RFC 4422 §5 / RFC 4616 §2: the client sends first; without an initial response the server
            // sends an empty challenge.
            state_ = State::AwaitMessage;
            return challenge("");
        }
        return parse(*initial);
    }

    Step respond(std::string_view response) override {
        if (state_ != State::AwaitMessage) return fail_here("PLAIN: unexpected response");
        return parse(response);
    }

    Step verified(bool ok) override {
        if (state_ != State::AwaitVerdict) return fail_here("PLAIN: unexpected verdict");
        state_ = State::Done;
        if (!ok) return failure("bad password");
        Step s;
        s.kind = Step::Kind::Success;
        s.authcid = std::move(authcid_);
        s.authzid = std::move(authzid_);
        return s;
    }

private:
    enum class State { Start, AwaitMessage, AwaitVerdict, Done };

    Step fail_here(std::string reason) {
        state_ = State::Done;
        return failure(std::move(reason));
    }

    // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd; authcid and passwd are 1*SAFE
    // (UTF-8 without NUL), each field at most 255 octets. Exactly two NULs, so no field contains one.
    Step parse(std::string_view msg) {
        const auto nul1 = msg.find('\0');
        if (nul1 == std::string_view::npos) return fail_here("PLAIN: malformed message (no NUL)");
        const auto nul2 = msg.find('\0', nul1 + 1);
        if (nul2 == std::string_view::npos) return fail_here("PLAIN: malformed message (one NUL)");
        if (msg.find('\0', nul2 + 1) != std::string_view::npos) {
            return fail_here("PLAIN: malformed message (extra NUL)");
        }
        const auto authzid = msg.substr(0, nul1);
        const auto authcid = msg.substr(nul1 + 1, nul2 - nul1 - 1);
        const auto passwd = msg.substr(nul2 + 1);
        if (authcid.empty()) return fail_here("PLAIN: empty authentication identity");
        if (passwd.empty()) return fail_here("PLAIN: empty password");
        if (authzid.size() > kMaxField || authcid.size() > kMaxField || passwd.size() > kMaxField) {
            return fail_here("PLAIN: field longer than 255 octets");
        }
        if (!valid_utf8(authzid) || !valid_utf8(authcid) || !valid_utf8(passwd)) {
            return fail_here("PLAIN: field is not UTF-8");
        }
        if (!no_controls(authzid) || !no_controls(authcid)) {
            return fail_here("PLAIN: control character in an identity");
        }
        authcid_ = std::string(authcid);
        authzid_ = std::string(authzid);
        state_ = State::AwaitVerdict;
        Step s;
        s.kind = Step::Kind::VerifyPassword;
        s.authcid = authcid_;
        s.authzid = authzid_;
        s.password = std::string(passwd);  // the only copy this mechanism makes; owned by the caller
        return s;
    }

    State state_ = State::Start;
    std::string authcid_, authzid_;
};

// LOGIN has no RFC; draft-murchison-sasl-login-00 §2: the server prompts "Username:" then "Password:";
// an initial response, if any, is the user name. Fields: no NUL (passwords go to crypt(3)), at most 255
// octets like PLAIN. Old clients send passwords in legacy 8-bit charsets, so UTF-8 is not required.
class Login final : public Mechanism {
public:
    Step start(std::optional<std::string_view> initial) override {
        if (state_ != State::Start) return fail_here("LOGIN: start called twice");
        if (!initial) {
            state_ = State::AwaitUser;
            return challenge("Username:");
        }
        return take_user(*initial);
    }

    Step respond(std::string_view response) override {
        switch (state_) {
            case State::AwaitUser:
                return take_user(response);
            case State::AwaitPassword: {
                if (response.empty()) return fail_here("LOGIN: empty password");
                if (response.size() > kMaxField) return fail_here("LOGIN: password longer than 255 octets");
                if (response.find('\0') != std::string_view::npos) return fail_here("LOGIN: NUL in password");
                state_ = State::AwaitVerdict;
                Step s;
                s.kind = Step::Kind::VerifyPassword;
                s.authcid = user_;
                s.password = std::string(response);
                return s;
            }
            default:
                return fail_here("LOGIN: unexpected response");
        }
    }

    Step verified(bool ok) override {
        if (state_ != State::AwaitVerdict) return fail_here("LOGIN: unexpected verdict");
        state_ = State::Done;
        if (!ok) return failure("bad password");
        Step s;
        s.kind = Step::Kind::Success;
        s.authcid = std::move(user_);
        return s;
    }

private:
    enum class State { Start, AwaitUser, AwaitPassword, AwaitVerdict, Done };

    Step fail_here(std::string reason) {
        state_ = State::Done;
        return failure(std::move(reason));
    }

    Step take_user(std::string_view user) {
        if (user.empty()) return fail_here("LOGIN: empty user name");
        if (user.size() > kMaxField) return fail_here("LOGIN: user name longer than 255 octets");
        if (!no_controls(user)) return fail_here("LOGIN: control character in user name");
        user_ = std::string(user);
        state_ = State::AwaitPassword;
        return challenge("Password:");
    }

    State state_ = State::Start;
    std::string user_;
};

}  // namespace

std::unique_ptr<Mechanism> make_plain() {
    return std::make_unique<Plain>();
}
std::unique_ptr<Mechanism> make_login() {
    return std::make_unique<Login>();
}

}  // namespace tern::sasl::detail
