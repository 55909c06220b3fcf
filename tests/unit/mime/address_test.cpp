// Unit tests for the RFC 5322 address parser (mime/address.hpp): mailboxes, name-addr, groups,
// comments, quoted strings, obsolete forms, encoded-words, and hostile inputs that must end in a
// clear error (never an empty list).
#include "mime/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::mime {
namespace {

std::vector<Address> list_ok(std::string_view v) {
    auto r = parse_address_list(v);
    EXPECT_TRUE(r.has_value()) << "should parse: " << v << " — " << (r ? "" : r.error().message);
    return r ? *r : std::vector<Address>{};
}

Mailbox one(std::string_view v) {
    auto r = parse_single_mailbox(v);
    EXPECT_TRUE(r.has_value()) << "should parse: " << v << " — " << (r ? "" : r.error().message);
    return r ? *r : Mailbox{};
}

// The error message for input that must not parse.
std::string list_err(std::string_view v) {
    auto r = parse_address_list(v);
    EXPECT_FALSE(r.has_value()) << "should fail: " << v;
    if (r) return "parsed";
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_LE(r.error().offset, v.size());
    return r.error().message;
}

TEST(Address, BareAddrSpec) {
    Mailbox m = one("alice@example.org");
    EXPECT_EQ(m.local_part, "alice");
    EXPECT_EQ(m.domain, "example.org");
    EXPECT_EQ(m.display_name, "");
    EXPECT_EQ(m.addr_spec(), "alice@example.org");
    EXPECT_EQ(one("  first.last+tag@sub.example.org  ").addr_spec(), "first.last+tag@sub.example.org");
}

TEST(Address, NameAddr) {
    Mailbox m = one("Alice Smith <alice@example.org>");
    EXPECT_EQ(m.display_name, "Alice Smith");
    EXPECT_EQ(m.addr_spec(), "alice@example.org");
    EXPECT_EQ(one("<alice@example.org>").display_name, "");
    EXPECT_EQ(one("Alice<alice@example.org>").display_name, "Alice");
    EXPECT_EQ(one("  Alice   \t Smith   <alice@example.org>").display_name, "Alice Smith");
}

TEST(Address, QuotedDisplayNameWithSpecials) {
    auto l = list_ok("\"Smith, Alice\" <alice@example.org>, \"Bob <the boss>\" <bob@example.org>");
    auto ms = mailboxes(l);
    ASSERT_EQ(ms.size(), 2u);
    EXPECT_EQ(ms[0].display_name, "Smith, Alice");
    EXPECT_EQ(ms[0].addr_spec(), "alice@example.org");
    EXPECT_EQ(ms[1].display_name, "Bob <the boss>");
    EXPECT_EQ(ms[1].addr_spec(), "bob@example.org");
    EXPECT_EQ(one(R"("a \"quoted\" \\ name" <x@y.example>)").display_name, R"(a "quoted" \ name)");
    EXPECT_EQ(one("\"\" <x@y.example>").display_name, "");
}

TEST(Address, EncodedWordsStayEncoded) {
    Mailbox m = one("=?utf-8?q?J=C3=B6rg?= <jorg@example.org>");
    EXPECT_EQ(m.display_name, "=?utf-8?q?J=C3=B6rg?=");
    EXPECT_EQ(one("=?utf-8?b?SsO2cmc=?= =?utf-8?q?_M?= <j@example.org>").display_name,
              "=?utf-8?b?SsO2cmc=?= =?utf-8?q?_M?=");
}

TEST(Address, Utf8PerRfc6532) {
    Mailbox m = one("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc\x63her.example>");
    EXPECT_EQ(m.display_name, "J\xc3\xb6rg");
    EXPECT_EQ(m.local_part, "j\xc3\xb6rg");
    EXPECT_EQ(m.domain, "b\xc3\xbc\x63her.example");
}

TEST(Address, Comments) {
    EXPECT_EQ(one("alice@example.org (Alice)").addr_spec(), "alice@example.org");
    EXPECT_EQ(one("(lead) alice (mid) @ (x) example.org (trail)").addr_spec(), "alice@example.org");
    EXPECT_EQ(one("Alice (the (really (nested)) one) <alice@example.org>").display_name, "Alice");
    EXPECT_EQ(one("Alice (a \\) escaped paren) <alice@example.org>").display_name, "Alice");
    // A comment is never an address: the one after it is the real one.
    EXPECT_EQ(one("(alice@example.org) bob@example.org").addr_spec(), "bob@example.org");
}

// An addr-spec with no display name keeps its last comment, read as Dovecot reads it (the IMAP
// ENVELOPE name); the display name never comes from a comment, and a phrase wins.
TEST(Address, CommentOfABareAddrSpec) {
    Mailbox m = one("user@domain (Real Name)");
    EXPECT_EQ(m.display_name, "");
    EXPECT_EQ(m.comment, "Real Name");
    EXPECT_EQ(one("(lead) alice (mid) @ (x) example.org (trail)").comment, "trail") << "the last one";
    EXPECT_EQ(one("(lead) alice@example.org").comment, "") << "before the address: not its comment";
    EXPECT_EQ(one("a@b.example (one (two) \\) x)").comment, "one (two) ) x") << "nesting kept, quoted-pair resolved";
    EXPECT_EQ(one("a@b.example (fol\r\n ded)").comment, "fol ded") << "a fold's CRLF dropped";
    EXPECT_EQ(one("a@b.example (x) ()").comment, "") << "the last comment is empty";
    EXPECT_EQ(one("<a@b.example (inside)> (outside)").comment, "inside") << "in the angle brackets only";
    Mailbox named = one("Alice <alice@example.org (c)>");
    EXPECT_EQ(named.display_name, "Alice");
    EXPECT_EQ(named.comment, "") << "a phrase is the name";
    auto l = list_ok("a@b.example (A), c@d.example, e@f.example (E)");
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(std::get<Mailbox>(l[0]).comment, "A");
    EXPECT_EQ(std::get<Mailbox>(l[1]).comment, "");
    EXPECT_EQ(std::get<Mailbox>(l[2]).comment, "E");
}

TEST(Address, CommentNestingIsBounded) {
    std::string ok = std::string(kMaxCommentDepth, '(') + std::string(kMaxCommentDepth, ')') + " a@b.example";
    EXPECT_EQ(one(ok).addr_spec(), "a@b.example");
    std::string deep = std::string(kMaxCommentDepth + 1, '(') + std::string(kMaxCommentDepth + 1, ')') + " a@b.example";
    EXPECT_NE(list_err(deep).find("nested too deeply"), std::string::npos);
    // A million open parentheses: a quick, clear error, no stack overflow.
    std::string hostile(1 << 20, '(');
    EXPECT_NE(list_err(hostile).find("nested too deeply"), std::string::npos);
}

TEST(Address, Groups) {
    auto l = list_ok("undisclosed-recipients:;");
    ASSERT_EQ(l.size(), 1u);
    const auto& g = std::get<Group>(l[0]);
    EXPECT_EQ(g.display_name, "undisclosed-recipients");
    EXPECT_TRUE(g.members.empty());
    EXPECT_TRUE(mailboxes(l).empty());

    auto l2 = list_ok("Team: alice@example.org, \"Bob\" <bob@example.org>;, carol@example.org");
    ASSERT_EQ(l2.size(), 2u);
    const auto& g2 = std::get<Group>(l2[0]);
    EXPECT_EQ(g2.display_name, "Team");
    ASSERT_EQ(g2.members.size(), 2u);
    EXPECT_EQ(g2.members[1].display_name, "Bob");
    EXPECT_EQ(std::get<Mailbox>(l2[1]).addr_spec(), "carol@example.org");
    EXPECT_EQ(mailboxes(l2).size(), 3u);

    EXPECT_EQ(std::get<Group>(list_ok("\"My Group\" : (empty) ;")[0]).display_name, "My Group");
    EXPECT_EQ(std::get<Group>(list_ok("G: , a@b.example, ;")[0]).members.size(), 1u);  // obs-group-list

    EXPECT_NE(list_err("Team: alice@example.org").find("not closed"), std::string::npos);
    EXPECT_NE(list_err(": a@b.example;").find("group without a name"), std::string::npos);
    EXPECT_NE(list_err("A: B: c@d.example;;").find("a group where a mailbox is expected"), std::string::npos);
    EXPECT_FALSE(parse_single_mailbox("undisclosed-recipients:;").has_value());
}

TEST(Address, MailboxListFlattensGroups) {
    auto r = parse_mailbox_list("a@b.example, G: c@d.example;");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1].addr_spec(), "c@d.example");
    auto e = parse_mailbox_list("undisclosed-recipients:;");
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->empty());
}

