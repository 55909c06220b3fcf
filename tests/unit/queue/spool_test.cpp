// Tests for the durable spool: group commit, replay after reopen, recipient states, deletion of
// finished segments, torn tails, corruption, compaction and id monotonicity. Each test works in its
// own temporary directory and must never touch a real spool.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "queue/record.hpp"
#include "queue/spool.hpp"

namespace tern::queue {
namespace {

namespace fs = std::filesystem;
using Status = RecipientState::Status;

Envelope make_envelope(int n, std::size_t recipients = 2) {
    Envelope e;
    e.mail_from = "sender" + std::to_string(n) + "@exämple.org";
    for (std::size_t i = 0; i < recipients; ++i) {
        Recipient r;
        r.address = "rcpt" + std::to_string(i) + "+" + std::to_string(n) + "@example.net";
        r.notify.specified = i % 2 == 0;
        r.notify.failure = i % 2 == 0;
        r.orcpt = i == 0 ? "rfc822;Orig" + std::to_string(n) + "@example.net" : "";
        e.recipients.push_back(r);
    }
    e.ret = smtp::DsnRet::Full;
    e.envid = "env-" + std::to_string(n);
    e.body = smtp::BodyType::EightBitMime;
    e.smtputf8 = true;
    e.auth_user = n % 3 == 0 ? "alice" : "";
    e.client_ip = "192.0.2." + std::to_string(n % 250);
    e.helo = "client.example";
    e.received_at = 1700000000 + n;
    return e;
}

std::string make_body(int n) {
    std::string b = "Subject: message " + std::to_string(n) + "\r\n\r\n";
    b += std::string(static_cast<std::size_t>(n % 97) * 13, static_cast<char>('a' + n % 26));
    b += "\r\nend ✓\r\n";
    return b;
}

class SpoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-spool-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override {
        spool.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    SpoolOptions options(std::uint64_t segment_bytes = 64ull << 20, bool fsync = false) {
        SpoolOptions o;
        o.dir = dir;
        o.segment_bytes = segment_bytes;
        o.fsync = fsync;
        return o;
    }
    void open(std::uint64_t segment_bytes = 64ull << 20, bool fsync = false) {
        spool.reset();
        auto s = Spool::open(options(segment_bytes, fsync));
        ASSERT_TRUE(s) << s.error().message;
        spool = std::move(*s);
    }
    Result<QueueId> submit(Envelope e, std::string body) {
        std::promise<Result<QueueId>> p;
        auto f = p.get_future();
        spool->submit(std::move(e), std::move(body), [&](Result<QueueId> r) { p.set_value(std::move(r)); });
        return f.get();
    }
    QueueId submit_ok(int n, std::size_t recipients = 2) {
        auto r = submit(make_envelope(n, recipients), make_body(n));
        EXPECT_TRUE(r) << r.error().message;
        return r.value_or(0);
    }
    std::vector<fs::path> segments() const {
        std::vector<fs::path> out;
        for (const auto& de : fs::directory_iterator(dir))
            if (de.path().extension() == ".log") out.push_back(de.path());
        std::sort(out.begin(), out.end());
        return out;
    }
    std::map<QueueId, QueuedMessage> recovered() {
        std::map<QueueId, QueuedMessage> out;
        for (auto& m : spool->recovered()) out.emplace(m.id, std::move(m));
        return out;
    }

