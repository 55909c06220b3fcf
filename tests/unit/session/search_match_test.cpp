// IMAP SEARCH evaluation (session/imap/search_match.hpp): every key of RFC 9051 §6.4.4 and RFC 3501,
// nesting, text decoded from base64/QP/RFC 2047 and charsets, folded headers, case folding, chunk
// boundaries, and no hits on encoded octets or on another field.
#include "session/imap/search_match.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/temp_dir.hpp"
#include "proto/imap/command.hpp"
#include "proto/imap/reader.hpp"

namespace tern::imap {
namespace {

using K = SearchKey::Kind;

// A source that counts its reads and hands out at most `max_read` octets per call.
class CountingSource : public base::ByteSource {
public:
    explicit CountingSource(std::string data, std::size_t max_read = 1 << 20)
        : data_(std::move(data)), max_read_(max_read) {}
    std::uint64_t size() const override { return data_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        ++reads;
        if (fail_reads) return fail("disk on fire", EIO);
        if (offset >= data_.size()) return 0;
        std::size_t n = std::min({out.size(), data_.size() - static_cast<std::size_t>(offset), max_read_});
        std::copy_n(data_.data() + offset, n, out.data());
        return n;
    }
    mutable int reads = 0;
    bool fail_reads = false;

private:
    std::string data_;
    std::size_t max_read_;
};

SearchKey key(K kind, std::string text = {}, std::string value = {}) {
    SearchKey k;
    k.kind = kind;
    k.text = std::move(text);
    k.value = std::move(value);
    return k;
}
SearchKey num(K kind, std::uint64_t n) {
    SearchKey k;
    k.kind = kind;
    k.number = n;
    return k;
}
SearchKey date(K kind, int y, int m, int d) {
    SearchKey k;
    k.kind = kind;
    k.date = {y, m, d};
    return k;
}
SearchKey set(K kind, std::string_view s) {
    SearchKey k;
    k.kind = kind;
    k.set = parse_sequence_set(s).value();
    return k;
}
SearchKey op(K kind, std::vector<SearchKey> children) {
    SearchKey k;
    k.kind = kind;
    k.children = std::move(children);
    return k;
}
SearchKey Not(SearchKey k) { return op(K::Not, {std::move(k)}); }
SearchKey Or(SearchKey a, SearchKey b) { return op(K::Or, {std::move(a), std::move(b)}); }

constexpr std::int64_t kFeb1_2024_noon = 1706788800;  // 2024-02-01 12:00:00 UTC

struct Msg {
    std::string text;
    std::vector<std::string> flags = {};
    std::uint32_t seq = 3, uid = 30;
    std::uint64_t modseq = 7;
    std::int64_t internal = kFeb1_2024_noon;
    std::size_t chunk = 1 << 20;
    std::uint64_t keep = MatchCache::kDefaultKeepTextBytes;  // 0: every body streamed
};

class Search : public ::testing::Test {
protected:
    SearchContext ctx{.max_seq = 5, .max_uid = 50, .saved = nullptr, .tz_offset_minutes = 0};

    Result<bool> run(const SearchKey& k, const Msg& m, CountingSource** src_out = nullptr) {
        src_ = std::make_unique<CountingSource>(m.text, m.chunk);
        if (src_out) *src_out = src_.get();
        SearchMessage sm;
        sm.seq = m.seq;
        sm.uid = m.uid;
        sm.modseq = m.modseq;
        sm.size = m.text.size();
        sm.internal_date = m.internal;
        sm.flags = m.flags;
        sm.source = src_.get();
        MatchCache cache(m.keep);
        return matches(k, ctx, sm, cache);
    }
    bool yes(const SearchKey& k, const Msg& m) {
        auto r = run(k, m);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
        return r && *r;
    }
    bool yes(const SearchKey& k, const std::string& text) { return yes(k, Msg{.text = text}); }

