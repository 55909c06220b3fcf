// Unit tests for RFC 5321 §4.1.2 mailbox/path parsing (smtp/address.hpp), incl. RFC 6531 UTF-8.
// Must never depend on I/O or on anything outside tern_proto.
#include "proto/smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::smtp {
namespace {

Mailbox mb(std::string_view text, bool utf8 = false) {
    auto r = parse_mailbox(text, utf8);
    EXPECT_TRUE(r.has_value()) << "should parse: " << text;
    return r ? *r : Mailbox{};
}

void expect_bad(std::string_view text, bool utf8 = false) {
    EXPECT_FALSE(parse_mailbox(text, utf8).has_value()) << "should reject: " << text;
}

TEST(Mailbox, PlainDotString) {
    EXPECT_EQ(mb("user@example.org"), (Mailbox{"user", "example.org"}));
    EXPECT_EQ(mb("first.last+tag@sub.example.org"), (Mailbox{"first.last+tag", "sub.example.org"}));
    EXPECT_EQ(mb("!#$%&'*+-/=?^_`{|}~@x.y"), (Mailbox{"!#$%&'*+-/=?^_`{|}~", "x.y"}));
    EXPECT_EQ(mb("a@localhost"), (Mailbox{"a", "localhost"}));
}

TEST(Mailbox, DomainIsLowerCasedLocalPartIsNot) {
    EXPECT_EQ(mb("John.Doe@Example.ORG"), (Mailbox{"John.Doe", "example.org"}));
}

TEST(Mailbox, BadDotStrings) {
    for (auto t : {".a@x.y", "a.@x.y", "a..b@x.y", "@x.y", "a b@x.y", "a(b)@x.y", "a,b@x.y",
                   "a[b@x.y", "a\\b@x.y", "a\"b@x.y", "a:b@x.y", "a;b@x.y", "a<b@x.y", "a>b@x.y"})
        expect_bad(t);
}

TEST(Mailbox, QuotedLocalPartIsUnquoted) {
    EXPECT_EQ(mb("\"john doe\"@x.org"), (Mailbox{"john doe", "x.org"}));
    EXPECT_EQ(mb("\"a\\\"b\"@x.org"), (Mailbox{"a\"b", "x.org"}));
    EXPECT_EQ(mb("\"a\\\\b\"@x.org"), (Mailbox{"a\\b", "x.org"}));
    EXPECT_EQ(mb("\"a@b\"@x.org"), (Mailbox{"a@b", "x.org"}));
    EXPECT_EQ(mb("\"\\x\"@x.org"), (Mailbox{"x", "x.org"}));
    EXPECT_EQ(mb("\"\"@x.org"), (Mailbox{"", "x.org"}));
}

TEST(Mailbox, BadQuotedStrings) {
    expect_bad("\"abc@x.org");             // unterminated
    expect_bad("\"a\"b\"@x.org");          // junk after closing quote
    expect_bad("\"a\\");                   // backslash at end
    expect_bad(std::string("\"a\tb\"@x.org"));   // HT is not qtextSMTP
    expect_bad(std::string("\"a\rb\"@x.org"));
    expect_bad(std::string("\"a\nb\"@x.org"));
    expect_bad(std::string("\"a\0b\"@x.org", 11));
    expect_bad(std::string("\"a\\\rb\"@x.org"));   // quoted-pair of CR is not allowed
    expect_bad(std::string("\"a\\\nb\"@x.org"));
    expect_bad(std::string("\"a\x7f\"@x.org"));
}

TEST(Mailbox, StrRequotesOnlyWhenNeeded) {
    EXPECT_EQ(mb("user@x.org").str(), "user@x.org");
    EXPECT_EQ(mb("\"user\"@x.org").str(), "user@x.org");
    EXPECT_EQ(mb("\"john doe\"@x.org").str(), "\"john doe\"@x.org");
    EXPECT_EQ(mb("\"a\\\"b\"@x.org").str(), "\"a\\\"b\"@x.org");
    EXPECT_EQ(mb("\"a\\\\b\"@x.org").str(), "\"a\\\\b\"@x.org");
    EXPECT_EQ(mb("\".a\"@x.org").str(), "\".a\"@x.org");
    EXPECT_EQ(mb("\"\"@x.org").str(), "\"\"@x.org");
    EXPECT_EQ((Mailbox{"postmaster", ""}).str(), "postmaster");
}

TEST(Mailbox, StrRoundTrips) {
    for (auto t : {"user@x.org", "\"john doe\"@x.org", "\"a\\\"b\\\\c\"@x.org", "\"\"@x.org", "a@[1.2.3.4]",
                   "a@[IPv6:2001:db8::1]", "a@[tag:stuff]", "\"a..b\"@x"}) {
        Mailbox m = mb(t);
        EXPECT_EQ(mb(m.str()), m) << t;
    }
}

TEST(Mailbox, Domains) {
    EXPECT_EQ(mb("a@xn--bcher-kva.example").domain, "xn--bcher-kva.example");
    EXPECT_EQ(mb("a@1.2.3.4.example").domain, "1.2.3.4.example");
    EXPECT_EQ(mb("a@a-b.c").domain, "a-b.c");
    for (auto t : {"a@", "a@-x.org", "a@x-.org", "a@x..org", "a@.x.org", "a@x.org.", "a@x_y.org",
                   "a@x.org ", "a@x org", "a", "a@b@c", "a@[1.2.3.4", "a@1.2.3.4]"})
        expect_bad(t);
}

TEST(Mailbox, LabelAndDomainLengths) {
    std::string l63(63, 'a'), l64(64, 'a');
    EXPECT_TRUE(parse_mailbox("u@" + l63 + ".org", false).has_value());
    EXPECT_FALSE(parse_mailbox("u@" + l64 + ".org", false).has_value());
    // 4 labels of 63 + 3 dots = 255 octets: the maximum (RFC 5321 §4.5.3.1.2).
    std::string d255 = l63 + "." + l63 + "." + l63 + "." + l63;
    ASSERT_EQ(d255.size(), 255u);
    EXPECT_TRUE(parse_mailbox("u@" + d255, false).has_value());
    EXPECT_FALSE(parse_mailbox("u@" + d255 + "a", false).has_value());
    EXPECT_FALSE(parse_mailbox("u@a." + d255, false).has_value());
}

TEST(Mailbox, LocalPartLength) {
    EXPECT_TRUE(parse_mailbox(std::string(64, 'a') + "@x.org", false).has_value());
    EXPECT_FALSE(parse_mailbox(std::string(65, 'a') + "@x.org", false).has_value());
    // The limit counts the local part as sent, quotes included.
    EXPECT_TRUE(parse_mailbox("\"" + std::string(62, 'a') + "\"@x.org", false).has_value());
    EXPECT_FALSE(parse_mailbox("\"" + std::string(63, 'a') + "\"@x.org", false).has_value());
}

TEST(Mailbox, AddressLiterals) {
    EXPECT_EQ(mb("a@[192.0.2.1]").domain, "[192.0.2.1]");
    EXPECT_EQ(mb("a@[255.255.255.255]").domain, "[255.255.255.255]");
    EXPECT_EQ(mb("a@[IPv6:2001:DB8::1]").domain, "[IPv6:2001:db8::1]");
    EXPECT_EQ(mb("a@[ipv6:::1]").domain, "[IPv6:::1]");
    EXPECT_EQ(mb("a@[IPv6:1:2:3:4:5:6:7:8]").domain, "[IPv6:1:2:3:4:5:6:7:8]");
    EXPECT_EQ(mb("a@[IPv6:1:2:3:4:5:6:1.2.3.4]").domain, "[IPv6:1:2:3:4:5:6:1.2.3.4]");
    EXPECT_EQ(mb("a@[IPv6:::ffff:1.2.3.4]").domain, "[IPv6:::ffff:1.2.3.4]");
    EXPECT_EQ(mb("a@[IPv6:1:2:3:4:5:6::]").domain, "[IPv6:1:2:3:4:5:6::]");
    EXPECT_EQ(mb("a@[x-tag:Some+Thing]").domain, "[x-tag:Some+Thing]");  // General-address-literal
    for (auto t : {"a@[256.1.1.1]", "a@[1.2.3]", "a@[1.2.3.4.5]", "a@[1..2.3]", "a@[1234.1.1.1]",
                   "a@[IPv6:1:2:3:4:5:6:7]", "a@[IPv6:1:2:3:4:5:6:7:8:9]", "a@[IPv6:1::2::3]",
                   "a@[IPv6:12345::1]", "a@[IPv6:g::1]", "a@[IPv6:1:2:3:4:5:6:7::]",
                   "a@[IPv6:1:2:3:4:5::1.2.3.4]", "a@[IPv6:::1.2.3.256]", "a@[IPv6::1]", "a@[IPv6:1:]",
                   "a@[]", "a@[-tag:x]", "a@[tag:]", "a@[tag:a b]", "a@[tag:a\\b]", "a@[nocolon]"})
        expect_bad(t);
}

TEST(Mailbox, Utf8OnlyWhenAllowed) {
    expect_bad("j\xc3\xb6rg@x.org", false);
    EXPECT_EQ(mb("j\xc3\xb6rg@x.org", true).local, "j\xc3\xb6rg");
    EXPECT_EQ(mb("u@b\xc3\xbc" "cher.example", true).domain, "b\xc3\xbc" "cher.example");
    EXPECT_EQ(mb("\"j\xc3\xb6 rg\"@x.org", true).local, "j\xc3\xb6 rg");
    EXPECT_EQ(mb("\xe2\x82\xac@\xf0\x9f\x98\x80.example", true).str(), "\xe2\x82\xac@\xf0\x9f\x98\x80.example");
    expect_bad("u@b\xc3\xbc" "cher.example", false);
}

TEST(Mailbox, IllFormedUtf8IsRejectedEvenWhenAllowed) {
    for (auto t : {"\xc3@x.org",            // truncated
                   "\xc0\xaf@x.org",        // overlong '/'
                   "\xe0\x80\xaf@x.org",    // overlong
                   "\xed\xa0\x80@x.org",    // surrogate
                   "\xf4\x90\x80\x80@x.org",  // > U+10FFFF
                   "\xff@x.org", "\x80@x.org",
                   "\xc2\x85@x.org",        // U+0085 NEL, a C1 control
                   "u@\xc3.org"})
        expect_bad(t, true);
}

TEST(Mailbox, ControlsAreAlwaysRejected) {
    for (char c : std::string("\0\r\n\t\x01\x1f\x7f", 7)) {
        expect_bad(std::string("a") + c + "@x.org", true);
        expect_bad(std::string("a@x") + c + ".org", true);
    }
}

Path path(std::string_view text, std::string_view* rest = nullptr, bool utf8 = false) {
    std::string_view dummy;
    auto r = parse_path(text, utf8, rest ? rest : &dummy);
    EXPECT_TRUE(r.has_value()) << "should parse: " << text;
    return r ? *r : Path{};
}

TEST(Path, NullPath) {
    std::string_view rest;
    EXPECT_FALSE(path("<>", &rest).mailbox.has_value());
    EXPECT_EQ(rest, "");
}

TEST(Path, MailboxAndRest) {
    std::string_view rest;
    Path p = path("<a@x.org> SIZE=10", &rest);
    ASSERT_TRUE(p.mailbox);
    EXPECT_EQ(*p.mailbox, (Mailbox{"a", "x.org"}));
    EXPECT_EQ(rest, " SIZE=10");
}

TEST(Path, QuotedLocalPartMayContainClosingBracket) {
    std::string_view rest;
    Path p = path("<\"a>b\"@x.org>X", &rest);
    ASSERT_TRUE(p.mailbox);
    EXPECT_EQ(p.mailbox->local, "a>b");
    EXPECT_EQ(rest, "X");
}

TEST(Path, SourceRouteIsIgnored) {
    Path p = path("<@a.example,@b.example:user@d.example>");
    ASSERT_TRUE(p.mailbox);
    EXPECT_EQ(*p.mailbox, (Mailbox{"user", "d.example"}));
    EXPECT_EQ(path("<@a:u@d>").mailbox->domain, "d");
}

TEST(Path, Rejections) {
    std::string_view rest;
    for (auto t : {"", "a@x.org", "<a@x.org", "a@x.org>", "< a@x.org>", "<a@x.org >", "<@a.example:>",
                   "<@a.example,u@d>", "<@a.example u@d>", "<@[1.2.3.4]:u@d>", "<@:u@d>", "<postmaster>",
                   "<<a@x.org>>", "<a@x.org>>"}) {
        auto r = parse_path(t, false, &rest);
        if (std::string_view(t) == "<a@x.org>>") {  // the second '>' is left for the caller to reject
            ASSERT_TRUE(r.has_value());
            EXPECT_EQ(rest, ">");
        } else {
            EXPECT_FALSE(r.has_value()) << t;
        }
    }
}

TEST(Path, LengthLimitIncludesBrackets) {
    // local 64 + '@' + domain: pick a domain so the whole path is exactly 256 octets.
    std::string local(64, 'l');
    std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
    std::string p = "<" + local + "@" + domain + ">";
    ASSERT_EQ(p.size(), 256u);
    std::string_view rest;
    EXPECT_TRUE(parse_path(p, false, &rest).has_value());
    std::string p257 = "<" + local + "@" + domain + "c>";
    EXPECT_FALSE(parse_path(p257, false, &rest).has_value());
}

TEST(Path, Utf8FollowsFlag) {
    std::string_view rest;
    EXPECT_FALSE(parse_path("<j\xc3\xb6@x.org>", false, &rest).has_value());
    EXPECT_TRUE(parse_path("<j\xc3\xb6@x.org>", true, &rest).has_value());
}

}  // namespace
}  // namespace tern::smtp