    fs::path dir;
    std::unique_ptr<Spool> spool;
};

TEST_F(SpoolTest, SubmitReadBackAndRecoverExactly) {
    open();
    QueueId id = submit_ok(1, 3);
    ASSERT_NE(id, 0u);
    auto body = spool->read_message(id);
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, make_body(1));
    EXPECT_TRUE(spool->recovered().empty());  // nothing was on disk at open

    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    const auto& m = rec.at(id);
    EXPECT_EQ(m.envelope, make_envelope(1, 3));
    EXPECT_EQ(m.states, std::vector<RecipientState>(3));
    EXPECT_EQ(m.size, make_body(1).size());
    EXPECT_FALSE(m.final());
    EXPECT_EQ(*spool->read_message(id), make_body(1));
    EXPECT_TRUE(spool->recovered().empty());  // handed out once
}

TEST_F(SpoolTest, ConcurrentSubmittersGetDistinctIncreasingIds) {
    open(64ull << 20, /*fsync=*/true);
    constexpr int kThreads = 4, kPerThread = 60;
    std::mutex mu;
    std::vector<QueueId> commit_order;
    std::vector<std::vector<QueueId>> per_thread(kThreads);
    std::map<QueueId, int> which;
    int failures = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                int n = t * 1000 + i;
                spool->submit(make_envelope(n), make_body(n), [&, t, n](Result<QueueId> r) {
                    std::lock_guard lock(mu);
                    if (!r) {
                        ++failures;
                        return;
                    }
                    commit_order.push_back(*r);
                    per_thread[t].push_back(*r);
                    which[*r] = n;
                });
            }
        });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(spool->flush());
    std::lock_guard lock(mu);
    EXPECT_EQ(failures, 0);
    ASSERT_EQ(commit_order.size(), static_cast<std::size_t>(kThreads * kPerThread));
    EXPECT_TRUE(std::is_sorted(commit_order.begin(), commit_order.end()));
    EXPECT_EQ(std::set<QueueId>(commit_order.begin(), commit_order.end()).size(), commit_order.size());
    for (const auto& v : per_thread) EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    EXPECT_GE(spool->sync_count(), 1u);
    EXPECT_LE(spool->sync_count(), commit_order.size());

    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), commit_order.size());
    for (auto [id, n] : which) {
        EXPECT_EQ(rec.at(id).envelope, make_envelope(n));
        auto body = spool->read_message(id);
        ASSERT_TRUE(body);
        EXPECT_EQ(*body, make_body(n));
    }
}

// Submissions that arrive while a commit is in progress share the next one: deterministic because
// the first callback (on the writer thread) holds the writer until the rest are queued.
TEST_F(SpoolTest, GroupCommitSharesOneSync) {
    open();
    std::promise<void> entered, release;
    auto released = release.get_future().share();
    spool->submit(make_envelope(0), make_body(0), [&](Result<QueueId> r) {
        EXPECT_TRUE(r);
        entered.set_value();
        released.wait();
    });
    entered.get_future().wait();
    EXPECT_EQ(spool->sync_count(), 1u);
    constexpr int kMore = 50;
    std::vector<std::future<Result<QueueId>>> results;
    std::vector<std::shared_ptr<std::promise<Result<QueueId>>>> promises;
    for (int i = 1; i <= kMore; ++i) {
        auto p = std::make_shared<std::promise<Result<QueueId>>>();
        results.push_back(p->get_future());
        spool->submit(make_envelope(i), make_body(i), [p](Result<QueueId> r) { p->set_value(std::move(r)); });
    }
    release.set_value();
    ASSERT_TRUE(spool->flush());
    QueueId prev = 0;
    for (auto& f : results) {
        auto r = f.get();
        ASSERT_TRUE(r);
        EXPECT_GT(*r, prev);
        prev = *r;
    }
    EXPECT_EQ(spool->sync_count(), 2u);  // 51 messages, 2 syncs
}

TEST_F(SpoolTest, StatesSurviveReopenLastWins) {
    open();
    QueueId id = submit_ok(7, 3);
    spool->update(id, 0, {Status::Delivered, 0, 1, "250 2.0.0 ok"});
    spool->update(id, 1, {Status::Deferred, 1700000100, 1, "451 4.7.1 try later"});
    spool->update(id, 1, {Status::Deferred, 1700000900, 2, "421 4.4.2 timeout"});
    ASSERT_TRUE(spool->flush());

    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    const auto& st = rec.at(id).states;
    ASSERT_EQ(st.size(), 3u);
    EXPECT_EQ(st[0], (RecipientState{Status::Delivered, 0, 1, "250 2.0.0 ok"}));
    EXPECT_EQ(st[1], (RecipientState{Status::Deferred, 1700000900, 2, "421 4.4.2 timeout"}));
    EXPECT_EQ(st[2], RecipientState{});
}

