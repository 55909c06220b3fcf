// The client's local cache: Maildir files and index rows stay in step, folder names never leave
// mail/, flags follow the Maildir info, the outbox and POP3 UIDLs persist across reopening.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "mua/cache.hpp"

namespace fs = std::filesystem;
using namespace tern::mua;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tern-cache-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string msg(const std::string& subject, const std::string& extra = "") {
    return "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: a@example.org\r\nSubject: " + subject +
           "\r\nDate: Mon, 07 Dec 2026 10:00:00 +0100\r\nMessage-ID: <" + subject + "@x>\r\n" + extra + "\r\nbody\r\n";
}

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    for (auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
    return n;
}

}  // namespace

TEST(MuaCache, FolderDirNamesStayInsideMail) {
    EXPECT_EQ(folder_dir_name("INBOX"), "INBOX");
    EXPECT_EQ(folder_dir_name("Work/2026"), "Work.2026");
    EXPECT_EQ(folder_dir_name("a.b"), "a%2Eb");  // '.' is the level separator on disk
    EXPECT_EQ(folder_dir_name(".."), "%2E%2E");
    EXPECT_EQ(folder_dir_name("/etc"), "%.etc");
    EXPECT_EQ(folder_dir_name("../../x"), "%2E%2E.%2E%2E.x");
    EXPECT_EQ(folder_dir_name(std::string("a\0b", 3)), "a%00b");
    EXPECT_EQ(folder_dir_name("Entwürfe"), "Entwürfe");
    for (std::string hostile : std::vector<std::string>{"..", "../x", "/", "a/../../b", std::string(300, 'x'), std::string(300, '/')}) {
        std::string d = folder_dir_name(hostile);
        EXPECT_EQ(d.find('/'), std::string::npos) << hostile;
        EXPECT_NE(d, ".");
        EXPECT_NE(d, "..");
        EXPECT_FALSE(d.empty());
        EXPECT_LE(d.size(), 255u);
    }
    EXPECT_NE(folder_dir_name(std::string(300, 'x')), folder_dir_name(std::string(299, 'x') + "y"));
}

TEST(MuaCache, FlagsAndMaildirInfo) {
    EXPECT_EQ(normalize_flags("\\seen  \\Flagged \\SEEN $Label \\Recent"), "$Label \\Flagged \\Seen");
    EXPECT_EQ(maildir_info("\\Seen \\Answered \\Flagged"), "2,FRS");
    EXPECT_EQ(maildir_info(""), "2,");
    EXPECT_EQ(maildir_info("\\Deleted \\Draft $Forwarded"), "2,DPT");
}

TEST(MuaCache, AddListReadAndFlags) {
    TempDir t;
    auto cache = Cache::open(t.path / "acct");
    ASSERT_TRUE(cache) << cache.error().message;
    EXPECT_EQ(fs::status(t.path / "acct").permissions() & fs::perms::all, fs::perms::owner_all);
    auto inbox = (*cache)->folder("INBOX");
    ASSERT_TRUE(inbox);
    auto id1 = (*cache)->add(*inbox, msg("one"), {});
    auto id2 = (*cache)->add(*inbox, msg("two", "Content-Type: multipart/mixed; boundary=x\r\n"), {"\\Seen", 7, 3, "", 0});
    ASSERT_TRUE(id1 && id2);
    EXPECT_LT(*id1, *id2);
    auto rows = (*cache)->list({inbox->id, false, 0});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 2u);
    auto& r = (*rows)[1];
    EXPECT_EQ(r.subject, "two");
    EXPECT_EQ(r.from_name, "Jürgen");
    EXPECT_EQ(r.from_addr, "j@example.org");
    EXPECT_EQ(r.date, 1796634000);  // 10:00 +0100 = 09:00 UTC
    EXPECT_EQ(r.uid, 7u);
    EXPECT_TRUE(r.attachments);
    EXPECT_EQ(r.flags, "\\Seen");
    EXPECT_TRUE(r.path.string().ends_with(":2,S")) << r.path;
    EXPECT_EQ(*(*cache)->read(*id2), msg("two", "Content-Type: multipart/mixed; boundary=x\r\n"));

    auto unread = (*cache)->list({inbox->id, true, 0});
    ASSERT_EQ(unread->size(), 1u);
    EXPECT_EQ((*unread)[0].id, *id1);
    auto newest = (*cache)->list({inbox->id, false, 1});
    ASSERT_EQ(newest->size(), 1u);

    ASSERT_TRUE((*cache)->set_flags(*id1, "\\Flagged \\Seen"));
    auto row = (*cache)->get(*id1);
    EXPECT_TRUE(row->path.string().ends_with(":2,FS"));
    EXPECT_TRUE(fs::exists(row->path));
    EXPECT_EQ(files_in(t.path / "acct/mail/INBOX/cur"), 2u);
    EXPECT_EQ(files_in(t.path / "acct/mail/INBOX/tmp"), 0u);

    ASSERT_TRUE((*cache)->remove(*id1));
    EXPECT_FALSE((*cache)->get(*id1));
    EXPECT_EQ(files_in(t.path / "acct/mail/INBOX/cur"), 1u);
}