    std::unique_ptr<CountingSource> src_;
};

const std::string kPlain =
    "From: Alice Example <alice@example.org>\r\n"
    "To: bob@example.net, Carol <carol@example.com>\r\n"
    "Cc: dave@example.org\r\n"
    "Bcc: eve@example.org\r\n"
    "Subject: Quarterly report\r\n"
    "X-Custom: some value\r\n"
    "X-Empty:\r\n"
    "Date: Thu, 01 Feb 2024 23:30:00 -0800\r\n"
    "\r\n"
    "Hello Bob,\r\nthe numbers are in.\r\n";

// ---------------------------------------------------------------- flags and metadata

TEST_F(Search, AllAndSystemFlags) {
    Msg m{.text = kPlain, .flags = {"\\Seen", "\\Flagged", "$Forwarded"}};
    EXPECT_TRUE(yes(key(K::All), m));
    EXPECT_TRUE(yes(key(K::Seen), m));
    EXPECT_TRUE(yes(key(K::Flagged), m));
    EXPECT_FALSE(yes(key(K::Answered), m));
    EXPECT_FALSE(yes(key(K::Deleted), m));
    EXPECT_FALSE(yes(key(K::Draft), m));
    EXPECT_FALSE(yes(key(K::Unseen), m));
    EXPECT_FALSE(yes(key(K::Unflagged), m));
    EXPECT_TRUE(yes(key(K::Unanswered), m));
    EXPECT_TRUE(yes(key(K::Undeleted), m));
    EXPECT_TRUE(yes(key(K::Undraft), m));
    Msg other{.text = kPlain, .flags = {"\\Answered", "\\Deleted", "\\Draft"}};
    EXPECT_TRUE(yes(key(K::Answered), other));
    EXPECT_TRUE(yes(key(K::Deleted), other));
    EXPECT_TRUE(yes(key(K::Draft), other));
    EXPECT_FALSE(yes(key(K::Undeleted), other));
    EXPECT_TRUE(yes(key(K::Unseen), other));
}

TEST_F(Search, FlagsCompareCaseInsensitively) {
    Msg m{.text = kPlain, .flags = {"\\SEEN", "$forwarded"}};
    EXPECT_TRUE(yes(key(K::Seen), m));
    EXPECT_TRUE(yes(key(K::Keyword, "$Forwarded"), m));
}

TEST_F(Search, RecentNewOldWithoutRecentFlag) {
    Msg m{.text = kPlain};  // unseen, and \Recent does not exist in the store
    EXPECT_FALSE(yes(key(K::Recent), m));
    EXPECT_FALSE(yes(key(K::New), m));
    EXPECT_TRUE(yes(key(K::Old), m));
    EXPECT_TRUE(yes(Not(key(K::New)), m));
}

TEST_F(Search, KeywordUnkeyword) {
    Msg m{.text = kPlain, .flags = {"work", "$Label1"}};
    EXPECT_TRUE(yes(key(K::Keyword, "work"), m));
    EXPECT_TRUE(yes(key(K::Keyword, "$label1"), m));
    EXPECT_FALSE(yes(key(K::Keyword, "play"), m));
    EXPECT_FALSE(yes(key(K::Keyword, "wor"), m));  // whole flags, not substrings
    EXPECT_FALSE(yes(key(K::Unkeyword, "work"), m));
    EXPECT_TRUE(yes(key(K::Unkeyword, "play"), m));
}

TEST_F(Search, LargerSmaller) {
    Msg m{.text = std::string(100, 'x')};
    EXPECT_TRUE(yes(num(K::Larger, 99), m));
    EXPECT_FALSE(yes(num(K::Larger, 100), m));  // strictly larger
    EXPECT_TRUE(yes(num(K::Smaller, 101), m));
    EXPECT_FALSE(yes(num(K::Smaller, 100), m));
}

TEST_F(Search, ModSeq) {
    Msg m{.text = kPlain, .modseq = 7};
    EXPECT_TRUE(yes(num(K::ModSeq, 7), m));  // RFC 7162 §3.1.5: equal or greater
    EXPECT_TRUE(yes(num(K::ModSeq, 1), m));
    EXPECT_FALSE(yes(num(K::ModSeq, 8), m));
}

TEST_F(Search, UidAndSequenceSets) {
    Msg m{.text = kPlain, .seq = 3, .uid = 30};
    EXPECT_TRUE(yes(set(K::Uid, "30"), m));
    EXPECT_TRUE(yes(set(K::Uid, "1:10,25:35"), m));
    EXPECT_FALSE(yes(set(K::Uid, "3"), m));  // the sequence number is not the UID
    EXPECT_TRUE(yes(set(K::Sequence, "3"), m));
    EXPECT_FALSE(yes(set(K::Sequence, "30"), m));
    EXPECT_TRUE(yes(set(K::Sequence, "2:4"), m));
    // "*" is the largest number in use: max_seq 5, max_uid 50.
    EXPECT_FALSE(yes(set(K::Sequence, "*"), m));
    EXPECT_TRUE(yes(set(K::Sequence, "*:3"), m));
    Msg last{.text = kPlain, .seq = 5, .uid = 50};
    EXPECT_TRUE(yes(set(K::Sequence, "*"), last));
    EXPECT_TRUE(yes(set(K::Uid, "*"), last));
    EXPECT_TRUE(yes(set(K::Uid, "60:*"), last));  // RFC 9051 §9: 60:* is 50:60 when 50 is the largest
    EXPECT_FALSE(yes(set(K::Uid, "60:*"), m));
}

TEST_F(Search, SavedResultIsUids) {
    Msg m{.text = kPlain, .seq = 3, .uid = 30};
    EXPECT_FALSE(yes(set(K::Sequence, "$"), m));  // nothing saved: "$" is empty (RFC 5182 §2.1)
    std::vector<std::uint32_t> saved{10, 30, 40};
    ctx.saved = &saved;
    EXPECT_TRUE(yes(set(K::Sequence, "$"), m));
    EXPECT_TRUE(yes(set(K::Uid, "$"), m));
    saved = {3, 31};  // sequence number 3 is not UID 3
    EXPECT_FALSE(yes(set(K::Sequence, "$"), m));
    EXPECT_FALSE(yes(set(K::Uid, "$"), m));
}

// ---------------------------------------------------------------- dates

TEST_F(Search, InternalDateKeysTakeTheDayInUtc) {
    Msg m{.text = kPlain, .internal = kFeb1_2024_noon};
    EXPECT_TRUE(yes(date(K::On, 2024, 2, 1), m));
    EXPECT_FALSE(yes(date(K::On, 2024, 2, 2), m));
    EXPECT_TRUE(yes(date(K::Before, 2024, 2, 2), m));
    EXPECT_FALSE(yes(date(K::Before, 2024, 2, 1), m));  // BEFORE: strictly earlier day
    EXPECT_TRUE(yes(date(K::Since, 2024, 2, 1), m));    // SINCE: that day or later
    EXPECT_FALSE(yes(date(K::Since, 2024, 2, 2), m));
    Msg midnight{.text = kPlain, .internal = kFeb1_2024_noon - 12 * 3600};  // 00:00:00 UTC
    EXPECT_TRUE(yes(date(K::On, 2024, 2, 1), midnight));
    Msg last_second{.text = kPlain, .internal = kFeb1_2024_noon + 12 * 3600 - 1};
    EXPECT_TRUE(yes(date(K::On, 2024, 2, 1), last_second));
}

TEST_F(Search, InternalDateZoneFromContext) {
    Msg m{.text = kPlain, .internal = kFeb1_2024_noon + 11 * 3600};  // 23:00 UTC
    ctx.tz_offset_minutes = 120;                                       // 01:00 on Feb 2 at +0200
    EXPECT_TRUE(yes(date(K::On, 2024, 2, 2), m));
    ctx.tz_offset_minutes = -300;
    EXPECT_TRUE(yes(date(K::On, 2024, 2, 1), m));
    Msg before_epoch{.text = kPlain, .internal = -1};  // 1969-12-31 23:59:59: floor, not truncation
    ctx.tz_offset_minutes = 0;
    EXPECT_TRUE(yes(date(K::On, 1969, 12, 31), before_epoch));
}

TEST_F(Search, SentDateIsTheDateAsWritten) {
    // "Thu, 01 Feb 2024 23:30:00 -0800" is Feb 2 in UTC; SENT* disregard the zone.
    Msg m{.text = kPlain, .internal = kFeb1_2024_noon + 40 * 86400};
    EXPECT_TRUE(yes(date(K::SentOn, 2024, 2, 1), m));
    EXPECT_FALSE(yes(date(K::SentOn, 2024, 2, 2), m));
    EXPECT_TRUE(yes(date(K::SentBefore, 2024, 2, 2), m));
    EXPECT_FALSE(yes(date(K::SentBefore, 2024, 2, 1), m));
    EXPECT_TRUE(yes(date(K::SentSince, 2024, 2, 1), m));
    EXPECT_FALSE(yes(date(K::SentSince, 2024, 2, 2), m));
}

TEST_F(Search, SentDateMissingOrBrokenFallsBackToInternalDate) {
    std::int64_t march3 = kFeb1_2024_noon + 31 * 86400;  // 2024-03-03
    Msg none{.text = "Subject: x\r\n\r\nbody\r\n", .internal = march3};
    EXPECT_TRUE(yes(date(K::SentOn, 2024, 3, 3), none));
    EXPECT_FALSE(yes(date(K::SentBefore, 2024, 3, 3), none));
    Msg broken{.text = "Date: sometime last week\r\n\r\nbody\r\n", .internal = march3};
    EXPECT_TRUE(yes(date(K::SentOn, 2024, 3, 3), broken));
    Msg bad_day{.text = "Date: 30 Feb 2024 10:00 +0000\r\n\r\nbody\r\n", .internal = march3};
    EXPECT_TRUE(yes(date(K::SentOn, 2024, 3, 3), bad_day));
}

TEST_F(Search, SentDateFoldedCommentsObsoleteForms) {
    EXPECT_TRUE(yes(date(K::SentOn, 2024, 2, 5), "Date: Mon, 5 Feb 2024\r\n 10:00:00 +0100 (CET)\r\n\r\nx"));
    EXPECT_TRUE(yes(date(K::SentOn, 1999, 12, 31), "Date: (a comment) 31 Dec 99 23:59 EST\r\n\r\nx"));
    EXPECT_TRUE(yes(date(K::SentOn, 2003, 1, 7), "Date: 7 jan 03 01:02:03 GMT\r\n\r\nx"));
}

TEST(SentDate, Parse) {
    auto d = parse_sent_date(" Thu, 01 Feb 2024 23:30:05 -0800");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->date, (Date{2024, 2, 1}));
    EXPECT_TRUE(d->has_time);
    EXPECT_EQ(d->hour, 23);
    EXPECT_EQ(d->second, 5);
    EXPECT_EQ(d->zone_minutes, -480);
    EXPECT_EQ(d->unix_seconds(), kFeb1_2024_noon + 11 * 3600 + 30 * 60 + 5 + 8 * 3600);
    auto pst = parse_sent_date("1 Jan 2024 00:00 PST");
    ASSERT_TRUE(pst);
    EXPECT_EQ(pst->zone_minutes, -480);
    EXPECT_EQ(parse_sent_date("1 Jan 2024")->has_time, false);
    EXPECT_FALSE(parse_sent_date(""));
    EXPECT_FALSE(parse_sent_date("Thu, 32 Jan 2024 10:00 +0000"));
    EXPECT_FALSE(parse_sent_date("29 Feb 2023 10:00 +0000"));
    EXPECT_TRUE(parse_sent_date("29 Feb 2024 10:00 +0000"));
    EXPECT_FALSE(parse_sent_date("1 Foo 2024 10:00 +0000"));
    EXPECT_FALSE(parse_sent_date("1 Jan 2024 25:00 +0000"));
    EXPECT_EQ(parse_sent_date("1 Jan 49 10:00 +0000")->date.year, 2049);
    EXPECT_EQ(parse_sent_date("1 Jan 50 10:00 +0000")->date.year, 1950);
    EXPECT_EQ(parse_sent_date("1 Jan 103 10:00 +0000")->date.year, 2003);
}

// ---------------------------------------------------------------- header keys

TEST_F(Search, AddressAndSubjectKeys) {
    EXPECT_TRUE(yes(key(K::From, "alice@example.org"), kPlain));
    EXPECT_TRUE(yes(key(K::From, "ALICE EXAMPLE"), kPlain));
    EXPECT_TRUE(yes(key(K::To, "carol"), kPlain));
    EXPECT_TRUE(yes(key(K::Cc, "dave@"), kPlain));
    EXPECT_TRUE(yes(key(K::Bcc, "eve"), kPlain));
    EXPECT_TRUE(yes(key(K::Subject, "quarterly"), kPlain));
    EXPECT_TRUE(yes(key(K::Subject, "ly rep"), kPlain));
    // A value in another field is no hit.
    EXPECT_FALSE(yes(key(K::From, "carol"), kPlain));
    EXPECT_FALSE(yes(key(K::To, "alice"), kPlain));
    EXPECT_FALSE(yes(key(K::Subject, "alice"), kPlain));
    EXPECT_FALSE(yes(key(K::Cc, "eve"), kPlain));
    EXPECT_FALSE(yes(key(K::Subject, "hello"), kPlain));  // in the body only
    // Field names are not part of the value.
    EXPECT_FALSE(yes(key(K::Subject, "subject"), kPlain));
}

TEST_F(Search, HeaderKey) {
    EXPECT_TRUE(yes(key(K::Header, "x-custom", "SOME"), kPlain));
    EXPECT_TRUE(yes(key(K::Header, "X-CUSTOM", "e va"), kPlain));
    EXPECT_FALSE(yes(key(K::Header, "X-Custom", "other"), kPlain));
    EXPECT_FALSE(yes(key(K::Header, "X-Custom2", "some"), kPlain));
    // Empty string: the field exists, whatever its value (even empty).
    EXPECT_TRUE(yes(key(K::Header, "X-Empty", ""), kPlain));
    EXPECT_TRUE(yes(key(K::Header, "x-custom", ""), kPlain));
    EXPECT_FALSE(yes(key(K::Header, "X-Missing", ""), kPlain));
    EXPECT_FALSE(yes(key(K::Header, "X-Custom", "x-custom"), kPlain));
    EXPECT_TRUE(yes(key(K::Subject, ""), kPlain));
    EXPECT_FALSE(yes(key(K::Subject, ""), "From: a@b\r\n\r\nx"));
}

TEST_F(Search, HeaderOnlyInTheTopHeader) {
    std::string msg =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\nX-Inner: secret\r\n\r\nbody\r\n--b--\r\n";
    EXPECT_FALSE(yes(key(K::Header, "X-Inner", "secret"), msg));
    EXPECT_TRUE(yes(key(K::Text, "secret"), msg));  // TEXT includes MIME header fields
    EXPECT_FALSE(yes(key(K::Body, "secret"), msg));
}

TEST_F(Search, RepeatedFieldsAnyMatches) {
    std::string msg = "Received: from a.example\r\nReceived: from b.example\r\n\r\nx";
    EXPECT_TRUE(yes(key(K::Header, "Received", "a.example"), msg));
    EXPECT_TRUE(yes(key(K::Header, "Received", "b.example"), msg));
    EXPECT_FALSE(yes(key(K::Header, "Received", "a.example\r\nReceived: from b"), msg));
}

TEST_F(Search, FoldedHeadersUnfoldedAndSpaceCompressed) {
    std::string msg = "Subject: a very\r\n\tlong   subject\r\n  line\r\n\r\nx";
    EXPECT_TRUE(yes(key(K::Subject, "very long subject line"), msg));
    EXPECT_TRUE(yes(key(K::Subject, "very\tlong  subject"), msg));  // the string is compressed too
    EXPECT_FALSE(yes(key(K::Subject, "verylong"), msg));
}

TEST_F(Search, Rfc2047HeadersDecoded) {
    std::string msg =
        "Subject: =?UTF-8?B?w4lsw6h2ZSDDoCBQYXJpcw==?=\r\n"          // Élève à Paris
        "From: =?ISO-8859-1?Q?Fran=E7ois_M=FCller?= <fm@example.org>\r\n"  // François Müller
        "To: =?windows-1252?Q?=93quoted=94?= <q@example.org>\r\n"          // “quoted”
        "X-Split: =?utf-8?q?caf=C3?= =?utf-8?q?=A9?=\r\n"                  // café split across words
        "\r\nbody";
    EXPECT_TRUE(yes(key(K::Subject, "élève à paris"), msg));
    EXPECT_TRUE(yes(key(K::Subject, "ÉLÈVE"), msg));
    EXPECT_TRUE(yes(key(K::From, "françois müller"), msg));
    EXPECT_TRUE(yes(key(K::From, "FRANÇOIS"), msg));
    EXPECT_TRUE(yes(key(K::To, "\u201Cquoted\u201D"), msg));
    EXPECT_TRUE(yes(key(K::Header, "X-Split", "café"), msg));
    // Never the encoded form.
    EXPECT_FALSE(yes(key(K::Subject, "w4lsw6hl"), msg));
    EXPECT_FALSE(yes(key(K::Subject, "UTF-8"), msg));
    EXPECT_FALSE(yes(key(K::From, "Fran=E7ois"), msg));
    EXPECT_FALSE(yes(key(K::From, "ISO-8859-1"), msg));
}

TEST_F(Search, RawEightBitHeaders) {
    EXPECT_TRUE(yes(key(K::Subject, "größe"), "Subject: Gr\xC3\xB6\xC3\x9F" "e\r\n\r\nx"));  // UTF-8 (RFC 6532)
    EXPECT_TRUE(yes(key(K::Subject, "größe"), "Subject: Gr\xF6\xDF" "e\r\n\r\nx"));          // Latin-1
}

// ---------------------------------------------------------------- bodies

TEST_F(Search, BodyAndText) {
    EXPECT_TRUE(yes(key(K::Body, "numbers are"), kPlain));
    EXPECT_TRUE(yes(key(K::Body, "HELLO BOB"), kPlain));
    EXPECT_FALSE(yes(key(K::Body, "Quarterly"), kPlain));  // a header, not the body
    EXPECT_TRUE(yes(key(K::Text, "Quarterly"), kPlain));
    EXPECT_TRUE(yes(key(K::Text, "numbers"), kPlain));
    EXPECT_TRUE(yes(key(K::Text, "subject: quarterly"), kPlain));  // field names are header text
    EXPECT_FALSE(yes(key(K::Text, "nowhere to be found"), kPlain));
    EXPECT_FALSE(yes(key(K::Text, "report\r\nX-Custom"), kPlain));  // not across two fields
    // The empty string is in every message.
    EXPECT_TRUE(yes(key(K::Body, ""), kPlain));
    EXPECT_TRUE(yes(key(K::Text, ""), kPlain));
}

const std::string kMime =
    "From: a@example.org\r\n"
    "Subject: mime test\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble words\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "U2NobMO8c3NlbGfDpGNoZW4gdW5kIM6jzqPOoyDQlNCe0JwK\r\n"  // Schlüsselgächen und ΣΣΣ ДОМ
    "--XX\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Cr=E8me br=FBl=E9e, soft=\r\nwrapped line</p>\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=windows-1252\r\n"
    "\r\n"
    "smart \x93quotes\x94 and \x80 euro\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGlkZGVuIGF0dGFjaG1lbnQgdGV4dA==\r\n"  // "hidden attachment text"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner subject\r\n"
    "X-Inner: inner field\r\n"
    "\r\n"
    "inner body words\r\n"
    "--XX--\r\n"
    "epilogue words\r\n";

TEST_F(Search, BodiesDecodedAndConverted) {
    EXPECT_TRUE(yes(key(K::Body, "schlüssel"), kMime));       // base64 UTF-8
    EXPECT_TRUE(yes(key(K::Body, "SCHLÜSSEL"), kMime));
    EXPECT_TRUE(yes(key(K::Body, "σσσ дом"), kMime));           // Greek and Cyrillic folded
    EXPECT_TRUE(yes(key(K::Body, "crème brûlée"), kMime));     // QP ISO-8859-1
    EXPECT_TRUE(yes(key(K::Body, "softwrapped"), kMime));      // QP soft line break removed
    EXPECT_TRUE(yes(key(K::Body, "\u201Cquotes\u201D and \u20AC"), kMime));  // windows-1252
    EXPECT_TRUE(yes(key(K::Body, "inner body"), kMime));       // message/rfc822's body
    EXPECT_TRUE(yes(key(K::Text, "inner field"), kMime));      // and its header, for TEXT
    EXPECT_FALSE(yes(key(K::Body, "inner field"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "inner subject"), kMime));
}

TEST_F(Search, StreamedAndCachedAgree) {
    // keep_text_bytes 0 streams every body and part header; the default keeps them. Same answers,
    // whatever the read size.
    const std::vector<SearchKey> keys = {
        key(K::Body, "schlüssel"), key(K::Body, "crème brûlée"), key(K::Body, "inner body"),
        key(K::Body, "hidden attachment"), key(K::Body, "preamble"), key(K::Text, "inner field"),
        key(K::Text, "content-type: application/octet-stream"), key(K::Text, "absent"),
        key(K::Body, "ge und σσσ"), key(K::Text, "mime test"), key(K::Body, "\u201Cquotes"),
    };
    for (const auto& k : keys) {
        std::vector<bool> answers;
        for (std::uint64_t keep : {std::uint64_t{0}, MatchCache::kDefaultKeepTextBytes})
            for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{1} << 20}) {
                CountingSource src(kMime, chunk);
                SearchMessage sm{.seq = 1, .uid = 1, .modseq = 1, .size = kMime.size(), .internal_date = 0,
                                 .flags = {}, .source = &src};
                MatchCache cache(keep);
                auto r = matches(k, ctx, sm, cache);
                ASSERT_TRUE(r.has_value());
                answers.push_back(*r);
                // The same cache again (a second key on the same message).
                EXPECT_EQ(matches(k, ctx, sm, cache).value(), *r);
            }
        EXPECT_EQ(std::count(answers.begin(), answers.end(), answers[0]), static_cast<long>(answers.size()))
            << k.text;
    }
}

