// Accounts file: round trip, 0600, endpoint parsing, the password command.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "mua/account.hpp"
#include "mua/json.hpp"
#include "mua/threads.hpp"

namespace fs = std::filesystem;
using namespace tern::mua;

TEST(MuaAccount, SaveLoadRoundTripPrivate) {
    char tmpl[] = "/tmp/tern-acct-test-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);
    Account a;
    a.name = "home";
    a.address = "alice@example.org";
    a.password = "s3cr\"et";
    a.imap = Endpoint{"imap.example.org", 993, Tls::Implicit};
    a.smtp = Endpoint{"::1", 587, Tls::StartTls};
    a.fingerprint = "AB:CD";
    Account b;
    b.name = "work";
    b.address = "bob@example.net";
    b.password_command = "echo pw-from-command";
    b.pop3 = Endpoint{"pop.example.net", 110, Tls::None};
    b.allow_plaintext = true;
    b.apop = true;
    ASSERT_TRUE(save_accounts(dir / "tern", {a, b}));
    struct stat st{};
    ASSERT_EQ(::stat((dir / "tern/accounts.toml").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((dir / "tern").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto all = load_accounts(dir / "tern");
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].password, "s3cr\"et");
    EXPECT_EQ((*all)[0].imap->host, "imap.example.org");
    EXPECT_EQ((*all)[0].smtp->tls, Tls::StartTls);
    EXPECT_FALSE((*all)[0].pop3);
    EXPECT_TRUE((*all)[1].apop);
    EXPECT_EQ((*all)[1].pop3->tls, Tls::None);
    EXPECT_EQ(*account_password((*all)[1]), "pw-from-command");
    EXPECT_EQ(find_account(dir / "tern", "")->name, "home");
    EXPECT_EQ(find_account(dir / "tern", "work")->address, "bob@example.net");
    EXPECT_FALSE(find_account(dir / "tern", "nope"));
    Account failing = b;
    failing.password_command = "exit 3";
    EXPECT_FALSE(account_password(failing));
    fs::remove_all(dir);
}

TEST(MuaAccount, Endpoints) {
    auto e = parse_endpoint("mail.example.org:2993", Tls::Implicit);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "mail.example.org");
    EXPECT_EQ(e->port, 2993);
    e = parse_endpoint("[::1]:143", Tls::StartTls);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->port, 143);
    e = parse_endpoint("host.only", Tls::Implicit);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 0);
    EXPECT_FALSE(parse_endpoint("h:0", Tls::Implicit));
    EXPECT_FALSE(parse_endpoint("h:70000", Tls::Implicit));
    EXPECT_FALSE(parse_endpoint("h:12a", Tls::Implicit));
    EXPECT_FALSE(parse_endpoint(":25", Tls::Implicit));
    EXPECT_TRUE(valid_account_name("work-2.x_y"));
    EXPECT_FALSE(valid_account_name("../x"));
    EXPECT_FALSE(valid_account_name(".hidden"));
    EXPECT_FALSE(valid_account_name(""));
}

TEST(MuaJson, EscapesAndRepairsUtf8) {
    EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
    EXPECT_EQ(json_string("J\xC3\xBCrgen"), "\"J\xC3\xBCrgen\"");
    EXPECT_EQ(json_string("bad\xFF\xC3"), "\"bad\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(json_string("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    JsonWriter j;
    j.begin_array().begin_object().key("a").value(1).key("b").begin_array().value("x").value(true).end_array();
    j.end_object().begin_object().end_object().end_array();
    EXPECT_EQ(j.str(), "[{\"a\":1,\"b\":[\"x\",true]},{}]");
}

TEST(MuaThreads, RepliesUnderTheirParentsAndNoCycles) {
    auto row = [](std::int64_t id, std::int64_t date, std::string mid, std::string irt, std::string refs) {
        MessageRow r;
        r.id = id;
        r.date = date;
        r.message_id = mid;
        r.in_reply_to = irt;
        r.references = refs;
        return r;
    };
    std::vector<MessageRow> rows = {
        row(1, 100, "<a@x>", "", ""),
        row(2, 50, "<b@x>", "", ""),
        row(3, 300, "<c@x>", "<a@x>", "<a@x>"),
        row(4, 200, "<d@x>", "", "<a@x> <missing@x>"),  // parent: the nearest reference present
        row(5, 400, "<e@x>", "<c@x>", "<a@x> <c@x>"),
        row(6, 10, "<f@x>", "<g@x>", ""),  // f and g refer to each other: the link that closes the cycle is cut
        row(7, 20, "<g@x>", "<f@x>", ""),
    };
    auto order = thread_order(rows);
    std::vector<std::pair<std::int64_t, std::size_t>> got;
    for (auto& l : order) got.emplace_back(rows[l.index].id, l.depth);
    std::vector<std::pair<std::int64_t, std::size_t>> want = {{7, 0}, {6, 1}, {2, 0}, {1, 0}, {4, 1}, {3, 1}, {5, 2}};
    EXPECT_EQ(got, want);
    // A 100,000-deep reply chain does not recurse.
    std::vector<MessageRow> chain;
    for (int i = 0; i < 100000; ++i)
        chain.push_back(row(i + 1, i, "<" + std::to_string(i) + "@x>", i ? "<" + std::to_string(i - 1) + "@x>" : "", ""));
    auto deep = thread_order(chain);
    ASSERT_EQ(deep.size(), chain.size());
    EXPECT_EQ(deep.back().depth, 99999u);
}
