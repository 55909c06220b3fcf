// The mail client's local cache for one account: a Maildir per folder (so mutt, notmuch and
// mblaze can read it too) under <account>/mail/, and an SQLite index (<account>/index.db) for the
// header list, flags, sync state and the outbox. Must never acknowledge a message (return its id)
// before its file and index row are on disk, never write outside the account's directory whatever
// a folder is called, and never keep a message's body in the index.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::mua {

struct Folder {
    std::int64_t id = 0;
    std::string name;            // the server's name, UTF-8, '/' between levels ("INBOX", "Work/2026")
    std::string dir;             // the Maildir's directory name under mail/ (see folder_dir_name)
    std::string special;         // RFC 6154 use ("\\Sent", "\\Drafts", ...) or ""
    std::uint32_t uidvalidity = 0, uidnext = 0;   // IMAP sync state (0: never synced)
    std::uint64_t highestmodseq = 0;
    std::int64_t messages = 0, unread = 0;        // filled by folders()
};

// What the header list shows, taken from the header section when the message is added.
struct MessageRow {
    std::int64_t id = 0;          // the number users type: stable for the message's life here
    std::int64_t folder_id = 0;
    std::string folder;
    std::uint32_t uid = 0;        // the server's UID (0: none, e.g. POP3 or not uploaded yet)
    std::string flags;            // IMAP system flags and keywords, sorted, space-separated
    std::int64_t date = 0;        // Date: (unix seconds), else the time it arrived here
    std::string from_name, from_addr, to, subject;  // decoded to UTF-8
    std::string message_id, in_reply_to, references;
    std::uint64_t size = 0;
    bool attachments = false;     // multipart/mixed or a part with a file name (a hint for the list)
    std::filesystem::path path;   // the Maildir file
    bool has(std::string_view flag) const;
};

struct ListQuery {
    std::int64_t folder_id = 0;
    bool unread_only = false;
    std::size_t limit = 0;        // the newest N (0: all)
};

// What is known about a message being added besides its bytes.
struct NewMessage {
    std::string flags;            // IMAP flags, any order
    std::uint32_t uid = 0;        // server UID, if from IMAP
    std::uint64_t modseq = 0;
    std::string pop_uidl;         // the POP3 UIDL it came from (recorded as downloaded in the same transaction)
    std::int64_t arrived = 0;     // INTERNALDATE / download time (unix seconds; 0: now)
};

// A message waiting in the outbox (`tern send` without a connection), with its envelope.
struct OutboxEntry {
    std::int64_t id = 0;
    std::string sender;
    std::vector<std::string> recipients;
    std::int64_t attempts = 0;
    std::string last_error;
};

// What the IMAP sync needs to know of one cached message.
struct SyncRow {
    std::int64_t id = 0;
    std::int64_t folder_id = 0;
    std::uint32_t uid = 0;                    // 0: not on the server (yet)
    std::string flags;                        // what the user sees
    std::optional<std::string> server_flags;  // what the server had at the last sync
    std::int64_t origin_folder_id = 0;        // moved here from a server folder ...
    std::uint32_t origin_uid = 0;             // ... where it had this UID (0: not moved)
    bool outbox = false;                      // waiting to be sent, not uploaded
    std::int64_t arrived = 0;
};

// Flags on a Maildir file name ("2,FS"): the letters of the system flags it can carry, sorted.
std::string maildir_info(std::string_view flags);
// The directory a folder's Maildir gets: '/' -> '.', and every byte that is not a letter, digit,
// one of " +,-=@_" or UTF-8 becomes %XX (so '.', '%', control characters and '/' can never make
// a path that leaves mail/); an over-long name ends in a hash.
std::string folder_dir_name(std::string_view folder);
// Sorted, duplicates removed, system flags with their canonical case (\seen -> \Seen).
std::string normalize_flags(std::string_view flags);

class Cache {
public:
    // Opens (creating) the cache in `account_dir` (0700), migrating its index if needed.
    static Result<std::unique_ptr<Cache>> open(const std::filesystem::path& account_dir);
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    const std::filesystem::path& root() const { return root_; }

    // The folder so named (created with its Maildir when `create`).
    Result<Folder> folder(std::string_view name, bool create = true);
    Result<std::vector<Folder>> folders();  // with message and unread counts, by name
    Result<void> set_special(std::int64_t folder_id, std::string_view special);
    Result<void> set_sync_state(std::int64_t folder_id, std::uint32_t uidvalidity, std::uint32_t uidnext,
                                std::uint64_t highestmodseq);

