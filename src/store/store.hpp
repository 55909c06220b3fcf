// The mail store interface: accounts, folders (mailboxes) and messages with IMAP semantics from
// the start (RFC 9051 §2.3.1: UIDVALIDITY, strictly ascending UIDs, flags, internal date, size,
// RFC 7162 mod-sequence). Backends: embedded (SQLite WAL) and in-memory (tests); designed so a
// PostgreSQL backend can follow. Must never reuse a UID within one UIDVALIDITY, and never report
// an append done before it is durable.
#pragma once
#include <cerrno>
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
    std::int64_t id = 0;             // stable for the mailbox's life, across RENAME; never reused
    std::string name;                // "INBOX", "Sent", "Projects/2026" ('/' separates levels)
    SpecialUse special_use = SpecialUse::None;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 1;
    std::uint64_t highest_modseq = 0;
    std::uint32_t messages = 0;
    bool subscribed = false;         // RFC 9051 §6.3.7 SUBSCRIBE
    bool noselect = false;           // kept only as the superior of others (RFC 9051 §6.3.5 DELETE)
    // RFC 3501 §2.3.2 \Recent: messages with a UID at or above this mark have not been claimed
    // by any session yet (claim_recent moves it; it never goes down). uidnext: none pending.
    std::uint32_t first_recent_uid = 1;
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
    // The message's summary (opaque to the store: the IMAP layer's, session/imap/summary.hpp), kept
    // with its body; empty: none yet (the first reader that needs one computes it and calls
    // set_summaries). Entries of a batch that share a body keep the first non-empty one.
    std::string summary;
};

struct Appended {
    std::uint32_t uidvalidity = 0;
    std::uint32_t uid = 0;
    bool duplicate = false;          // the dedupe key had been stored already (uidvalidity/uid: the original)
};


// ---- IMAP (issue 9) ---------------------------------------------------------------------------

// A mailbox as an IMAP session holds it once selected: resolved once, stable across a RENAME by
// another session. A handle whose mailbox was deleted (or re-created: another UIDVALIDITY)
// fails every call with ENOENT.
struct MailboxHandle {
    std::string account;
    std::int64_t id = 0;
    std::uint32_t uidvalidity = 0;
};

enum class FlagMode { Replace, Add, Remove };  // RFC 9051 §6.4.6 FLAGS / +FLAGS / -FLAGS

struct StoreFlagsResult {
    // Every message asked for that exists and is not in `modified`, changed or not, ascending,
    // with its flags and modseq after the operation: what the FETCH replies show (unless .SILENT).
    std::vector<MessageInfo> updated;
    // UNCHANGEDSINCE given and the message's modseq was higher: left alone (RFC 7162 §3.1.3 MODIFIED).
    std::vector<std::uint32_t> modified;
};

struct CopyResult {  // RFC 4315 §3 COPYUID
    std::uint32_t uidvalidity = 0;          // of the destination
    std::vector<std::uint32_t> source_uids;  // the messages that existed, ascending
    std::vector<std::uint32_t> dest_uids;    // parallel to source_uids
};

struct ExpungeResult {
    std::vector<std::uint32_t> uids;  // removed, ascending
    std::uint64_t modseq = 0;         // the mailbox's highest modseq after it (0: nothing removed)
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
    // Fails with EEXIST if it exists (a \Noselect one is made selectable again: a new mailbox,
    // new id and UIDVALIDITY); creates missing superior levels ("a" for "a/b", RFC 9051 §6.3.4).
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

    // ---- IMAP (issue 9). Every change below is one durable transaction (one fsync) and bumps the
    // highest modseq of each mailbox whose messages or flags it changes once (RFC 7162 §3.1);
    // every committed change (these, create_account, delete_account, create_mailbox, append,
    // set_flags, expunge) calls the change listener (set_change_listener) after COMMIT, once per
    // account it touched; an operation that fails or changes nothing does not call it.
    // A mailbox that is \Noselect (see delete_mailbox) is listed by list_mailboxes but is "no
    // such mailbox" (ENOENT) for mailbox(), open_mailbox(), append and every message call.

