// The full-screen browser's model with no terminal: keys in, state and laid-out lines out, over a
// real cache in a temporary directory (navigation, scrolling at the edges, opening marks \Seen,
// delete with confirmation, folders, search, actions, layout widths in display columns).
#include <gtest/gtest.h>

#include <filesystem>

#include "mua/browser_model.hpp"

namespace fs = std::filesystem;
using namespace tern::mua;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tern-browser-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string msg(const std::string& subject, int day = 1, const std::string& from = "Bob <bob@example.org>",
                const std::string& body = "hello\r\n") {
    return "From: " + from + "\r\nTo: a@example.org\r\nSubject: " + subject + "\r\nDate: " + std::to_string(day) +
           " Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + std::to_string(day) + "@x>\r\n\r\n" + body;
}

struct Fixture {
    TempDir dir;
    std::unique_ptr<Cache> cache;
    std::vector<std::int64_t> ids;
    Fixture() { cache = std::move(*Cache::open(dir.path / "acct")); }
    std::int64_t add(const std::string& folder, const std::string& bytes, const std::string& flags = "") {
        auto f = cache->folder(folder);
        NewMessage meta;
        meta.flags = flags;
        auto id = cache->add(*f, bytes, meta);
        EXPECT_TRUE(id.has_value());
        ids.push_back(*id);
        return *id;
    }
    void add_n(int n, const std::string& flags = "") {
        for (int i = 1; i <= n; ++i) add("INBOX", msg("message " + std::to_string(i), i), flags);
    }
};

BrowserOptions fixed_clock() {
    BrowserOptions o;
    o.now = 1796000000;
    o.save_directory = "/home/u/Downloads";
    return o;
}

// Which row is drawn selected (its index among the screen's lines), or -1.
int selected_row(const BrowserModel& m) {
    auto lines = m.layout();
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].style == ScreenLine::Style::Selected) return static_cast<int>(i);
    return -1;
}

std::string screen_text(const BrowserModel& m) {
    std::string out;
    for (auto& l : m.layout()) out += l.text + "\n";
    return out;
}

bool valid_utf8_no_controls(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return false;
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

}  // namespace

TEST(BrowserText, WidthsAndFitting) {
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("Grüße"), 5u);
    EXPECT_EQ(display_width("日本"), 4u);
    EXPECT_EQ(display_width("e\xCC\x81"), 1u);       // e + combining acute
    EXPECT_EQ(display_width("a\xFF" "b"), 3u);       // an invalid octet is one U+FFFD
    EXPECT_EQ(fit("日本語", 5), "日本");               // the third would need columns 5-6
    EXPECT_EQ(fit("日本語", 5, true), "日本 ");
    EXPECT_EQ(fit("a\x1b[31mb", 10), "a [31mb");     // no escape sequences reach the terminal
    EXPECT_EQ(fit("a\xE2\x80\xAE" "b", 10), "ab");    // RIGHT-TO-LEFT OVERRIDE left out
    EXPECT_EQ(fit("abc", 0, true), "");
    EXPECT_EQ(fit("a\xFF", 5), "a\xEF\xBF\xBD");
}

TEST(BrowserText, WrapsAtSpacesAndBreaksLongWords) {
    EXPECT_EQ(wrap("the quick brown fox", 10), (std::vector<std::string>{"the quick", "brown fox"}));
    EXPECT_EQ(wrap("abcdefghijkl", 5), (std::vector<std::string>{"abcde", "fghij", "kl"}));
    EXPECT_EQ(wrap("", 5), (std::vector<std::string>{""}));
    EXPECT_EQ(wrap("日本語の文", 4), (std::vector<std::string>{"日本", "語の", "文"}));
    EXPECT_EQ(wrap("日x", 1), (std::vector<std::string>{"x"}));  // a wide glyph in one column cannot be shown
    for (std::size_t w = 1; w < 12; ++w)
        for (auto& l : wrap("Grüße aus Köln, 日本語 and a verylongwordthatdoesnotfit", w)) EXPECT_LE(display_width(l), w);
}