TEST_F(SpoolTest, UpdateBecomesDurableWithoutFlush) {
    open();
    QueueId id = submit_ok(8, 1);
    spool->update(id, 0, {Status::Deferred, 5, 1, "451"});
    // No flush: the State record commits by itself shortly after (it waits briefly for company).
    for (int i = 0; i < 200 && spool->sync_count() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(spool->sync_count(), 2u);
}

TEST_F(SpoolTest, UpdatesForUnknownMessagesAreIgnored) {
    open();
    QueueId id = submit_ok(9, 1);
    spool->update(id + 1000, 0, {Status::Delivered, 0, 1, ""});
    spool->update(id, 5, {Status::Delivered, 0, 1, ""});  // recipient out of range
    ASSERT_TRUE(spool->flush());
    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_EQ(rec.at(id).states[0], RecipientState{});
}

TEST_F(SpoolTest, FinalMessagesAreNotRecovered) {
    open();
    QueueId done = submit_ok(1, 2);
    QueueId live = submit_ok(2, 2);
    spool->update(done, 0, {Status::Delivered, 0, 1, "250 ok"});
    spool->update(done, 1, {Status::Failed, 0, 3, "550 5.1.1 no such user"});
    spool->update(live, 0, {Status::Delivered, 0, 1, "250 ok"});
    ASSERT_TRUE(spool->flush());
    auto gone = spool->read_message(done);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, ENOENT);
    EXPECT_TRUE(spool->read_message(live));

    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    ASSERT_TRUE(rec.contains(live));
    EXPECT_EQ(rec.at(live).states[0].status, Status::Delivered);
}

TEST_F(SpoolTest, SegmentsOfFinishedMessagesAreDeleted) {
    open(/*segment_bytes=*/1);  // every commit starts a new segment
    QueueId a = submit_ok(1, 1);
    QueueId b = submit_ok(2, 1);
    QueueId c = submit_ok(3, 1);
    auto segs = segments();
    ASSERT_EQ(segs.size(), 3u);

    spool->update(a, 0, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());
    // a's segment is gone; the segment holding a's State record is the active one and stays.
    auto now = segments();
    ASSERT_EQ(now.size(), 3u);
    EXPECT_FALSE(fs::exists(segs[0]));
    EXPECT_TRUE(fs::exists(segs[1]));

    spool->update(b, 0, {Status::Failed, 0, 1, "550"});
    spool->update(c, 0, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());
    ASSERT_EQ(segments().size(), 1u);  // only the new active segment

    open(1);
    EXPECT_TRUE(recovered().empty());
    QueueId d = submit_ok(4, 1);
    EXPECT_GT(d, c);
}

// Segments holding State records must outlive the Message records they refer to: n's final state
// (segment 3) may not go while n's Message record (segment 2, held by m's state) is still on disk,
// and m's Delivered state in segment 2 may not go while m lives; otherwise a restart would
// resurrect n or deliver m's first recipient twice.
TEST_F(SpoolTest, SegmentHoldingLiveStateIsKept) {
    open(1);
    QueueId m = submit_ok(1, 2);                           // segment 1
    spool->update(m, 0, {Status::Delivered, 0, 1, "250"});  // rides with n: segment 2
    QueueId n = submit_ok(2, 1);
    ASSERT_TRUE(spool->flush());
    spool->update(n, 0, {Status::Delivered, 0, 1, "250"});  // segment 3
    ASSERT_TRUE(spool->flush());
    spool->update(m, 1, {Status::Deferred, 99, 1, "451"});  // segment 4: segment 3 (no live refs) goes
    ASSERT_TRUE(spool->flush());

    open(1);
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_EQ(rec.at(m).states[0].status, Status::Delivered);
    EXPECT_EQ(rec.at(m).states[1], (RecipientState{Status::Deferred, 99, 1, "451"}));
}

