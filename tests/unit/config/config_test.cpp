// Configuration schema: TOML loading, validation errors, listener specs, and the generated
// reference in docs/CONFIGURATION.md staying true to the schema.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config.hpp"

namespace tern::config {
namespace {

TEST(Config, DefaultsNeedNoFile) {
    Config c;
    EXPECT_EQ(c.data_dir, "tern-data");
    EXPECT_EQ(c.message_size, 50ull << 20);
    auto l = default_listeners();
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0], (Listener{"smtp", "127.0.0.1", 2525}));
    EXPECT_EQ(l[1], (Listener{"submission", "127.0.0.1", 2587}));
    EXPECT_EQ(l[2], (Listener{"pop3", "127.0.0.1", 2110}));
    EXPECT_EQ(l[3], (Listener{"imap", "127.0.0.1", 2143}));
}

TEST(Config, LoadsKeys) {
    auto c = load_string(R"(
[server]
hostname = "mx.example.org"
listen = ["smtp=127.0.0.3:25", "imaps=[::1]:993"]
[limits]
message_size = 10000
recipients = 5
[log]
trace = true
)");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->hostname, "mx.example.org");
    ASSERT_EQ(c->listeners.size(), 2u);
    EXPECT_EQ(c->listeners[0], (Listener{"smtp", "127.0.0.3", 25}));
    EXPECT_EQ(c->listeners[1], (Listener{"imaps", "::1", 993}));
    EXPECT_EQ(c->message_size, 10000u);
    EXPECT_EQ(c->recipients, 5u);
    EXPECT_TRUE(c->trace);
}

TEST(Config, RejectsUnknownKeysAndBadValues) {
    auto unknown = load_string("[limits]\nmesage_size = 5\n");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "unknown configuration key 'limits.mesage_size'");
    auto low = load_string("[limits]\nidle_timeout = 0\n");
    ASSERT_FALSE(low);
    EXPECT_NE(low.error().message.find("limits.idle_timeout"), std::string::npos);
    auto small = load_string("[limits]\ncommand_line = 100\n");
    ASSERT_FALSE(small);  // RFC 5321 §4.5.3.1.4: at least 512
    EXPECT_EQ(small.error().message, "limits.command_line: expected an integer from 512 to 65536");
    EXPECT_FALSE(load_string("[limits]\nmessage_size = \"big\"\n"));
    EXPECT_FALSE(load_string("[server]\nlisten = [\"ftp=127.0.0.1:21\"]\n"));
    auto syntax = load_string("[server\n");
    ASSERT_FALSE(syntax);
    EXPECT_NE(syntax.error().message.find("line 1"), std::string::npos);
}

// Issue 7: up to 2^30 was accepted, but the store cannot keep a value over SQLite's 10^9-byte
// limit: such a message was answered 250 and then failed to store every minute for ever.
TEST(Config, MessageSizeFitsTheMailStore) {
    auto too_big = load_string("[limits]\nmessage_size = 1073741824\n");
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error().message, "limits.message_size: expected an integer from 1024 to 998951424");
    EXPECT_FALSE(load_string("[limits]\nmessage_size = 1000000000\n")) << "no room left for Received:";
    auto largest = load_string("[limits]\nmessage_size = 998951424\n");
    ASSERT_TRUE(largest) << largest.error().message;
    EXPECT_EQ(largest->message_size, 998951424u);
}

TEST(Config, QueueLifetime) {
    EXPECT_EQ(Config{}.queue_lifetime, 5u * 86400);  // the relay's bounce time (RFC 5321 §4.5.4.1)
    auto c = load_string("[queue]\nlifetime = 86400\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->queue_lifetime, 86400u);
    auto zero = load_string("[queue]\nlifetime = 0\n");
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().message, "queue.lifetime: expected an integer from 1 to 2592000");
}

TEST(Config, ListenerSpecs) {
    EXPECT_FALSE(parse_listener("smtp127.0.0.1:25"));
    EXPECT_FALSE(parse_listener("smtp=127.0.0.1"));
    EXPECT_FALSE(parse_listener("smtp=127.0.0.1:0"));
    EXPECT_FALSE(parse_listener("smtp=127.0.0.1:65536"));
    EXPECT_FALSE(parse_listener("smtp=:25"));
    auto l = parse_listener("submissions=0.0.0.0:465");
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (Listener{"submissions", "0.0.0.0", 465}));
}

TEST(Config, ReferenceDocMatchesSchema) {
    std::ifstream in(std::string(TERN_SOURCE_DIR) + "/docs/CONFIGURATION.md");
    ASSERT_TRUE(in);
    std::stringstream doc;
    doc << in.rdbuf();
    EXPECT_NE(doc.str().find(reference()), std::string::npos)
        << "docs/CONFIGURATION.md is stale: regenerate its table with `ternd config reference`";
}

}  // namespace
}  // namespace tern::config

namespace tern::config {
namespace {

// `ternd serve --resolver` and dns.resolver take the same form.
TEST(Config, ResolverSpecs) {
    EXPECT_TRUE(valid_resolver("127.0.0.1:53"));
    EXPECT_TRUE(valid_resolver("[::1]:5353"));
    EXPECT_FALSE(valid_resolver("127.0.0.1"));
    EXPECT_FALSE(valid_resolver("localhost:53"));
    EXPECT_FALSE(valid_resolver("127.0.0.1:0"));
    EXPECT_FALSE(valid_resolver("127.0.0.1:65536"));
    EXPECT_FALSE(valid_resolver("::1:53"));
    EXPECT_FALSE(valid_resolver(""));
}

}  // namespace
}  // namespace tern::config
