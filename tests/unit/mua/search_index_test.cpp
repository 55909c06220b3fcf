// `tern search`'s query parser and local index over a real cache in a temp dir: words, phrases,
// fields, case and accents, QP/base64/HTML bodies, hostile queries that must stay literal, the
// lazy catch-up after new and removed messages, and 10,000 messages indexed (time printed only).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "mua/cache.hpp"
#include "mua/search_index.hpp"

namespace fs = std::filesystem;
using namespace tern::mua;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        // tmpfs when there is one: the cache fsyncs every message, which would make the 10,000
        // message test take minutes on a disk and says nothing about the index.
        std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string tmpl = base + "/tern-search-test-XXXXXX";
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string msg(const std::string& from, const std::string& to, const std::string& subject, const std::string& body,
                const std::string& extra = "") {
    return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
           "\r\nDate: Mon, 07 Dec 2026 10:00:00 +0100\r\nMessage-ID: <" + std::to_string(std::hash<std::string>{}(subject)) +
           "@x>\r\n" + extra + "\r\n" + body;
}

struct MuaSearchIndex : ::testing::Test {
    TempDir dir;
    std::unique_ptr<Cache> cache;
    std::unique_ptr<SearchIndex> index;
    Folder inbox;
    void SetUp() override {
        auto c = Cache::open(dir.path / "acct");
        ASSERT_TRUE(c) << c.error().message;
        cache = std::move(*c);
        auto f = cache->folder("INBOX");
        ASSERT_TRUE(f);
        inbox = *f;
        reopen_index();
    }
    void reopen_index() {
        index.reset();
        auto i = SearchIndex::open(*cache);
        ASSERT_TRUE(i) << i.error().message;
        index = std::move(*i);
    }
    std::int64_t add(const std::string& m, const Folder* f = nullptr, const std::string& flags = "") {
        NewMessage meta;
        meta.flags = flags;
        auto id = cache->add(f ? *f : inbox, m, meta);
        EXPECT_TRUE(id) << id.error().message;
        return id ? *id : 0;
    }
    // The ids matching `query` after a catch-up, as a set.
    std::set<std::int64_t> find(const std::string& query, SearchFilter filter = {}) {
        auto st = index->catch_up();
        EXPECT_TRUE(st) << st.error().message;
        auto rows = index->search(parse_search_query(query), filter);
        EXPECT_TRUE(rows) << query << ": " << (rows ? "" : rows.error().message);
        std::set<std::int64_t> out;
        if (rows)
            for (auto& r : *rows) out.insert(r.id);
        return out;
    }
};

using S = std::set<std::int64_t>;

}  // namespace

TEST(MuaSearchQuery, ParsesWordsPhrasesAndFields) {
    auto q = parse_search_query("  hello \"big world\" from:alice SUBJECT:\"the plan\" http://x.org/a body:z* x:y");
    ASSERT_EQ(q.terms.size(), 7u);
    EXPECT_EQ(q.terms[0].text, "hello");
    EXPECT_EQ(q.terms[0].field, SearchField::Any);
    EXPECT_EQ(q.terms[1].text, "big world");
    EXPECT_TRUE(q.terms[1].phrase);
    EXPECT_EQ(q.terms[2].field, SearchField::From);
    EXPECT_EQ(q.terms[2].text, "alice");
    EXPECT_EQ(q.terms[3].field, SearchField::Subject);
    EXPECT_EQ(q.terms[3].text, "the plan");
    EXPECT_TRUE(q.terms[3].phrase);
    EXPECT_EQ(q.terms[4].text, "http://x.org/a");  // not a field
    EXPECT_EQ(q.terms[4].field, SearchField::Any);
    EXPECT_EQ(q.terms[5].field, SearchField::Body);
    EXPECT_EQ(q.terms[5].text, "z");
    EXPECT_TRUE(q.terms[5].prefix);
    EXPECT_EQ(q.terms[6].text, "x:y");
    auto open = parse_search_query("\"unclosed phrase");
    ASSERT_EQ(open.terms.size(), 1u);
    EXPECT_EQ(open.terms[0].text, "unclosed phrase");
}

TEST(MuaSearchQuery, EveryTermIsQuotedInMatch) {
    EXPECT_EQ(fts_match(parse_search_query("a\" OR \"b")), "\"a\"\"\" AND \"OR\" AND \"b\"");
    EXPECT_EQ(fts_match(parse_search_query("NEAR( to:x")), "\"NEAR(\" AND {recipients} : \"x\"");
    EXPECT_EQ(fts_match(parse_search_query("Straße")), "\"Strasse\"");
    EXPECT_EQ(fts_match(parse_search_query("!!! ---")), "");  // nothing to look for
}