TEST(BrowserText, PagerLinesAreTheRenderedText) {
    std::string m =
        "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: a@example.org\r\n"
        "Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\nDate: Mon, 07 Dec 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "K=F6ln ist sch=F6n\r\n\tindented\r\n"
        "--XX\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n";
    auto lines = pager_lines(m, 60);
    ASSERT_GE(lines.size(), 8u);
    EXPECT_EQ(lines[0], "From: Jürgen <j@example.org>");
    EXPECT_EQ(lines[1], "To: a@example.org");
    EXPECT_EQ(lines[2], "Date: Mon, 07 Dec 2026 10:00:00 +0100");
    EXPECT_EQ(lines[3], "Subject: Grüße");
    EXPECT_EQ(lines[4], "");
    EXPECT_EQ(lines[5], "Köln ist schön");
    EXPECT_EQ(lines[6], "        indented");
    bool note = false;
    for (auto& l : lines) note |= l.find("[1] report.pdf  application/pdf") != std::string::npos;
    EXPECT_TRUE(note);
    for (auto& l : pager_lines(m, 7)) EXPECT_LE(display_width(l), 7u);
}

TEST(BrowserText, PagerRendersHtmlAsText) {
    std::string m =
        "From: Bob <bob@example.org>\r\nTo: a@example.org\r\nSubject: news\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><body><h1>Headline</h1><p>Read <a href=\"https://x.example/a\">this</a> now.</p>"
        "<script>alert(1)</script></body></html>\r\n";
    auto lines = pager_lines(m, 60);
    std::string all;
    for (auto& l : lines) all += l + "\n";
    EXPECT_NE(all.find("\nHeadline\n"), std::string::npos) << all;
    EXPECT_NE(all.find("Read this [1] now."), std::string::npos) << all;
    EXPECT_NE(all.find("[1] https://x.example/a"), std::string::npos) << all;
    EXPECT_EQ(all.find("<h1>"), std::string::npos) << all;
    EXPECT_EQ(all.find("alert"), std::string::npos) << all;
}

TEST(BrowserText, QuotableTextIsTheBodyWithoutHeaderOrAttachments) {
    std::string m =
        "From: Bob <bob@example.org>\r\nTo: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline one\r\n> older\r\n"
        "--XX\r\nContent-Type: message/rfc822\r\n\r\nFrom: Carol <c@example.org>\r\nSubject: inner\r\n\r\ninner text\r\n"
        "--XX\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Disposition: attachment; filename=r.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n";
    std::string t = quotable_text(m);
    EXPECT_EQ(t.find("From: Bob"), std::string::npos) << t;
    EXPECT_EQ(t.find("r.pdf"), std::string::npos) << t;
    EXPECT_EQ(t.rfind("line one\n> older\n", 0), 0u) << t;
    EXPECT_NE(t.find("> From: Carol <c@example.org>\n"), std::string::npos) << t;
    EXPECT_NE(t.find("> inner text\n"), std::string::npos) << t;
}