TEST(MuaCache, UncommittedWriterLeavesNothing) {
    TempDir t;
    auto cache = Cache::open(t.path);
    auto inbox = (*cache)->folder("INBOX");
    {
        auto w = (*cache)->begin(*inbox);
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->write("From: a@b\r\n\r\npartial"));
    }  // dropped: the connection broke mid-message
    EXPECT_EQ(files_in(t.path / "mail/INBOX/tmp"), 0u);
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 0u);
    EXPECT_EQ((*cache)->list({inbox->id, false, 0})->size(), 0u);
}

// The sync's batches: a message's file reaches cur/ only once the batch ends (its fsync done
// together with the others'), and its row is committed with it; an abandoned batch leaves nothing.
TEST(MuaCache, BatchedCommitsReachCurWhenTheBatchEnds) {
    TempDir t;
    auto cache = Cache::open(t.path);
    ASSERT_TRUE(cache);
    auto inbox = (*cache)->folder("INBOX");
    ASSERT_TRUE(inbox);
    ASSERT_TRUE((*cache)->begin_batch());
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 20; ++i) {
        auto w = (*cache)->begin(*inbox);
        ASSERT_TRUE(w);
        ASSERT_TRUE(w->write(msg("batch" + std::to_string(i))));
        NewMessage meta;
        meta.uid = static_cast<std::uint32_t>(i + 1);
        meta.flags = i % 2 ? "\\Seen" : "";
        auto id = w->commit(meta, false);
        ASSERT_TRUE(id) << id.error().message;
        ids.push_back(*id);
    }
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 0u);  // not fsynced yet: not in the Maildir
    EXPECT_EQ(files_in(t.path / "mail/INBOX/tmp"), 20u);
    ASSERT_TRUE((*cache)->end_batch());  // without sync_folder_dir: end_batch finishes them
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 20u);
    EXPECT_EQ(files_in(t.path / "mail/INBOX/tmp"), 0u);
    for (int i = 0; i < 20; ++i) {
        auto bytes = (*cache)->read(ids[static_cast<std::size_t>(i)]);
        ASSERT_TRUE(bytes);
        EXPECT_EQ(*bytes, msg("batch" + std::to_string(i)));
        auto row = (*cache)->get(ids[static_cast<std::size_t>(i)]);
        ASSERT_TRUE(row);
        EXPECT_EQ(row->path.filename().string().ends_with(i % 2 ? ":2,S" : ":2,"), true) << row->path;
    }

    // sync_folder_dir mid-batch finishes what is pending; the batch's rows commit at its end.
    ASSERT_TRUE((*cache)->begin_batch());
    {
        auto w = (*cache)->begin(*inbox);
        ASSERT_TRUE(w && w->write(msg("mid")));
        ASSERT_TRUE(w->commit({}, false));
    }
    ASSERT_TRUE((*cache)->sync_folder_dir(*inbox));
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 21u);
    ASSERT_TRUE((*cache)->end_batch());

    // A batch never ended (the process stopped): no row, no file, nothing left in tmp/.
    ASSERT_TRUE((*cache)->begin_batch());
    {
        auto w = (*cache)->begin(*inbox);
        ASSERT_TRUE(w && w->write(msg("lost")));
        ASSERT_TRUE(w->commit({}, false));
    }
    cache->reset();
    auto again = Cache::open(t.path);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->list({inbox->id, false, 0})->size(), 21u);
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 21u);
    EXPECT_EQ(files_in(t.path / "mail/INBOX/tmp"), 0u);
}