TEST(MuaSearchQuery, ImapCriteriaQuoteStrings) {
    auto c = imap_search_criteria(parse_search_query("from:bob x\"y\\z to:ann subject:x body:y z"), false);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(*c, "CHARSET UTF-8 FROM \"bob\" TEXT \"x\\\"y\\\\z\" OR TO \"ann\" CC \"ann\" SUBJECT \"x\" "
                  "BODY \"y\" TEXT \"z\"");
    EXPECT_FALSE(imap_search_criteria(parse_search_query("grüße"), false));  // 8-bit needs UTF8=ACCEPT
    auto u = imap_search_criteria(parse_search_query("grüße"), true);
    ASSERT_TRUE(u);
    EXPECT_EQ(*u, "CHARSET UTF-8 TEXT \"grüße\"");
    EXPECT_FALSE(imap_search_criteria(parse_search_query(""), true));
}

TEST_F(MuaSearchIndex, WordsPhrasesAndFields) {
    auto a = add(msg("Alice Example <alice@example.org>", "Bob <bob@example.net>", "Quarterly budget",
                     "The budget meeting moves to Thursday.\r\nBring the spreadsheet.\r\n"));
    auto b = add(msg("Bob <bob@example.net>", "Alice <alice@example.org>", "Re: lunch",
                     "Thursday lunch at the budget place? meeting notes attached\r\n",
                     "Cc: Carol Cc <carol@example.com>\r\n"));
    EXPECT_EQ(find("budget"), (S{a, b}));
    EXPECT_EQ(find("budget thursday spreadsheet"), (S{a}));      // all words must match
    EXPECT_EQ(find("\"budget meeting\""), (S{a}));               // phrase: in this order
    EXPECT_EQ(find("\"meeting budget\""), (S{}));
    EXPECT_EQ(find("from:alice"), (S{a}));
    EXPECT_EQ(find("from:alice@example.org"), (S{a}));
    EXPECT_EQ(find("to:alice"), (S{b}));
    EXPECT_EQ(find("to:carol"), (S{b}));                         // Cc counts as to:
    EXPECT_EQ(find("cc:carol"), (S{b}));
    EXPECT_EQ(find("subject:budget"), (S{a}));
    EXPECT_EQ(find("body:spreadsheet"), (S{a}));
    EXPECT_EQ(find("subject:spreadsheet"), (S{}));
    EXPECT_EQ(find("spread*"), (S{a}));                          // prefix
    EXPECT_EQ(find("nothinglikethis"), (S{}));
}

TEST_F(MuaSearchIndex, CaseAndAccents) {
    auto a = add(msg("=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@example.de>", "x@example.org", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
                     "Viele Grüße aus Köln, café crème\r\n", "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n"));
    add(msg("other@example.org", "x@example.org", "unrelated", "nothing here\r\n"));
    EXPECT_EQ(find("GRÜSSE"), (S{a}));   // required: case with ß -> SS
    EXPECT_EQ(find("grüße"), (S{a}));
    EXPECT_EQ(find("grusse"), (S{a}));   // accents folded too
    EXPECT_EQ(find("KÖLN"), (S{a}));
    EXPECT_EQ(find("koln"), (S{a}));
    EXPECT_EQ(find("CAFE CREME"), (S{a}));
    EXPECT_EQ(find("from:muller"), (S{a}));
    EXPECT_EQ(find("from:JÜRGEN"), (S{a}));
    EXPECT_EQ(find("subject:grüsse"), (S{a}));
}

