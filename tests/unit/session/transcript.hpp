// Test harness: drives an SMTP Session with no socket, like a conversation transcript.
// The fake host knows example.org with alice and bob; everything else is remote.
#pragma once
#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "session/smtp/session.hpp"

namespace tern::smtp::testing {

class FakeHost : public SessionHost {
public:
    std::set<std::string> users{"alice@example.org", "bob@example.org", "postmaster@example.org"};
    bool lookups_fail = false;
    RcptVerdict check_recipient(const Mailbox& rcpt, std::string_view auth) override {
        if (lookups_fail) return RcptVerdict::TemporaryFailure;
        if (rcpt.domain != "example.org") return auth.empty() ? RcptVerdict::RelayDenied : RcptVerdict::Accept;
        std::string key = rcpt.str();
        for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return users.count(key) ? RcptVerdict::Accept : RcptVerdict::UnknownUser;
    }
    std::string postmaster_domain() override { return "example.org"; }
    std::int64_t now() override { return 1795000000; }
    std::string canonical_account(std::string_view authcid) override {
        std::string s(authcid);
        for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return s;
    }
    bool sender_allowed(std::string_view account, std::string_view address) override {
        return canonical_account(address) == account || (account == "alice@example.org" && address == "sales@example.org");
    }
    std::uint64_t room = UINT64_MAX;  // octets the queue can take
    std::uint64_t last_size_asked = 0;
    bool queue_has_room(std::uint64_t size) override {
        last_size_asked = size;
        return size < room;
    }
};

// What a test sees of a commit: the envelope and the message as the spool would receive it.
struct Committed {
    queue::Envelope envelope;
    std::string message;
    bool spilled = false;  // the body had gone to a spill file
};

// Feeds input, answers commits (with success unless told otherwise), collects all output.
class Transcript {
public:
    explicit Transcript(SessionConfig cfg = make_config()) : session_(cfg, host_, "192.0.2.7", "T1") {
        greeting_ = session_.greeting();
    }
    static SessionConfig make_config() {
        SessionConfig c;
        c.hostname = "mx.example.org";
        return c;
    }

    // Sends bytes and returns every reply they caused.
    std::string send(std::string_view bytes) {
        session_.receive(bytes);
        return drain();
    }
    std::string drain() {
        std::string out;
        for (;;) {
            auto a = session_.advance();
            out += a.output;
            if (a.next == Session::Next::Commit) {
                auto c = session_.take_commit();
                auto text = c.message.read_all();
                commits.push_back(Committed{std::move(c.envelope), text ? std::move(*text) : "<unreadable body>",
                                            c.message.spilled()});
                if (fail_commits) session_.committed(fail("queue write failed", commit_errno));
                else session_.committed(++next_id);
                continue;
            }
            closed = a.next == Session::Next::Close;
            return out;
        }
    }

    FakeHost& host() { return host_; }
    Session& session() { return session_; }
    const std::string& greeting() const { return greeting_; }

    std::vector<Committed> commits;
    bool fail_commits = false;
    int commit_errno = EIO;  // with fail_commits: ENOSPC is what the spool says when the disk is full
    bool closed = false;
    std::uint64_t next_id = 0;

private:
    FakeHost host_;
    Session session_;
    std::string greeting_;
};

// The body of a committed message without the Received: header the session prepends.
inline std::string body_of(const Committed& c) {
    auto pos = c.message.find("\r\n", c.message.find("; "));
    return c.message.substr(pos + 2);
}

}  // namespace tern::smtp::testing