TEST(MuaCache, OutboxMoveAndPopUidlsPersist) {
    TempDir t;
    std::int64_t id = 0;
    {
        auto cache = Cache::open(t.path);
        auto outbox = (*cache)->folder("Outbox");
        auto added = (*cache)->add(*outbox, msg("queued"), {"\\Seen", 0, 0, "uidl-1", 0});
        ASSERT_TRUE(added);
        id = *added;
        ASSERT_TRUE((*cache)->set_outbox(id, "me@example.org", {"a@example.org", "b@example.org"}));
        ASSERT_TRUE((*cache)->outbox_attempt(id, "no connection"));
    }
    auto cache = Cache::open(t.path);
    ASSERT_TRUE(cache);
    EXPECT_TRUE(*(*cache)->pop_downloaded("uidl-1"));
    EXPECT_FALSE(*(*cache)->pop_downloaded("uidl-2"));
    auto entries = (*cache)->outbox();
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 1u);
    EXPECT_EQ((*entries)[0].id, id);
    EXPECT_EQ((*entries)[0].recipients, (std::vector<std::string>{"a@example.org", "b@example.org"}));
    EXPECT_EQ((*entries)[0].attempts, 1);
    EXPECT_EQ((*entries)[0].last_error, "no connection");

    auto sent = (*cache)->folder("Sent");
    ASSERT_TRUE((*cache)->move(id, *sent));
    EXPECT_TRUE((*cache)->outbox()->empty());
    auto row = (*cache)->get(id);
    EXPECT_EQ(row->folder, "Sent");
    EXPECT_TRUE(fs::exists(row->path));
    EXPECT_EQ(files_in(t.path / "mail/Outbox/cur"), 0u);

    ASSERT_TRUE((*cache)->forget_pop_uidls_except({"uidl-2"}));
    EXPECT_FALSE(*(*cache)->pop_downloaded("uidl-1"));

    auto folders = (*cache)->folders();
    ASSERT_TRUE(folders);
    ASSERT_EQ(folders->size(), 2u);
    EXPECT_EQ((*folders)[1].name, "Sent");
    EXPECT_EQ((*folders)[1].messages, 1);
    EXPECT_EQ((*folders)[1].unread, 0);
}

TEST(MuaCache, HostileFolderNamesCreateNothingOutside) {
    TempDir t;
    auto cache = Cache::open(t.path / "acct");
    for (std::string name : std::vector<std::string>{"../../escape", "/abs", "..", "a/../../b"}) {
        auto f = (*cache)->folder(name);
        ASSERT_TRUE(f) << name;
        EXPECT_TRUE(fs::is_directory(t.path / "acct/mail" / f->dir / "cur")) << name;
    }
    std::size_t top = 0;
    for (auto& e : fs::directory_iterator(t.path)) top += 1 + 0 * e.is_directory();
    EXPECT_EQ(top, 1u);  // only acct/
    EXPECT_FALSE(fs::exists("/abs"));
}

TEST(MuaCache, OrphansAreRemovedOnlyAfterAnUncleanEnd) {
    TempDir t;
    auto write = [](const fs::path& p) { std::ofstream(p) << "From: x@y\r\n\r\nstray\r\n"; };
    {
        auto cache = Cache::open(t.path);
        ASSERT_TRUE((*cache)->lock_for_writing());
        auto inbox = (*cache)->folder("INBOX");
        ASSERT_TRUE((*cache)->add(*inbox, msg("kept"), {}));
        EXPECT_TRUE(fs::exists(t.path / "writing"));
    }  // a clean end removes the marker
    EXPECT_FALSE(fs::exists(t.path / "writing"));
    write(t.path / "mail/INBOX/cur/stray-clean:2,");  // not ours: a clean history leaves it alone
    {
        auto cache = Cache::open(t.path);
        ASSERT_TRUE((*cache)->lock_for_writing());
    }
    EXPECT_TRUE(fs::exists(t.path / "mail/INBOX/cur/stray-clean:2,"));
    // A writer that died (kill -9) left its marker and files its index never listed.
    std::ofstream(t.path / "writing");
    write(t.path / "mail/INBOX/cur/stray-crash:2,S");
    write(t.path / "mail/INBOX/tmp/half-written");
    auto cache = Cache::open(t.path);
    ASSERT_TRUE((*cache)->lock_for_writing());
    EXPECT_FALSE(fs::exists(t.path / "mail/INBOX/cur/stray-crash:2,S"));
    EXPECT_FALSE(fs::exists(t.path / "mail/INBOX/tmp/half-written"));
    EXPECT_EQ(files_in(t.path / "mail/INBOX/cur"), 1u);  // the indexed message stays
    EXPECT_EQ((*cache)->list({(*cache)->folder("INBOX")->id, false, 0})->size(), 1u);
    // A second writer is refused while this one holds the account.
    auto other = Cache::open(t.path);
    EXPECT_FALSE((*other)->lock_for_writing());
}