TEST_F(SpoolTest, TornTailLosesOnlyTheIncompleteRecord) {
    open();
    QueueId a = submit_ok(1);
    QueueId b = submit_ok(2);
    QueueId c = submit_ok(3);
    spool.reset();
    auto segs = segments();
    ASSERT_EQ(segs.size(), 1u);
    auto full = fs::file_size(segs[0]);
    fs::resize_file(segs[0], full - 3);

    open();
    auto rec = recovered();
    EXPECT_EQ(rec.size(), 2u);
    EXPECT_TRUE(rec.contains(a));
    EXPECT_TRUE(rec.contains(b));
    EXPECT_FALSE(rec.contains(c));
    auto cut = fs::file_size(segs[0]);
    EXPECT_LT(cut, full - 3);  // truncated back to the end of b's record
    QueueId d = submit_ok(4);
    EXPECT_GT(d, b);

    open();
    rec = recovered();
    ASSERT_EQ(rec.size(), 3u);
    EXPECT_EQ(*spool->read_message(a), make_body(1));
    EXPECT_EQ(*spool->read_message(b), make_body(2));
    EXPECT_EQ(*spool->read_message(d), make_body(4));
    EXPECT_EQ(rec.at(d).envelope, make_envelope(4));
}

TEST_F(SpoolTest, EveryTornLengthOfTheLastRecordIsDiscarded) {
    open();
    QueueId a = submit_ok(1, 1);
    spool.reset();
    auto seg = segments().at(0);
    auto good = fs::file_size(seg);
    open();
    QueueId b = submit_ok(2, 1);
    spool.reset();
    auto full = fs::file_size(seg);
    std::string bytes(full, '\0');
    {
        std::ifstream in(seg, std::ios::binary);
        in.read(bytes.data(), static_cast<std::streamsize>(full));
    }
    for (auto len = good; len < full; ++len) {
        {
            std::ofstream out(seg, std::ios::binary | std::ios::trunc);
            out.write(bytes.data(), static_cast<std::streamsize>(len));
        }
        open();
        auto rec = recovered();
        ASSERT_EQ(rec.size(), 1u) << "length " << len;
        ASSERT_TRUE(rec.contains(a));
        ASSERT_EQ(fs::file_size(seg), good);
        spool.reset();
    }
    (void)b;
}

TEST_F(SpoolTest, ZeroFilledTailIsDiscarded) {
    open();
    QueueId a = submit_ok(1);
    spool.reset();
    auto seg = segments().at(0);
    auto good = fs::file_size(seg);
    {
        std::ofstream out(seg, std::ios::binary | std::ios::app);
        out << std::string(4096, '\0');
    }
    open();
    EXPECT_EQ(recovered().size(), 1u);
    EXPECT_EQ(fs::file_size(seg), good);
    QueueId b = submit_ok(2);
    open();
    auto rec = recovered();
    EXPECT_EQ(rec.size(), 2u);
    EXPECT_EQ(*spool->read_message(a), make_body(1));
    EXPECT_EQ(*spool->read_message(b), make_body(2));
}

TEST_F(SpoolTest, CorruptionInsideAnOlderSegmentIsContained) {
    open();
    QueueId a = submit_ok(1);
    QueueId b = submit_ok(2);
    spool.reset();
    auto first = segments().at(0);
    open(/*segment_bytes=*/1);  // the next commit starts segment 2
    QueueId c = submit_ok(3);
    spool.reset();
    ASSERT_EQ(segments().size(), 2u);

    // Flip a byte inside b's record (the last record of segment 1).
    {
        std::fstream f(first, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(fs::file_size(first) - 10));
        f.put('\x7f');
    }
    open(1);
    auto rec = recovered();
    EXPECT_TRUE(rec.contains(a));
    EXPECT_FALSE(rec.contains(b));
    EXPECT_TRUE(rec.contains(c));
    EXPECT_EQ(*spool->read_message(a), make_body(1));
    EXPECT_EQ(*spool->read_message(c), make_body(3));
    QueueId d = submit_ok(4);
    EXPECT_GT(d, c);

    // Once a is finished the damaged segment is set aside as *.corrupt, not replayed again.
    spool->update(a, 0, {Status::Delivered, 0, 1, "250"});
    spool->update(a, 1, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());
    EXPECT_FALSE(fs::exists(first));
    EXPECT_TRUE(fs::exists(first.string() + ".corrupt"));
    open(1);
    rec = recovered();
    EXPECT_EQ(rec.size(), 2u);
    EXPECT_TRUE(rec.contains(c));
    EXPECT_TRUE(rec.contains(d));
}

