// limits.max_hops (RFC 5321 §6.3 loop detection): default, a set value, and the bounds.
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace tern::config {
namespace {

TEST(ConfigMaxHops, DefaultSetAndBounds) {
    auto d = load_string("");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->max_hops, 50u);
    auto c = load_string("[limits]\nmax_hops = 30\n");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->max_hops, 30u);
    EXPECT_FALSE(load_string("[limits]\nmax_hops = 1\n"));  // our own Received: alone would be a loop
    EXPECT_FALSE(load_string("[limits]\nmax_hops = 5000\n"));
}

}  // namespace
}  // namespace tern::config
