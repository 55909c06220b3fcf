// Unit tests for the POP3 command parser (RFC 1939 §3, §9; RFC 2449 §3; RFC 5034 §4): keywords,
// argument counts, numbers, the PASS exception and refusal of CR/LF/NUL. Must assert exact results.
#include "proto/pop3/command.hpp"

#include <gtest/gtest.h>

namespace tern::pop3 {
namespace {

Command ok_parse(std::string_view line) {
    auto c = parse_command(line);
    EXPECT_TRUE(c.has_value()) << line << ": " << (c ? "" : c.error().text);
    return c ? *c : Command{};
}

std::string error_of(std::string_view line) {
    auto c = parse_command(line);
    EXPECT_FALSE(c.has_value()) << line;
    return c ? std::string() : c.error().text;
}

TEST(Pop3Command, KeywordsAreCaseInsensitive) {
    EXPECT_EQ(ok_parse("stat").verb, Verb::Stat);
    EXPECT_EQ(ok_parse("StAt").verb, Verb::Stat);
    EXPECT_EQ(ok_parse("top 1 0").verb, Verb::Top);
    EXPECT_EQ(ok_parse("CAPA").verb, Verb::Capa);
    EXPECT_EQ(ok_parse("stls").verb, Verb::Stls);
    for (auto v : {Verb::User, Verb::Pass, Verb::Apop, Verb::Auth, Verb::Capa, Verb::Stls, Verb::Stat, Verb::List,
                   Verb::Uidl, Verb::Retr, Verb::Dele, Verb::Top, Verb::Rset, Verb::Noop, Verb::Quit})
        EXPECT_FALSE(verb_name(v).empty());
}

TEST(Pop3Command, UnknownKeywords) {
    for (std::string_view l : {"", "LAST", "XTND", "STATS", "ST", "HELO there", " STAT", "RETRX 1"}) {
        auto c = parse_command(l);
        ASSERT_FALSE(c.has_value()) << l;
        EXPECT_EQ(c.error().kind, CommandError::Kind::Unknown) << l;
        EXPECT_EQ(c.error().text, "Unknown command");
    }
}

TEST(Pop3Command, NoArgumentCommandsRefuseArguments) {
    EXPECT_EQ(error_of("STAT 1"), "Syntax: STAT");
    EXPECT_EQ(error_of("QUIT now"), "Syntax: QUIT");
    EXPECT_EQ(error_of("NOOP "), "Syntax error: extra spaces in command");
    EXPECT_EQ(parse_command("RSET x").error().kind, CommandError::Kind::Syntax);
}

TEST(Pop3Command, MessageNumbers) {
    EXPECT_EQ(ok_parse("RETR 1").msg, 1u);
    EXPECT_EQ(ok_parse("DELE 0042").msg, 42u);
    EXPECT_FALSE(ok_parse("LIST").msg.has_value());
    EXPECT_EQ(ok_parse("LIST 3").msg, 3u);
    EXPECT_EQ(ok_parse("UIDL 7").msg, 7u);
    EXPECT_EQ(ok_parse("RETR 0").msg, 0u);  // valid syntax; the session says "no such message"
    EXPECT_EQ(ok_parse("RETR 99999999999999999999999999").msg, UINT64_MAX) << "saturates";
    EXPECT_EQ(error_of("RETR -1"), "Invalid message number");
    EXPECT_EQ(error_of("RETR +1"), "Invalid message number");
    EXPECT_EQ(error_of("RETR 1x"), "Invalid message number");
    EXPECT_EQ(error_of("RETR"), "Syntax: RETR msg");
    EXPECT_EQ(error_of("DELE 1 2"), "Syntax: DELE msg");
    EXPECT_EQ(error_of("LIST 1 2"), "Syntax: LIST [msg]");
    EXPECT_EQ(error_of("RETR  1"), "Syntax error: extra spaces in command");
    EXPECT_EQ(error_of("RETR 1 "), "Syntax error: extra spaces in command");
}

TEST(Pop3Command, Top) {
    auto c = ok_parse("TOP 2 10");
    EXPECT_EQ(c.msg, 2u);
    EXPECT_EQ(c.lines, 10u);
    EXPECT_EQ(ok_parse("TOP 1 0").lines, 0u);
    EXPECT_EQ(error_of("TOP 1"), "Syntax: TOP msg lines");
    EXPECT_EQ(error_of("TOP 1 -3"), "Invalid line count");
    EXPECT_EQ(error_of("TOP x 3"), "Invalid message number");
}

TEST(Pop3Command, UserPassApop) {
    EXPECT_EQ(ok_parse("USER alice@example.org").arg1, "alice@example.org");
    EXPECT_EQ(error_of("USER"), "Syntax: USER name");
    EXPECT_EQ(error_of("USER a b"), "Syntax: USER name");
    // RFC 1939 §7: spaces belong to the password, verbatim.
    EXPECT_EQ(ok_parse("PASS  my secret ").arg1, " my secret ");
    EXPECT_EQ(error_of("PASS"), "Syntax: PASS password");
    EXPECT_EQ(error_of("PASS "), "Syntax: PASS password");
    auto a = ok_parse("apop mrose c4c9334bac560ecc979e58001b3e22fb");
    EXPECT_EQ(a.verb, Verb::Apop);
    EXPECT_EQ(a.arg1, "mrose");
    EXPECT_EQ(a.arg2, "c4c9334bac560ecc979e58001b3e22fb");
    EXPECT_EQ(error_of("APOP mrose"), "Syntax: APOP name digest");
}

TEST(Pop3Command, Auth) {
    auto a = ok_parse("auth plain");
    EXPECT_EQ(a.arg1, "PLAIN");
    EXPECT_FALSE(a.has_arg2);
    auto b = ok_parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    EXPECT_TRUE(b.has_arg2);
    EXPECT_EQ(b.arg2, "AGFsaWNlAHNlY3JldA==");
    EXPECT_EQ(ok_parse("AUTH LOGIN =").arg2, "=");
    EXPECT_EQ(error_of("AUTH"), "Syntax: AUTH mechanism [initial-response]");
    EXPECT_EQ(error_of("AUTH A B C"), "Syntax: AUTH mechanism [initial-response]");
}

TEST(Pop3Command, ControlCharactersAreRefused) {
    using namespace std::string_literals;
    EXPECT_EQ(error_of("STAT\r"), "Invalid characters in command");
    EXPECT_EQ(error_of("PASS a\nb"), "Invalid characters in command");
    EXPECT_EQ(error_of("USER a\0b"s), "Invalid characters in command");
}

}  // namespace
}  // namespace tern::pop3