    // A message streamed into the folder's tmp/: write() pieces, then commit() (fsync, rename into
    // cur/, index row, one transaction with the POP3 UIDL if any) returns its id. Destroying an
    // uncommitted one removes the temporary file.
    class Writer {
    public:
        ~Writer();
        Writer(Writer&&) noexcept;
        Writer& operator=(Writer&&) = delete;
        Result<void> write(std::string_view bytes);
        // `sync_dir` false inside a batch (begin_batch): the index row joins the batch, and the
        // file waits in tmp/ until sync_folder_dir() or the outermost end_batch() fsyncs the
        // batch's files (several at once), renames them into cur/ and fsyncs cur/ once; the id
        // counts only after that. Outside a batch, `sync_dir` false skips the directory fsync.
        Result<std::int64_t> commit(const NewMessage& meta, bool sync_dir = true);

    private:
        friend class Cache;
        Writer(Cache* cache, Folder folder, std::filesystem::path tmp, int fd);
        Cache* cache_;
        Folder folder_;
        std::filesystem::path tmp_;
        int fd_;
        std::uint64_t size_ = 0;
        std::string head_;  // the first bytes, for the header list's fields
    };
    Result<Writer> begin(const Folder& folder);
    Result<std::int64_t> add(const Folder& folder, std::string_view bytes, const NewMessage& meta);

    Result<std::vector<MessageRow>> list(const ListQuery& q);
    Result<MessageRow> get(std::int64_t id);
    Result<std::string> read(std::int64_t id);   // the message's bytes
    // Replaces the flags (the Maildir file is renamed to match).
    Result<void> set_flags(std::int64_t id, std::string_view flags);
    // File and row; a message the server has (uid != 0) is remembered for the next sync to expunge.
    Result<void> remove(std::int64_t id);

    // Moves a message to another folder (its file to that Maildir); it leaves the outbox, and a
    // server UID no longer applies.
    Result<void> move(std::int64_t id, const Folder& to);

    // ---- for the IMAP sync
    Result<std::vector<SyncRow>> sync_rows(std::int64_t folder_id);
    // Messages anywhere that were moved out of `folder_id` while it had them on the server.
    Result<std::vector<SyncRow>> moved_out_of(std::int64_t folder_id);
    // The server has the message as `uid` with `flags`: both sides agree (file renamed to match).
    Result<void> set_synced(std::int64_t id, std::uint32_t uid, std::string_view flags);
    // The message's UID on the server after a MOVE there (0: it must be uploaded); clears its origin.
    Result<void> set_uid(std::int64_t id, std::uint32_t uid);
    // The folder with this special use ("\\Sent"), if the cache has one.
    Result<std::optional<Folder>> folder_by_special(std::string_view special);
    // Forgets a message the server no longer has (no deletion is recorded for the next sync).
    Result<void> forget(std::int64_t id);
    // UIDs the user deleted here, for the next sync to expunge on the server; clear once done.
    Result<std::vector<std::uint32_t>> server_deletions(std::int64_t folder_id);
    Result<void> clear_server_deletions(std::int64_t folder_id);
    // A folder gone from the server: its messages, files and Maildir.
    Result<void> remove_folder(std::int64_t folder_id);
    // Finishes the batch's pending messages (see Writer::commit), then fsyncs the folder's cur/.
    Result<void> sync_folder_dir(const Folder& folder);
    // For `tern sync` and `tern pop`: one writer per account at a time (flock on <account>/lock,
    // held until the Cache is destroyed); fails at once when another tern holds it. When the last
    // writer did not end cleanly (<account>/writing left behind), every folder's orphans go first.
    Result<void> lock_for_writing();
    // After a crash: files in the folder's Maildir that the index does not list (written, not yet
    // indexed when the process died) and leftovers in tmp/ are removed, so the Maildir holds each
    // message once. Needs lock_for_writing(). Returns how many files went.
    Result<std::size_t> remove_orphans(const Folder& folder);
    // Groups many index writes in one transaction (the sync's batches); nestable.
    Result<void> begin_batch();
    Result<void> end_batch();

    // The outbox: messages (in the Outbox folder) with the envelope they are to be sent with.
    Result<void> set_outbox(std::int64_t id, const std::string& sender, const std::vector<std::string>& recipients);
    Result<std::vector<OutboxEntry>> outbox();
    Result<void> outbox_attempt(std::int64_t id, std::string_view error);

    // POP3 UIDLs already downloaded (RFC 1939 §7 UIDL: "the unique-id of a message never changes").
    Result<bool> pop_downloaded(std::string_view uidl);
    Result<void> forget_pop_uidls_except(const std::vector<std::string>& present);

private:
    struct Impl;
    explicit Cache(std::filesystem::path root);
    Result<std::int64_t> index(const Folder& folder, const std::string& file, std::string_view head,
                               std::uint64_t size, const NewMessage& meta);
    Result<void> finish_pending();
    std::filesystem::path root_;
    std::unique_ptr<Impl> impl_;
    int lock_fd_ = -1;
};

}  // namespace tern::mua
