// The IMAP client's response reader fed at every split point: each response kind, the
// resp-text-codes the session uses, literals kept (names, ENVELOPE strings) or streamed (bodies,
// literal8), and the limits that turn a hostile server into an Error.
#include <gtest/gtest.h>

#include <map>

#include "client/imap/response.hpp"

namespace tern::client::imap {
namespace {

struct Read {
    std::vector<Response> responses;
    std::string body;                 // every chunk's octets
    std::vector<BodyChunk> chunks;    // without data
    bool error = false;
    std::string why;
};

Read read_all(std::string_view input, std::size_t piece, ReaderLimits lim = {}, bool utf8 = false) {
    ResponseReader r(lim);
    r.set_utf8(utf8);
    Read out;
    std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> offsets;
    for (std::size_t i = 0; i < input.size() && !out.error; i += piece) {
        r.feed(input.substr(i, piece));
        for (;;) {
            Response resp;
            BodyChunk c;
            auto res = r.next(resp, c);
            if (res == ResponseReader::Result::Incomplete) break;
            if (res == ResponseReader::Result::Error) {
                out.error = true;
                out.why = r.error();
                break;
            }
            if (res == ResponseReader::Result::Chunk) {
                auto& off = offsets[{c.seq, c.section}];
                EXPECT_EQ(c.offset, off);
                off += c.data.size();
                out.body.append(c.data);
                c.data = {};
                out.chunks.push_back(c);
                continue;
            }
            out.responses.push_back(std::move(resp));
        }
    }
    return out;
}

// Every split gives the same responses (count and kinds) and the same body octets.
Read read_split(std::string_view input, ReaderLimits lim = {}, bool utf8 = false) {
    Read whole = read_all(input, input.size(), lim, utf8);
    for (std::size_t piece = 1; piece < input.size(); ++piece) {
        Read r = read_all(input, piece, lim, utf8);
        EXPECT_EQ(r.error, whole.error) << "piece " << piece;
        EXPECT_EQ(r.body, whole.body) << "piece " << piece;
        EXPECT_EQ(r.responses.size(), whole.responses.size()) << "piece " << piece;
        for (std::size_t i = 0; i < std::min(r.responses.size(), whole.responses.size()); ++i)
            EXPECT_EQ(r.responses[i].kind, whole.responses[i].kind) << "piece " << piece;
        if (::testing::Test::HasFailure()) break;
    }
    return whole;
}

TEST(ImapClientResponse, StatusResponsesAndCodes) {
    auto r = read_split(
        "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
        "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
        "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
        "* OK [NOMODSEQ] Sorry\r\n"
        "A1 OK [APPENDUID 38505 3955] APPEND completed\r\n"
        "A2 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
        "A3 OK [MODIFIED 7,9] Conditional STORE failed\r\n"
        "* NO [ALERT] disk almost full\r\n"
        "* BYE server shutting down {5}\r\n"
        "A4 BAD\r\n");
    ASSERT_FALSE(r.error) << r.why;
    ASSERT_EQ(r.responses.size(), 10u);
    EXPECT_EQ(r.responses[0].status.code.name, "UIDVALIDITY");
    EXPECT_EQ(r.responses[0].status.code.number, 3857529045u);
    EXPECT_EQ(r.responses[0].status.text, "UIDs valid");
    EXPECT_EQ(r.responses[1].status.code.list, (std::vector<std::string>{"\\Deleted", "\\Seen", "\\*"}));
    EXPECT_EQ(r.responses[2].status.code.number, 715194045007u);
    EXPECT_EQ(r.responses[3].status.code.name, "NOMODSEQ");
    const auto& a = r.responses[4].status;
    EXPECT_EQ(a.tag, "A1");
    EXPECT_EQ(a.code.uidvalidity, 38505u);
    EXPECT_TRUE(a.code.set.contains(3955, 0));
    const auto& c = r.responses[5].status.code;
    EXPECT_EQ(c.name, "COPYUID");
    EXPECT_TRUE(c.set.contains(319, 0));
    EXPECT_TRUE(c.set2.contains(3958, 0));
    EXPECT_TRUE(r.responses[6].status.code.set.contains(9, 0));
    EXPECT_EQ(r.responses[7].status.kind, Status::Kind::No);
    EXPECT_EQ(r.responses[7].status.code.name, "ALERT");
    // resp-text is text: "{5}" at its end announces no literal.
    EXPECT_EQ(r.responses[8].status.kind, Status::Kind::Bye);
    EXPECT_EQ(r.responses[8].status.text, "server shutting down {5}");
    EXPECT_EQ(r.responses[9].status.kind, Status::Kind::Bad);
}

TEST(ImapClientResponse, DataResponses) {
    auto r = read_split(
        "* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n"
        "* ENABLED QRESYNC\r\n"
        "* FLAGS (\\Answered $Junk)\r\n"
        "* LIST (\\HasNoChildren \\Sent) \".\" {4}\r\nSent\r\n"
        "* LIST (\\Noselect) \"/\" \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"
        "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)\r\n"
        "* 172 EXISTS\r\n* 1 RECENT\r\n* 44 EXPUNGE\r\n"
        "* VANISHED (EARLIER) 41,43:116,118\r\n* VANISHED 405\r\n"
        "* SEARCH 2 84 882 (MODSEQ 917162500)\r\n* SEARCH\r\n"
        "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,9:11 MODSEQ 12\r\n"
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
        "+ go ahead\r\n+\r\n");
    ASSERT_FALSE(r.error) << r.why;
    ASSERT_EQ(r.responses.size(), 17u);
    using K = Response::Kind;
    EXPECT_EQ(r.responses[0].kind, K::Capability);
    EXPECT_EQ(r.responses[0].atoms.size(), 3u);
    EXPECT_EQ(r.responses[1].atoms, std::vector<std::string>{"QRESYNC"});
    EXPECT_EQ(r.responses[2].atoms, (std::vector<std::string>{"\\Answered", "$Junk"}));
    EXPECT_EQ(r.responses[3].list.name, "Sent");
    EXPECT_EQ(r.responses[3].list.delimiter, '.');
    EXPECT_TRUE(r.responses[3].list.has_attribute("\\sent"));
    EXPECT_EQ(r.responses[4].list.name, "~peter/mail/台北/日本語");  // RFC 3501 §5.1.3's example
    EXPECT_EQ(r.responses[5].mailbox_status.messages, 231u);
    EXPECT_EQ(r.responses[5].mailbox_status.highestmodseq, 7011231777u);
    EXPECT_EQ(r.responses[6].kind, K::Exists);
    EXPECT_EQ(r.responses[6].number, 172u);
    EXPECT_EQ(r.responses[7].kind, K::Recent);
    EXPECT_EQ(r.responses[8].kind, K::Expunge);
    EXPECT_TRUE(r.responses[9].earlier);
    EXPECT_TRUE(r.responses[9].set.contains(100, 0));
    EXPECT_FALSE(r.responses[9].set.contains(117, 0));
    EXPECT_FALSE(r.responses[10].earlier);
    EXPECT_EQ(r.responses[11].numbers, (std::vector<std::uint32_t>{2, 84, 882}));
    EXPECT_EQ(r.responses[11].modseq, 917162500u);
    EXPECT_TRUE(r.responses[12].numbers.empty());
    const auto& e = r.responses[13].esearch;
    EXPECT_EQ(e.tag, "A285");
    EXPECT_TRUE(e.uid);
    EXPECT_EQ(e.min, 7u);
    ASSERT_TRUE(e.all);
    EXPECT_TRUE(e.all->contains(10, 0));
    EXPECT_EQ(e.modseq, 12u);
    EXPECT_EQ(r.responses[14].kind, K::Other);
    EXPECT_EQ(r.responses[15].kind, K::Continuation);
    EXPECT_EQ(r.responses[15].text, "go ahead");
    EXPECT_EQ(r.responses[16].kind, K::Continuation);
}

TEST(ImapClientResponse, Utf8NamesAreNotDecoded) {
    auto r = read_split("* LIST () \"/\" \"Entw\xc3\xbcrfe&-\"\r\n", {}, true);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses[0].list.name, "Entw\xc3\xbcrfe&-");
}

TEST(ImapClientResponse, FetchBodiesStreamedOtherLiteralsKept) {
    ReaderLimits lim;
    lim.chunk_size = 4;
    static const char input[] =
        "* 12 FETCH (UID 4827 FLAGS (\\Seen) MODSEQ (65402) RFC822.SIZE 44827 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
        "ENVELOPE (\"date\" {8}\r\nsub)ject NIL NIL NIL NIL NIL NIL NIL \"<id>\") "
        "BODY[HEADER.FIELDS (FROM TO)] {10}\r\nFrom: a\r\n\r "
        "BINARY[1]<0> ~{6}\r\n\x00\x01\x02\r\n\xff BODY[2] NIL BODY[3] \"quoted\" BODYSTRUCTURE (\"text\" \"plain\"))\r\n";
    auto r = read_split(std::string_view(input, sizeof input - 1), lim);
    ASSERT_FALSE(r.error) << r.why;
    ASSERT_EQ(r.responses.size(), 1u);
    const auto& f = r.responses[0].fetch;
    EXPECT_EQ(f.seq, 12u);
    EXPECT_EQ(f.uid, 4827u);
    EXPECT_EQ(f.modseq, 65402u);
    EXPECT_EQ(f.size, 44827u);
    EXPECT_EQ(f.internal_date, "17-Jul-1996 02:44:25 -0700");
    ASSERT_TRUE(f.envelope);
    EXPECT_NE(f.envelope->find("sub)ject"), std::string::npos);  // a kept literal, not a body
    ASSERT_TRUE(f.bodystructure);
    ASSERT_EQ(f.bodies.size(), 4u);
    EXPECT_EQ(f.bodies[0].section, "BODY[HEADER.FIELDS (FROM TO)]");
    EXPECT_TRUE(f.bodies[0].streamed);
    EXPECT_EQ(f.bodies[0].size, 10u);
    EXPECT_EQ(f.bodies[1].section, "BINARY[1]<0>");
    EXPECT_TRUE(f.bodies[2].nil);
    EXPECT_FALSE(f.bodies[3].streamed);
    EXPECT_EQ(f.body_data, std::vector<std::string>{"quoted"});
    EXPECT_EQ(r.body, std::string("From: a\r\n\r") + std::string("\x00\x01\x02\r\n\xff", 6));
    ASSERT_FALSE(r.chunks.empty());
    for (const auto& c : r.chunks) {
        EXPECT_EQ(c.seq, 12u);
        EXPECT_EQ(c.uid, 4827u);  // UID came before the literals
    }
}

TEST(ImapClientResponse, LimitsMakeErrors) {
    ReaderLimits lim;
    lim.max_line = 64;
    EXPECT_TRUE(read_all("* SEARCH " + std::string(100, '1') + "\r\n", 7, lim).error);
    EXPECT_TRUE(read_all("* OK " + std::string(100, 'x'), 7, lim).error);  // never ends
    lim = {};
    lim.max_literal = 10;
    EXPECT_TRUE(read_all("* LIST () \"/\" {11}\r\n", 3, lim).error);
    EXPECT_FALSE(read_all("* LIST () \"/\" {10}\r\n0123456789\r\n", 3, lim).error);
    EXPECT_FALSE(read_all("* 1 FETCH (BODY[] {11}\r\n0123456789a)\r\n", 3, lim).error);  // bodies are not kept
    // Kept literals count towards the response's bound: many of them cannot add up past it.
    lim = {};
    lim.max_line = 4096;
    std::string many = "* 1 FETCH (ENVELOPE (";
    for (int i = 0; i < 8; ++i) many += "{1000}\r\n" + std::string(1000, 'x') + " ";
    many += "NIL))\r\n";
    EXPECT_TRUE(read_all(many, 64, lim).error);
    lim = {};
    lim.max_depth = 5;
    EXPECT_TRUE(read_all("* 1 FETCH (BODYSTRUCTURE ((((((x)))))))\r\n", 3, lim).error);
    EXPECT_FALSE(read_all("* 1 FETCH (BODYSTRUCTURE (((x))))\r\n", 3, lim).error);
    lim = {};
    lim.max_literals = 2;
    EXPECT_TRUE(read_all("* 1 FETCH (ENVELOPE ({1}\r\na {1}\r\nb {1}\r\nc))\r\n", 3, lim).error);
    EXPECT_TRUE(read_all("* 1 FETCH (UID 4294967296)\r\n", 3).error);
    EXPECT_TRUE(read_all("* 1 FETCH (MODSEQ 5)\r\n", 3).error);
    EXPECT_TRUE(read_all("* VANISHED (EARLIER) 1:*\r\n", 3).error);
    EXPECT_TRUE(read_all("A1 PREAUTH x\r\n", 3).error);
    EXPECT_TRUE(read_all("* 3 FROB\r\n", 3).error);
    EXPECT_TRUE(read_all("* LIST () \"ab\" INBOX\r\n", 3).error);
}

TEST(ImapClientResponse, DiscardForgetsAHalfRead) {
    ResponseReader r;
    r.feed("* 1 FETCH (BODY[] {100}\r\nabc");
    Response resp;
    BodyChunk c;
    EXPECT_EQ(r.next(resp, c), ResponseReader::Result::Chunk);
    r.discard();
    r.feed("* 2 EXISTS\r\n");
    ASSERT_EQ(r.next(resp, c), ResponseReader::Result::Response);
    EXPECT_EQ(resp.kind, Response::Kind::Exists);
}

}  // namespace
}  // namespace tern::client::imap