TEST_F(MuaSearchIndex, DecodedBodies) {
    auto qp = add(msg("a@x.org", "b@x.org", "qp", "caf=C3=A9 soft=\r\nbroken word zebra=3Dstripes\r\n",
                      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n"));
    // "base64 hidden treasure" in base64
    auto b64 = add(msg("a@x.org", "b@x.org", "b64", "YmFzZTY0IGhpZGRlbiB0cmVhc3VyZQ==\r\n",
                       "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n"));
    auto html = add(msg("a@x.org", "b@x.org", "html",
                        "<html><body><p>Hello <b>bold</b>&nbsp;text &eacute;t&eacute;</p><script>secretjs()</script>"
                        "<a href=\"http://x\">linkword</a></body></html>\r\n",
                        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"));
    auto latin1 = add(msg("a@x.org", "b@x.org", "latin1", "na\xefve fa\xe7" "ade\r\n",
                          "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n"));
    auto att = add(msg("a@x.org", "b@x.org", "att",
                       "--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
                       "Content-Type: application/pdf; name=\"Rechnung_2026.pdf\"\r\n"
                       "Content-Disposition: attachment; filename=\"Rechnung_2026.pdf\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n",
                       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n"));
    EXPECT_EQ(find("cafe"), (S{qp}));
    EXPECT_EQ(find("softbroken"), (S{qp}));  // a soft line break joins the word
    EXPECT_EQ(find("\"zebra stripes\""), (S{qp}));
    EXPECT_EQ(find("hidden treasure"), (S{b64}));
    EXPECT_EQ(find("YmFzZTY0IGhpZGRlbiB0cmVhc3VyZQ"), (S{}));  // the encoded form is not indexed
    EXPECT_EQ(find("bold text ete"), (S{html}));
    EXPECT_EQ(find("linkword"), (S{html}));
    EXPECT_EQ(find("eacute"), (S{}));    // entities decoded, not indexed as written
    EXPECT_EQ(find("secretjs"), (S{}));  // script is not text
    EXPECT_EQ(find("naive facade"), (S{latin1}));
    EXPECT_EQ(find("rechnung_2026.pdf"), (S{att}));
    EXPECT_EQ(find("JVBERi0xLjQK"), (S{}));  // attachment bytes are not text
}

TEST_F(MuaSearchIndex, HostileQueriesStayLiteral) {
    auto a = add(msg("a@x.org", "b@x.org", "alpha", "alpha OR beta near alpha words\r\n"));
    auto b = add(msg("a@x.org", "b@x.org", "beta", "just beta\r\n"));
    // Each of these would be FTS5 syntax (an error, or a different meaning) if passed unquoted.
    EXPECT_EQ(find("alpha\" OR \"beta"), (S{a}));  // = alpha AND or AND beta
    EXPECT_EQ(find("NEAR(alpha beta)"), (S{a}));  // the phrase "near alpha", and beta
    EXPECT_EQ(find("beta NOT alpha"), (S{}));       // NOT is a word here, in neither message
    EXPECT_EQ(find("beta"), (S{a, b}));
    for (const char* q : {"\"", "\"\"", "*", "a*b", "(", ")", "{body}:x", "body:", "^alpha", "alpha:", "-alpha",
                          "col:alpha", "\"a\"\"b\"", "NEAR", "AND", "OR OR", ":", "\\", "\x01", "from:\"", "from:*"}) {
        auto st = index->catch_up();
        ASSERT_TRUE(st);
        auto r = index->search(parse_search_query(q), {});
        // Either nothing to search for, or an answer: never an FTS5 syntax error.
        if (!r) {
            EXPECT_NE(r.error().message.find("nothing to search for"), std::string::npos) << q << ": " << r.error().message;
        }
    }
}

TEST_F(MuaSearchIndex, FiltersFolderUnreadLimit) {
    auto other = cache->folder("Archive");
    ASSERT_TRUE(other);
    auto a = add(msg("a@x.org", "b@x.org", "one", "common\r\n"), nullptr, "\\Seen");
    auto b = add(msg("a@x.org", "b@x.org", "two", "common\r\n"));
    auto c = add(msg("a@x.org", "b@x.org", "three", "common\r\n"), &*other);
    EXPECT_EQ(find("common"), (S{a, b, c}));
    EXPECT_EQ(find("common", {inbox.id, false, 0}), (S{a, b}));
    EXPECT_EQ(find("common", {inbox.id, true, 0}), (S{b}));
    EXPECT_EQ(find("common", {0, false, 1}).size(), 1u);
}

TEST_F(MuaSearchIndex, CatchesUpAfterNewAndRemovedMessages) {
    auto a = add(msg("a@x.org", "b@x.org", "first", "kiwi\r\n"));
    EXPECT_EQ(find("kiwi"), (S{a}));
    auto b = add(msg("a@x.org", "b@x.org", "second", "kiwi mango\r\n"));
    auto st = index->catch_up();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->added, 1u);  // only the new one
    EXPECT_EQ(find("kiwi"), (S{a, b}));
    ASSERT_TRUE(cache->remove(a));
    // Gone from the answers even before a catch-up (the search joins the cache's messages)...
    auto rows = index->search(parse_search_query("kiwi"), {});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].id, b);
    // ... and its row is dropped by the next one.
    st = index->catch_up();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->removed, 1u);
    EXPECT_EQ(st->added, 0u);
    // Reopening keeps what was indexed; a damaged index file is rebuilt.
    reopen_index();
    st = index->catch_up();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->added, 0u);
    index.reset();
    {
        FILE* f = std::fopen((cache->root() / "search.db").c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("this is not a database, it is long enough to be looked at as a header....................", f);
        std::fclose(f);
        fs::remove(cache->root() / "search.db-wal");
        fs::remove(cache->root() / "search.db-shm");
    }
    reopen_index();
    EXPECT_EQ(find("mango"), (S{b}));
}

TEST_F(MuaSearchIndex, TenThousandMessages) {
    const std::size_t n = 10'000;
    ASSERT_TRUE(cache->begin_batch());
    for (std::size_t i = 0; i < n; ++i) {
        std::string body = "Message number " + std::to_string(i) + " about topic" + std::to_string(i % 100) +
                           ".\r\nSome ordinary text that a mail would have, with a few more words in it to index.\r\n";
        if (i % 3 == 0)
            body = "<p>HTML message " + std::to_string(i) + " about <b>topic" + std::to_string(i % 100) + "</b></p>\r\n";
        std::string extra = i % 3 == 0 ? "Content-Type: text/html; charset=utf-8\r\n" : "";
        auto id = cache->add(inbox, msg("Sender " + std::to_string(i % 50) + " <s" + std::to_string(i % 50) + "@x.org>",
                                        "me@x.org", "Subject " + std::to_string(i), body, extra),
                             {});
        ASSERT_TRUE(id);
    }
    ASSERT_TRUE(cache->end_batch());
    auto t0 = std::chrono::steady_clock::now();
    auto st = index->catch_up();
    ASSERT_TRUE(st) << st.error().message;
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_EQ(st->added, n);
    double s = std::chrono::duration<double>(t1 - t0).count();
    auto rows = index->search(parse_search_query("topic42"), {});
    auto t2 = std::chrono::steady_clock::now();
    ASSERT_TRUE(rows);
    EXPECT_EQ(rows->size(), n / 100);
    auto none = index->catch_up();  // nothing new: only the counts
    auto t3 = std::chrono::steady_clock::now();
    ASSERT_TRUE(none);
    EXPECT_EQ(none->added, 0u);
    std::printf("[ search ] indexed %zu messages in %.2f s (%.0f us/message); search of 100 hits %.1f ms; "
                "no-op catch-up %.1f ms\n",
                n, s, s * 1e6 / n, std::chrono::duration<double, std::milli>(t2 - t1).count(),
                std::chrono::duration<double, std::milli>(t3 - t2).count());
}

TEST_F(MuaSearchIndex, CostOfLargerMessages) {
    // 1,000 multipart/alternative messages of ~12 KB (QP text/plain + HTML), as newsletters and
    // replies with quotes are: the per-message cost of rendering and indexing, printed.
    const std::size_t n = 1'000;
    std::string para;
    for (int k = 0; k < 40; ++k) para += "Sentence " + std::to_string(k) + " of a longer message, with caf=C3=A9 and words.\r\n";
    std::string html;
    for (int k = 0; k < 40; ++k) html += "<p>Paragraph <b>" + std::to_string(k) + "</b> of the <a href=\"https://x.example/\">html</a> part</p>\r\n";
    ASSERT_TRUE(cache->begin_batch());
    std::uint64_t bytes = 0;
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
        std::string body = "--A\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
                           para + "unique" + std::to_string(i) + "\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
                           html + "\r\n--A--\r\n";
        auto m = msg("s@x.org", "me@x.org", "Large " + std::to_string(i), body,
                     "Content-Type: multipart/alternative; boundary=A\r\n");
        bytes += m.size();
        auto id = cache->add(inbox, m, {});
        ASSERT_TRUE(id);
        ids.push_back(*id);
    }
    ASSERT_TRUE(cache->end_batch());
    auto t0 = std::chrono::steady_clock::now();
    auto st = index->catch_up();
    ASSERT_TRUE(st);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(find("unique517"), (S{ids[517]}));
    std::printf("[ search ] indexed %zu messages of %.1f KB in %.2f s (%.0f us/message)\n", n, bytes / 1024.0 / n, s,
                s * 1e6 / n);
}