TEST_F(Search, NoHitsOnEncodedOctetsOrNonTextParts) {
    EXPECT_FALSE(yes(key(K::Body, "U2NobMO8"), kMime));   // the base64 text itself
    EXPECT_FALSE(yes(key(K::Text, "U2NobMO8"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "Cr=E8me"), kMime));    // QP escapes
    EXPECT_FALSE(yes(key(K::Body, "soft=\r\nwrapped"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "hidden attachment"), kMime));  // application/*: not searched
    EXPECT_FALSE(yes(key(K::Text, "hidden attachment"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "preamble"), kMime));   // a multipart's own body is no text
    EXPECT_FALSE(yes(key(K::Body, "epilogue"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "--XX"), kMime));
    EXPECT_FALSE(yes(key(K::Body, "schlüsselgächen und σσσ дом\r\n<p>"), kMime));  // not across parts
    EXPECT_TRUE(yes(key(K::Text, "content-type: application/octet-stream"), kMime));  // MIME header
}

TEST_F(Search, MatchAcrossChunkBoundariesWhenStreamed) {
    // Streamed bodies arrive in pieces of the source's read size; every split of the needle must
    // be found, also when a multi-byte character (É) is split.
    std::string filler(3000, 'a');
    for (std::size_t i = 0; i < filler.size(); i += 70) filler[i] = '\n';
    const std::string head = "Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
    std::string needle = "Needle\xC3\x89Word";  // NeedleÉWord
    for (std::size_t chunk : {1u, 3u, 7u, 64u}) {
        for (std::size_t shift = 0; shift < 12; ++shift) {
            std::string body = filler.substr(0, 1500 + shift) + needle + filler.substr(1500);
            Msg m{.text = head + body, .chunk = chunk, .keep = 0};
            EXPECT_TRUE(yes(key(K::Body, "needleéword"), m)) << "chunk " << chunk << " shift " << shift;
            EXPECT_FALSE(yes(key(K::Body, "needleéwordx"), m));
        }
    }
    // Over the default cache limit a body is streamed without being asked to.
    std::string big(600 * 1024, 'b');
    for (std::size_t i = 0; i < big.size(); i += 70) big[i] = '\n';
    big.insert(65536 - 3, needle);  // across the first 64 KB read of the body
    Msg m{.text = head + big};
    EXPECT_TRUE(yes(key(K::Body, "NEEDLEÉWORD"), m));
}

