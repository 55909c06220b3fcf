// Tests for the read-only queue view behind `ternd queue list|show`: it reads the segments of a
// spool that is open and writing (no lock), sees the last state of every recipient, leaves out
// finished messages, reports damaged records, and never changes the directory.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "queue/inspect.hpp"
#include "queue/spool.hpp"

namespace tern::queue {
namespace {

namespace fs = std::filesystem;
using Status = RecipientState::Status;

class InspectTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-inspect-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        SpoolOptions o;
        o.dir = dir;
        o.fsync = false;
        auto s = Spool::open(o);
        ASSERT_TRUE(s);
        spool = std::move(*s);
    }
    void TearDown() override {
        spool.reset();
        fs::remove_all(dir);
    }
    QueueId submit(const std::string& from, std::vector<std::string> rcpts, const std::string& body) {
        Envelope e;
        e.mail_from = from;
        for (auto& r : rcpts) e.recipients.push_back(Recipient{r, {}, ""});
        std::promise<Result<QueueId>> p;
        spool->submit(e, body, [&](Result<QueueId> r) { p.set_value(std::move(r)); });
        auto id = p.get_future().get();
        EXPECT_TRUE(id);
        return id.value_or(0);
    }
    std::set<fs::path> listing() const {
        std::set<fs::path> out;
        for (const auto& de : fs::directory_iterator(dir)) out.insert(de.path());
        return out;
    }
    fs::path dir;
    std::unique_ptr<Spool> spool;
};

TEST_F(InspectTest, ShowsWaitingMessagesWithTheirLastStatesWhileTheSpoolRuns) {
    QueueId done = submit("a@example.org", {"x@example.net"}, "Subject: done\r\n\r\nbody\r\n");
    QueueId half = submit("b@example.org", {"y@example.net", "z@remote.example"}, "Subject: half\r\n\r\nbody\r\n");
    spool->update(done, 0, {Status::Delivered, 0, 1, "250 2.0.0 delivered"});
    spool->update(half, 0, {Status::Delivered, 0, 1, "250 2.0.0 delivered"});
    spool->update(half, 1, {Status::Deferred, 1900000000, 1, "451 4.4.0 first"});
    spool->update(half, 1, {Status::Deferred, 1900000900, 2, "451 4.4.0 second"});
    ASSERT_TRUE(spool->flush());
    auto before = listing();

    auto snap = inspect_queue(dir);
    ASSERT_TRUE(snap) << snap.error().message;
    EXPECT_TRUE(snap->problems.empty());
    ASSERT_EQ(snap->waiting.size(), 1u) << "the finished message is left out";
    const auto& m = snap->waiting[0];
    EXPECT_EQ(m.id, half);
    EXPECT_EQ(m.envelope.mail_from, "b@example.org");
    EXPECT_EQ(m.states[0].status, Status::Delivered);
    EXPECT_EQ(m.states[1], (RecipientState{Status::Deferred, 1900000900, 2, "451 4.4.0 second"}));
    EXPECT_EQ(m.size, std::string("Subject: half\r\n\r\nbody\r\n").size());

    auto headers = inspect_headers(dir, half);
    ASSERT_TRUE(headers);
    EXPECT_EQ(*headers, "Subject: half\r\n");
    auto missing = inspect_headers(dir, done + 1000);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_EQ(listing(), before) << "a read-only view";

    // The spool goes on writing; a later look sees the change.
    spool->update(half, 1, {Status::Delivered, 0, 3, "250 2.0.0 delivered"});
    ASSERT_TRUE(spool->flush());
    snap = inspect_queue(dir);
    ASSERT_TRUE(snap);
    EXPECT_TRUE(snap->waiting.empty());
}

TEST_F(InspectTest, DamagedRecordsAreReportedAndSkipped) {
    QueueId a = submit("a@example.org", {"x@example.net"}, "Subject: a\r\n\r\nthe body of a\r\n");
    QueueId b = submit("b@example.org", {"y@example.net"}, "Subject: b\r\n\r\nthe body of b\r\n");
    ASSERT_TRUE(spool->flush());
    fs::path seg;
    for (const auto& de : fs::directory_iterator(dir)) seg = de.path();
    std::string data;
    {
        std::ifstream in(seg, std::ios::binary);
        data.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto pos = data.find("the body of a");
    ASSERT_NE(pos, std::string::npos);
    {
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(pos));
        f.put('T');
    }
    auto snap = inspect_queue(dir);
    ASSERT_TRUE(snap);
    ASSERT_EQ(snap->waiting.size(), 1u);
    EXPECT_EQ(snap->waiting[0].id, b);
    ASSERT_EQ(snap->problems.size(), 1u);
    EXPECT_NE(snap->problems[0].find(format_queue_id(a)), std::string::npos) << snap->problems[0];
}

TEST(QueueId, FormatsAsTheServerPrintsAndParsesBack) {
    EXPECT_EQ(format_queue_id(0x662026D595858ull), "000662026D595858");
    EXPECT_EQ(parse_queue_id("000662026D595858"), 0x662026D595858ull);
    EXPECT_EQ(parse_queue_id("662026d595858"), 0x662026D595858ull);
    EXPECT_FALSE(parse_queue_id(""));
    EXPECT_FALSE(parse_queue_id("xyz"));
    EXPECT_FALSE(parse_queue_id("00000000000000000"));  // 17 digits
}

}  // namespace
}  // namespace tern::queue
