// Test harness: drives an IMAP Session with no socket over an in-memory store, playing the network
// layer (password checks, TLS handshakes answered inline). alice@example.org (password "secret")
// has three messages in INBOX; bob@example.org has none. Must never hide a request the session made.
#pragma once
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "session/imap/session.hpp"
#include "store/store.hpp"

namespace tern::imap::testing {

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

class FakeHost : public ImapHost {
public:
    std::string canonical_account(std::string_view user) override { return lower(user); }
};

inline const char* kMessage1 =
    "From: Ann Example <ann@example.net>\r\nTo: alice@example.org\r\nSubject: first\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.net>\r\n\r\nhello world\r\n";
inline const char* kMessage2 =
    "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\npart one\r\n"
    "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAw==\r\n--b1--\r\n";
inline const char* kMessage3 = "Subject: third\r\n\r\nthe third message\r\n";

// A store with the accounts above; internal dates are fixed so responses are reproducible.
inline std::unique_ptr<store::MailStore> make_store() {
    auto s = store::make_memory_store();
    EXPECT_TRUE(s->create_account("alice@example.org"));
    EXPECT_TRUE(s->create_account("bob@example.org"));
    std::vector<store::NewMessage> batch;
    std::int64_t date = 1796637600;  // 2026-12-07 10:00:00 UTC
    for (const char* m : {kMessage1, kMessage2, kMessage3}) {
        store::NewMessage n;
        n.account = "alice@example.org";
        n.data = m;
        n.internal_date = date++;
        batch.push_back(std::move(n));
    }
    EXPECT_TRUE(s->append(batch));
    // An earlier session has seen them: no longer \Recent (RFC 3501 §2.3.2), so transcripts show
    // \Recent only where a test makes new mail (imap_recent_test.cpp).
    auto inbox = s->open_mailbox("alice@example.org", "INBOX");
    EXPECT_TRUE(inbox && s->claim_recent(*inbox, 4));
    return s;
}

inline SessionConfig plaintext_config() {
    SessionConfig c;
    c.hostname = "imap.example.org";
    c.allow_plaintext_auth = true;
    return c;
}

inline SessionConfig tls_config() {
    SessionConfig c;
    c.hostname = "imap.example.org";
    c.tls_available = true;
    return c;
}

// UIDVALIDITY comes from the clock: replaced by "V" so transcripts compare across stores.
inline std::string normalize(std::string s) {
    static const std::regex v(R"((UIDVALIDITY|COPYUID|APPENDUID) \d+)");
    return std::regex_replace(s, v, "$1 V");
}

class Transcript {
public:
    explicit Transcript(SessionConfig cfg = plaintext_config(), store::MailStore* shared = nullptr, std::string id = "I1")
        : own_store_(shared ? nullptr : make_store()), store_(shared ? *shared : *own_store_),
          session_(cfg, store_, host_, std::move(id)) {
        greeting_ = session_.greeting();
    }

    std::string send(std::string_view bytes) {
        session_.receive(bytes);
        return drain();
    }
    // Runs advance() until the session waits for input (Read or Idle) or closes.
    std::string drain() {
        std::string out;
        for (int guard = 0; guard < 100000; ++guard) {
            auto a = session_.advance();
            out += a.output;
            last_next = a.next;
            switch (a.next) {
                case Session::Next::VerifyPassword: {
                    auto c = session_.take_password_check();
                    checked_users.push_back(c.user);
                    auto it = passwords.find(lower(c.user));
                    session_.password_checked(it != passwords.end() && it->second == c.password);
                    continue;
                }
                case Session::Next::LookupScram:
                    session_.scram_credentials(std::nullopt);
                    continue;
                case Session::Next::StartTls:
                    ++tls_handshakes;
                    if (!during_handshake.empty()) session_.receive(during_handshake);
                    session_.tls_started();
                    continue;
                case Session::Next::Continue:
                    ++continues;
                    continue;
                case Session::Next::StartCompress:
                    // Played as a network layer that inflates: later send()s stay plain text.
                    ++compress_starts;
                    unread_at_compress += session_.take_unread();
                    continue;
                case Session::Next::Read:
                case Session::Next::Idle:
                    return out;
                case Session::Next::Close:
                    closed = true;
                    return out;
            }
        }
        ADD_FAILURE() << "the session never waited for input";
        return out;
    }
    std::string login(std::string user = "alice@example.org", std::string password = "secret") {
        return send("L1 LOGIN " + user + " " + password + "\r\n");
    }
    std::string select(std::string box = "INBOX") {
        login();
        return send("S1 SELECT " + box + "\r\n");
    }

    store::MailStore& store() { return store_; }
    Session& session() { return session_; }
    const std::string& greeting() const { return greeting_; }

    std::map<std::string, std::string> passwords{{"alice@example.org", "secret"}, {"bob@example.org", "hunter2"}};
    std::vector<std::string> checked_users;
    std::string during_handshake;
    int tls_handshakes = 0;
    int continues = 0;
    int compress_starts = 0;
    std::string unread_at_compress;
    bool closed = false;
    Session::Next last_next = Session::Next::Read;

private:
    FakeHost host_;
    std::unique_ptr<store::MailStore> own_store_;
    store::MailStore& store_;
    Session session_;
    std::string greeting_;
};

// Whether `haystack` contains `needle` as a whole line (CRLF-terminated).
inline bool has_line(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle + "\r\n") != std::string::npos;
}

}  // namespace tern::imap::testing