TEST(SubstringMatcher, EverySplit) {
    std::string text = "xxabcabcabdxx";
    for (std::size_t a = 0; a <= text.size(); ++a)
        for (std::size_t b = a; b <= text.size(); ++b) {
            SubstringMatcher m("abcabd");
            m.feed(text.substr(0, a));
            m.feed(text.substr(a, b - a));
            m.feed(text.substr(b));
            EXPECT_TRUE(m.found()) << a << " " << b;
        }
    SubstringMatcher m("abcd");
    EXPECT_FALSE(m.feed("xab"));
    m.next_segment();
    EXPECT_FALSE(m.feed("cdx"));  // "ab" | "cd" across a segment boundary
    EXPECT_TRUE(m.feed("abcd"));
}

TEST_F(Search, LargeBase64BodyStreamedAndDecoded) {
    // 900 KB of base64 text: over the cache limit, decoded chunk by chunk.
    std::string plain;
    for (int i = 0; plain.size() < 700 * 1024; ++i) plain += "line " + std::to_string(i) + " of text\n";
    plain += "the last Ωmega line\n";
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string enc;
    for (std::size_t i = 0; i < plain.size(); i += 3) {
        std::uint32_t v = static_cast<unsigned char>(plain[i]) << 16;
        if (i + 1 < plain.size()) v |= static_cast<unsigned char>(plain[i + 1]) << 8;
        if (i + 2 < plain.size()) v |= static_cast<unsigned char>(plain[i + 2]);
        enc += b64[(v >> 18) & 63];
        enc += b64[(v >> 12) & 63];
        enc += i + 1 < plain.size() ? b64[(v >> 6) & 63] : '=';
        enc += i + 2 < plain.size() ? b64[v & 63] : '=';
        if (enc.size() % 78 == 76) enc += "\r\n";
    }
    Msg m{.text = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc,
          .chunk = 4000};
    EXPECT_TRUE(yes(key(K::Body, "LAST ωMEGA"), m));
    EXPECT_TRUE(yes(key(K::Body, "line 12345 of"), m));
    EXPECT_FALSE(yes(key(K::Body, "line 999999 of"), m));
}

