// IMAP FETCH when a message's data stops being readable mid-command (another session expunged
// it after FETCH opened it): the response must stay well-formed (NIL for the section) and the
// command end with NO [EXPUNGEISSUED]. A store wrapper makes the message's reads fail after the
// N-th, for every N, so each point of failure is covered without a race.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>

#include "forwarding_store.hpp"
#include "session/imap/session.hpp"
#include "store/store.hpp"

namespace tern {
namespace {

using store::MailStore;

// Reads of the wrapped source succeed `budget` times, then fail with ENOENT (as an expunged
// message's do).
class FailingSource : public base::ByteSource {
public:
    FailingSource(base::ByteSourceRef inner, std::shared_ptr<std::atomic<int>> budget)
        : inner_(std::move(inner)), budget_(std::move(budget)) {}
    std::uint64_t size() const override { return inner_->size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (budget_->fetch_sub(1) <= 0) return std::unexpected(Error{"expunged", ENOENT});
        return inner_->read(offset, out);
    }

private:
    base::ByteSourceRef inner_;
    std::shared_ptr<std::atomic<int>> budget_;
};

// Every call goes to the memory store; open_message(handle, uid) hands out a FailingSource.
class FlakyStore final : public testing::ForwardingStore {
public:
    FlakyStore() : ForwardingStore(store::make_memory_store()) {}
    std::shared_ptr<std::atomic<int>> budget = std::make_shared<std::atomic<int>>(1 << 30);

    // Both overloads: a name-based open would otherwise be hidden by the one overridden here.
    using ForwardingStore::open_message;
    Result<base::ByteSourceRef> open_message(const Handle& b, std::uint32_t u) override {
        auto src = inner_->open_message(b, u);
        if (!src) return src;
        return std::make_shared<FailingSource>(*src, budget);
    }
};

class Host : public imap::ImapHost {
public:
    std::string canonical_account(std::string_view user) override { return std::string(user); }
};

// Runs one command line through the session, answering password checks with "yes".
std::string command(imap::Session& s, std::string_view line) {
    s.receive(line);
    std::string out;
    for (int i = 0; i < 1000; ++i) {
        auto a = s.advance();
        out += a.output;
        if (a.next == imap::Session::Next::VerifyPassword) {
            (void)s.take_password_check();
            s.password_checked(true);
            continue;
        }
        if (a.next == imap::Session::Next::Continue) continue;
        break;
    }
    return out;
}

TEST(ImapFetch, UnreadableSectionIsNilAndExpungeIssued) {
    bool saw_nil = false;
    for (int budget = 0; budget < 40; ++budget) {
        FlakyStore st;
        ASSERT_TRUE(st.create_account("u@example.org"));
        store::NewMessage m;
        m.account = "u@example.org";
        m.data = "From: a@example.org\r\nCc: b@example.org\r\nSubject: s\r\n\r\nbody\r\n";
        ASSERT_TRUE(st.append(std::span<const store::NewMessage>(&m, 1)));
        Host host;
        imap::SessionConfig cfg;
        cfg.allow_plaintext_auth = true;
        imap::Session s(cfg, st, host, "T");
        (void)s.greeting();
        ASSERT_NE(command(s, "a LOGIN u@example.org pw\r\n").find("a OK"), std::string::npos);
        ASSERT_NE(command(s, "b SELECT INBOX\r\n").find("b OK"), std::string::npos);
        *st.budget = budget;
        std::string out = command(s, "c FETCH 1 (BODY.PEEK[HEADER.FIELDS (CC)] RFC822.SIZE)\r\n");
        SCOPED_TRACE("reads allowed: " + std::to_string(budget) + "\n" + out);
        // Never a section name without its value ("BODY[HEADER.FIELDS (CC)] RFC822.SIZE" or "] )").
        EXPECT_EQ(out.find("] )"), std::string::npos);
        EXPECT_EQ(out.find("] RFC822.SIZE"), std::string::npos);
        if (out.find("BODY[HEADER.FIELDS (CC)] NIL") != std::string::npos) {
            saw_nil = true;
            EXPECT_NE(out.find("c NO [EXPUNGEISSUED]"), std::string::npos);
        }
        if (out.find("c OK") != std::string::npos) {
            EXPECT_NE(out.find("Cc: b@example.org"), std::string::npos);
            break;  // enough reads for the whole command: every earlier failure point is covered
        }
    }
    EXPECT_TRUE(saw_nil) << "no failure point between parsing the message and reading the section";
}

}  // namespace
}  // namespace tern
