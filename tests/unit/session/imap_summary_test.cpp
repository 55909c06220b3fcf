// The per-message summary (session/imap/summary.hpp) and FETCH answered from it: the codec
// (round trips; every truncation, trailing byte, other version and overlong number refused),
// the SORT/THREAD fields, cached == computed FETCH text over a corpus of varied messages (the
// fetch_data tests' shapes), and a header listing that opens no message once summaries are kept.
// Must never depend on timing.
#include <gtest/gtest.h>

#include <atomic>

#include "forwarding_store.hpp"
#include "imap_transcript.hpp"
#include "mime/part_tree.hpp"
#include "session/imap/summary.hpp"

namespace tern::imap::testing {
namespace {

MessageSummary full() {
    MessageSummary s;
    s.envelope = "(\"date\" \"subj\" NIL NIL NIL NIL NIL NIL NIL NIL)";
    s.body = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 3 1)";
    s.bodystructure = std::string("(\"text\" {3}\r\na\0b)", 18);
    s.sent = -86400 * 365;  // before 1970
    s.subject = "=?utf-8?q?caf=C3=A9?=";
    s.from = SummaryAddress{"Ann", "ann", "example.net"};
    s.to = SummaryAddress{"", "alice", "example.org"};
    s.cc = SummaryAddress{"", "", ""};
    s.message_id = "<m1@x>";
    s.in_reply_to = "<m0@x>";
    s.references = "<a@x> <m0@x>";
    s.header_size = 123456789012ull;
    return s;
}

TEST(ImapSummary, RoundTrips) {
    for (const auto& s : {full(), MessageSummary{}}) {
        auto blob = encode_summary(s);
        EXPECT_EQ(static_cast<std::uint8_t>(blob[0]), kSummaryVersion);
        auto back = decode_summary(blob);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, s);
    }
    MessageSummary big;
    big.sent = INT64_MIN;
    big.header_size = UINT64_MAX;
    EXPECT_EQ(decode_summary(encode_summary(big)), big);
    big.sent = INT64_MAX;
    EXPECT_EQ(decode_summary(encode_summary(big)), big);
}

TEST(ImapSummary, DamagedBlobsDecodeToNothing) {
    const auto blob = encode_summary(full());
    for (std::size_t n = 0; n < blob.size(); ++n)
        EXPECT_FALSE(decode_summary(std::string_view(blob).substr(0, n))) << "truncated to " << n;
    EXPECT_FALSE(decode_summary(blob + '\0')) << "trailing byte";
    auto other = blob;
    other[0] = static_cast<char>(kSummaryVersion + 1);
    EXPECT_FALSE(decode_summary(other)) << "another version";
    // A string length larger than what is left, and a number over 64 bits.
    EXPECT_FALSE(decode_summary(std::string("\x02\x00\xff\xff\xff\xff\x0f", 7)));
    EXPECT_FALSE(decode_summary(std::string("\x02\x00\x00\x00\x00", 5) + std::string(10, '\xff') + '\x01'));
    EXPECT_FALSE(decode_summary(std::string("\x02\x00\x00\x00\x00", 5) + std::string(9, '\xff') + '\x02'));
    EXPECT_TRUE(decode_summary(std::string("\x02\x00\x00\x00\x00", 5) + std::string(9, '\xff') + '\x01'));
    EXPECT_FALSE(decode_summary(std::string("\x02\x00\x80\x00\x00\x00\x00", 7))) << "a length not in its shortest form";
}