// Bad data inside the last segment costs the damaged record alone: the records after it are
// recovered, the segment takes no more appends (new mail goes to a new segment), and once nothing
// live needs it, it is kept as *.corrupt for inspection.
TEST_F(SpoolTest, CorruptionInsideTheLastSegmentCostsOnlyThatRecord) {
    open();
    QueueId a = submit_ok(1);
    spool.reset();
    auto seg = segments().at(0);
    auto after_a = fs::file_size(seg);
    open();
    QueueId b = submit_ok(2);
    spool.reset();
    {
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(after_a - 10));  // inside a's record
        f.put('\x7f');
    }
    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_FALSE(rec.contains(a));
    ASSERT_TRUE(rec.contains(b));
    EXPECT_EQ(*spool->read_message(b), make_body(2));
    QueueId c = submit_ok(3);
    EXPECT_GT(c, b);
    EXPECT_EQ(segments().size(), 2u);  // c went to a new segment
    spool->update(b, 0, {Status::Delivered, 0, 1, "250"});
    spool->update(b, 1, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());
    EXPECT_FALSE(fs::exists(seg));
    EXPECT_TRUE(fs::exists(seg.string() + ".corrupt"));
    EXPECT_GT(fs::file_size(seg.string() + ".corrupt"), after_a);  // kept whole for inspection
    open();
    rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_EQ(*spool->read_message(c), make_body(3));
}

// A crash between creating a segment file and writing its header leaves an empty file.
TEST_F(SpoolTest, EmptyLastSegmentIsRemoved) {
    open();
    QueueId a = submit_ok(1);
    spool.reset();
    fs::path empty = dir / "seg-00000000000000ff.log";
    { std::ofstream touch(empty); }
    open();
    EXPECT_FALSE(fs::exists(empty));
    EXPECT_EQ(recovered().size(), 1u);
    QueueId b = submit_ok(2);
    EXPECT_GT(b, a);
    EXPECT_EQ(*spool->read_message(a), make_body(1));
}

TEST_F(SpoolTest, FlushFromACallbackFailsInsteadOfDeadlocking) {
    open();
    std::promise<Result<void>> inner;
    spool->submit(make_envelope(1), make_body(1), [&](Result<QueueId>) { inner.set_value(spool->flush()); });
    auto r = inner.get_future().get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EDEADLK);
}

TEST_F(SpoolTest, IdsNeverGoBackwards) {
    open();
    QueueId a = submit_ok(1);
    open();
    QueueId b = submit_ok(2);
    EXPECT_GT(b, a);
    spool.reset();
    for (const auto& s : segments()) fs::remove(s);  // everything deleted
    open();
    QueueId c = submit_ok(3);
    EXPECT_GT(c, b);
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(c, static_cast<QueueId>(now_us));  // ids start at the clock in microseconds
    EXPECT_GT(c, static_cast<QueueId>(now_us) - 60'000'000);
}

TEST_F(SpoolTest, CompactMovesLongLivedMessagesAndFreesOldSegments) {
    open(1);
    QueueId slow = submit_ok(1, 2);  // segment 1
    QueueId fast = submit_ok(2, 1);  // segment 2
    auto first = segments();
    ASSERT_EQ(first.size(), 2u);
    spool->update(slow, 0, {Status::Delivered, 0, 1, "250"});
    spool->update(slow, 1, {Status::Deferred, 1700009999, 3, "451 later"});
    spool->update(fast, 0, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());  // segment 3
    // Segments go oldest first, so slow (segment 1) holds back segment 2 although fast is done.
    EXPECT_TRUE(fs::exists(first[0]));
    EXPECT_TRUE(fs::exists(first[1]));

    ASSERT_TRUE(spool->compact());  // copies slow into segment 4; 1 and 3 go away
    auto segs = segments();
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(*spool->read_message(slow), make_body(1));

    spool->update(slow, 1, {Status::Deferred, 1700019999, 4, "451 still later"});
    ASSERT_TRUE(spool->flush());
    open(1);
    auto rec = recovered();
    ASSERT_EQ(rec.size(), 1u);
    const auto& m = rec.at(slow);
    EXPECT_EQ(m.envelope, make_envelope(1, 2));
    EXPECT_EQ(m.states[0].status, Status::Delivered);
    EXPECT_EQ(m.states[1], (RecipientState{Status::Deferred, 1700019999, 4, "451 still later"}));
    EXPECT_EQ(*spool->read_message(slow), make_body(1));
}

