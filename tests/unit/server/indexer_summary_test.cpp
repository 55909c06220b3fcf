// IMAP per-message summaries kept by the indexer thread (issue 9): mail stored as delivery stores
// it (a shared source, a Return-Path prefix, no summary) gets its summary soon after, with the
// search index on and off, read once; its first FETCH ENVELOPE then opens no message. Waits are
// bounded polls of the store, never assertions of speed.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../common/temp_dir.hpp"
#include "../session/forwarding_store.hpp"
#include "../session/imap_transcript.hpp"
#include "search/indexer.hpp"
#include "session/imap/search_match.hpp"
#include "session/imap/summary.hpp"
#include "store/store.hpp"

namespace tern {
namespace {

const char* kAccount = "alice@example.org";
const std::string kReturnPath = "Return-Path: <ann@example.net>\r\n";
const std::string kDelivered =
    "From: Ann Example <ann@example.net>\r\nTo: alice@example.org\r\nSubject: delivered\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <d1@example.net>\r\nReferences: <r@x>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello kappa\r\n"
    "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n";

search::Extract extractor() {
    return [](const base::ByteSource& m, std::size_t max) -> Result<search::ExtractedText> {
        auto t = imap::index_text(m, max);
        if (!t) return std::unexpected(t.error());
        return search::ExtractedText{std::move(t->text), t->complete};
    };
}

// The wiring of serve.cpp.
search::Summarize summarizer() {
    return [](const base::ByteSource& m) { return imap::summary_blob(m); };
}

// Forwards to the SQLite store and counts the calls that read a message.
class CountingStore final : public testing::ForwardingStore {
public:
    using ForwardingStore::ForwardingStore;
    std::atomic<int> opens{0};
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

class IndexerSummaryTest : public ::testing::TestWithParam<bool> {  // with a search index?
protected:
    void SetUp() override {
        auto inner = store::open_sqlite_store(dir.path());
        ASSERT_TRUE(inner);
        (*inner)->set_change_listener([this](std::string_view a) {
            if (ix) ix->notify(a);
        });
        store = std::make_unique<CountingStore>(std::move(*inner));
        ASSERT_TRUE(store->create_account(kAccount));
    }
    void TearDown() override {
        if (ix) ix->stop();
    }
    std::unique_ptr<search::Indexer> make(search::Summarize summarize) {
        std::unique_ptr<search::Index> index;
        if (GetParam()) {
            auto opened = search::Index::open(dir.path() / "search.db");
            EXPECT_TRUE(opened);
            if (opened) index = std::move(*opened);
        }
        return std::make_unique<search::Indexer>(*store, std::move(index), extractor(), std::move(summarize));
    }
    // As delivery::LocalDelivery stores a message: a shared source, the Return-Path per copy.
    std::uint32_t deliver(const std::string& raw, const std::string& box = "INBOX") {
        store::NewMessage m;
        m.account = kAccount;
        m.mailbox = box;
        m.prefix = kReturnPath;
        m.source = base::bytes_from_string(raw);
        m.internal_date = 1796637600;
        const store::NewMessage batch[] = {std::move(m)};
        auto a = store->append(batch);
        EXPECT_TRUE(a);
        return a ? (*a)[0].uid : 0;
    }
    std::optional<std::string> kept(std::uint32_t uid, const std::string& box = "INBOX") {
        auto h = store->open_mailbox(kAccount, box);
        if (!h) return std::nullopt;
        auto b = store->summary(*h, uid);
        return b ? *b : std::nullopt;
    }
    // Polls for the summary, up to 10 s (the thread usually takes milliseconds).
    std::optional<std::string> await(std::uint32_t uid, const std::string& box = "INBOX") {
        for (int i = 0; i < 500; ++i) {
            if (auto b = kept(uid, box)) return b;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return std::nullopt;
    }

    testing::TempDir dir;
    std::unique_ptr<CountingStore> store;
    std::unique_ptr<search::Indexer> ix;
};

TEST_P(IndexerSummaryTest, DeliveredMailGetsItsSummaryWithoutAFetch) {
    const auto old_uid = deliver("Subject: before the start\r\n\r\nold\r\n");
    ix = make(summarizer());
    if (!GetParam()) {
        ASSERT_TRUE(ix->summaries_from_now(kAccount));
    }
    ix->start();
    ix->notify(kAccount);  // as serve.cpp does at start with an index: the first build
    ASSERT_TRUE(ix->wait_idle(std::chrono::seconds(10)));
    // With an index, the first build reads every message, and summarizes it on the way; without,
    // mail stored before the start is left to FETCH.
    EXPECT_EQ(kept(old_uid).has_value(), GetParam());

    store->opens = 0;
    const auto uid = deliver(kDelivered);
    auto blob = await(uid);
    ASSERT_TRUE(blob) << "no summary kept within 10 s of delivery";
    auto summary = imap::decode_summary(*blob);
    ASSERT_TRUE(summary);
    EXPECT_EQ(*summary, imap::make_summary(kReturnPath + kDelivered));
    EXPECT_EQ(summary->references, "<r@x>");
    ASSERT_TRUE(ix->wait_idle(std::chrono::seconds(10)));
    EXPECT_EQ(store->opens.load(), 1) << "the message is read once (index text and summary)";
    EXPECT_GE(ix->counters().summarized.load(), 1u);
    if (GetParam()) {  // and it is indexed in the same pass
        auto h = store->open_mailbox(kAccount, "INBOX");
        std::vector<std::string> kappa{"kappa"};
        auto c = ix->candidates(*h, kappa);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->uids, std::vector<std::uint32_t>{uid});
    } else {
        EXPECT_FALSE(ix->has_index());
    }