TEST(ImapSummary, SortAndThreadFields) {
    const std::string m =
        "Date: Mon, 7 Dec 2026 10:00:00 +0100 (CET)\r\n"
        "From: \"Doe, Jane\" <jane@example.com>, x@y.z\r\n"
        "To: Team: a@b.c, b@c.d;, solo@q.r\r\n"
        "Subject: =?utf-8?q?caf=C3=A9?=\r\n\tfolded\r\n"
        "Message-ID: <1@x>\r\nIn-Reply-To: <0@x>\r\n"
        "References: <a@x>\r\n <0@x>\r\n"
        "\r\nbody\r\n";
    auto src = base::bytes_from_string(m);
    auto tree = mime::parse_message(*src);
    ASSERT_TRUE(tree);
    auto s = make_summary(*tree, *src);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->sent, std::optional<std::int64_t>(1796634000));  // 09:00 UTC
    EXPECT_EQ(s->subject, "=?utf-8?q?caf=C3=A9?=\tfolded");  // unfolded as ENVELOPE has it
    EXPECT_EQ(s->from, (SummaryAddress{"Doe, Jane", "jane", "example.com"}));
    EXPECT_EQ(s->to, (SummaryAddress{"", "a", "b.c"}));  // the first mailbox, inside the group
    EXPECT_FALSE(s->cc);
    EXPECT_EQ(s->message_id, "<1@x>");
    EXPECT_EQ(s->in_reply_to, "<0@x>");
    EXPECT_EQ(s->references, "<a@x> <0@x>");
    EXPECT_EQ(s->header_size, m.find("\r\n\r\n") + 4);
    EXPECT_EQ(s->envelope.substr(0, 35), "(\"Mon, 7 Dec 2026 10:00:00 +0100 (C");

    auto bare = base::bytes_from_string("X: 1\r\nDate: not a date\r\n\r\nx\r\n");
    auto t2 = mime::parse_message(*bare);
    auto s2 = make_summary(*t2, *bare);
    ASSERT_TRUE(s2);
    EXPECT_FALSE(s2->sent) << "an invalid Date: is no date (SORT uses the internal date)";
    EXPECT_FALSE(s2->subject);
    EXPECT_FALSE(s2->from);
    EXPECT_FALSE(s2->references);
    EXPECT_EQ(s2->envelope, "(\"not a date\" NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

// Summaries kept by earlier builds are served as they are: when fetch_data's output changes,
// this test fails until kSummaryVersion is raised (and these texts updated).
TEST(ImapSummary, VersionTripwire) {
    ASSERT_EQ(kSummaryVersion, 2) << "update the texts below for the new version";
    // Version 2: an addr-spec's comment is its ENVELOPE name.
    EXPECT_EQ(make_summary("From: user@domain (Real Name)\n\n").envelope,
              "(NIL NIL ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
              "((\"Real Name\" NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)");
    const auto s = make_summary(
        "Subject: y\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=xx\n\n--xx\nContent-Type: text/html\n\n"
        "<p>\n--xx\nContent-Type: message/rfc822\n\nFrom: c@d\nSubject: in\n\nbody\n--xx\n"
        "Content-Type: application/pdf; name*=utf-8''a%20b.pdf\n"
        "Content-Disposition: attachment; filename*0=a; filename*1=b.pdf\n"
        "Content-Language: en, de\nContent-Transfer-Encoding: base64\n\nAAAA\n--xx--\n");
    EXPECT_EQ(s.envelope, "(NIL \"y\" NIL NIL NIL NIL NIL NIL NIL NIL)");
    EXPECT_EQ(s.bodystructure,
              "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 27 "
              "(NIL \"in\" ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"
              "(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4 NIL "
              "(\"attachment\" (\"filename\" \"ab.pdf\")) (\"en\" \"de\") NIL) "
              "\"mixed\" (\"boundary\" \"xx\") NIL NIL NIL)");
    EXPECT_EQ(s.body,
              "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 27 "
              "(NIL \"in\" ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0) 3)"
              "(\"application\" \"pdf\" (\"name*\" \"utf-8''a%20b.pdf\") NIL NIL \"base64\" 4) \"mixed\")");
}

// The fetch_data tests' shapes and more: multipart with message/rfc822 and RFC 2231, defaults and
// extension fields, 8-bit and NUL headers, a long subject, empty and opaque multiparts,
// message/global, bare LF, an empty message.
const std::vector<std::string>& corpus() {
    static const std::vector<std::string> c = {
        kMessage1, kMessage2, kMessage3,
        "Subject: y\n" "MIME-Version: 1.0\n" "Content-Type: multipart/mixed; boundary=xx\n\n"
        "--xx\n" "Content-Type: text/html\n\n<p>\n--xx\nContent-Type: message/rfc822\n\n"
        "From: c@d\nSubject: in\n\nbody\n--xx\n"
        "Content-Type: application/pdf; name*=utf-8''a%20b.pdf\n"
        "Content-Disposition: attachment; filename*0=a; filename*1=b.pdf\n"
        "Content-Language: en, de\nContent-Transfer-Encoding: base64\n\nAAAA\n--xx--\n",
        "Date: Mon, 7 Dec 2026 08:00:00 +0000\nSubject: a  \"quoted\"\n\tfolded\n"
        "From: \"Doe, Jane\" <jane@example.com>\n"
        "To: undisclosed-recipients:;, Team: x@y.z, \"Y\" <y@z.w>;, solo@q.r\n"
        "Cc: =?utf-8?q?J=C3=B6rg?= <j@x.de>\nIn-Reply-To: <0@x>\nMessage-ID: <1@x>\n\nbody\n",
        "X-Other: 1\n\nbody\n",
        "From: a@b.c\nSender:\nSubject:\n\nx\n",
        "From: \"J\xc3\xb6rg\" <j@x.de>\nSubject: Gr\xc3\xbc\xc3\x9f" "e\nTo: not an address\n\nx\n",
        std::string("Subject: a\0b\n\nx\n", 15),
        "Subject: " + std::string(2000, 'w') + "\n\nx\n",
        "Content-Type: text/plain; format=flowed\nContent-Language: en-US\nContent-Location: http://x/y\n"
        "Content-MD5: abc=\nContent-ID: <c@x>\nContent-Description: d\n\nx\n",
        "Content-Type: image/png\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\niVBO\n",
        "",
        "Content-Type: multipart/mixed; boundary=q\n\nno parts\n",
        "Content-Type: multipart/mixed\n\nx\n",
        "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogeEB5\n",
        "Content-Type: message/global\n\nFrom: u@x.y\n\nb\n",
        "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "no close delimiter\r\n",
    };
    return c;
}

std::unique_ptr<store::MailStore> corpus_store() {
    auto s = store::make_memory_store();
    EXPECT_TRUE(s->create_account("alice@example.org"));
    std::vector<store::NewMessage> batch;
    for (const auto& m : corpus()) {
        store::NewMessage n;
        n.account = "alice@example.org";
        n.data = m;
        n.internal_date = 1796637600;
        batch.push_back(std::move(n));
    }
    EXPECT_TRUE(s->append(batch));
    // Seen before (not \Recent), so every session's listing is the same.
    auto inbox = s->open_mailbox("alice@example.org", "INBOX");
    EXPECT_TRUE(inbox && s->claim_recent(*inbox, 1000));
    return s;
}

SessionConfig with_summaries(bool on) {
    auto c = plaintext_config();
    c.summaries = on;
    return c;
}

std::size_t kept(store::MailStore& s) {
    auto h = s.open_mailbox("alice@example.org", "INBOX");
    std::size_t n = 0;
    for (std::uint32_t uid = 1; uid <= corpus().size(); ++uid)
        if (auto b = s.summary(*h, uid); b && *b && decode_summary(**b)) ++n;
    return n;
}

TEST(ImapSummaryFetch, CachedEqualsComputedOverACorpus) {
    const std::string fetch = "f FETCH 1:* (UID ENVELOPE BODY BODYSTRUCTURE)\r\n";
    auto plain_store = corpus_store();
    Transcript parsed(with_summaries(false), plain_store.get());
    parsed.select();
    const auto want = parsed.send(fetch);
    ASSERT_TRUE(has_line(want, "f OK FETCH completed")) << want;
    EXPECT_EQ(kept(*plain_store), 0u) << "summaries off: nothing kept";

    auto s = corpus_store();
    Transcript first(with_summaries(true), s.get());
    first.select();
    EXPECT_EQ(first.send(fetch), want) << "computed on first use";
    EXPECT_EQ(kept(*s), corpus().size());
    Transcript second(with_summaries(true), s.get(), "I2");
    second.select();
    EXPECT_EQ(second.send(fetch), want) << "from the kept summaries";
    // A damaged summary is recomputed, not sent.
    auto h = s->open_mailbox("alice@example.org", "INBOX");
    const std::pair<std::uint32_t, std::string> bad[] = {{1, "\x01garbage"}};
    ASSERT_TRUE(s->set_summaries(*h, bad));
    EXPECT_EQ(second.send(fetch), want);
    EXPECT_EQ(kept(*s), corpus().size()) << "the damaged one was replaced";
}

TEST(ImapSummaryFetch, Utf8SessionsDoNotUseTheRev1Texts) {
    const std::string fetch = "f FETCH 1:* (ENVELOPE BODYSTRUCTURE)\r\n";
    auto plain_store = corpus_store();
    Transcript parsed(with_summaries(false), plain_store.get());
    parsed.login();
    parsed.send("e ENABLE IMAP4rev2\r\n");
    parsed.send("s SELECT INBOX\r\n");
    const auto want = parsed.send(fetch);
    auto s = corpus_store();
    Transcript rev1(with_summaries(true), s.get());
    rev1.select();
    const auto rev1_out = rev1.send(fetch);  // fills the summaries
    EXPECT_NE(rev1_out, want) << "the corpus has 8-bit headers, which rev2 quotes";
    Transcript rev2(with_summaries(true), s.get(), "I2");
    rev2.login();
    rev2.send("e ENABLE IMAP4rev2\r\n");
    rev2.send("s SELECT INBOX\r\n");
    EXPECT_EQ(rev2.send(fetch), want);
}

// Forwards everything to a memory store and counts open_message calls.
class CountingStore final : public tern::testing::ForwardingStore {
public:
    using ForwardingStore::ForwardingStore;
    int opens = 0;

    Result<std::string> read_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        ++opens;
        return inner_->read_message(a, m, u);
    }
    Result<base::ByteSourceRef> open_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        ++opens;
        return inner_->open_message(a, m, u);
    }
    Result<base::ByteSourceRef> open_message(const Handle& h, std::uint32_t u) override {
        ++opens;
        return inner_->open_message(h, u);
    }
};