TEST(BrowserText, DraftTextRoundTrips) {
    Draft d = reply_draft(msg("plans", 1, "Bob <bob@example.org>", "line one\r\n"), "line one\n", "me@example.org", false);
    std::string t = draft_text(d);
    EXPECT_EQ(t.rfind("To: Bob <bob@example.org>\nCc: \nBcc: \nSubject: Re: plans\n\n", 0), 0u) << t;
    EXPECT_NE(t.find("\n> line one\n"), std::string::npos) << t;
    // The user edits: a Cc added, the subject changed over a folded line, text above the quote.
    std::string edited = "To: Bob <bob@example.org>\nCC: carol@example.org,\n dave@example.org\nBcc:\n"
                         "Subject: Re: plans\n\nThanks!\n\n" + t.substr(t.find("\n\n") + 2);
    auto back = parse_draft_text(edited, d);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->to, std::vector<std::string>{"Bob <bob@example.org>"});
    EXPECT_EQ(back->cc, std::vector<std::string>{"carol@example.org, dave@example.org"});
    EXPECT_TRUE(back->bcc.empty());
    EXPECT_EQ(back->in_reply_to, "<1@x>");  // kept from the base: the text does not show it
    EXPECT_EQ(back->references, std::vector<std::string>{"<1@x>"});
    EXPECT_EQ(back->body.rfind("Thanks!\n\n", 0), 0u);
    // Cleared To; unknown fields and a missing separator are errors.
    auto cleared = parse_draft_text("To:\nSubject: x\n\nbody\n", d);
    ASSERT_TRUE(cleared.has_value());
    EXPECT_TRUE(cleared->to.empty());
    EXPECT_FALSE(parse_draft_text("To: a@x\nX-Mailer: me\n\nbody\n", d).has_value());
    EXPECT_FALSE(parse_draft_text("To: a@x\nSubject: no empty line", d).has_value());
    EXPECT_FALSE(parse_draft_text("just text\n\n", d).has_value());
}

TEST(BrowserModel, NavigationStopsAtTheEdges) {
    Fixture f;
    f.add_n(5);
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_EQ(m.folder_name(), "INBOX");
    EXPECT_EQ(m.selected(), 0u);  // the first unread message
    m.key('k');
    EXPECT_EQ(m.selected(), 0u);
    m.key('j');
    m.key(key::Down);
    EXPECT_EQ(m.selected(), 2u);
    EXPECT_EQ(m.current()->subject, "message 3");
    m.key(key::End);
    EXPECT_EQ(m.selected(), 4u);
    m.key('j');
    EXPECT_EQ(m.selected(), 4u);
    m.key(key::Home);
    EXPECT_EQ(m.selected(), 0u);
    EXPECT_EQ(selected_row(m), 1);  // under the title bar
}

TEST(BrowserModel, StartsAtTheNewestWhenAllAreRead) {
    Fixture f;
    f.add_n(3, "\\Seen");
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    EXPECT_EQ(m.selected(), 2u);
}

TEST(BrowserModel, ScrollsToKeepTheSelectionVisible) {
    Fixture f;
    f.add_n(10);
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 6);  // title, 3 rows, message line, keys
    for (int i = 0; i < 3; ++i) m.key('j');
    EXPECT_EQ(m.selected(), 3u);
    EXPECT_EQ(m.top(), 1u);
    EXPECT_EQ(selected_row(m), 3);  // the last body row
    m.key(key::End);
    EXPECT_EQ(m.selected(), 9u);
    EXPECT_EQ(m.top(), 7u);
    m.key(key::PageDown);  // already at the end: nothing moves past it
    EXPECT_EQ(m.selected(), 9u);
    EXPECT_EQ(m.top(), 7u);
    m.key(key::PageUp);
    EXPECT_EQ(m.top(), 4u);
    EXPECT_EQ(m.selected(), 6u);
    m.key(key::PageUp);
    m.key(key::PageUp);
    EXPECT_EQ(m.top(), 0u);
    EXPECT_EQ(m.selected(), 0u);
    m.key(key::PageDown);
    EXPECT_EQ(m.top(), 3u);
    EXPECT_EQ(m.selected(), 3u);
    auto lines = m.layout();
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_NE(lines[1].text.find("message 4"), std::string::npos);
    // A smaller screen keeps the selection on it.
    m.key(key::End);
    m.resize(80, 4);
    EXPECT_EQ(m.top(), 9u);
    EXPECT_EQ(selected_row(m), 1);
}

