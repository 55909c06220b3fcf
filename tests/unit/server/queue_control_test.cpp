// The control protocol's request and reply lines, and the server's answer for each outcome.
#include "server/queue_control.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace tern::server {
namespace {

using queue::QueueOp;

TEST(ControlProtocol, RequestsRoundTrip) {
    for (auto op : {QueueOp::Retry, QueueOp::Hold, QueueOp::Release, QueueOp::Delete}) {
        ControlRequest r{op, 0x0006620495F7DF70ull};
        auto line = format_control_request(r);
        auto back = parse_control_request(line);
        ASSERT_TRUE(back) << line;
        EXPECT_EQ(back->op, op);
        EXPECT_EQ(back->id, r.id);
    }
    EXPECT_EQ(format_control_request({QueueOp::Hold, 0x0123456789abcdefull}), "HOLD 0123456789ABCDEF");
    EXPECT_EQ(format_control_request({QueueOp::Retry, std::nullopt}), "RETRY ALL");
    auto all = parse_control_request("RETRY ALL");
    ASSERT_TRUE(all);
    EXPECT_FALSE(all->id);
}

TEST(ControlProtocol, BadRequestsAreRefused) {
    EXPECT_FALSE(parse_control_request(""));
    EXPECT_FALSE(parse_control_request("HOLD"));
    EXPECT_FALSE(parse_control_request("HOLD ALL"));      // only RETRY may name the whole queue
    EXPECT_FALSE(parse_control_request("DELETE ALL"));
    EXPECT_FALSE(parse_control_request("FLUSH 0123456789ABCDEF"));
    EXPECT_FALSE(parse_control_request("HOLD 123"));      // ids are exactly 16 hex digits
    EXPECT_FALSE(parse_control_request("HOLD 0123456789ABCDEG"));
    EXPECT_FALSE(parse_control_request("HOLD 0123456789ABCDEF0"));
}

TEST(ControlProtocol, AnswerReportsTheSchedulersResult) {
    std::optional<queue::QueueId> seen;
    QueueOp seen_op = QueueOp::Retry;
    auto ok = [&](QueueOp op, std::optional<queue::QueueId> id) -> Result<std::size_t> {
        seen_op = op;
        seen = id;
        return 1;
    };
    EXPECT_EQ(answer_control("HOLD 0123456789ABCDEF", ok), "OK 1 message changed");
    EXPECT_EQ(seen_op, QueueOp::Hold);
    EXPECT_EQ(seen, 0x0123456789abcdefull);
    auto missing = [](QueueOp, std::optional<queue::QueueId>) -> Result<std::size_t> { return fail("gone", ENOENT); };
    EXPECT_EQ(answer_control("DELETE 0123456789ABCDEF", missing), "ERR no message 0123456789ABCDEF in the queue");
    auto broken = [](QueueOp, std::optional<queue::QueueId>) -> Result<std::size_t> { return fail("disk on fire", EIO); };
    EXPECT_EQ(answer_control("RETRY ALL", broken), "ERR disk on fire");
    bool called = false;
    auto never = [&](QueueOp, std::optional<queue::QueueId>) -> Result<std::size_t> {
        called = true;
        return 0;
    };
    EXPECT_TRUE(answer_control("HOLD ALL", never).starts_with("ERR "));
    EXPECT_FALSE(called);
}

TEST(ControlProtocol, Replies) {
    EXPECT_EQ(parse_control_reply("OK 3 messages changed").value(), 3u);
    EXPECT_EQ(parse_control_reply("OK 0 messages changed").value(), 0u);
    auto err = parse_control_reply("ERR no message 0123456789ABCDEF in the queue");
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().message, "no message 0123456789ABCDEF in the queue");
    EXPECT_FALSE(parse_control_reply("250 ok"));
    EXPECT_FALSE(parse_control_reply("OK"));
    EXPECT_FALSE(parse_control_reply("OK x"));
}

}  // namespace
}  // namespace tern::server