// ---------------------------------------------------------------- case folding

TEST(FoldCase, Scripts) {
    EXPECT_EQ(fold_case("Hello WORLD 123"), "hello world 123");
    EXPECT_EQ(fold_case("ÉCOLE Été"), "école été");
    EXPECT_EQ(fold_case("ΣΊΣΥΦΟΣ σίσυφος"), "σίσυφοσ σίσυφοσ");  // final ς folds to σ
    EXPECT_EQ(fold_case("ДОМ Дом дом"), "дом дом дом");
    EXPECT_EQ(fold_case("ŁÓDŹ ĞÜŞ Ÿ"), "łódź ğüş ÿ");         // Extended-A, and Ÿ (U+0178) to ÿ
    EXPECT_EQ(fold_case("\u212A\u212B"), "kå");                 // Kelvin, Angstrom signs
    EXPECT_EQ(fold_case("\u00B5"), "\u03BC");                   // micro sign to mu
    EXPECT_EQ(fold_case("\u1E9E"), "\u00DF");                   // capital sharp s (simple folding)
    EXPECT_EQ(fold_case("ß"), "ß");                             // no full folding to "ss"
    EXPECT_EQ(fold_case("\u0130"), "\u0130");                   // İ: no simple folding
    EXPECT_EQ(fold_case("\u023A"), "\u2C65");                   // grows from 2 to 3 octets
    EXPECT_EQ(fold_case("中文 日本語"), "中文 日本語");
    EXPECT_EQ(fold_case("bad \xFF\xC3 octets"), "bad \xFF\xC3 octets");
}