TEST(BrowserModel, OpeningMarksSeenAndShowsTheBody) {
    Fixture f;
    f.add_n(2);
    f.add("INBOX", msg("long", 3, "Carol <c@example.org>", [] {
              std::string b;
              for (int i = 0; i < 50; ++i) b += "body line " + std::to_string(i) + "\r\n";
              return b;
          }()));
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(60, 10);
    m.key('j');
    EXPECT_FALSE(f.cache->get(f.ids[1])->has("\\Seen"));
    EXPECT_TRUE(m.layout()[2].bold);  // unread: bold
    EXPECT_NE(m.layout()[0].text.find("3 unread"), std::string::npos);
    m.key(key::Enter);
    EXPECT_EQ(m.screen(), Screen::Pager);
    EXPECT_TRUE(f.cache->get(f.ids[1])->has("\\Seen"));
    m.key(key::Enter);  // scrolls, does not mark again
    m.key('q');
    EXPECT_NE(m.layout()[0].text.find("2 unread"), std::string::npos);
    m.key(key::Enter);
    EXPECT_NE(screen_text(m).find("hello"), std::string::npos);
    EXPECT_NE(screen_text(m).find("Subject: message 2"), std::string::npos);
    m.key('q');
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_FALSE(m.layout()[2].bold);
    // Scrolling a long message stops at its end and its start.
    m.key('j');
    m.key(key::Enter);
    m.key(key::End);
    std::size_t end = m.pager_top();
    EXPECT_GT(end, 0u);
    m.key('j');
    EXPECT_EQ(m.pager_top(), end);
    EXPECT_NE(screen_text(m).find("body line 49"), std::string::npos);
    m.key(key::Home);
    m.key('k');
    EXPECT_EQ(m.pager_top(), 0u);
    // J / K open the neighbours.
    m.key('K');
    EXPECT_EQ(m.current()->subject, "message 2");
    EXPECT_EQ(m.screen(), Screen::Pager);
}

TEST(BrowserModel, DeleteAsksAndUndeleteTakesItBack) {
    Fixture f;
    f.add_n(3);
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    m.key('d');
    EXPECT_TRUE(m.prompting());
    EXPECT_NE(screen_text(m).find("Delete message " + std::to_string(f.ids[0]) + "? (y/n)"), std::string::npos);
    m.key('n');
    EXPECT_FALSE(m.prompting());
    EXPECT_FALSE(f.cache->get(f.ids[0])->has("\\Deleted"));
    m.key('d');
    m.key('y');
    EXPECT_TRUE(f.cache->get(f.ids[0])->has("\\Deleted"));
    EXPECT_EQ(m.selected(), 1u);  // on to the next
    EXPECT_EQ(m.rows()[0].flags.find("\\Deleted") != std::string::npos, true);
    EXPECT_EQ(m.layout()[1].text.substr(5, 3), "ND ");
    m.key('k');
    m.key('u');
    EXPECT_FALSE(f.cache->get(f.ids[0])->has("\\Deleted"));
    m.key('d');
    m.key('y');
    EXPECT_TRUE(f.cache->get(f.ids[0]).has_value());  // still here until the folder is left
    m.key('q');
    EXPECT_EQ(m.screen(), Screen::Folders);
    EXPECT_FALSE(f.cache->get(f.ids[0]).has_value());
    EXPECT_EQ(m.folders()[0].messages, 2);
}

TEST(BrowserModel, FlagsToggle) {
    Fixture f;
    f.add_n(1);
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    m.key('F');
    EXPECT_TRUE(f.cache->get(f.ids[0])->has("\\Flagged"));
    EXPECT_NE(m.layout()[0].text.find("[1/1]  1 unread"), std::string::npos);
    m.key('N');
    EXPECT_TRUE(f.cache->get(f.ids[0])->has("\\Seen"));
    EXPECT_NE(m.layout()[0].text.find("[1/1]  0 unread"), std::string::npos);
    m.key('s');
    EXPECT_FALSE(f.cache->get(f.ids[0])->has("\\Seen"));
    EXPECT_NE(m.layout()[0].text.find("[1/1]  1 unread"), std::string::npos);
    m.key('F');
    EXPECT_FALSE(f.cache->get(f.ids[0])->has("\\Flagged"));
}

