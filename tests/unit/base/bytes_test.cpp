// Tests for the in-memory ByteSource and read_all: ranges, the end, and short reads.
#include <gtest/gtest.h>

#include "base/bytes.hpp"

namespace tern::base {
namespace {

TEST(Bytes, StringSourceReadsRanges) {
    auto s = bytes_from_string("hello, world");
    EXPECT_EQ(s->size(), 12u);
    char buf[5];
    auto n = s->read(7, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, *n), "world");
    n = s->read(10, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, *n), "ld");
    EXPECT_EQ(*s->read(12, buf), 0u);
    EXPECT_EQ(*s->read(99, buf), 0u);
    EXPECT_EQ(*read_all(*s), "hello, world");
    EXPECT_EQ(*read_all(*bytes_from_string("")), "");
}

class Liar final : public ByteSource {  // says 10 bytes, has 4
public:
    std::uint64_t size() const override { return 10; }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= 4) return std::size_t{0};
        std::size_t n = std::min<std::size_t>(out.size(), 4 - offset);
        for (std::size_t i = 0; i < n; ++i) out[i] = 'x';
        return n;
    }
};

TEST(Bytes, ReadAllNoticesASourceThatEndsEarly) {
    auto r = read_all(Liar{});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("ended early"), std::string::npos);
}

}  // namespace
}  // namespace tern::base