TEST_F(SpoolTest, CompactWithOneSegmentChangesNothing) {
    open();
    QueueId a = submit_ok(1);
    auto before = fs::file_size(segments().at(0));
    auto syncs = spool->sync_count();
    ASSERT_TRUE(spool->compact());
    EXPECT_EQ(fs::file_size(segments().at(0)), before);
    EXPECT_EQ(spool->sync_count(), syncs);
    EXPECT_EQ(*spool->read_message(a), make_body(1));
}

TEST_F(SpoolTest, OversizedEnvelopeFieldFailsOnlyThatSubmission) {
    open();
    Envelope e = make_envelope(1);
    e.helo = std::string(record::kMaxStringBytes + 1, 'h');
    auto bad = submit(e, "x");
    EXPECT_FALSE(bad);
    QueueId ok = submit_ok(2);
    EXPECT_NE(ok, 0u);
}

TEST_F(SpoolTest, SubmitAfterCloseFails) {
    open();
    spool->close();
    auto r = submit(make_envelope(1), "x");
    EXPECT_FALSE(r);
    EXPECT_TRUE(spool->flush());
}

TEST_F(SpoolTest, SecondOpenOfTheSameDirectoryIsRefused) {
    open();
    auto second = Spool::open(options());
    EXPECT_FALSE(second);
    spool->close();  // releases the directory
    auto third = Spool::open(options());
    EXPECT_TRUE(third);
}

TEST_F(SpoolTest, CloseCommitsPendingWork) {
    open();
    std::atomic<int> done{0};
    for (int i = 0; i < 20; ++i)
        spool->submit(make_envelope(i), make_body(i), [&](Result<QueueId> r) { done += r ? 1 : 0; });
    spool->close();
    EXPECT_EQ(done.load(), 20);
    open();
    EXPECT_EQ(recovered().size(), 20u);
}

TEST(QueuedMessage, FinalOnlyWhenEveryRecipientIsDone) {
    QueuedMessage m;
    m.states = {{Status::Delivered, 0, 1, ""}, {Status::Failed, 0, 1, ""}};
    EXPECT_TRUE(m.final());
    m.states.push_back({Status::Deferred, 0, 1, ""});
    EXPECT_FALSE(m.final());
    m.states.back().status = Status::Pending;
    EXPECT_FALSE(m.final());
}

}  // namespace
}  // namespace tern::queue

namespace tern::queue {
namespace {

// The active segment is preallocated with zeros so group commits overwrite existing blocks; a
// crash leaves that zero tail behind, which replay must take for the end, and a clean stop
// trims it.
TEST_F(SpoolTest, PreallocatedZeroTailSurvivesCrashAndIsTrimmedOnClose) {
    open();
    for (int n = 0; n < 3; ++n) submit_ok(n);
    ASSERT_EQ(segments().size(), 1u);
    auto live = segments()[0];
    auto preallocated = fs::file_size(live);
    EXPECT_GE(preallocated, 4u << 20) << "zero-filled ahead of the records";

    // "Crash": copy the segment as it is on disk while the spool still runs, and replay the copy.
    fs::path crashed = fs::path(dir.string() + "-crashed");
    fs::create_directories(crashed);
    fs::copy_file(live, crashed / live.filename());
    {
        SpoolOptions o = options();
        o.dir = crashed;
        auto s = Spool::open(o);
        ASSERT_TRUE(s) << s.error().message;
        auto rec = (*s)->recovered();
        ASSERT_EQ(rec.size(), 3u);
        for (const auto& m : rec) {
            auto body = (*s)->read_message(m.id);
            ASSERT_TRUE(body);
            EXPECT_EQ(body->size(), m.size);
        }
        (*s)->close();
        EXPECT_FALSE(fs::exists(crashed / (live.filename().string() + ".corrupt")));
    }
    fs::remove_all(crashed);

    spool->close();
    EXPECT_LT(fs::file_size(live), preallocated) << "a clean stop trims the zero tail";
    open();
    EXPECT_EQ(recovered().size(), 3u);
}

}  // namespace
}  // namespace tern::queue