TEST(ImapSummaryFetch, HeaderListingOpensNoMessageOnceSummariesAreKept) {
    CountingStore s(corpus_store());
    const std::size_t n = corpus().size();
    const std::string listing = "l FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)\r\n";
    Transcript a(with_summaries(true), &s);
    a.select();
    auto first = a.send(listing);
    ASSERT_TRUE(has_line(first, "l OK FETCH completed")) << first;
    EXPECT_EQ(s.opens, static_cast<int>(n)) << "first use: each message parsed once";
    s.opens = 0;
    Transcript b(with_summaries(true), &s, "I2");
    b.select();
    EXPECT_EQ(b.send(listing), first);
    auto u = b.send("u UID FETCH 1:* (ENVELOPE BODY)\r\n");
    EXPECT_TRUE(has_line(u, "u OK UID FETCH completed")) << u;
    EXPECT_EQ(s.opens, 0) << "a header listing reads no message body";
    // Items the summary does not hold still read the message.
    b.send("h FETCH 1 (ENVELOPE BODY.PEEK[HEADER])\r\n");
    EXPECT_EQ(s.opens, 1);
    // Without summaries every listing opens every message.
    s.opens = 0;
    Transcript c(with_summaries(false), &s, "I3");
    c.select();
    EXPECT_EQ(c.send(listing), first);
    EXPECT_EQ(s.opens, static_cast<int>(n));
}