    virtual Result<MailboxHandle> open_mailbox(std::string_view account, std::string_view name) = 0;
    // Fresh counters (messages, uidnext, highest modseq, name after a rename).
    virtual Result<MailboxInfo> mailbox_info(const MailboxHandle& box) = 0;
    // Messages in UID order with uid >= from_uid and modseq > changed_since (0: all).
    virtual Result<std::vector<MessageInfo>> list_messages(const MailboxHandle& box, std::uint32_t from_uid = 1,
                                                           std::uint64_t changed_since = 0) = 0;
    // UIDs expunged with a modseq > `since`, ascending (RFC 7162 §3.2.5 VANISHED (EARLIER)).
    // Kept for every expunge of the mailbox's life (a UID is 4 bytes; a later session may prune);
    // MOVE records its source UIDs here too, and renaming INBOX all of INBOX's.
    virtual Result<std::vector<std::uint32_t>> expunged_since(const MailboxHandle& box, std::uint64_t since) = 0;
    virtual Result<base::ByteSourceRef> open_message(const MailboxHandle& box, std::uint32_t uid) = 0;
    // Batched STORE: one transaction for all `uids` (absent ones ignored); flags validated as
    // set_flags does (EINVAL for a bad flag or \Recent, nothing changed). Only messages whose
    // flag set really changes get a new modseq, all the same one (RFC 7162 §3.1.3: all changed
    // by one command may share it); the mailbox's highest modseq moves only if one changed.
    virtual Result<StoreFlagsResult> store_flags(const MailboxHandle& box, std::span<const std::uint32_t> uids,
                                                 FlagMode mode, std::span<const std::string> flags,
                                                 std::optional<std::uint64_t> unchanged_since = std::nullopt) = 0;
    // Absent UIDs ignored; the result lists what was removed (and records it for expunged_since).
    virtual Result<ExpungeResult> expunge(const MailboxHandle& box, std::span<const std::uint32_t> uids) = 0;
    // RFC 9051 §6.4.3 EXPUNGE / §6.4.1 CLOSE: as expunge(), but only those of `uids` that carry
    // \Deleted when the transaction runs (the check and the removal in one transaction), so a
    // message whose \Deleted another session cleared after this one built its list stays.
    virtual Result<ExpungeResult> expunge_deleted(const MailboxHandle& box, std::span<const std::uint32_t> uids) = 0;
    // COPY without copying bodies (the new rows reference the same body); flags kept, internal
    // date kept; new UIDs in source order, all with one new modseq in the destination. Absent
    // UIDs ignored (none present: an empty result, nothing changed). ENOENT with the text
    // "TRYCREATE" when `to` is missing or \Noselect; ENOSPC if `to` has too few UIDs left.
    virtual Result<CopyResult> copy_messages(const MailboxHandle& from, std::span<const std::uint32_t> uids,
                                             std::string_view to) = 0;
    // MOVE (RFC 6851): copy + expunge of the source in ONE transaction: a crash leaves either
    // the source or the copy, never both, never neither. The ExpungeResult is the source's.
    virtual Result<std::pair<CopyResult, ExpungeResult>> move_messages(const MailboxHandle& from,
                                                                       std::span<const std::uint32_t> uids,
                                                                       std::string_view to) = 0;
    // RFC 3501 §2.3.2 \Recent: claims for the caller every message below `upto` (clamped to
    // uidnext) that no session has claimed yet, atomically (one transaction): returns the UID
    // range [first, last) it claimed, and the mailbox's first_recent_uid becomes `last`, so no
    // two callers ever claim the same UID. first == last: nothing was left to claim. Not a
    // change of the mailbox (no modseq, no change listener).
    virtual Result<std::pair<std::uint32_t, std::uint32_t>> claim_recent(const MailboxHandle& box,
                                                                         std::uint32_t upto) = 0;
    // Per-message summaries (issue 9): one opaque blob per stored body, so COPY, MOVE and every
    // account one delivery reached share it, and it goes with the body. The blob of the message's
    // body, or nullopt when none is kept yet. ENOENT: no such message (or mailbox).
    virtual Result<std::optional<std::string>> summary(const MailboxHandle& box, std::uint32_t uid) = 0;
    // Keeps a blob for the body of each (uid, blob), replacing any, in one transaction; messages
    // gone meanwhile are skipped. A cache fill, not a change: no modseq, no change listener.
    virtual Result<void> set_summaries(const MailboxHandle& box,
                                       std::span<const std::pair<std::uint32_t, std::string>> items) = 0;
    // RFC 9051 §6.3.6: inferiors are renamed too, missing superiors of `to` are created; the
    // mailbox keeps its id, UIDVALIDITY and UIDs (handles stay valid). Renaming INBOX moves its
    // messages (UIDs kept) to a new mailbox `to` (new UIDVALIDITY) and leaves INBOX empty (its
    // UIDs recorded as expunged), its inferiors untouched. EEXIST if `to` (or a renamed
    // inferior's new name) exists, ENOENT if `from` does not, EINVAL if `to` is below `from`.
    // A \Noselect `from` may be renamed. Subscriptions are not changed (RFC 9051 §6.3.7).
    virtual Result<void> rename_mailbox(std::string_view account, std::string_view from, std::string_view to) = 0;
    // RFC 9051 §6.3.5: INBOX cannot be deleted (EINVAL); a mailbox with inferiors loses its
    // messages and becomes \Noselect; a \Noselect one with inferiors is an error (EEXIST,
    // "HASCHILDREN"); otherwise it goes (and its UIDVALIDITY and id are never reused).
    // Subscriptions are not changed. create_mailbox on a \Noselect name makes it a new,
    // selectable mailbox (new id and UIDVALIDITY).
    virtual Result<void> delete_mailbox(std::string_view account, std::string_view name) = 0;
    // RFC 9051 §6.3.7/§6.3.8; a name may be subscribed without existing (kept as a name).
    // Subscribing twice or unsubscribing a name that is not subscribed succeeds (no change).
    virtual Result<void> set_subscribed(std::string_view account, std::string_view name, bool subscribed) = 0;
    // The account's subscribed names, sorted (byte order).
    virtual Result<std::vector<std::string>> subscriptions(std::string_view account) = 0;

    // Called after every committed change with the account it touched, on the writing thread.
    // Must be cheap and must not call back into the store. Set once, before the store is shared.
    void set_change_listener(std::function<void(std::string_view account)> fn) { listener_ = std::move(fn); }

protected:
    void changed(std::string_view account) const {
        if (listener_) listener_(account);
    }

private:
    std::function<void(std::string_view)> listener_;
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