    // The first FETCH ENVELOPE of that message reads no message body, and sends what a session
    // that parses the message sends.
    store->opens = 0;
    const std::string fetch = "f UID FETCH " + std::to_string(uid) + " (UID ENVELOPE BODYSTRUCTURE)\r\n";
    auto cfg = imap::testing::plaintext_config();
    imap::testing::Transcript a(cfg, store.get());
    a.select();
    auto got = a.send(fetch);
    ASSERT_TRUE(imap::testing::has_line(got, "f OK UID FETCH completed")) << got;
    EXPECT_EQ(store->opens.load(), 0) << got;
    cfg.summaries = false;
    imap::testing::Transcript parsed(cfg, store.get(), "I2");
    parsed.select();
    EXPECT_EQ(parsed.send(fetch), got);
    EXPECT_EQ(store->opens.load(), 1);
}

TEST_P(IndexerSummaryTest, NewMailboxesAndCopiesAndMessagesThatHaveOne) {
    ix = make(summarizer());
    if (!GetParam()) {
        ASSERT_TRUE(ix->summaries_from_now(kAccount));
    }
    ix->start();
    // A mailbox made after the start: its mail is new.
    ASSERT_TRUE(store->create_mailbox(kAccount, "Lists", store::SpecialUse::None));
    const auto uid = deliver(kDelivered, "Lists");
    ASSERT_TRUE(await(uid, "Lists"));
    ASSERT_TRUE(ix->wait_idle(std::chrono::seconds(10)));
    // A message that comes with its summary (IMAP APPEND) is not read again; a copy shares its
    // body's summary, so it is not read either.
    store->opens = 0;
    store::NewMessage m;
    m.account = kAccount;
    m.data = "Subject: appended\r\n\r\nx\r\n";
    m.summary = imap::encode_summary(imap::make_summary(m.data));
    const store::NewMessage batch[] = {m};
    ASSERT_TRUE(store->append(batch));
    auto lists = store->open_mailbox(kAccount, "Lists");
    const std::uint32_t uids[] = {uid};
    ASSERT_TRUE(store->copy_messages(*lists, uids, "INBOX"));
    ASSERT_TRUE(ix->wait_idle(std::chrono::seconds(10)));
    if (GetParam()) {
        EXPECT_EQ(store->opens.load(), 2) << "read for the index text only";
    } else {
        EXPECT_EQ(store->opens.load(), 0);
    }
    EXPECT_EQ(ix->counters().summarized.load(), 1u) << "only the message delivered to Lists";
}

TEST_P(IndexerSummaryTest, NoneKeptWhenSummariesAreOff) {
    ix = make(search::Summarize{});  // imap.summaries = false
    ix->start();
    const auto uid = deliver(kDelivered);
    ASSERT_TRUE(ix->wait_idle(std::chrono::seconds(10)));
    EXPECT_FALSE(kept(uid));
    EXPECT_EQ(ix->counters().summarized.load(), 0u);
    EXPECT_EQ(store->opens.load(), GetParam() ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(SearchIndex, IndexerSummaryTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "IndexOn" : "IndexOff"; });

}  // namespace
}  // namespace tern
