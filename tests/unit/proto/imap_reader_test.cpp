// Unit tests for the IMAP command reader (proto/imap/reader.hpp): every input is fed whole, cut at
// every offset and byte by byte, and must give the same events. Must never touch I/O.
#include <gtest/gtest.h>

#include "imap_feed.hpp"

namespace tern::imap {
namespace {

using testing::run;
using testing::splits;
using V = std::vector<std::string>;
using namespace std::literals;

void expect_events(std::string_view in, const V& want, Limits limits = {}, V raw_after = {}) {
    for (auto& pieces : splits(in)) {
        V got = run(pieces, limits, raw_after);
        ASSERT_EQ(got, want) << "input: " << in << " cut into " << pieces.size() << " pieces";
    }
}

TEST(ImapReader, SimpleCommands) {
    expect_events("a1 NOOP\r\n", {"CMD a1 NOOP"});
    expect_events("a1 noop\r\nA2 Capability\r\n", {"CMD a1 NOOP", "CMD A2 CAPABILITY"});
    expect_events("x.y LOGIN bob secret\r\n", {"CMD x.y LOGIN bob secret"});
}

TEST(ImapReader, BracketIsAnAtomCharOutsideSections) {
    // RFC 9051 §9: '[' is an ATOM-CHAR; only BODY/BINARY[...] open a section (imaptest "atoms").
    expect_events("a SELECT a[b\r\n", {"CMD a SELECT a[b"});
    expect_events("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n",
                  {"CMD a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}"});
    expect_events("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (A B)] binary[1])\r\n",
                  {"CMD a FETCH 1 (BODY.PEEK[HEADER.FIELDS (A B)] binary[1])"});
}

TEST(ImapReader, QuotedStringsUnescape) {
    expect_events("a LOGIN \"b o\\\"b\" \"s\\\\x\"\r\n", {"CMD a LOGIN \"b o\"b\" \"s\\x\""});
    expect_events("a LOGIN \"\" \"\"\r\n", {"CMD a LOGIN \"\" \"\""});
    expect_events("a SELECT \"Entw\xc3\xbcrfe\"\r\n", {"CMD a SELECT \"Entw\xc3\xbcrfe\""});
}

TEST(ImapReader, QuotedStringErrors) {
    expect_events("a LOGIN \"b\\n\" x\r\nb NOOP\r\n", {"BAD [a] Invalid escape in quoted string", "CMD b NOOP"});
    expect_events("a LOGIN \"bob\r\nb NOOP\r\n", {"BAD [a] Unterminated quoted string", "CMD b NOOP"});
    expect_events("a LOGIN \"b\0b\" x\r\n"sv, {"BAD [a] NUL octet in quoted string"});
    expect_events("a SELECT \"\xc3\x28\"\r\n", {"BAD [a] Quoted string is not valid UTF-8"});
    expect_events("a SELECT \"\xc0\xaf\"\r\n", {"BAD [a] Quoted string is not valid UTF-8"});
}

TEST(ImapReader, SynchronizingLiteral) {
    expect_events("a LOGIN {3}\r\nbob {6}\r\nsecret\r\n", {"LIT 3", "LIT 6", "CMD a LOGIN {bob} {secret}"});
    expect_events("a LOGIN {0}\r\n {0}\r\n\r\n", {"LIT 0", "LIT 0", "CMD a LOGIN {} {}"});
    // Literal octets are never parsed: CRLF, quotes and braces inside are data.
    expect_events("a X {7}\r\n\"\r\n{1}\r\r\n", {"LIT 7", "CMD a X {\"\r\n{1}\r}"});
}

TEST(ImapReader, NonSynchronizingLiterals) {
    expect_events("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n", {"LIT 3+", "LIT 6+", "CMD a LOGIN {bob} {secret}"});
    expect_events("a APPEND INBOX ~{3}\r\na\0b\r\n"sv, {"LIT 3", "CMD a APPEND INBOX ~{a\0b}"s});
}

TEST(ImapReader, NulInLiteralRefusedButSkipped) {
    std::string in("a LOGIN {3+}\r\na\0b x\r\nb NOOP\r\n"sv);
    expect_events(in, {"LIT 3+", "BAD [a] NUL octet in literal", "CMD b NOOP"});
}

TEST(ImapReader, LiteralMinusLimit) {
    Limits l;
    l.literal_plus = false;
    expect_events("a LOGIN {4096+}\r\n" + std::string(4096, 'x') + "\r\n", {"LIT 4096+", "CMD a LOGIN {" + std::string(4096, 'x') + "}"}, l);
    // RFC 7888 §5: over 4096 is refused; the octets are discarded, never read as commands.
    expect_events("a LOGIN {4097+}\r\n" + std::string(4089, 'x') + "\r\nb NOOP\r\nc NOOP\r\n",
                  {"BAD [a] [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)", "CMD c NOOP"}, l);
}

TEST(ImapReader, LiteralSizeLimits) {
    Limits l;
    l.max_literal = 10;
    l.max_append_literal = 100;
    // A synchronizing literal too big: refused at once, no "+", the client sends nothing more.
    expect_events("a LOGIN {11}\r\nb NOOP\r\n", {"BAD [a] [TOOBIG] Literal too large", "CMD b NOOP"}, l);
    expect_events("a APPEND INBOX {11}\r\nhello world\r\n", {"LIT 11", "CMD a APPEND INBOX {hello world}"}, l);
    expect_events("a APPEND INBOX {101}\r\n", {"BAD [a] [TOOBIG] Literal too large"}, l);
    // Non-synchronizing over every limit: nothing can be skipped safely.
    expect_events("a APPEND INBOX {101+}\r\nxx", {"BAD [a] [TOOBIG] Literal too large (close)"}, l);
    expect_events("a LOGIN {99999999999999999999}\r\n", {"BAD [a] Literal size too large"}, l);
}

TEST(ImapReader, ListsAndNil) {
    expect_events("a STORE 1:*,5,$ +FLAGS.SILENT (\\Seen $Junk)\r\n",
                  {"CMD a STORE 1:*,5,$ +FLAGS.SILENT (\\Seen $Junk)"});
    expect_events("a X () ((a) (b c)) NIL\r\n", {"CMD a X () ((a) (b c)) NIL"});
    expect_events("a X (\"q\" {1}\r\nz)\r\n", {"LIT 1", "CMD a X (\"q\" {z})"});
}

TEST(ImapReader, SectionsKeepSpacesAndLists) {
    expect_events("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> UID)\r\n",
                  {"CMD a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100> UID)"});
    expect_events("a FETCH 1 BODY[1.2.MIME]\r\n", {"CMD a FETCH 1 BODY[1.2.MIME]"});
    expect_events("a FETCH 1 BODY[HEADER\r\n", {"BAD [a] Unterminated [ in argument"});
}

TEST(ImapReader, ListErrors) {
    expect_events("a X (a\r\nb NOOP\r\n", {"BAD [a] Missing ')'", "CMD b NOOP"});
    expect_events("a X a)\r\n", {"BAD [a] Unexpected ')'"});
    expect_events("a X (a )\r\n", {"BAD [a] Unexpected ')'"});
    expect_events("a X (a)(b)\r\n", {"BAD [a] Missing space between arguments"});
    expect_events("a X  b\r\n", {"BAD [a] Unexpected double space"});
    expect_events("a X b \r\n", {"BAD [a] Unexpected end of line after a space"});
}

TEST(ImapReader, Depth) {
    Limits l;
    l.max_depth = 2;
    expect_events("a X ((b))\r\n", {"CMD a X ((b))"}, l);
    expect_events("a X (((b)))\r\nc NOOP\r\n", {"BAD [a] Lists nested too deeply", "CMD c NOOP"}, l);
}

TEST(ImapReader, ArgumentCount) {
    Limits l;
    l.max_args = 3;
    expect_events("a X (b c)\r\n", {"CMD a X (b c)"}, l);
    expect_events("a X (b c) d\r\n", {"BAD [a] Too many arguments"}, l);
    expect_events("a X b c d {1+}\r\nz\r\ne NOOP\r\n", {"BAD [a] Too many arguments", "CMD e NOOP"}, l);
}

TEST(ImapReader, LineLength) {
    Limits l;
    l.max_line = 20;
    expect_events("a LOGIN bob secret\r\n", {"CMD a LOGIN bob secret"}, l);  // exactly 20
    expect_events("a LOGIN bob secret1\r\n", {"BAD [a] [TOOBIG] Command line too long (close)"}, l);
    // Literal octets do not count against the line.
    expect_events("a LOGIN {30}\r\n" + std::string(30, 'p') + "\r\n", {"LIT 30", "CMD a LOGIN {" + std::string(30, 'p') + "}"}, l);
}

TEST(ImapReader, TagAndNameErrors) {
    expect_events("\r\na NOOP\r\n", {"BAD [] Empty command line", "CMD a NOOP"});
    expect_events("a+b NOOP\r\n", {"BAD [] Invalid character in tag"});
    expect_events("a\r\n", {"BAD [a] Missing command name"});
    expect_events("a \r\n", {"BAD [a] Missing command name"});
    expect_events("a NO(OP\r\n", {"BAD [a] Invalid character in command name"});
    expect_events("a NOOP\rb\n", {"BAD [a] CR without LF"});
    expect_events("a NOOP\nb NOOP\r\n", {"BAD [a] Line ends with a bare LF", "CMD b NOOP"});
    expect_events("a X \xc3\xa9\r\n", {"BAD [a] 8-bit octet outside a string"});
}

// After an error the rest of the command is skipped, including the octets of a LITERAL+ that
// the client sends anyway: they must never be read as commands (RFC 7888 §4).
TEST(ImapReader, ErrorSkipsNonSyncLiteralData) {
    expect_events("a X \"\\q\" {14+}\r\nb DELETE INBOX\r\nc NOOP\r\n", {"BAD [a] Invalid escape in quoted string", "CMD c NOOP"});
    expect_events("a X \"\\q\" {14+}\r\nb DELETE INBOX {0+}\r\n {2+}\r\nxy\r\nc NOOP\r\n",
                  {"BAD [a] Invalid escape in quoted string", "CMD c NOOP"});
    // A synchronizing literal after an error is never answered with "+", so nothing follows.
    expect_events("a X \"\\q\" {14}\r\nb NOOP\r\n", {"BAD [a] Invalid escape in quoted string", "CMD b NOOP"});
}

TEST(ImapReader, LiteralHeaderErrors) {
    expect_events("a X {}\r\n", {"BAD [a] Invalid literal size"});
    expect_events("a X {+}\r\n", {"BAD [a] Invalid literal size"});
    expect_events("a X {3} y\r\n", {"BAD [a] A literal's size must end the line"});
    expect_events("a X ~x\r\n", {"CMD a X ~x"});
}

TEST(ImapReader, RawLines) {
    expect_events("a IDLE\r\nDONE\r\nb NOOP\r\n", {"CMD a IDLE", "LINE DONE", "CMD b NOOP"}, {}, {"IDLE"});
    expect_events("a AUTHENTICATE PLAIN\r\nAGJvYgBzZWNyZXQ=\r\n", {"CMD a AUTHENTICATE PLAIN", "LINE AGJvYgBzZWNyZXQ="}, {}, {"AUTHENTICATE"});
    expect_events("a IDLE\r\nDO\nNE\r\nb NOOP\r\n", {"CMD a IDLE", "BAD [] Line ends with a bare LF", "BAD [NE] Missing command name", "CMD b NOOP"}, {}, {"IDLE"});
}

TEST(ImapReader, ResetAbandonsCommand) {
    CommandReader r;
    Step s = r.feed("a APPEND INBOX {5}\r\n");
    ASSERT_EQ(std::get<NeedLiteral>(s.event), (NeedLiteral{5, true}));
    ASSERT_EQ(r.pending().args.size(), 2u);  // the session can see the mailbox before "+"
    EXPECT_EQ(r.pending().args[1], (Arg{Arg::Kind::Literal, "", {}}));
    EXPECT_EQ(r.pending().args[0].text, "INBOX");
    EXPECT_EQ(r.pending().name, "APPEND");
    r.reset();  // the session said "NO [TRYCREATE]" instead of "+"
    s = r.feed("b NOOP\r\n");
    EXPECT_EQ(std::get<Command>(s.event).tag, "b");
}

}  // namespace
}  // namespace tern::imap
