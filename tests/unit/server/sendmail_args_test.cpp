// sendmail(1) command lines as cron, git send-email, mutt and scripts write them.
#include "server/sendmail.hpp"

#include <gtest/gtest.h>

namespace tern::server {
namespace {

Result<SendmailArgs> parse(std::vector<std::string> v) { return parse_sendmail_args(v); }

TEST(SendmailArgs, CommonForms) {
    auto a = parse({"-oi", "-odi", "-oem", "-t", "-f", "root@example.org", "-Fcron daemon", "bob@example.org"});
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_TRUE(a->extract);
    EXPECT_FALSE(a->dot_ends);
    EXPECT_EQ(a->sender, std::optional<std::string>("root@example.org"));
    EXPECT_EQ(a->full_name, "cron daemon");
    EXPECT_EQ(a->recipients, std::vector<std::string>{"bob@example.org"});

    a = parse({"-ti", "-fuser@example.org", "-B", "8BITMIME", "-N", "SUCCESS,FAILURE", "-R", "hdrs", "-V", "e1",
               "a@example.org, b@example.org", "--", "-odd@example.org"});
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_TRUE(a->extract && !a->dot_ends && a->eight_bit);
    EXPECT_EQ(a->sender, std::optional<std::string>("user@example.org"));
    EXPECT_EQ(a->notify, "success,failure");
    EXPECT_EQ(a->ret, "hdrs");
    EXPECT_EQ(a->envid, "e1");
    EXPECT_EQ(a->recipients, (std::vector<std::string>{"a@example.org", "b@example.org", "-odd@example.org"}));

    a = parse({"-f", "<>", "-v", "-X", "/tmp/log", "-h", "5", "root"});
    ASSERT_TRUE(a);
    EXPECT_EQ(a->sender, std::optional<std::string>(""));
    EXPECT_TRUE(a->dot_ends);
    EXPECT_EQ(parse({"-bp"})->mode, SendmailArgs::Mode::ListQueue);
    EXPECT_EQ(parse({"-bi"})->mode, SendmailArgs::Mode::Newaliases);
    EXPECT_EQ(parse({"-C", "/etc/x.toml", "x"})->config_file, "/etc/x.toml");
}

TEST(SendmailArgs, Refusals) {
    EXPECT_FALSE(parse({"-f"}));             // no value
    EXPECT_FALSE(parse({"-x", "a@b"}));      // unknown
    EXPECT_FALSE(parse({"-B", "BINARYMIME"}));
    EXPECT_FALSE(parse({"-N", "sometimes"}));
    EXPECT_FALSE(parse({"-R", "most"}));
    EXPECT_FALSE(parse({"-bs"}));            // SMTP on stdin: not supported
    EXPECT_FALSE(parse({"-q"}));
    EXPECT_FALSE(parse({"-"}));
}

}  // namespace
}  // namespace tern::server