TEST(BrowserModel, SwitchesFolders) {
    Fixture f;
    f.add_n(2);
    f.add("Work", msg("quarterly report", 9));
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    m.key(key::Tab);
    EXPECT_EQ(m.screen(), Screen::Folders);
    ASSERT_EQ(m.folders().size(), 2u);
    EXPECT_EQ(m.folders()[0].name, "INBOX");
    std::string s = screen_text(m);
    EXPECT_NE(s.find("INBOX"), std::string::npos);
    EXPECT_NE(s.find("Work"), std::string::npos);
    m.key('j');
    m.key(key::Enter);
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_EQ(m.folder_name(), "Work");
    ASSERT_EQ(m.rows().size(), 1u);
    EXPECT_EQ(m.rows()[0].subject, "quarterly report");
    m.key('c');
    EXPECT_EQ(m.screen(), Screen::Folders);
    EXPECT_EQ(m.key('q').kind, BrowserAction::Kind::Quit);
}

TEST(BrowserModel, SearchesSubjectsAndSenders) {
    Fixture f;
    f.add("INBOX", msg("alpha", 1));
    f.add("INBOX", msg("Gamma report", 2));
    f.add("INBOX", msg("beta", 3, "Zed <zed@example.org>"));
    f.add("INBOX", msg("more gamma", 4));
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    m.key('/');
    EXPECT_TRUE(m.prompting());
    for (char c : std::string("GAMMX")) m.key(static_cast<char32_t>(c));
    m.key(key::Backspace);
    m.key('M');
    EXPECT_NE(screen_text(m).find("Search subjects and senders: GAMMM"), std::string::npos);
    m.key(key::Backspace);
    m.key('a');
    m.key(key::Enter);
    EXPECT_EQ(m.current()->subject, "Gamma report");
    m.key('n');
    EXPECT_EQ(m.current()->subject, "more gamma");
    m.key('n');
    EXPECT_EQ(m.current()->subject, "Gamma report");
    EXPECT_EQ(m.message(), "Search wrapped to top.");
    m.key('/');
    for (char c : std::string("zed@")) m.key(static_cast<char32_t>(c));
    m.key(key::Enter);
    EXPECT_EQ(m.current()->subject, "beta");
    m.key('/');
    for (char c : std::string("nowhere")) m.key(static_cast<char32_t>(c));
    m.key(key::Enter);
    EXPECT_EQ(m.current()->subject, "beta");
    EXPECT_EQ(m.message(), "Not found: nowhere");
    m.key('/');
    m.key('x');
    m.key(key::Escape);  // cancelled
    EXPECT_FALSE(m.prompting());
    EXPECT_EQ(m.current()->subject, "beta");
}

TEST(BrowserModel, ActionsForTheCaller) {
    Fixture f;
    f.add_n(2);
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 24);
    auto a = m.key('r');
    EXPECT_EQ(a.kind, BrowserAction::Kind::Reply);
    EXPECT_EQ(a.message_id, f.ids[0]);
    EXPECT_EQ(m.key('m').kind, BrowserAction::Kind::Compose);
    EXPECT_EQ(m.key('v').kind, BrowserAction::Kind::None);
    EXPECT_TRUE(m.prompting());
    EXPECT_NE(screen_text(m).find("Save attachments to: /home/u/Downloads"), std::string::npos);
    for (int i = 0; i < 9; ++i) m.key(key::Backspace);
    for (char32_t c : std::u32string(U"tmp/ü")) m.key(c);
    m.key(key::Backspace);
    m.key(U'é');
    a = m.key(key::Enter);
    EXPECT_EQ(a.kind, BrowserAction::Kind::SaveAttachments);
    EXPECT_EQ(a.directory, "/home/u/tmp/é");
    EXPECT_EQ(a.message_id, f.ids[0]);
    EXPECT_EQ(m.key('Q').kind, BrowserAction::Kind::Quit);
}

