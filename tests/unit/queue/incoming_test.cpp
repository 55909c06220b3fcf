// Tests for IncomingBody and for submitting a spilled body to the spool: memory stays bounded,
// no named file is left in the spool directory, and the bytes that reach the segment are exactly
// those appended, in any split. Each test works in its own temporary directory.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <string>

#include "queue/incoming.hpp"
#include "queue/spool.hpp"

namespace tern::queue {
namespace {

namespace fs = std::filesystem;

std::string pattern(std::size_t size) {
    std::string s;
    s.reserve(size);
    for (std::size_t i = 0; s.size() < size; ++i) s += "line " + std::to_string(i) + " of the big body\r\n";
    s.resize(size);
    return s;
}

class IncomingTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-incoming-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    std::size_t entries() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& de : fs::directory_iterator(dir)) ++n;
        return n;
    }
    fs::path dir;
};

TEST_F(IncomingTest, SmallBodiesStayInMemory) {
    IncomingBody b(dir, 1024);
    ASSERT_TRUE(b.append("Subject: x\r\n\r\n"));
    ASSERT_TRUE(b.append("hello\r\n"));
    ASSERT_TRUE(b.finish());
    EXPECT_FALSE(b.spilled());
    EXPECT_EQ(b.memory(), "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(b.size(), 21u);
    EXPECT_EQ(entries(), 0u);
}

TEST_F(IncomingTest, LargeBodiesSpillToANamelessFileAndHoldLittleMemory) {
    const std::string want = pattern(3u << 20);
    IncomingBody b(dir, 64u << 10);
    for (std::size_t at = 0; at < want.size(); at += 1000) {
        ASSERT_TRUE(b.append(std::string_view(want).substr(at, 1000)));
        ASSERT_LE(b.memory().capacity(), (64u << 10) + IncomingBody::kWriteBuffer + 4096) << at;
    }
    ASSERT_TRUE(b.finish());
    EXPECT_TRUE(b.spilled());
    EXPECT_EQ(b.size(), want.size());
    EXPECT_EQ(entries(), 0u) << "no named file in the spool directory";
    auto got = b.read_all();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, want);
}

TEST_F(IncomingTest, MovedBodiesKeepTheirFile) {
    IncomingBody a(dir, 10);
    ASSERT_TRUE(a.append(pattern(100)));
    IncomingBody b = std::move(a);
    ASSERT_TRUE(b.finish());
    EXPECT_EQ(*b.read_all(), pattern(100));
}

TEST_F(IncomingTest, SpillingWhereNoFileCanBeMadeSaysSo) {
    IncomingBody b(dir / "missing", 10);
    auto r = b.append(pattern(100));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("spill"), std::string::npos) << r.error().message;
}

// A spilled body reaches the segment byte for byte and survives replay; spilled and in-memory
// submissions mix in one group commit.
TEST_F(IncomingTest, SpoolTakesSpilledBodies) {
    SpoolOptions o;
    o.dir = dir / "spool";
    o.fsync = false;
    auto spool = Spool::open(o);
    ASSERT_TRUE(spool);
    Envelope env;
    env.mail_from = "a@example.org";
    env.recipients.push_back(Recipient{"b@example.net", {}, ""});
    std::vector<std::pair<QueueId, std::string>> sent;
    std::vector<std::future<Result<QueueId>>> waits;
    std::vector<std::shared_ptr<std::promise<Result<QueueId>>>> promises;
    for (std::size_t size : {std::size_t{10}, std::size_t{5u << 20}, std::size_t{300}, std::size_t{(2u << 20) + 7}}) {
        std::string body = pattern(size);
        IncomingBody b(o.dir, 256u << 10);
        for (std::size_t at = 0; at < body.size(); at += 65000) ASSERT_TRUE(b.append(std::string_view(body).substr(at, 65000)));
        auto p = std::make_shared<std::promise<Result<QueueId>>>();
        waits.push_back(p->get_future());
        promises.push_back(p);
        (*spool)->submit(env, std::move(b), [p](Result<QueueId> r) { p->set_value(std::move(r)); });
        sent.emplace_back(0, body);
    }
    for (std::size_t i = 0; i < waits.size(); ++i) {
        auto id = waits[i].get();
        ASSERT_TRUE(id) << id.error().message;
        sent[i].first = *id;
    }
    for (const auto& [id, body] : sent) {
        auto got = (*spool)->read_message(id);
        ASSERT_TRUE(got) << got.error().message;
        EXPECT_EQ(*got, body);
    }
    (*spool)->close();
    spool = Spool::open(o);
    ASSERT_TRUE(spool);
    EXPECT_EQ((*spool)->recovered().size(), sent.size());
    for (const auto& [id, body] : sent) EXPECT_EQ(*(*spool)->read_message(id), body);
    for (const auto& de : fs::directory_iterator(o.dir))
        EXPECT_EQ(de.path().extension(), ".log") << de.path();
}

}  // namespace
}  // namespace tern::queue
