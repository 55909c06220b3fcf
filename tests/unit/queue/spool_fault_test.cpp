// Fault tests for the spool: damage to one record at a time in the middle and at the end of a
// segment (body, length, magic, checksum), torn writes in zero-filled space, and failing zero fills,
// writes and fdatasyncs injected through SpoolOptions::inject_fault. The promise under test: every
// submission whose callback said "committed" is recovered intact, whatever else went wrong, and a
// damaged record costs that record alone. Each test works in its own temporary directory.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "queue/record.hpp"
#include "queue/spool.hpp"

namespace tern::queue {
namespace {

namespace fs = std::filesystem;
using Status = RecipientState::Status;

Envelope envelope(int n) {
    Envelope e;
    e.mail_from = "sender" + std::to_string(n) + "@example.org";
    Recipient r;
    r.address = "rcpt" + std::to_string(n) + "@example.net";
    e.recipients.push_back(r);
    e.received_at = 1700000000 + n;
    return e;
}

std::string body(int n, std::size_t size = 2000) {
    std::string b = "Subject: message " + std::to_string(n) + "\r\n\r\n";
    while (b.size() < size) b += "line " + std::to_string(n) + " " + std::string(60, static_cast<char>('a' + n % 26)) + "\r\n";
    return b;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const fs::path& p, const std::string& data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class SpoolFaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-spool-fault-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override {
        spool.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void open(std::function<int(const char*)> fault = nullptr) {
        spool.reset();
        SpoolOptions o;
        o.dir = dir;
        o.fsync = false;
        o.inject_fault = std::move(fault);
        auto s = Spool::open(o);
        ASSERT_TRUE(s) << s.error().message;
        spool = std::move(*s);
    }
    Result<QueueId> submit(int n, std::size_t size = 2000) {
        std::promise<Result<QueueId>> p;
        auto f = p.get_future();
        spool->submit(envelope(n), body(n, size), [&](Result<QueueId> r) { p.set_value(std::move(r)); });
        return f.get();
    }
    std::map<QueueId, QueuedMessage> recovered() {
        std::map<QueueId, QueuedMessage> out;
        for (auto& m : spool->recovered()) out.emplace(m.id, std::move(m));
        return out;
    }
    std::vector<fs::path> files(const std::string& ext) const {
        std::vector<fs::path> out;
        for (const auto& de : fs::directory_iterator(dir))
            if (de.path().extension() == ext) out.push_back(de.path());
        std::sort(out.begin(), out.end());
        return out;
    }
    // Offsets of every record in a segment, by walking it.
    static std::vector<std::size_t> record_offsets(const std::string& data) {
        std::vector<std::size_t> at;
        std::size_t pos = 0;
        while (pos < data.size()) {
            auto r = record::decode(std::string_view(data).substr(pos), {.copy_body = false});
            auto* c = std::get_if<record::Complete>(&r);
            if (!c) break;
            at.push_back(pos);
            pos += c->bytes;
        }
        return at;
    }

    fs::path dir;
    std::unique_ptr<Spool> spool;
};

// 30 messages in one segment; one byte of message `victim` damaged in each of the ways a disk or a
// stray write can: every other message is recovered with its exact body.
struct Damage {
    const char* name;
    std::size_t offset_in_record;  // SIZE_MAX - k: k bytes before the record's end
};

class DamageOneRecord : public SpoolFaultTest, public ::testing::WithParamInterface<std::tuple<Damage, int>> {};

TEST_P(DamageOneRecord, OnlyThatRecordIsLost) {
    auto [damage, victim] = GetParam();
    constexpr int kCount = 30;
    open();
    std::vector<QueueId> ids;
    for (int n = 0; n < kCount; ++n) {
        auto id = submit(n);
        ASSERT_TRUE(id) << id.error().message;
        ids.push_back(*id);
    }
    spool.reset();  // a clean stop: the segment ends at its last record
    auto segs = files(".log");
    ASSERT_EQ(segs.size(), 1u);
    std::string data = read_file(segs[0]);
    auto at = record_offsets(data);
    ASSERT_EQ(at.size(), static_cast<std::size_t>(kCount + 1));  // the segment header, then the messages
    std::size_t start = at[static_cast<std::size_t>(victim) + 1];
    std::size_t end = static_cast<std::size_t>(victim) + 2 < at.size() ? at[static_cast<std::size_t>(victim) + 2] : data.size();
    std::size_t where = damage.offset_in_record > end - start ? end - (SIZE_MAX - damage.offset_in_record)
                                                              : start + damage.offset_in_record;
    data[where] = static_cast<char>(data[where] ^ 0x10);
    write_file(segs[0], data);

    open();
    auto rec = recovered();
    EXPECT_EQ(rec.size(), static_cast<std::size_t>(kCount - 1)) << damage.name;
    for (int n = 0; n < kCount; ++n) {
        if (n == victim) {
            EXPECT_FALSE(rec.contains(ids[static_cast<std::size_t>(n)])) << damage.name;
            continue;
        }
        ASSERT_TRUE(rec.contains(ids[static_cast<std::size_t>(n)])) << damage.name << ": message " << n;
        auto b = spool->read_message(ids[static_cast<std::size_t>(n)]);
        ASSERT_TRUE(b) << b.error().message;
        EXPECT_EQ(*b, body(n)) << damage.name << ": message " << n;
    }
    // Nothing was truncated away: the damaged segment is kept whole for inspection, and new mail
    // goes to a new segment.
    EXPECT_EQ(fs::file_size(segs[0]), data.size());
    auto more = submit(100);
    ASSERT_TRUE(more);
    EXPECT_EQ(files(".log").size(), 2u);
    open();
    EXPECT_EQ(recovered().size(), static_cast<std::size_t>(kCount));
}

INSTANTIATE_TEST_SUITE_P(
    Spool, DamageOneRecord,
    ::testing::Combine(::testing::Values(Damage{"magic", 0}, Damage{"length", 5}, Damage{"length-high", 7},
                                         Damage{"type", 3}, Damage{"queue id", 9}, Damage{"body", 300},
                                         Damage{"checksum", SIZE_MAX - 2}),
                       ::testing::Values(14, 29)),  // in the middle, and the last record
    [](const auto& info) {
        std::string name = std::get<0>(info.param).name;
        std::replace(name.begin(), name.end(), ' ', '_');
        std::replace(name.begin(), name.end(), '-', '_');
        return name + (std::get<1>(info.param) == 29 ? "_last" : "_middle");
    });

// A record embedded in a message body is never taken for a real one, even when the length field
// of the record around it is damaged and replay has to search for the next record.
TEST_F(SpoolFaultTest, RecordInsideABodyIsNotResurrected) {
    record::MessageRecord fake;
    fake.id = 777;
    fake.envelope = envelope(777);
    fake.envelope.recipients[0].address = "victim@elsewhere.example";
    fake.states.resize(1);
    fake.body = "Subject: forged\r\n\r\nforged\r\n";
    auto fake_bytes = record::encode(fake);
    ASSERT_TRUE(fake_bytes);

    open();
    auto a = submit(1);
    std::promise<Result<QueueId>> p;
    spool->submit(envelope(2), "Subject: carrier\r\n\r\n" + *fake_bytes + "\r\ntrailer\r\n",
                  [&](Result<QueueId> r) { p.set_value(std::move(r)); });
    auto b = p.get_future().get();
    auto c = submit(3);
    ASSERT_TRUE(a && b && c);
    spool.reset();
    auto seg = files(".log").at(0);
    std::string data = read_file(seg);
    auto at = record_offsets(data);
    ASSERT_EQ(at.size(), 4u);
    data[at[2] + 6] = static_cast<char>(data[at[2] + 6] ^ 0x40);  // b's length field
    write_file(seg, data);

    open();
    auto rec = recovered();
    EXPECT_TRUE(rec.contains(*a));
    EXPECT_FALSE(rec.contains(*b));
    EXPECT_TRUE(rec.contains(*c));
    EXPECT_FALSE(rec.contains(777));
    EXPECT_EQ(rec.size(), 2u);
}

// A batch cut short by a crash inside preallocated (zero-filled) space leaves a record whose tail,
// checksum included, is still zeros: an unfinished write, truncated away, not "corruption".
TEST_F(SpoolFaultTest, TornWriteInZeroFilledSpaceIsTruncatedNotKeptAsCorrupt) {
    open();
    auto a = submit(1);
    auto b = submit(2, 20000);
    ASSERT_TRUE(a && b);
    spool.reset();
    auto seg = files(".log").at(0);
    std::string data = read_file(seg);
    auto at = record_offsets(data);
    ASSERT_EQ(at.size(), 3u);
    // b's first 4 KiB reached the disk, the rest of the 4 MiB preallocation is zeros.
    std::string crashed = data.substr(0, at[2] + 4096);
    crashed.resize(4u << 20, '\0');
    write_file(seg, crashed);

    open();
    auto rec = recovered();
    EXPECT_EQ(rec.size(), 1u);
    EXPECT_TRUE(rec.contains(*a));
    EXPECT_EQ(fs::file_size(seg), at[2]);  // truncated to the end of a's record
    EXPECT_TRUE(files(".corrupt").empty());
    auto c = submit(3);
    ASSERT_TRUE(c);
    EXPECT_EQ(files(".log").size(), 1u);  // still the active segment
    open();
    EXPECT_EQ(recovered().size(), 2u);
}

// The bug of issue 7: a zero fill that runs out of space half way grew the file without saying so;
// the next growth zero-filled again from the old mark, over records that had been acknowledged.
TEST_F(SpoolFaultTest, FailedZeroFillNeverOverwritesRecords) {
    std::atomic<int> fills{0};
    open([&](const char* op) { return std::string_view(op) == "zero_fill" && fills++ % 3 == 1 ? ENOSPC : 0; });
    std::vector<std::pair<QueueId, int>> acked;
    for (int n = 0; n < 120; ++n) {  // ~12 MiB: several 4 MiB growth steps, each failing half way
        auto id = submit(n, 100000);
        ASSERT_TRUE(id) << id.error().message;
        acked.emplace_back(*id, n);
    }
    for (auto [id, n] : acked) {
        auto b = spool->read_message(id);
        ASSERT_TRUE(b) << "message " << n << ": " << b.error().message;
        ASSERT_EQ(*b, body(n, 100000)) << "message " << n;
    }
    open();
    auto rec = recovered();
    ASSERT_EQ(rec.size(), acked.size());
    for (auto [id, n] : acked) {
        auto b = spool->read_message(id);
        ASSERT_TRUE(b) << "message " << n << ": " << b.error().message;
        ASSERT_EQ(*b, body(n, 100000)) << "message " << n;
    }
    EXPECT_TRUE(files(".corrupt").empty());
}

// A full disk fails the submissions of that moment with ENOSPC (452 4.3.1 to the client) and
// nothing else: once there is room again the spool takes mail without a restart, and state
// changes made meanwhile are written then, not lost.
TEST_F(SpoolFaultTest, FullDiskRefusesOnlyWhileFullAndKeepsStateChanges) {
    std::atomic<bool> full{false};
    open([&](const char* op) { return full && std::string_view(op) != "fdatasync" ? ENOSPC : 0; });
    auto a = submit(1);
    ASSERT_TRUE(a);
    full = true;
    auto refused = submit(2);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ENOSPC);
    EXPECT_NE(refused.error().message.find("full"), std::string::npos) << refused.error().message;
    spool->update(*a, 0, {Status::Delivered, 0, 1, "250 2.0.0 delivered"});
    EXPECT_FALSE(spool->flush());
    full = false;
    auto b = submit(3);
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_TRUE(spool->flush());
    open();
    auto rec = recovered();
    EXPECT_FALSE(rec.contains(*a)) << "its Delivered state was written once the disk had room";
    ASSERT_TRUE(rec.contains(*b));
    EXPECT_EQ(rec.size(), 1u);
    EXPECT_EQ(*spool->read_message(*b), body(3));
}

// After a failed fdatasync the segment's pages may be "clean" without being on disk; nothing more is
// appended there, the batch is refused, and the next one goes to a new segment.
TEST_F(SpoolFaultTest, FailedSyncMovesToANewSegment) {
    std::atomic<int> syncs{0};
    std::atomic<int> fail_at{-1};
    open([&](const char* op) { return std::string_view(op) == "fdatasync" && syncs++ == fail_at ? EIO : 0; });
    auto a = submit(1);
    ASSERT_TRUE(a);
    fail_at = syncs.load();
    auto refused = submit(2);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, EIO);
    auto c = submit(3);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(files(".log").size(), 2u);
    open();
    auto rec = recovered();
    EXPECT_TRUE(rec.contains(*a));
    EXPECT_TRUE(rec.contains(*c));
    EXPECT_EQ(rec.size(), 2u);
    EXPECT_EQ(*spool->read_message(*a), body(1));
    EXPECT_EQ(*spool->read_message(*c), body(3));
}

// Bytes damaged on disk after replay are refused when read, never delivered as mail.
TEST_F(SpoolFaultTest, ReadingADamagedBodyFails) {
    open();
    auto a = submit(1);
    ASSERT_TRUE(a);
    auto seg = files(".log").at(0);
    {
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        std::string data = read_file(seg);
        auto pos = data.find("line 1 ");
        ASSERT_NE(pos, std::string::npos);
        f.seekp(static_cast<std::streamoff>(pos));
        f.put('L');
    }
    auto b = spool->read_message(*a);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, EBADMSG);
    EXPECT_NE(b.error().message.find("checksum"), std::string::npos);
}

