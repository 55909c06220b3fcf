// The relay.* keys (issue 8): defaults, a full [relay] section, relay.routes as a TOML table, and
// the values each key refuses (bad host:port, TLS levels, addresses, ranges).
#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace tern::config;

TEST(RelayConfig, Defaults) {
    Config c;
    EXPECT_FALSE(c.relay_smarthost);
    EXPECT_EQ(c.relay_smarthost_tls, "opportunistic");
    EXPECT_EQ(c.relay_tls, "opportunistic");
    EXPECT_EQ(c.relay_port, 25u);
    EXPECT_EQ(c.relay_connections, 100u);
    EXPECT_EQ(c.relay_connections_per_destination, 10u);
    EXPECT_EQ(c.relay_connect_timeout, 30u);
    EXPECT_EQ(c.relay_idle_reuse, 5u);
    EXPECT_FALSE(c.relay_ipv4_only);
    EXPECT_TRUE(c.relay_routes.empty());
}

TEST(RelayConfig, FullSection) {
    auto c = load_string(R"(
[relay]
smarthost = "smtp.provider.example:587"
smarthost_tls = "required"
smarthost_user = "me@example.org"
smarthost_password_file = "/etc/tern/relay-password"
routes = { "Example.NET" = "10.0.0.5:2525", "v6.example" = "[2001:db8::1]", "plain.example" = "mx.plain.example" }
tls = "none"
port = 2526
source_address = "192.0.2.1"
ipv4_only = true
connections = 7
connections_per_destination = 3
connect_timeout = 4
idle_reuse = 0
helo_name = "out.example.org"
)");
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(c->relay_smarthost);
    EXPECT_EQ(*c->relay_smarthost, (RelayHost{"smtp.provider.example", 587}));
    EXPECT_EQ(c->relay_smarthost_tls, "required");
    EXPECT_EQ(c->relay_smarthost_user, "me@example.org");
    EXPECT_EQ(c->relay_smarthost_password_file, "/etc/tern/relay-password");
    ASSERT_EQ(c->relay_routes.size(), 3u);
    EXPECT_EQ(c->relay_routes.at("example.net"), (RelayHost{"10.0.0.5", 2525}));
    EXPECT_EQ(c->relay_routes.at("v6.example"), (RelayHost{"2001:db8::1", 25}));
    EXPECT_EQ(c->relay_routes.at("plain.example"), (RelayHost{"mx.plain.example", 25}));
    EXPECT_EQ(c->relay_tls, "none");
    EXPECT_EQ(c->relay_port, 2526u);
    EXPECT_EQ(c->relay_source_address, "192.0.2.1");
    EXPECT_TRUE(c->relay_ipv4_only);
    EXPECT_EQ(c->relay_connections, 7u);
    EXPECT_EQ(c->relay_connections_per_destination, 3u);
    EXPECT_EQ(c->relay_connect_timeout, 4u);
    EXPECT_EQ(c->relay_idle_reuse, 0u);
    EXPECT_EQ(c->relay_helo_name, "out.example.org");
}

TEST(RelayConfig, RefusesBadValues) {
    for (const char* bad : {
             "[relay]\nsmarthost = \"host:0\"", "[relay]\nsmarthost = \"host:99999\"", "[relay]\nsmarthost = \"::1:25\"",
             "[relay]\nsmarthost = \"[::1\"", "[relay]\nsmarthost = \"host:\"", "[relay]\nsmarthost = 25",
             "[relay]\nsmarthost_tls = \"maybe\"", "[relay]\ntls = \"implicit\"", "[relay]\nroutes = \"x\"",
             "[relay]\nroutes = { \"a.example\" = \"h:0\" }", "[relay]\nroutes = { \"a.example\" = 5 }",
             "[relay]\nsource_address = \"example.org\"", "[relay]\nport = 0", "[relay]\nconnections = 0",
             "[relay]\nconnect_timeout = 0", "[relay]\nhelo_name = \"a b\"", "[relay]\nsmarthost_user = \"a\\nb\"",
             "[relay]\nunknown = 1"}) {
        auto c = load_string(bad);
        EXPECT_FALSE(c) << bad;
    }
}

TEST(RelayConfig, ParseRelayHost) {
    EXPECT_EQ(*parse_relay_host("mx.example:465"), (RelayHost{"mx.example", 465}));
    EXPECT_EQ(*parse_relay_host("192.0.2.7"), (RelayHost{"192.0.2.7", 25}));
    EXPECT_EQ(*parse_relay_host("[::1]:2525"), (RelayHost{"::1", 2525}));
    EXPECT_FALSE(parse_relay_host(""));
    EXPECT_FALSE(parse_relay_host("[example.org]:25"));
    EXPECT_FALSE(parse_relay_host("a@b:25"));
}

TEST(RelayConfig, ReferenceListsEveryRelayKey) {
    const std::string ref = reference();
    for (const char* k : {"relay.smarthost", "relay.smarthost_tls", "relay.smarthost_user", "relay.smarthost_password_file",
                          "relay.routes", "relay.tls", "relay.port", "relay.source_address", "relay.ipv4_only",
                          "relay.connections", "relay.connections_per_destination", "relay.connect_timeout",
                          "relay.idle_reuse", "relay.helo_name"})
        EXPECT_NE(ref.find(std::string("`") + k + "`"), std::string::npos) << k;
}