TEST(FoldCase, StreamingSplitsAnywhere) {
    std::string text = "ÀÉÎ ΣΔ ДЖ \u212A \xF0\x9F\x98\x80 end\xC3";
    std::string whole = fold_case(text);
    for (std::size_t a = 0; a <= text.size(); ++a) {
        CaseFolder f;
        std::string out;
        f.feed(text.substr(0, a), out);
        f.feed(text.substr(a), out);
        f.finish(out);
        EXPECT_EQ(out, whole) << a;
    }
}

TEST(FoldCase, TableMatchesPythonUnicodeData) {
    // python3 is a test dependency (scripts/deps.sh test): without it this fails, not skips.
    ASSERT_EQ(std::system("python3 -c 'import unicodedata' >/dev/null 2>&1"), 0) << "python3 missing";
    std::string cmd = "python3 " TERN_SOURCE_DIR "/tests/unit/session/fold_table.py --check " TERN_SOURCE_DIR
                      "/src/session/imap/search_match.cpp";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST_F(Search, CaseInsensitiveEverywhere) {
    std::string msg =
        "Subject: =?utf-8?b?zqPOv8+Gzq/OsSDQlNCw0YDRjNGP?=\r\n"  // Σοφία Дарья
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "ÉTÉ à Ελλάδα\r\n";
    EXPECT_TRUE(yes(key(K::Subject, "σοφία"), msg));
    EXPECT_TRUE(yes(key(K::Subject, "ΣΟΦΊΑ"), msg));
    EXPECT_TRUE(yes(key(K::Subject, "дарья"), msg));
    EXPECT_TRUE(yes(key(K::Body, "été À ελλάδα"), msg));
    EXPECT_FALSE(yes(key(K::Body, "ete"), msg));  // case-insensitive, not accent-insensitive
}

// ---------------------------------------------------------------- nesting

TEST_F(Search, NotOrAndNesting) {
    Msg m{.text = kPlain, .flags = {"\\Seen"}};
    EXPECT_TRUE(yes(Or(key(K::Flagged), key(K::Seen)), m));
    EXPECT_FALSE(yes(Or(key(K::Flagged), key(K::Deleted)), m));
    EXPECT_FALSE(yes(Not(key(K::Seen)), m));
    EXPECT_TRUE(yes(Not(Not(key(K::Seen))), m));
    EXPECT_TRUE(yes(op(K::And, {key(K::Seen), key(K::Subject, "report"), num(K::Larger, 10)}), m));
    EXPECT_FALSE(yes(op(K::And, {key(K::Seen), key(K::Subject, "absent")}), m));
    // OR (NOT SEEN) (SUBJECT report (OR FROM nobody BODY numbers))
    auto nested = Or(Not(key(K::Seen)), op(K::And, {key(K::Subject, "report"),
                                                   Or(key(K::From, "nobody"), key(K::Body, "numbers"))}));
    EXPECT_TRUE(yes(nested, m));
    EXPECT_FALSE(yes(Not(nested), m));
}

TEST_F(Search, TooDeepIsAnError) {
    SearchKey k = key(K::All);
    for (int i = 0; i < 100; ++i) k = Not(std::move(k));
    auto r = run(k, Msg{.text = kPlain});
    EXPECT_FALSE(r.has_value());
}

// ---------------------------------------------------------------- reading and caching

TEST_F(Search, NothingReadForMetadataKeys) {
    CountingSource* src = nullptr;
    auto k = op(K::And, {key(K::Unseen), num(K::Larger, 1), set(K::Uid, "1:*"), date(K::Since, 2000, 1, 1),
                         Not(key(K::Keyword, "x")), num(K::ModSeq, 1)});
    EXPECT_FALSE(needs_content(k));
    auto r = run(k, Msg{.text = kPlain}, &src);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(src->reads, 0);
    // Without a source these keys still work; a content key says it cannot.
    SearchMessage sm{.seq = 1, .uid = 1, .modseq = 1, .size = 10, .internal_date = 0, .flags = {}, .source = nullptr};
    MatchCache cache;
    EXPECT_TRUE(matches(key(K::All), ctx, sm, cache).value());
    EXPECT_FALSE(matches(key(K::Body, "x"), ctx, sm, cache).has_value());
    EXPECT_TRUE(needs_content(Not(key(K::Body, "x"))));
    EXPECT_TRUE(needs_content(date(K::SentOn, 2024, 1, 1)));
}

TEST_F(Search, CheapKeysDecideFirst) {
    CountingSource* src = nullptr;
    Msg m{.text = kPlain};  // not \Seen: the AND fails without reading the body
    auto r = run(op(K::And, {key(K::Body, "numbers"), key(K::Seen)}), m, &src);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
    EXPECT_EQ(src->reads, 0);
    r = run(Or(key(K::Text, "numbers"), key(K::Unseen)), m, &src);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(src->reads, 0);
}

TEST_F(Search, CacheReadsTheMessageOnceForSeveralKeys) {
    auto src = std::make_unique<CountingSource>(kMime);
    SearchMessage sm{.seq = 1, .uid = 9, .modseq = 1, .size = kMime.size(), .internal_date = 0, .flags = {},
                     .source = src.get()};
    MatchCache cache;
    ASSERT_TRUE(matches(key(K::Body, "schlüssel"), ctx, sm, cache).value());
    int after_first = src->reads;
    EXPECT_GT(after_first, 0);
    EXPECT_TRUE(matches(key(K::Body, "crème"), ctx, sm, cache).value());
    EXPECT_TRUE(matches(key(K::Subject, "mime"), ctx, sm, cache).value());
    EXPECT_TRUE(matches(key(K::Text, "inner field"), ctx, sm, cache).value());
    EXPECT_FALSE(matches(key(K::Text, "absent"), ctx, sm, cache).value());
    EXPECT_TRUE(matches(date(K::SentOn, 1970, 1, 1), ctx, sm, cache).value());
    int settled = src->reads;
    EXPECT_TRUE(matches(key(K::Body, "brûlée"), ctx, sm, cache).value());
    EXPECT_FALSE(matches(key(K::Text, "still absent"), ctx, sm, cache).value());
    EXPECT_EQ(src->reads, settled) << "the second round came from the cache";
    // Another message: the cache does not answer for it.
    const std::string other = "Subject: other\r\n\r\nnothing\r\n";
    auto src2 = std::make_unique<CountingSource>(other);
    SearchMessage sm2 = sm;
    sm2.uid = 10;
    sm2.size = other.size();
    sm2.source = src2.get();
    EXPECT_FALSE(matches(key(K::Body, "schlüssel"), ctx, sm2, cache).value());
    EXPECT_TRUE(matches(key(K::Subject, "other"), ctx, sm2, cache).value());
}

TEST_F(Search, ReadErrorsAreErrors) {
    auto src = std::make_unique<CountingSource>(kPlain);
    src->fail_reads = true;
    SearchMessage sm{.seq = 1, .uid = 1, .modseq = 1, .size = kPlain.size(), .internal_date = 0, .flags = {},
                     .source = src.get()};
    MatchCache cache;
    auto r = matches(key(K::Subject, "x"), ctx, sm, cache);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, EIO);
    EXPECT_FALSE(matches(key(K::Body, "x"), ctx, sm, cache).has_value());
}

