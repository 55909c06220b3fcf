// The mail store interface: accounts, folders (mailboxes) and messages with IMAP semantics from
// the start (RFC 9051 §2.3.1: UIDVALIDITY, strictly ascending UIDs, flags, internal date, size,
// RFC 7162 mod-sequence). Backends: embedded (SQLite WAL) and in-memory (tests); designed so a
// PostgreSQL backend can follow. Must never reuse a UID within one UIDVALIDITY, and never report
// an append done before it is durable.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace tern::store {

// RFC 6154 special-use roles.
enum class SpecialUse { None, Sent, Drafts, Trash, Junk, Archive };

struct MailboxInfo {
    std::string name;                // "INBOX", "Sent", "Projects/2026" ('/' separates levels)
    SpecialUse special_use = SpecialUse::None;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 1;
    std::uint64_t highest_modseq = 0;
    std::uint32_t messages = 0;
};

struct MessageInfo {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::vector<std::string> flags;  // system flags ("\\Seen") and keywords, sorted
    std::int64_t internal_date = 0;  // unix seconds (RFC 9051 §2.3.3)
    std::uint64_t size = 0;          // RFC822.SIZE: octets with CRLF line ends
    std::string envelope_from;       // sender of the final delivery (mbox "From " line), may be empty
};

struct NewMessage {
    std::string account;             // canonical address "user@example.org"
    std::string mailbox = "INBOX";
    std::string data;                // the message, CRLF line ends (ignored when `body` or `source` is set)
    // A body shared by several entries of one batch (one message delivered to many accounts):
    // when set, the message is `prefix` + *body, and every entry of the batch with the same
    // `body` pointer is stored as ONE body that each of their messages references. Borrowed, not
    // copied: it must stay valid until append() returns.
    const std::string* body = nullptr;
    // The same, read in bounded chunks from a source (a spool record, say) instead of memory, so
    // that a large message is never whole in memory on its way into the store; takes precedence
    // over `body` and `data`. Entries of one batch with the same source share one stored body. A
    // source that fails to read fails the whole batch (nothing is stored).
    base::ByteSourceRef source;
    // Header lines kept with this copy only and put before the body when the message is read
    // (e.g. "Return-Path: <a@b>\r\n"), so that sharing the body needs no per-copy concatenation.
    std::string prefix;
    std::int64_t internal_date = 0;
    std::string envelope_from;
    std::vector<std::string> flags;
    // Idempotence key for redelivery after a crash (e.g. "q:<queue id>:<rcpt index>"): an append
    // whose key was already stored is reported as a duplicate and not stored again. May be empty.
    std::string dedupe_key;
};

struct Appended {
    std::uint32_t uidvalidity = 0;
    std::uint32_t uid = 0;
    bool duplicate = false;          // the dedupe key had been stored already (uidvalidity/uid: the original)
};

// The default folders every account gets (INBOX + RFC 6154 roles).
struct DefaultFolder { const char* name; SpecialUse use; };
inline constexpr DefaultFolder kDefaultFolders[] = {
    {"INBOX", SpecialUse::None},  {"Sent", SpecialUse::Sent},   {"Drafts", SpecialUse::Drafts},
    {"Trash", SpecialUse::Trash}, {"Junk", SpecialUse::Junk},   {"Archive", SpecialUse::Archive},
};

// Errors carry errno-style codes: ENOENT (no such account, mailbox or message), EEXIST (mailbox
// exists), EINVAL (bad mailbox name or flag), ENOSPC (UID space exhausted), EIO (storage).
// Mailbox names: "INBOX" matches case-insensitively, all other names case-sensitively (RFC 9051 §5.1).
class MailStore {
public:
    virtual ~MailStore() = default;

    // Creates the account and its default folders; succeeds if it already exists.
    virtual Result<void> create_account(std::string_view account) = 0;
    virtual Result<void> delete_account(std::string_view account) = 0;
    virtual Result<bool> has_account(std::string_view account) = 0;

    virtual Result<std::vector<MailboxInfo>> list_mailboxes(std::string_view account) = 0;
    virtual Result<MailboxInfo> mailbox(std::string_view account, std::string_view name) = 0;
    // Fails with EEXIST if it exists; creates missing superior levels ("a" for "a/b", RFC 9051 §6.3.4).
    virtual Result<void> create_mailbox(std::string_view account, std::string_view name, SpecialUse use) = 0;

    // Appends every message in one durable transaction (one fsync for the batch). A message for
    // an account or mailbox that does not exist fails the whole batch. Results parallel `batch`.
    virtual Result<std::vector<Appended>> append(std::span<const NewMessage> batch) = 0;

    // Messages in UID order.
    virtual Result<std::vector<MessageInfo>> list_messages(std::string_view account, std::string_view mailbox) = 0;
    virtual Result<std::string> read_message(std::string_view account, std::string_view mailbox, std::uint32_t uid) = 0;
    // The message as a source read in ranges, so that a reader of a large message (POP3 RETR,
    // IMAP FETCH) holds no more of it than its own buffer. Reads see the message as stored; once
    // it is expunged (or its account or mailbox deleted) a read fails with ENOENT rather than
    // return other bytes. The source refers to this store: it must not outlive it. Reads happen
    // on the calling thread (the SQLite backend uses that thread's reader connection).
    virtual Result<base::ByteSourceRef> open_message(std::string_view account, std::string_view mailbox,
                                                     std::uint32_t uid) = 0;

    // Replaces the flags of one message; bumps its modseq and the mailbox's highest modseq.
    virtual Result<void> set_flags(std::string_view account, std::string_view mailbox, std::uint32_t uid,
                                   std::vector<std::string> flags) = 0;
    // Removes messages for good; UIDs not present are ignored. A body goes with the last message
    // that references it. Bumps the mailbox's highest modseq when anything was removed.
    virtual Result<void> expunge(std::string_view account, std::string_view mailbox,
                                 std::span<const std::uint32_t> uids) = 0;
    // Forgets the redelivery keys (NewMessage::dedupe_key) recorded before `before` (Unix
    // seconds): they matter only until the spool has recorded the delivery, so keeping them for
    // ever would grow the store by a row per delivered copy. Returns how many were forgotten.
    virtual Result<std::uint64_t> forget_delivered_before(std::int64_t before) = 0;
    // How many distinct message bodies the store holds (several messages may share one): for
    // checks and statistics, not a hot path (the memory backend counts them one by one).
    virtual Result<std::uint64_t> count_bodies() = 0;
};

std::unique_ptr<MailStore> make_memory_store();
struct SqliteOptions {
    // How long a write waits for another process's write (the server's delivery batch, an admin
    // command) before it fails with EBUSY. Reads never wait for writers (WAL).
    std::chrono::milliseconds busy_timeout{5000};
    // Called once when a wait for a lock passes one second (an admin command says why it waits).
    std::function<void()> on_slow_lock;
};

// <dir>/store.db (SQLite, WAL, synchronous=FULL); created if missing, migrated from older schema
// versions. Opening an up-to-date store only reads: it does not wait for another writer.
Result<std::unique_ptr<MailStore>> open_sqlite_store(const std::filesystem::path& dir, SqliteOptions options = {});

}  // namespace tern::store
