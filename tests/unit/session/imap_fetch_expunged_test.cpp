// IMAP FETCH when a message's data stops being readable mid-command (another session expunged
// it after FETCH opened it): the response must stay well-formed (NIL for the section) and the
// command end with NO [EXPUNGEISSUED]. A store wrapper makes the message's reads fail after the
// N-th, for every N, so each point of failure is covered without a race.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>

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
class FlakyStore : public MailStore {
public:
    std::unique_ptr<MailStore> s = store::make_memory_store();
    std::shared_ptr<std::atomic<int>> budget = std::make_shared<std::atomic<int>>(1 << 30);

    Result<void> create_account(std::string_view a) override { return s->create_account(a); }
    Result<void> delete_account(std::string_view a) override { return s->delete_account(a); }
    Result<bool> has_account(std::string_view a) override { return s->has_account(a); }
    Result<std::vector<store::MailboxInfo>> list_mailboxes(std::string_view a) override { return s->list_mailboxes(a); }
    Result<store::MailboxInfo> mailbox(std::string_view a, std::string_view n) override { return s->mailbox(a, n); }
    Result<void> create_mailbox(std::string_view a, std::string_view n, store::SpecialUse u) override {
        return s->create_mailbox(a, n, u);
    }
    Result<std::vector<store::Appended>> append(std::span<const store::NewMessage> b) override { return s->append(b); }
    Result<std::vector<store::MessageInfo>> list_messages(std::string_view a, std::string_view m) override {
        return s->list_messages(a, m);
    }
    Result<std::string> read_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        return s->read_message(a, m, u);
    }
    Result<base::ByteSourceRef> open_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        return s->open_message(a, m, u);
    }
    Result<void> set_flags(std::string_view a, std::string_view m, std::uint32_t u, std::vector<std::string> f) override {
        return s->set_flags(a, m, u, std::move(f));
    }
    Result<void> expunge(std::string_view a, std::string_view m, std::span<const std::uint32_t> u) override {
        return s->expunge(a, m, u);
    }
    Result<std::uint64_t> forget_delivered_before(std::int64_t b) override { return s->forget_delivered_before(b); }
    Result<std::uint64_t> count_bodies() override { return s->count_bodies(); }
    Result<store::MailboxHandle> open_mailbox(std::string_view a, std::string_view n) override {
        return s->open_mailbox(a, n);
    }
    Result<store::MailboxInfo> mailbox_info(const store::MailboxHandle& b) override { return s->mailbox_info(b); }
    Result<std::vector<store::MessageInfo>> list_messages(const store::MailboxHandle& b, std::uint32_t from,
                                                          std::uint64_t since) override {
        return s->list_messages(b, from, since);
    }
    Result<std::vector<std::uint32_t>> expunged_since(const store::MailboxHandle& b, std::uint64_t since) override {
        return s->expunged_since(b, since);
    }
    Result<base::ByteSourceRef> open_message(const store::MailboxHandle& b, std::uint32_t u) override {
        auto src = s->open_message(b, u);
        if (!src) return src;
        return std::make_shared<FailingSource>(*src, budget);
    }
    Result<store::StoreFlagsResult> store_flags(const store::MailboxHandle& b, std::span<const std::uint32_t> u,
                                                store::FlagMode m, std::span<const std::string> f,
                                                std::optional<std::uint64_t> since) override {
        return s->store_flags(b, u, m, f, since);
    }
    Result<store::ExpungeResult> expunge(const store::MailboxHandle& b, std::span<const std::uint32_t> u) override {
        return s->expunge(b, u);
    }
    Result<store::CopyResult> copy_messages(const store::MailboxHandle& f, std::span<const std::uint32_t> u,
                                            std::string_view to) override {
        return s->copy_messages(f, u, to);
    }
    Result<std::pair<store::CopyResult, store::ExpungeResult>> move_messages(const store::MailboxHandle& f,
                                                                             std::span<const std::uint32_t> u,
                                                                             std::string_view to) override {
        return s->move_messages(f, u, to);
    }
    Result<void> rename_mailbox(std::string_view a, std::string_view f, std::string_view t) override {
        return s->rename_mailbox(a, f, t);
    }
    Result<void> delete_mailbox(std::string_view a, std::string_view n) override { return s->delete_mailbox(a, n); }
    Result<void> set_subscribed(std::string_view a, std::string_view n, bool on) override {
        return s->set_subscribed(a, n, on);
    }
    Result<std::vector<std::string>> subscriptions(std::string_view a) override { return s->subscriptions(a); }
    Result<store::ExpungeResult> expunge_deleted(const store::MailboxHandle& b, std::span<const std::uint32_t> u) override {
        return s->expunge_deleted(b, u);
    }
    Result<std::optional<std::string>> summary(const store::MailboxHandle& b, std::uint32_t u) override {
        return s->summary(b, u);
    }
    Result<void> set_summaries(const store::MailboxHandle& b,
                               std::span<const std::pair<std::uint32_t, std::string>> items) override {
        return s->set_summaries(b, items);
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