// ---------------------------------------------------------------- an independent oracle

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::optional<SearchKey> parse_search_key(const std::string& keys) {
    CommandReader reader;
    std::string line = "a UID SEARCH CHARSET UTF-8 " + keys + "\r\n";
    Step s = reader.feed(line);
    auto* c = std::get_if<Command>(&s.event);
    if (!c) return std::nullopt;
    auto p = parse_command(*c);
    if (!p) return std::nullopt;
    auto* a = std::get_if<SearchArgs>(&p->args);
    if (!a) return std::nullopt;
    return a->key;
}

// tests/e2e/test_imap_search.py --emit-cases writes generated messages (RFC 2047, charsets,
// base64/QP, multiparts, message/rfc822) and random keys with the results its Python oracle (the
// email package) gives; the matcher must agree on every one.
TEST(SearchOracle, AgreesWithPythonEmailPackage) {
    ASSERT_EQ(std::system("python3 -c 'import email.policy' >/dev/null 2>&1"), 0) << "python3 missing";
    tern::testing::TempDir dir;
    std::string cmd = "python3 " TERN_SOURCE_DIR "/tests/e2e/test_imap_search.py --emit-cases " + dir.path().string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

    struct Stored {
        std::string text;
        std::vector<std::string> flags;
        SearchMessage msg;
        std::unique_ptr<CountingSource> src;
        MatchCache cache;  // kept across cases: the cache must not change an answer
    };
    std::vector<std::unique_ptr<Stored>> msgs;
    std::ifstream meta(dir.path() / "meta.tsv");
    std::string line;
    while (std::getline(meta, line)) {
        std::istringstream in(line);
        auto m = std::make_unique<Stored>();
        std::string flags;
        in >> m->msg.uid >> m->msg.seq >> m->msg.size >> m->msg.internal_date >> m->msg.modseq;
        std::getline(in, flags);
        std::istringstream fl(flags);
        for (std::string f; fl >> f;) m->flags.push_back(f);
        m->text = slurp(dir.path() / (std::to_string(m->msg.uid) + ".eml"));
        ASSERT_EQ(m->text.size(), m->msg.size);
        m->src = std::make_unique<CountingSource>(m->text, 4096);
        m->msg.flags = m->flags;
        m->msg.source = m->src.get();
        msgs.push_back(std::move(m));
    }
    ASSERT_GE(msgs.size(), 100u);
    SearchContext ctx{.max_seq = static_cast<std::uint32_t>(msgs.size()), .max_uid = msgs.back()->msg.uid,
                      .saved = nullptr, .tz_offset_minutes = 0};

    std::ifstream cases(dir.path() / "cases.txt");
    int n = 0, hits = 0;
    std::vector<std::string> failures;
    while (std::getline(cases, line)) {
        ++n;
        auto tab = line.find('\t');
        ASSERT_NE(tab, std::string::npos);
        std::string want = line.substr(0, tab), keys = line.substr(tab + 1);
        auto k = parse_search_key(keys);
        ASSERT_TRUE(k) << keys;
        std::string got;
        for (auto& m : msgs) {
            auto r = matches(*k, ctx, m->msg, m->cache);
            ASSERT_TRUE(r.has_value()) << keys << ": " << r.error().message;
            if (*r) got += (got.empty() ? "" : ",") + std::to_string(m->msg.uid);
        }
        if (!got.empty()) ++hits;
        if (got != want) failures.push_back(keys + "\n    matcher: " + got + "\n    oracle:  " + want);
    }
    EXPECT_GE(n, 250);
    EXPECT_GE(hits, n / 3) << "too few keys match anything to test much";
    std::string shown;
    for (std::size_t i = 0; i < failures.size() && i < 15; ++i) shown += failures[i] + "\n";
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << n << " keys differ:\n" << shown;
}

TEST(CompressSpace, Runs) {
    EXPECT_EQ(compress_space("  a \t\r\n b  "), "a b");
    EXPECT_EQ(compress_space("  a \t b  ", false), " a b ");
    EXPECT_EQ(compress_space(""), "");
}

}  // namespace
}  // namespace tern::imap