// Compaction moves a large queue in bounded batches (group commits between them, so clients
// waiting for a 250 are not stuck behind the whole copy) and frees every old segment.
TEST_F(SpoolFaultTest, CompactionCopiesInBoundedBatches) {
    spool.reset();
    SpoolOptions o;
    o.dir = dir;
    o.fsync = false;
    o.segment_bytes = 4u << 20;
    auto opened = Spool::open(o);
    ASSERT_TRUE(opened);
    spool = std::move(*opened);
    std::vector<QueueId> ids;
    for (int n = 0; n < 40; ++n) {
        auto id = submit(n, 1u << 20);
        ASSERT_TRUE(id);
        ids.push_back(*id);
    }
    auto before = files(".log");
    ASSERT_GE(before.size(), 8u);
    auto syncs = spool->sync_count();
    std::atomic<bool> done{false};
    std::atomic<int> submitted{0};
    std::thread client([&] {  // keeps submitting while the compaction runs
        for (int n = 1000; !done; ++n) {
            std::promise<Result<QueueId>> p;
            spool->submit(envelope(n), body(n), [&](Result<QueueId> r) { p.set_value(std::move(r)); });
            if (p.get_future().get()) submitted++;
        }
    });
    auto r = spool->compact();
    done = true;
    client.join();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GE(spool->sync_count() - syncs, 5u) << "40 MiB in batches of at most 8 MiB";
    for (const auto& p : before) EXPECT_FALSE(fs::exists(p)) << p;
    for (int n = 0; n < 40; ++n) {
        auto b = spool->read_message(ids[static_cast<std::size_t>(n)]);
        ASSERT_TRUE(b) << b.error().message;
        ASSERT_EQ(*b, body(n, 1u << 20)) << n;
    }
    spool.reset();
    opened = Spool::open(o);
    ASSERT_TRUE(opened);
    spool = std::move(*opened);
    auto rec = recovered();
    EXPECT_EQ(rec.size(), 40u + static_cast<std::size_t>(submitted.load()));
    for (int n = 0; n < 40; ++n) EXPECT_EQ(*spool->read_message(ids[static_cast<std::size_t>(n)]), body(n, 1u << 20));
}

