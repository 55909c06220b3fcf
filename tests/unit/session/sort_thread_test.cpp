// RFC 5256 SORT and THREAD algorithms (and RFC 5957 DISPLAYFROM/DISPLAYTO) with exact expected
// orders: base subjects (§2.1), sent dates (§2.2), every sort key, ORDEREDSUBJECT, REFERENCES with
// missing parents, duplicates, loops and subject gathering, the response format of §4's example.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session/imap/sort_thread.hpp"

namespace tern::imap {
namespace {

std::string base(std::string_view s, bool* rf = nullptr) { return base_subject(s, rf); }

TEST(BaseSubject, Rfc5256Section2_1) {
    bool rf = false;
    EXPECT_EQ(base("Re: hello", &rf), "hello");
    EXPECT_TRUE(rf);
    EXPECT_EQ(base("hello", &rf), "hello");
    EXPECT_FALSE(rf);
    EXPECT_EQ(base("RE: [list] Re: hello (fwd)", &rf), "hello");
    EXPECT_TRUE(rf);
    EXPECT_EQ(base("[list] hello", &rf), "hello");
    EXPECT_FALSE(rf) << "a blob alone is no reply";
    EXPECT_EQ(base("[list]"), "[list]") << "step 4: the blob stays when nothing else would";
    EXPECT_EQ(base("[fwd: Re: hello]", &rf), "hello");
    EXPECT_TRUE(rf);
    EXPECT_EQ(base("Fwd: Re: Fw: x"), "x");
    EXPECT_EQ(base("Re [2]: x"), "x") << "subj-refwd may carry a blob before the colon";
    EXPECT_EQ(base("Re:Re:  x\t y \r\n "), "x y");
    EXPECT_EQ(base("Reply: x"), "Reply: x");
    EXPECT_EQ(base("   "), "");
    EXPECT_EQ(base("Re: (fwd)"), "");
    EXPECT_EQ(base("hello (FWD) (fwd)", &rf), "hello");
    EXPECT_TRUE(rf);
    EXPECT_EQ(base("[a][b] Re: [c] x"), "x");
    EXPECT_EQ(base("[a] [b]"), "[b]");
    EXPECT_EQ(base("re: [fwd: [list] Re: done] (fwd)"), "done");
}

TEST(SortFields, ReadFromHeader) {
    SortFields f;
    f.internal_date = 42;
    read_sort_fields(
        "Subject: =?utf-8?q?Re=3A_caf=C3=A9?=\r\nFrom: =?utf-8?q?Andr=C3=A9?= <andre@example.org>\r\n"
        "To: undisclosed:;, bob@example.org\r\nCc: \"Carol\" <carol@example.org>\r\n"
        "Date: Mon, 07 Dec 2026 10:00:00 +0100\r\nMessage-ID: < m1@x >\r\n"
        "In-Reply-To: <p@x>\r\nReferences: junk <r1@x>\r\n <r2@x>\r\n\r\nbody Subject: no\r\n",
        f);
    EXPECT_EQ(f.subject, "CAFé");
    EXPECT_TRUE(f.reply_or_forward);
    EXPECT_EQ(f.from, "ANDRE");
    // A group's start is the first address, named by the group, as in ENVELOPE and Dovecot's sort
    // (imaptest sort-addresses: "Cc: user2: blah@domain1.org;" sorts as "user2").
    EXPECT_EQ(f.to, "UNDISCLOSED");
    EXPECT_EQ(f.cc, "CAROL");
    EXPECT_EQ(f.display_from, "ANDRé");
    EXPECT_EQ(f.display_to, "UNDISCLOSED");
    EXPECT_EQ(f.sent_date, 1796634000);  // 09:00 UTC
    EXPECT_EQ(f.message_id, "m1@x");
    EXPECT_EQ(f.references, (std::vector<std::string>{"r1@x", "r2@x"}));

    SortFields g;
    g.internal_date = 42;
    read_sort_fields("Date: yesterday\r\nIn-Reply-To: <p@x> <q@x>\r\nReferences: none\r\n\r\n", g);
    EXPECT_EQ(g.sent_date, 42) << "RFC 5256 §2.2: an unparsable Date: falls back to the internal date";
    EXPECT_EQ(g.references, std::vector<std::string>{"p@x"}) << "In-Reply-To's first id";
    EXPECT_EQ(g.subject, "");

    // RFC 5957 / Dovecot: a From that is not an address at all ("From: d") sorts as written.
    SortFields h;
    read_sort_fields("From: d\r\nTo: Bob <b@c.d>\r\n\r\n", h);
    EXPECT_EQ(h.from, "D");
    EXPECT_EQ(h.display_from, "D");
    EXPECT_EQ(h.display_to, "BOB");
    EXPECT_EQ(g.from, "");
}

std::vector<SortFields> four() {
    const char* heads[] = {
        "From: \"Zed\" <b@x>\r\nTo: c@x\r\nSubject: Re: beta\r\nDate: Mon, 07 Dec 2026 10:00:00 +0100\r\n\r\n",
        "From: a@x\r\nTo: \"Ann\" <z@x>\r\nSubject: alpha\r\nDate: Mon, 07 Dec 2026 09:30:00 +0000\r\n\r\n",
        "From: \"adam\" <c@x>\r\nCc: a@x\r\nSubject: [list] Beta\r\n\r\n",
        "Subject: ALPHA (fwd)\r\nDate: garbage\r\n\r\n",
    };
    std::int64_t internal[] = {1000, 3000, 500, 2000};
    std::uint64_t sizes[] = {300, 100, 200, 100};
    std::vector<SortFields> v;
    for (int i = 0; i < 4; ++i) {
        SortFields f;
        f.seq = f.number = static_cast<std::uint32_t>(i + 1);
        f.internal_date = internal[i];
        f.size = sizes[i];
        read_sort_fields(heads[i], f);
        v.push_back(f);
    }
    return v;
}

std::string sorted(const std::vector<SortFields>& v, std::vector<SortCriterion> c) {
    std::string out;
    for (auto i : sort_messages(v, c)) out += (out.empty() ? "" : " ") + std::to_string(v[i].number);
    return out;
}

TEST(Sort, EveryKey) {
    using K = SortCriterion::Key;
    auto v = four();
    EXPECT_EQ(sorted(v, {{K::Arrival, false}}), "3 1 4 2");
    EXPECT_EQ(sorted(v, {{K::Date, false}}), "3 4 1 2");
    EXPECT_EQ(sorted(v, {{K::Size, false}}), "2 4 3 1");
    EXPECT_EQ(sorted(v, {{K::Size, true}}), "1 3 2 4") << "ties stay in mailbox order under REVERSE";
    EXPECT_EQ(sorted(v, {{K::Subject, false}}), "2 4 1 3");
    EXPECT_EQ(sorted(v, {{K::Subject, false}, {K::Date, false}}), "4 2 3 1");
    EXPECT_EQ(sorted(v, {{K::Subject, true}, {K::Date, true}}), "1 3 2 4");
    EXPECT_EQ(sorted(v, {{K::From, false}}), "4 2 1 3");
    EXPECT_EQ(sorted(v, {{K::To, false}}), "3 4 1 2");
    EXPECT_EQ(sorted(v, {{K::Cc, false}}), "1 2 4 3");
    EXPECT_EQ(sorted(v, {{K::DisplayFrom, false}}), "4 2 3 1");
    EXPECT_EQ(sorted(v, {{K::DisplayTo, false}}), "3 4 2 1");
    EXPECT_EQ(sorted(v, {}), "1 2 3 4");
}

TEST(Thread, OrderedSubject) {
    auto v = four();
    EXPECT_EQ(format_threads(thread_orderedsubject(v), v), "(3 1)(4 2)");
    v.push_back(v[0]);  // a third BETA, sent last
    v.back().seq = v.back().number = 5;
    v.back().sent_date = 1u << 31;
    EXPECT_EQ(format_threads(thread_orderedsubject(v), v), "(3 (1)(5))(4 2)");
    EXPECT_EQ(format_threads(thread_orderedsubject({}), {}), "");
}

SortFields msg(std::uint32_t seq, std::string id, std::vector<std::string> refs, std::string subject,
               std::int64_t date) {
    SortFields f;
    f.seq = f.number = seq;
    f.message_id = std::move(id);
    f.references = std::move(refs);
    bool rf = false;
    f.subject = base_subject(subject, &rf);
    f.reply_or_forward = rf;
    f.sent_date = f.internal_date = date;
    return f;
}

TEST(Thread, References) {
    std::vector<SortFields> v = {
        msg(1, "a", {}, "hello", 100),
        msg(2, "b", {"a"}, "Re: hello", 200),
        msg(3, "c", {"a", "b"}, "Re: hello", 300),
        msg(4, "d", {"a"}, "Re: hello", 250),
        msg(5, "e", {}, "other", 50),
        msg(6, "f", {"zz"}, "Re: other", 400),    // parent never seen: a dummy
        msg(7, "g", {"zz"}, "unrelated", 450),
        msg(8, "h", {"c", "a"}, "Re: hello", 260),  // c -> a would be a loop: refused
        msg(9, "a", {}, "zzz", 10),                // duplicate id: a thread of its own
        msg(10, "k", {}, "hello", 500),            // same subject, no reply: a new dummy above both
        msg(11, "m", {}, "Re: other", 800),        // joins the dummy holding "other"
        msg(12, "n", {}, "Fwd: unique", 600),      // a forward goes under the original
        msg(13, "o", {}, "unique", 700),
    };
    EXPECT_EQ(format_threads(thread_references(v), v), "(9)((5)(6)(7)(11))((1 (2 3)(4)(8))(10))(13 12)");
}

TEST(Thread, ReferencesTruncatedAndSelfReference) {
    std::vector<SortFields> v = {
        msg(1, "x", {"x"}, "loop", 10),           // a reference to itself is no parent
        msg(2, "c", {"a", "b"}, "three", 30),     // a, b dummies: a -> b -> c
        msg(3, "b", {"a"}, "two", 20),            // b is real now, still under a
        msg(4, "y", {"y2", "x"}, "Re: loop", 40),
    };
    // a (dummy, one child) is pruned: b becomes the root, c its child.
    EXPECT_EQ(format_threads(thread_references(v), v), "(1 4)(3 2)");
}

TEST(Thread, LongChainNeedsNoRecursion) {
    std::vector<SortFields> v;
    std::string expect = "(";
    for (std::uint32_t i = 1; i <= 20000; ++i) {
        std::vector<std::string> refs;
        if (i > 1) refs.push_back(std::to_string(i - 1));
        v.push_back(msg(i, std::to_string(i), refs, i == 1 ? "start" : "Re: start", i));
        expect += (i > 1 ? " " : "") + std::to_string(i);
    }
    expect += ")";
    EXPECT_EQ(format_threads(thread_references(v), v), expect);
}

TEST(Thread, FormatOfRfc5256Example) {
    // RFC 5256 §4: "(2)(3 6 (4 23)(44 7 96))", and a dummy root: "((3)(5))".
    std::vector<SortFields> m;
    for (std::uint32_t n : {2, 3, 6, 4, 23, 44, 7, 96, 5}) {
        SortFields f;
        f.number = n;
        m.push_back(f);
    }
    ThreadTree t;
    auto node = [&](std::size_t msg, std::vector<std::size_t> ch) {
        t.nodes.push_back({msg, std::move(ch)});
        return t.nodes.size() - 1;
    };
    auto n96 = node(7, {}), n7 = node(6, {n96}), n44 = node(5, {n7}), n23 = node(4, {}), n4 = node(3, {n23});
    auto n6 = node(2, {n4, n44}), n3 = node(1, {n6}), n2 = node(0, {});
    t.roots = {n2, n3};
    EXPECT_EQ(format_threads(t, m), "(2)(3 6 (4 23)(44 7 96))");
    ThreadTree d;
    d.nodes = {{ThreadTree::kDummy, {1, 2}}, {1, {}}, {8, {}}};
    d.roots = {0};
    EXPECT_EQ(format_threads(d, m), "((3)(5))");
}

TEST(MessageIds, Parse) {
    EXPECT_EQ(message_ids("<a@b> <c@d>\r\n\t<e\r\n @f>"), (std::vector<std::string>{"a@b", "c@d", "e@f"}));
    EXPECT_EQ(message_ids("no ids <> <x"), std::vector<std::string>{});
    EXPECT_EQ(message_ids("<a <b@c>"), std::vector<std::string>{"b@c"});
}

}  // namespace
}  // namespace tern::imap