TEST(BrowserModel, EmptyFolderAndNoFolders) {
    Fixture f;
    {
        BrowserModel m(*f.cache, fixed_clock());  // a fresh cache: no folders at all
        m.resize(50, 10);
        EXPECT_EQ(m.screen(), Screen::Folders);
        EXPECT_NE(screen_text(m).find("(no folders yet"), std::string::npos);
        m.key('j');
        m.key(key::Enter);
        EXPECT_EQ(m.key('q').kind, BrowserAction::Kind::Quit);
    }
    ASSERT_TRUE(f.cache->folder("INBOX").has_value());
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(50, 10);
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_NE(screen_text(m).find("(no messages in INBOX)"), std::string::npos);
    for (char32_t k : {U'j', U'k', key::End, key::PageDown, key::Enter, U'd', U'u', U'N', U'F', U'n', U'r', U'v'})
        EXPECT_EQ(m.key(k).kind, BrowserAction::Kind::None);
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_FALSE(m.current().has_value());
    for (std::size_t h = 0; h < 6; ++h) {
        m.resize(20, h);
        EXPECT_LE(m.layout().size(), h);
    }
}

TEST(BrowserModel, LinesNeverExceedTheWidth) {
    Fixture f;
    f.add("INBOX", msg("=?utf-8?b?5pel5pys6Kqe44Gu5Lu25ZCN?= 日本語の件名です", 1, "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@x.org>"));
    f.add("INBOX", msg("emoji 🎉🎉🎉 and combining e\xCC\x81 and bad \xFF\xFE bytes", 2, "山田太郎 <y@x.jp>"));
    f.add("INBOX", msg(std::string("tab\there and escape \x1b[2J"), 3));
    f.add("Work/2026 Größe", msg("x", 4), "\\Seen");
    BrowserModel m(*f.cache, fixed_clock());
    auto check = [&](const char* where) {
        for (std::size_t w = 0; w <= 45; ++w)
            for (std::size_t h : {0u, 1u, 2u, 3u, 4u, 7u}) {
                m.resize(w, h);
                auto lines = m.layout();
                EXPECT_LE(lines.size(), h);
                for (auto& l : lines) {
                    EXPECT_LE(display_width(l.text), w) << where << " w=" << w << " '" << l.text << "'";
                    EXPECT_TRUE(valid_utf8_no_controls(l.text)) << where << " w=" << w;
                    if (l.style == ScreenLine::Style::Bar || l.style == ScreenLine::Style::Selected) {
                        EXPECT_EQ(display_width(l.text), w) << where;  // reverse video across the row
                    }
                }
            }
    };
    check("index");
    m.resize(80, 24);
    m.key('j');
    m.key(key::Enter);
    check("pager");
    m.key('q');
    m.key('q');
    check("folders");
    m.key(key::Enter);
    ASSERT_EQ(m.screen(), Screen::Index);
    m.key('/');
    for (char32_t c : std::u32string(U"日本語日本語日本語日本語日本語")) m.key(c);
    ASSERT_TRUE(m.prompting());
    check("prompt");
}

TEST(BrowserModel, TheHeaderListNeverReadsMessageFiles) {
    Fixture f;
    f.add_n(3);
    for (auto id : f.ids) fs::remove(f.cache->get(id)->path);  // only the index is left
    BrowserModel m(*f.cache, fixed_clock());
    m.resize(80, 10);
    std::string s = screen_text(m);
    for (int i = 1; i <= 3; ++i) EXPECT_NE(s.find("message " + std::to_string(i)), std::string::npos);
    m.key(key::Enter);  // opening does read the file: an error, not a crash
    EXPECT_EQ(m.screen(), Screen::Index);
    EXPECT_NE(m.message().find("cannot read message"), std::string::npos);
}
