// Tests for Spool::open_message: a message body read in ranges from its segment, verified once
// when opened, readable after compaction moved it away. Each test works in its own temporary
// directory and must never touch a real spool.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>

#include "queue/record.hpp"
#include "queue/spool.hpp"

namespace tern::queue {
namespace {

namespace fs = std::filesystem;
using Status = RecipientState::Status;

// Several MiB of varied lines, so that a chunk boundary or a wrong offset shows.
std::string big_body(int n, std::size_t size) {
    std::string b = "Subject: big " + std::to_string(n) + "\r\n\r\n";
    for (std::size_t i = 0; b.size() < size; ++i) b += "line " + std::to_string(i) + " of " + std::to_string(n) + "\r\n";
    b.resize(size);
    return b;
}

class OpenMessageTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-openmsg-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        SpoolOptions o;
        o.dir = dir;
        o.fsync = false;
        o.segment_bytes = 1;  // every commit starts a new segment
        auto s = Spool::open(o);
        ASSERT_TRUE(s) << s.error().message;
        spool = std::move(*s);
    }
    void TearDown() override {
        spool.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    QueueId submit(int n, const std::string& body) {
        Envelope e;
        e.mail_from = "sender@example.org";
        e.recipients.push_back(Recipient{});
        e.recipients.back().address = "rcpt" + std::to_string(n) + "@example.net";
        std::promise<Result<QueueId>> p;
        auto f = p.get_future();
        spool->submit(std::move(e), body, [&](Result<QueueId> r) { p.set_value(std::move(r)); });
        auto r = f.get();
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
    // Reads [offset, offset + n) through the source, in as many reads as it takes.
    static std::string range(const base::ByteSource& src, std::uint64_t offset, std::size_t n) {
        std::string out(n, '\0');
        std::size_t done = 0;
        while (done < n) {
            auto got = src.read(offset + done, std::span<char>(out.data() + done, n - done));
            EXPECT_TRUE(got) << got.error().message;
            if (!got || *got == 0) break;
            done += *got;
        }
        out.resize(done);
        return out;
    }

    fs::path dir;
    std::unique_ptr<Spool> spool;
};

TEST_F(OpenMessageTest, ReadsRangesOfTheBody) {
    const std::string body = big_body(1, (3u << 20) + 12345);  // past the 1 MiB verification chunk
    QueueId id = submit(1, body);
    auto src = spool->open_message(id);
    ASSERT_TRUE(src) << src.error().message;
    const base::ByteSource& s = **src;
    EXPECT_EQ(s.size(), body.size());
    EXPECT_EQ(range(s, 0, 100), body.substr(0, 100));
    EXPECT_EQ(range(s, (1u << 20) - 7, 4096), body.substr((1u << 20) - 7, 4096));
    EXPECT_EQ(range(s, body.size() - 10, 10), body.substr(body.size() - 10));
    // A read past the end is clipped; at or past the end it reads nothing.
    char buf[64];
    auto tail = s.read(body.size() - 5, std::span<char>(buf, sizeof buf));
    ASSERT_TRUE(tail);
    EXPECT_EQ(*tail, 5u);
    EXPECT_EQ(std::string(buf, 5), body.substr(body.size() - 5));
    auto end = s.read(body.size(), std::span<char>(buf, sizeof buf));
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, 0u);
    auto all = base::read_all(s);
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, body);
    // The fingerprint the delivery's dedupe key uses: the CRC-32C of the body alone.
    auto spooled = std::dynamic_pointer_cast<const SpooledBody>(*src);
    ASSERT_TRUE(spooled);
    EXPECT_EQ(spooled->body_crc32c(), record::crc32c(body));
}

TEST_F(OpenMessageTest, EmptyBodyAndUnknownId) {
    QueueId id = submit(1, "");
    auto src = spool->open_message(id);
    ASSERT_TRUE(src) << src.error().message;
    EXPECT_EQ((*src)->size(), 0u);
    auto none = spool->open_message(id + 1000);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ENOENT);
}

// Bytes damaged on disk after replay are never handed out: opening checks the record's CRC.
TEST_F(OpenMessageTest, DamagedBodyFailsToOpen) {
    const std::string body = big_body(1, (2u << 20) + 3);
    QueueId a = submit(1, body);
    QueueId b = submit(2, big_body(2, 5000));
    auto seg = segments().at(0);
    {
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        auto pos = data.find("line 80000 of 1\r");  // far into the body, past the first chunk
        ASSERT_NE(pos, std::string::npos);
        f.seekp(static_cast<std::streamoff>(pos));
        f.put('L');
    }
    auto bad = spool->open_message(a);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, EBADMSG);
    auto good = spool->open_message(b);
    ASSERT_TRUE(good) << good.error().message;
    EXPECT_EQ(*base::read_all(**good), big_body(2, 5000));
}

// A source opened before compaction moved its message (and unlinked the old segment) reads the
// same bytes afterwards: it holds the old segment's file open.
TEST_F(OpenMessageTest, SourceOutlivesCompaction) {
    const std::string body = big_body(1, (2u << 20) + 77);
    QueueId a = submit(1, body);        // segment 1
    QueueId b = submit(2, "short\r\n");  // segment 2
    auto src = spool->open_message(a);
    ASSERT_TRUE(src) << src.error().message;
    auto first = segments().at(0);
    spool->update(b, 0, {Status::Delivered, 0, 1, "250"});
    ASSERT_TRUE(spool->flush());
    ASSERT_TRUE(spool->compact());  // a moves to a new segment; segment 1 goes
    EXPECT_FALSE(fs::exists(first)) << "compaction should have removed the old segment";
    auto all = base::read_all(**src);
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, body);
    EXPECT_EQ(range(**src, 1u << 20, 333), body.substr(1u << 20, 333));
    auto again = spool->open_message(a);  // and opening it now reads the moved copy
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*base::read_all(**again), body);
}

}  // namespace
}  // namespace tern::queue