TEST(ImapSummaryFetch, AppendKeepsTheSummarySoTheFirstListingOpensNothing) {
    CountingStore s(corpus_store());
    Transcript a(with_summaries(true), &s);
    a.select();
    const std::string m = "From: Ann <ann@example.net>\r\nSubject: appended\r\nReferences: <r@x>\r\n\r\nhi\r\n";
    auto out = a.send("a APPEND INBOX {" + std::to_string(m.size()) + "+}\r\n" + m + "\r\n");
    ASSERT_TRUE(out.find("a OK [APPENDUID") != std::string::npos) << out;
    const auto uid = static_cast<std::uint32_t>(corpus().size() + 1);
    auto h = s.open_mailbox("alice@example.org", "INBOX");
    auto blob = s.summary(*h, uid);
    ASSERT_TRUE(blob && *blob) << "kept at APPEND";
    auto kept_summary = decode_summary(**blob);
    ASSERT_TRUE(kept_summary);
    EXPECT_EQ(*kept_summary, make_summary(m));
    EXPECT_EQ(kept_summary->references, "<r@x>");
    s.opens = 0;
    auto listing = a.send("l UID FETCH " + std::to_string(uid) + " (ENVELOPE BODYSTRUCTURE)\r\n");
    EXPECT_TRUE(has_line(listing, "l OK UID FETCH completed")) << listing;
    EXPECT_EQ(s.opens, 0);
    // The in-memory and the streamed builders agree.
    auto src = base::bytes_from_string(m);
    auto tree = mime::parse_message(*src);
    ASSERT_TRUE(tree);
    EXPECT_EQ(make_summary(*tree, *src).value(), make_summary(m));
}

}  // namespace
}  // namespace tern::imap::testing
