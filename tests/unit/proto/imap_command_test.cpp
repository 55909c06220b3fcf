// Table tests for the IMAP command grammar (proto/imap/command.hpp): valid lines with the fields
// they must give, invalid ones with their BAD text. Lines go through the reader first, as in a
// session. Must never touch I/O.
#include <gtest/gtest.h>

#include "proto/imap/command.hpp"
#include "proto/imap/reader.hpp"

namespace tern::imap {
namespace {

std::expected<ParsedCommand, std::string> parse(std::string_view line) {
    CommandReader r;
    std::string in(line);
    in += "\r\n";
    std::string_view rest = in;
    for (;;) {
        Step s = r.feed(rest);
        rest.remove_prefix(s.consumed);
        if (auto* c = std::get_if<Command>(&s.event)) return parse_command(*c);
        if (auto* e = std::get_if<ReadError>(&s.event)) return std::unexpected("reader: " + e->text);
        if (std::holds_alternative<NeedMore>(s.event)) return std::unexpected(std::string("reader: incomplete"));
    }
}

template <class T>
T args(std::string_view line) {
    auto p = parse(line);
    EXPECT_TRUE(p.has_value()) << line << " -> " << (p ? "" : p.error());
    if (!p) return T{};
    auto* a = std::get_if<T>(&p->args);
    EXPECT_NE(a, nullptr) << line;
    return a ? *a : T{};
}

void bad(std::string_view line, std::string_view text = {}) {
    auto p = parse(line);
    ASSERT_FALSE(p.has_value()) << "should be refused: " << line;
    if (!text.empty()) {
        EXPECT_EQ(p.error(), text) << line;
    }
}

TEST(ImapGrammar, NoArgumentCommands) {
    for (auto [line, cmd] : std::initializer_list<std::pair<std::string_view, Cmd>>{
             {"a CAPABILITY", Cmd::Capability}, {"a noop", Cmd::Noop}, {"a LOGOUT", Cmd::Logout},
             {"a STARTTLS", Cmd::StartTls}, {"a NAMESPACE", Cmd::Namespace}, {"a IDLE", Cmd::Idle},
             {"a CLOSE", Cmd::Close}, {"a UNSELECT", Cmd::Unselect}, {"a EXPUNGE", Cmd::Expunge},
             {"a CHECK", Cmd::Check}}) {
        auto p = parse(line);
        ASSERT_TRUE(p) << line;
        EXPECT_EQ(p->cmd, cmd);
        EXPECT_EQ(p->tag, "a");
    }
    bad("a NOOP x", "Unexpected argument after NOOP");
    bad("a FROB", "Unknown command FROB");
}

TEST(ImapGrammar, LoginAndAuthenticate) {
    auto l = args<LoginArgs>("a LOGIN \"bob smith\" {6}\r\nse\"c t");
    EXPECT_EQ(l.user, "bob smith");
    EXPECT_EQ(l.password, "se\"c t");
    bad("a LOGIN bob", "Missing password");
    bad("a LOGIN (bob) x", "Invalid user name");
    auto au = args<AuthenticateArgs>("a authenticate plain AGJvYgBzZWNyZXQ=");
    EXPECT_EQ(au.mechanism, "PLAIN");
    EXPECT_EQ(au.initial_response, "AGJvYgBzZWNyZXQ=");
    EXPECT_FALSE(args<AuthenticateArgs>("a AUTHENTICATE SCRAM-SHA-256").initial_response);
    EXPECT_EQ(args<AuthenticateArgs>("a AUTHENTICATE PLAIN =").initial_response, "=");
    bad("a AUTHENTICATE PLAIN a:b", "Invalid initial response");
}

TEST(ImapGrammar, Enable) {
    EXPECT_EQ(args<EnableArgs>("a ENABLE condstore IMAP4rev2").capabilities,
              (std::vector<std::string>{"CONDSTORE", "IMAP4REV2"}));
    bad("a ENABLE", "Missing capability");
}

TEST(ImapGrammar, SelectWithCondstoreAndQresync) {
    auto s = args<SelectArgs>("a SELECT INBOX");
    EXPECT_EQ(s.mailbox, "INBOX");
    EXPECT_FALSE(s.condstore);
    EXPECT_TRUE(args<SelectArgs>("a EXAMINE \"a b\" (CONDSTORE)").condstore);
    s = args<SelectArgs>("a SELECT x (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1,3:5 7,9:11)))");
    ASSERT_TRUE(s.qresync);
    EXPECT_EQ(s.qresync->uidvalidity, 67890007u);
    EXPECT_EQ(s.qresync->modseq, 20050715194045000u);
    ASSERT_TRUE(s.qresync->known_uids);
    EXPECT_EQ(format_sequence_set(*s.qresync->known_uids), "41,43:211,214:541");
    EXPECT_EQ(format_sequence_set(*s.qresync->seq_match_uids), "7,9:11");
    bad("a SELECT x (QRESYNC (0 5))", "Invalid UIDVALIDITY");
    bad("a SELECT x (FOO)", "Invalid select parameter FOO");
}

TEST(ImapGrammar, MailboxCommands) {
    auto c = args<CreateArgs>("a CREATE Sent (USE (\\Sent))");
    EXPECT_EQ(c.mailbox, "Sent");
    EXPECT_EQ(c.use, (std::vector<std::string>{"\\Sent"}));
    EXPECT_EQ(args<MailboxArgs>("a DELETE foo").mailbox, "foo");
    EXPECT_EQ(args<MailboxArgs>("a SUBSCRIBE foo").mailbox, "foo");
    auto r = args<RenameArgs>("a RENAME a \"b c\"");
    EXPECT_EQ(r.from, "a");
    EXPECT_EQ(r.to, "b c");
    bad("a RENAME a", "Missing mailbox name");
    bad("a DELETE a*", "Invalid mailbox name");
    auto st = args<StatusArgs>("a STATUS INBOX (MESSAGES UIDNEXT size HIGHESTMODSEQ)");
    EXPECT_EQ(st.items, (std::vector<StatusItem>{StatusItem::Messages, StatusItem::UidNext, StatusItem::Size,
                                                 StatusItem::HighestModSeq}));
    bad("a STATUS INBOX ()", "Empty status item list");
    bad("a STATUS INBOX (FOO)", "Invalid status item FOO");
}

TEST(ImapGrammar, List) {
    auto l = args<ListArgs>("a LIST \"\" %");
    EXPECT_FALSE(l.extended);
    EXPECT_EQ(l.patterns, (std::vector<std::string>{"%"}));
    l = args<ListArgs>("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* Sent/%) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))");
    EXPECT_TRUE(l.extended && l.sel_subscribed && l.sel_recursive && l.ret_children);
    EXPECT_EQ(l.patterns, (std::vector<std::string>{"INBOX*", "Sent/%"}));
    ASSERT_TRUE(l.ret_status);
    EXPECT_EQ(l.ret_status->size(), 2u);
    bad("a LIST (RECURSIVEMATCH) \"\" *", "RECURSIVEMATCH needs another selection option");
    EXPECT_EQ(args<ListArgs>("a LSUB \"\" *").patterns, (std::vector<std::string>{"*"}));
    bad("a LSUB \"\" (*)", "Invalid mailbox pattern");
}

TEST(ImapGrammar, Append) {
    auto a = args<AppendArgs>("a APPEND Drafts (\\Seen \\draft) \" 1-Feb-2024 10:00:00 +0100\" {5}\r\nhello");
    ASSERT_EQ(a.messages.size(), 1u);
    EXPECT_EQ(a.messages[0].flags, (std::vector<std::string>{"\\Seen", "\\Draft"}));
    ASSERT_TRUE(a.messages[0].date);
    EXPECT_EQ(a.messages[0].date->zone_minutes, 60);
    EXPECT_EQ(a.messages[0].data, "hello");
    // RFC 3502 MULTIAPPEND; RFC 3516 literal8
    a = args<AppendArgs>("a APPEND x {1}\r\nA ~{2}\r\nBC (\\Flagged) {1+}\r\nD");
    ASSERT_EQ(a.messages.size(), 3u);
    EXPECT_TRUE(a.messages[1].binary);
    EXPECT_EQ(a.messages[2].flags, (std::vector<std::string>{"\\Flagged"}));
    bad("a APPEND x (\\Recent) {1}\r\nA", "Invalid flag \\Recent");
    bad("a APPEND x \"31-Feb-2024 10:00:00 +0000\" {1}\r\nA", "Invalid date-time");
    bad("a APPEND x hello", "Invalid APPEND: the message must be a literal");
}

TEST(ImapGrammar, FetchItems) {
    using K = FetchItem::Kind;
    auto f = args<FetchArgs>("a FETCH 1:* ALL");
    EXPECT_EQ(f.items.size(), 4u);
    EXPECT_EQ(args<FetchArgs>("a FETCH 1 FULL").items.back().kind, K::Body);
    f = args<FetchArgs>("a FETCH 2,4:5 (UID BODY.PEEK[HEADER.FIELDS (From \"Subject\")]<0.100> BINARY[1.2]<5.10> BINARY.SIZE[3] BODY[1.MIME] RFC822.SIZE MODSEQ)");
    EXPECT_EQ(format_sequence_set(f.set), "2,4:5");
    ASSERT_EQ(f.items.size(), 7u);
    EXPECT_EQ(f.items[1].kind, K::BodySection);
    EXPECT_TRUE(f.items[1].peek);
    EXPECT_EQ(f.items[1].section.text, Section::Text::HeaderFields);
    EXPECT_EQ(f.items[1].section.fields, (std::vector<std::string>{"FROM", "SUBJECT"}));
    EXPECT_EQ(f.items[1].partial, (Partial{0, 100}));
    EXPECT_EQ(f.items[2].kind, K::Binary);
    EXPECT_EQ(f.items[2].section.part, (std::vector<std::uint32_t>{1, 2}));
    EXPECT_EQ(f.items[3].kind, K::BinarySize);
    EXPECT_EQ(f.items[4].section.text, Section::Text::Mime);
    EXPECT_EQ(args<FetchArgs>("a FETCH 1 BODY[]").items[0].section, Section{});
    bad("a FETCH 1 BODY[MIME]", "Invalid section: MIME needs a part number");
    bad("a FETCH 1 BINARY[HEADER]", "Invalid section: BINARY takes part numbers only");
    bad("a FETCH 1 BODY[0]", "Invalid section part");
    bad("a FETCH 1 BODY[1]<5.0>", "Invalid partial");
    bad("a FETCH 1 (FLAGS FOO)", "Invalid fetch item FOO");
    bad("a FETCH 0 FLAGS", "Invalid sequence set");
    bad("a FETCH 1 ()", "Empty fetch item list");
}

TEST(ImapGrammar, FetchModifiers) {
    auto p = parse("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->uid);
    auto& f = std::get<FetchArgs>(p->args);
    EXPECT_EQ(f.changed_since, 12345u);
    EXPECT_TRUE(f.vanished);
    bad("a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "Invalid fetch modifier VANISHED");
    bad("a UID FETCH 1:* (FLAGS) (VANISHED)", "VANISHED needs CHANGEDSINCE");
}

TEST(ImapGrammar, Store) {
    auto s = args<StoreArgs>("a STORE 1:3 +FLAGS.SILENT (\\Deleted $Junk)");
    EXPECT_EQ(s.mode, StoreArgs::Mode::Add);
    EXPECT_TRUE(s.silent);
    EXPECT_EQ(s.flags, (std::vector<std::string>{"\\Deleted", "$Junk"}));
    s = args<StoreArgs>("a STORE $ (UNCHANGEDSINCE 0) -flags \\Seen \\Flagged");
    EXPECT_TRUE(s.set.saved);
    EXPECT_EQ(s.unchanged_since, 0u);
    EXPECT_EQ(s.mode, StoreArgs::Mode::Remove);
    EXPECT_EQ(s.flags.size(), 2u);
    EXPECT_EQ(args<StoreArgs>("a STORE 1 FLAGS ()").flags.size(), 0u);
    bad("a STORE 1 +FLAGS (\\*)", "Invalid flag \\*");
    bad("a STORE 1 FLAGZ (x)", "Invalid store item FLAGZ");
    bad("a STORE 1 FLAGS", "Missing flags");
}

TEST(ImapGrammar, CopyMoveExpunge) {
    auto p = parse("a UID MOVE 1:5 Trash");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->cmd, Cmd::Move);
    EXPECT_TRUE(p->uid);
    EXPECT_EQ(std::get<CopyArgs>(p->args).mailbox, "Trash");
    p = parse("a UID EXPUNGE 3:4");
    ASSERT_TRUE(p);
    EXPECT_EQ(format_sequence_set(std::get<SetArgs>(p->args).set), "3:4");
    bad("a UID LOGIN a b", "Unknown UID command LOGIN");
    bad("a UID", "Missing UID command");
    bad("a COPY 1", "Missing mailbox name");
}

TEST(ImapGrammar, SearchKeys) {
    using K = SearchKey::Kind;
    auto s = args<SearchArgs>("a SEARCH CHARSET utf-8 OR (FROM bob SINCE 1-Feb-2024) NOT SEEN 1:5,7 LARGER 100 HEADER X-Spam yes");
    EXPECT_EQ(s.charset, "UTF-8");
    ASSERT_EQ(s.key.children.size(), 4u);
    auto& orr = s.key.children[0];
    EXPECT_EQ(orr.kind, K::Or);
    EXPECT_EQ(orr.children[0].kind, K::And);
    EXPECT_EQ(orr.children[0].children[1].date, (Date{2024, 2, 1}));
    EXPECT_EQ(orr.children[1].kind, K::Not);
    EXPECT_EQ(s.key.children[1].kind, K::Sequence);
    EXPECT_EQ(s.key.children[2].number, 100u);
    EXPECT_EQ(s.key.children[3].value, "yes");
    s = args<SearchArgs>("a SEARCH RETURN (MIN COUNT SAVE) UID $ MODSEQ \"/flags/\\\\draft\" all 620162338");
    ASSERT_TRUE(s.ret);
    EXPECT_TRUE(s.ret->min && s.ret->count && s.ret->save && !s.ret->all);
    EXPECT_TRUE(s.key.children[0].set.saved);
    EXPECT_EQ(s.key.children[1].number, 620162338u);
    EXPECT_TRUE(args<SearchArgs>("a SEARCH RETURN () ALL").ret->all);
    EXPECT_EQ(args<SearchArgs>("a SEARCH SENTON \"5-Mar-2023\"").key.children[0].date, (Date{2023, 3, 5}));
    bad("a SEARCH", "Missing search key");
    bad("a SEARCH FOO", "Unknown search key FOO");
    bad("a SEARCH SINCE 30-Feb-2024", "Invalid date 30-Feb-2024");
    bad("a SEARCH OR SEEN", "Missing search key");
    bad("a SEARCH KEYWORD \\Seen", "Invalid keyword");
    std::string deep = "a SEARCH";
    for (int i = 0; i < 40; ++i) deep += " NOT";
    bad(deep + " ALL", "Search keys nested too deeply");
}

TEST(ImapGrammar, SortAndThread) {
    auto s = args<SortArgs>("a SORT RETURN (COUNT) (REVERSE DATE subject) UTF-8 ALL");
    ASSERT_EQ(s.criteria.size(), 2u);
    EXPECT_TRUE(s.criteria[0].reverse);
    EXPECT_EQ(s.criteria[1].key, SortCriterion::Key::Subject);
    EXPECT_TRUE(s.ret->count);
    auto t = args<ThreadArgs>("a UID THREAD references US-ASCII SINCE 1-Jan-2020");
    EXPECT_EQ(t.algorithm, "REFERENCES");
    bad("a SORT (REVERSE) UTF-8 ALL", "Invalid sort criteria");
    bad("a SORT (DATE) UTF-8", "Missing search key");
}

TEST(ImapGrammar, IdCompressQuota) {
    EXPECT_TRUE(args<IdArgs>("a ID NIL").fields.empty());
    auto id = args<IdArgs>("a ID (\"name\" \"Thunderbird\" \"version\" NIL)");
    ASSERT_EQ(id.fields.size(), 2u);
    EXPECT_FALSE(id.fields[1].second);
    bad("a ID (\"name\")", "Invalid ID parameters");
    EXPECT_EQ(args<CompressArgs>("a COMPRESS deflate").mechanism, "DEFLATE");
    EXPECT_EQ(args<QuotaArgs>("a GETQUOTA \"\"").root, "");
    EXPECT_EQ(args<MailboxArgs>("a GETQUOTAROOT INBOX").mailbox, "INBOX");
}

TEST(ImapGrammar, Dates) {
    EXPECT_EQ(parse_date("1-feb-2024"), (Date{2024, 2, 1}));
    EXPECT_EQ(parse_date("29-Feb-2024"), (Date{2024, 2, 29}));
    EXPECT_FALSE(parse_date("29-Feb-2023"));
    EXPECT_FALSE(parse_date("001-Feb-2024"));
    EXPECT_FALSE(parse_date("1-Foo-2024"));
    EXPECT_FALSE(parse_date("1-Feb-24"));
    auto t = parse_date_time("17-Jul-1996 02:44:25 -0700");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->unix_seconds(), 837596665);
    EXPECT_EQ(format_date_time(837596665, -420), "17-Jul-1996 02:44:25 -0700");
    EXPECT_EQ(format_date_time(0), "01-Jan-1970 00:00:00 +0000");
    EXPECT_FALSE(parse_date_time("17-Jul-1996 24:00:00 +0000"));
    EXPECT_FALSE(parse_date_time("7-Jul-1996 02:44:25 -0700"));  // date-day-fixed: " 7"
    EXPECT_TRUE(parse_date_time(" 7-Jul-1996 02:44:25 -0700"));
}

}  // namespace
}  // namespace tern::imap
