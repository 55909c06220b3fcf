// Test harness: drives a POP3 Session with no socket, playing the network layer (password checks,
// SCRAM lookups, TLS handshakes answered inline). The fake host has alice@example.org with three
// messages and bob@example.org with none; must never hide a host call the session made.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "proto/sasl/sasl.hpp"
#include "session/pop3/session.hpp"

namespace tern::pop3::testing {

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

struct FakeMessage {
    std::uint32_t uid;
    std::string data;
    std::string uidl;
};

class FakeHost : public Pop3Host {
public:
    FakeHost() {
        maildrops["alice@example.org"] = {
            {10, "Subject: one\r\n\r\nhello\r\n", "1795000000.10"},
            {11, "Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nend", "1795000000.11"},
            {12, "From: x\r\nSubject: three\r\n\r\nl1\r\nl2\r\nl3\r\n", "1795000000.12"},
        };
        maildrops["bob@example.org"] = {};
        passwords["alice@example.org"] = "secret";
        passwords["bob@example.org"] = "hunter2 with spaces";
        apop_secrets["alice@example.org"] = "tanstaaf";
    }

    LockResult lock(std::string_view account) override {
        lock_calls.push_back(std::string(account));
        if (lock_error) return LockResult::Error;
        if (!locked.insert(std::string(account)).second) return LockResult::InUse;
        return LockResult::Locked;
    }
    void unlock(std::string_view account) override {
        unlock_calls.push_back(std::string(account));
        EXPECT_EQ(locked.erase(std::string(account)), 1u) << "unlock of an unlocked maildrop";
    }
    Result<std::vector<MessageRef>> snapshot(std::string_view account) override {
        if (snapshot_fails) return fail("store down");
        std::vector<MessageRef> out;
        for (const auto& m : maildrops[std::string(account)]) out.push_back({m.uid, m.data.size(), m.uidl});
        return out;
    }
    Result<base::ByteSourceRef> open(std::string_view account, std::uint32_t uid) override {
        ++reads;
        if (read_fails) return fail("io error");
        for (const auto& m : maildrops[std::string(account)])
            if (m.uid == uid) {
                if (fail_read_at) return std::make_shared<const FailingSource>(m.data, *fail_read_at);
                return base::bytes_from_string(m.data);
            }
        return fail("no such uid", 2);
    }
    // A source whose reads fail from `at` on (the message expunged by another process mid-RETR).
    class FailingSource final : public base::ByteSource {
    public:
        FailingSource(std::string data, std::uint64_t at) : data_(std::move(data)), at_(at) {}
        std::uint64_t size() const override { return data_.size(); }
        Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
            if (offset >= at_) return fail("expunged", 2);
            std::size_t n = std::min<std::uint64_t>({out.size(), data_.size() - offset, at_ - offset});
            std::copy_n(data_.data() + offset, n, out.data());
            return n;
        }

    private:
        std::string data_;
        std::uint64_t at_;
    };
    std::optional<std::uint64_t> fail_read_at;
    Result<void> expunge(std::string_view account, std::vector<std::uint32_t> uids) override {
        expunged.push_back({std::string(account), uids});
        if (expunge_fails) return fail("disk full");
        auto& v = maildrops[std::string(account)];
        std::erase_if(v, [&](const FakeMessage& m) { return std::count(uids.begin(), uids.end(), m.uid) > 0; });
        return {};
    }
    std::optional<std::string> apop_secret(std::string_view user) override {
        auto it = apop_secrets.find(lower(user));
        if (it == apop_secrets.end()) return std::nullopt;
        return it->second;
    }
    std::string canonical_account(std::string_view user) override { return lower(user); }

    // What the network layer's password check would say (yescrypt in the real server).
    bool password_ok(std::string_view user, std::string_view password) const {
        auto it = passwords.find(lower(user));
        return it != passwords.end() && it->second == password;
    }

    std::map<std::string, std::vector<FakeMessage>> maildrops;
    std::map<std::string, std::string> passwords;
    std::map<std::string, std::string> apop_secrets;
    std::set<std::string> locked;
    std::vector<std::string> lock_calls, unlock_calls;
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> expunged;
    bool lock_error = false, snapshot_fails = false, read_fails = false, expunge_fails = false;
    int reads = 0;
};

inline SessionConfig make_config() {
    SessionConfig c;
    c.hostname = "pop.example.org";
    c.unique_token = "4242.1.1795000000";
    return c;
}

inline SessionConfig plaintext_config() {
    auto c = make_config();
    c.allow_plaintext_auth = true;
    return c;
}

inline SessionConfig tls_config() {
    auto c = make_config();
    c.tls_available = true;
    return c;
}

// Feeds input and plays the network layer: answers every request inline, collects all output.
class Transcript {
public:
    explicit Transcript(SessionConfig cfg = make_config(), FakeHost* shared = nullptr, std::string id = "P1")
        : host_(shared ? *shared : own_host_), session_(cfg, host_, std::move(id)) {
        greeting_ = session_.greeting();
    }

    std::string send(std::string_view bytes) {
        session_.receive(bytes);
        return drain();
    }
    std::string drain() {
        std::string out;
        for (;;) {
            auto a = session_.advance();
            out += a.output;
            switch (a.next) {
                case Session::Next::VerifyPassword: {
                    auto c = session_.take_password_check();
                    checked_users.push_back(c.user);
                    session_.password_checked(host_.password_ok(c.user, c.password));
                    continue;
                }
                case Session::Next::LookupScram: {
                    std::string user = session_.scram_user();
                    scram_users.push_back(user);
                    auto it = scram.find(lower(user));
                    session_.scram_credentials(it == scram.end() ? std::nullopt
                                                                 : std::optional<sasl::ScramCredentials>(it->second));
                    continue;
                }
                case Session::Next::StartTls:
                    ++tls_handshakes;
                    // Bytes the client sent before the handshake that the network layer still holds.
                    if (!during_handshake.empty()) session_.receive(during_handshake);
                    session_.tls_started();
                    continue;
                case Session::Next::Continue:
                    ++continues;
                    continue;
                case Session::Next::Expunge: {
                    auto req = session_.take_expunge();
                    session_.expunged(host_.expunge(req.account, req.uids));
                    continue;
                }
                case Session::Next::Read:
                    return out;
                case Session::Next::Close:
                    closed = true;
                    return out;
            }
        }
    }

    FakeHost& host() { return host_; }
    Session& session() { return session_; }
    const std::string& greeting() const { return greeting_; }

    std::vector<std::string> checked_users, scram_users;
    std::map<std::string, sasl::ScramCredentials> scram;
    std::string during_handshake;
    int tls_handshakes = 0;
    int continues = 0;
    bool closed = false;

private:
    FakeHost own_host_;
    FakeHost& host_;
    Session session_;
    std::string greeting_;
};

inline std::string b64(std::string_view s) { return sasl::base64_encode(s); }

}  // namespace tern::pop3::testing
