// Shared by the delivery tests: a temp data directory with the SQLite directory (example.org:
// alice, bob, team = alice+bob), the in-memory store and a real spool (no fsync), and a spool
// wrapper that keeps what the scheduler records. Test code only.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "directory/directory.hpp"
#include "queue/spool.hpp"
#include "store/store.hpp"

namespace tern::delivery::fixture {

namespace fs = std::filesystem;

class DeliveryTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_path = fs::temp_directory_path() / ("tern-delivery-" + std::to_string(::getpid()) + "-" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_path);
        fs::create_directories(dir_path);
        dir = std::move(*directory::open_sqlite_directory(dir_path));
        ASSERT_TRUE(dir->add_domain("example.org"));
        ASSERT_TRUE(dir->add_user("alice@example.org", "pw"));
        ASSERT_TRUE(dir->add_user("bob@example.org", "pw"));
        ASSERT_TRUE(dir->add_alias("team@example.org", {"alice@example.org", "bob@example.org"}));
        store = store::make_memory_store();
        queue::SpoolOptions o;
        o.dir = dir_path / "spool";
        o.fsync = false;
        spool = std::move(*queue::Spool::open(o));
    }
    void TearDown() override {
        spool->close();
        fs::remove_all(dir_path);
    }

    // Commits a message through the spool and returns what the scheduler gets.
    queue::QueuedMessage submit(std::vector<std::string> rcpts, std::string body, std::int64_t received_at = 0) {
        queue::Envelope e;
        e.mail_from = "sender@remote.example";
        e.received_at = received_at;
        for (auto& r : rcpts) e.recipients.push_back({r, {}, ""});
        std::promise<Result<queue::QueueId>> p;
        auto f = p.get_future();
        spool->submit(e, std::move(body), [&p](Result<queue::QueueId> r) { p.set_value(r); });
        auto id = f.get();
        EXPECT_TRUE(id);
        queue::QueuedMessage m;
        m.id = *id;
        m.envelope = e;
        m.states.resize(e.recipients.size());
        return m;
    }

    std::size_t count(const std::string& account) {
        auto l = store->list_messages(account, "INBOX");
        return l ? l->size() : 0;
    }

    fs::path dir_path;
    std::unique_ptr<directory::Directory> dir;
    std::unique_ptr<store::MailStore> store;
    std::unique_ptr<queue::Spool> spool;
};

// The spool, with every recipient update the scheduler records kept for the test to read.
class RecordingSpool : public queue::Spool {
public:
    explicit RecordingSpool(queue::Spool& inner) : inner_(inner) {}
    std::vector<queue::QueuedMessage> recovered() override { return inner_.recovered(); }
    using queue::Spool::submit;
    void submit(queue::Envelope e, queue::IncomingBody m, CommitCallback done) override {
        auto copy = e;
        inner_.submit(std::move(e), std::move(m), [this, copy, done = std::move(done)](Result<queue::QueueId> r) {
            if (r) {
                std::lock_guard lock(mu_);
                submitted_.emplace_back(*r, copy);
            }
            done(r);
        });
    }
    std::vector<std::pair<queue::QueueId, queue::Envelope>> submitted() {
        std::lock_guard lock(mu_);
        return submitted_;
    }
    void update(queue::QueueId id, std::size_t rcpt, const queue::RecipientState& state) override {
        {
            std::lock_guard lock(mu_);
            last_[{id, rcpt}] = state;
            ++updates_[{id, rcpt}];
        }
        inner_.update(id, rcpt, state);
    }
    Result<void> flush() override { return inner_.flush(); }
    Result<std::string> read_message(queue::QueueId id) override { return inner_.read_message(id); }
    Result<base::ByteSourceRef> open_message(queue::QueueId id) override { return inner_.open_message(id); }
    Result<void> compact() override { return inner_.compact(); }
    std::uint64_t sync_count() const override { return inner_.sync_count(); }
    void close() override { inner_.close(); }

    std::optional<queue::RecipientState> last(queue::QueueId id, std::size_t rcpt) {
        std::lock_guard lock(mu_);
        auto it = last_.find({id, rcpt});
        if (it == last_.end()) return std::nullopt;
        return it->second;
    }
    int updates(queue::QueueId id, std::size_t rcpt) {
        std::lock_guard lock(mu_);
        return updates_[{id, rcpt}];
    }

private:
    queue::Spool& inner_;
    std::mutex mu_;
    std::map<std::pair<queue::QueueId, std::size_t>, queue::RecipientState> last_;
    std::map<std::pair<queue::QueueId, std::size_t>, int> updates_;
    std::vector<std::pair<queue::QueueId, queue::Envelope>> submitted_;
};

constexpr std::int64_t kDay = 24 * 60 * 60;

inline std::int64_t wall_clock() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace tern::delivery::fixture