TEST(Address, QuotedLocalPart) {
    Mailbox m = one("\"john doe\"@example.org");
    EXPECT_EQ(m.local_part, "john doe");
    EXPECT_EQ(m.addr_spec(), "\"john doe\"@example.org");
    EXPECT_EQ(one(R"("a\"b"@example.org)").addr_spec(), R"("a\"b"@example.org)");
    EXPECT_EQ(one("\"plain\"@example.org").addr_spec(), "plain@example.org");  // quotes not needed
}

TEST(Address, ObsoleteForms) {
    // obs-local-part: words with CFWS around the dots, quoted words mixed in.
    EXPECT_EQ(one("john . doe @ example . org").addr_spec(), "john.doe@example.org");
    EXPECT_EQ(one("\"john\".doe@example.org").addr_spec(), "john.doe@example.org");
    // obs-phrase: a "." in an unquoted display name.
    EXPECT_EQ(one("John Q. Public <jqp@example.org>").display_name, "John Q. Public");
    // obs-angle-addr with a route: not part of the address, kept aside (IMAP ENVELOPE's adl).
    EXPECT_EQ(one("<@relay.example,@other.example:user@example.org>").addr_spec(), "user@example.org");
    EXPECT_EQ(one("<@relay.example, ,@[10.0.0.1]:user@example.org>").route, "@relay.example,@[10.0.0.1]");
    EXPECT_EQ(one("<user@example.org>").route, "");
    // obs-addr-list: empty elements.
    EXPECT_EQ(mailboxes(list_ok(", a@b.example,, c@d.example ,")).size(), 2u);
    // Dots that real mobile carriers emit.
    EXPECT_EQ(one("a..b.@docomo.example").local_part, "a..b.");
}

TEST(Address, DomainLiterals) {
    EXPECT_EQ(one("user@[192.0.2.1]").domain, "[192.0.2.1]");
    EXPECT_EQ(one("user@[IPv6:2001:db8::1]").domain, "[IPv6:2001:db8::1]");
    EXPECT_NE(list_err("user@[192.0.2.1").find("unterminated domain literal"), std::string::npos);
    EXPECT_NE(list_err("user@192.0.2.1]").find("']' without '['"), std::string::npos);
}

TEST(Address, FoldsInsideValues) {
    EXPECT_EQ(one("Alice\r\n <alice@example.org>").display_name, "Alice");
    EXPECT_EQ(one("\"Ali\r\n ce\" <alice@example.org>").display_name, "Ali ce");
    EXPECT_NE(list_err("alice@example.org\r\nBcc: x@y").find("line break"), std::string::npos);
    EXPECT_NE(list_err("alice@exa\rmple.org").find("line break"), std::string::npos);
}

TEST(Address, UnbalancedIsAnErrorNotAnEmptyList) {
    // Issue 7: the submission check saw an empty list here and let the message through.
    EXPECT_NE(list_err("\"x <ceo@bank.example>").find("unterminated quoted string"), std::string::npos);
    EXPECT_NE(list_err("<ceo@bank.example").find("unterminated '<'"), std::string::npos);
    EXPECT_NE(list_err("Boss <ceo@bank.example, a@b.example").find("'>' expected"), std::string::npos);
    EXPECT_NE(list_err("ceo@bank.example>").find("'>' without '<'"), std::string::npos);
    EXPECT_NE(list_err("a@b.example (comment").find("unterminated comment"), std::string::npos);
    EXPECT_NE(list_err("a@b.example )").find("')' without '('"), std::string::npos);
    EXPECT_NE(list_err("\"unterminated \\\"").find("unterminated quoted string"), std::string::npos);
    EXPECT_NE(list_err("a@b.example (x\\").find("unterminated comment"), std::string::npos);
}

TEST(Address, NotAddresses) {
    EXPECT_EQ(list_err(""), "no address");
    EXPECT_EQ(list_err("   "), "no address");
    EXPECT_EQ(list_err("(only a comment)"), "no address");
    EXPECT_EQ(list_err(",,"), "no address");
    EXPECT_NE(list_err("alice").find("no '@domain'"), std::string::npos);
    EXPECT_NE(list_err("Alice Smith").find("no '@domain'"), std::string::npos);
    EXPECT_NE(list_err("@example.org").find("missing local part"), std::string::npos);
    EXPECT_NE(list_err("alice@").find("missing domain"), std::string::npos);
    EXPECT_NE(list_err("alice@example.").find("malformed domain"), std::string::npos);
    EXPECT_NE(list_err("alice@@example.org").find("missing domain"), std::string::npos);
    EXPECT_NE(list_err("john doe@example.org").find("white space inside a local part"), std::string::npos);
    EXPECT_NE(list_err(".alice@example.org").find("starts with '.'"), std::string::npos);
    EXPECT_NE(list_err("<>").find("empty address"), std::string::npos);
    EXPECT_NE(list_err("<a@b.example> <c@d.example>").find("',' expected"), std::string::npos);
    EXPECT_NE(list_err("a@b.example c@d.example").find("',' expected"), std::string::npos);
    EXPECT_NE(list_err("a@b.example;").find("',' expected"), std::string::npos);
    EXPECT_NE(list_err("<a@b.example").find("unterminated"), std::string::npos);
    EXPECT_NE(list_err("a\\b@example.org").find("unexpected '\\'"), std::string::npos);
    EXPECT_NE(list_err(std::string("a@b.exa\0mple", 12)).find("control character"), std::string::npos);
    EXPECT_NE(list_err("\"a\x01\"@b.example").find("control character"), std::string::npos);
    EXPECT_NE(list_err("<@relay.example user@example.org>").find("source route"), std::string::npos);
}

TEST(Address, SingleMailboxRules) {
    EXPECT_FALSE(parse_single_mailbox("a@b.example, c@d.example").has_value());
    EXPECT_FALSE(parse_single_mailbox("").has_value());
    EXPECT_FALSE(parse_single_mailbox("\"x <a@b.example>").has_value());
    EXPECT_TRUE(parse_single_mailbox(" Alice <a@b.example> (comment) ").has_value());
}

TEST(Address, ErrorOffsetsPointAtTheProblem) {
    auto r = parse_address_list("a@b.example, \"x <ceo@bank.example>");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().offset, 13u);  // the opening quote
    auto r2 = parse_address_list("a@b.example )");
    ASSERT_FALSE(r2.has_value());
    EXPECT_EQ(r2.error().offset, 12u);
}

TEST(Address, HugeListIsLinear) {
    std::string v;
    for (int i = 0; i < 50000; ++i) v += "\"User, " + std::to_string(i) + "\" <u" + std::to_string(i) + "@example.org>, ";
    auto r = parse_address_list(v);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->size(), 50000u);
    EXPECT_EQ(std::get<Mailbox>(r->back()).addr_spec(), "u49999@example.org");
    // A huge run of quoted pairs and one huge atom.
    std::string q = "\"" + std::string(200000, 'x') + "\" <a@b.example>";
    EXPECT_EQ(one(q).display_name.size(), 200000u);
    std::string atom(1 << 20, 'a');
    EXPECT_NE(list_err(atom).find("no '@domain'"), std::string::npos);
}

}  // namespace
}  // namespace tern::mime