// A message damaged on disk is left where it is by compaction (a fresh checksum over bad bytes
// would launder them), the others move, and the run ends.
TEST_F(SpoolFaultTest, CompactionLeavesADamagedMessageAndFinishes) {
    spool.reset();
    SpoolOptions o;
    o.dir = dir;
    o.fsync = false;
    o.segment_bytes = 1;  // every commit starts a new segment
    auto opened = Spool::open(o);
    ASSERT_TRUE(opened);
    spool = std::move(*opened);
    auto a = submit(1);
    auto b = submit(2);
    auto c = submit(3);
    ASSERT_TRUE(a && b && c);
    auto first = files(".log").at(0);
    {  // damaged after replay: only reading it can tell
        std::string data = read_file(first);
        auto pos = data.find("line 1 ");
        ASSERT_NE(pos, std::string::npos);
        std::fstream f(first, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(pos));
        f.put('L');
    }
    ASSERT_TRUE(spool->compact());
    EXPECT_TRUE(fs::exists(first)) << "a is still there, so its segment stays";
    auto bad = spool->read_message(*a);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, EBADMSG);
    EXPECT_EQ(*spool->read_message(*b), body(2));
    EXPECT_EQ(*spool->read_message(*c), body(3));
    ASSERT_TRUE(spool->compact());  // and again: the run ends, nothing loops
}

}  // namespace
}  // namespace tern::queue
