// The search index's storage (issue 9): <data>/search.db, SQLite with a contentless FTS5 trigram
// table of, per message, the decoded and case-folded text that IMAP SEARCH matches, so that BODY,
// TEXT and header keys read only the messages that hold every trigram of the needle. A candidate
// filter, never an answer: the session confirms every candidate with the exact matcher. Must never
// leave out a message that may match (unindexed, truncated or unreadable messages are candidates
// for every needle), and never be needed: a damaged or missing file is rebuilt, never fatal.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sqlite/db.hpp"

namespace tern::search {

// What the index says about one needle in one mailbox.
struct Candidates {
    // Every message of the mailbox with a UID up to this one was indexed when it was read (those
    // expunged before that have no row; UIDs are never reused in a mailbox of one UIDVALIDITY).
    std::uint32_t indexed_through = 0;
    // The indexed UIDs <= indexed_through whose text holds every trigram of the needle (a
    // superset of those that contain it), and those indexed incompletely (text over the cap,
    // unreadable): ascending.
    std::vector<std::uint32_t> uids;
    // Whether the message may match: not indexed yet, or listed.
    bool may_match(std::uint32_t uid) const;
};

// Whether the index can answer for a (folded) needle: at least 3 code points (a trigram), valid
// UTF-8 and no NUL. Other needles make every message a candidate.
bool usable_needle(std::string_view folded);
// The text as the index tokenizes it: every octet that is not part of a valid UTF-8 character, and
// NUL, replaced by ' '. A usable needle found in the original is found in the cleaned text: it
// starts on a character boundary and its characters are valid, so the cleaning keeps them.
std::string clean_text(std::string_view text);

struct MailboxMark {
    bool known = false;              // the mailbox has a row
    std::uint32_t uidvalidity = 0;
    std::uint32_t indexed_through = 0;
    std::uint64_t swept_modseq = 0;  // expunges up to this modseq were removed from the index
};

struct Doc {
    std::uint32_t uid = 0;
    std::string text;       // folded (imap::index_text); cleaned here
    bool complete = true;   // false: a candidate for every needle
};

struct IndexStats {
    std::uint64_t docs = 0;       // messages indexed
    std::uint64_t garbage = 0;    // removed messages whose trigrams are still in the file
    std::uint64_t file_bytes = 0; // search.db + its WAL
};

class Index {
public:
    // Opens <file>, creating it; a file that is damaged, not a database or of another schema
    // version is deleted and created anew (the index is derived data: the indexer refills it).
    static Result<std::unique_ptr<Index>> open(const std::filesystem::path& file);
    ~Index();

    // Deletes the file and starts empty (after a write found it damaged).
    Result<void> rebuild();
    // False when the file is damaged (PRAGMA quick_check) or a table is missing.
    bool intact();

    // ---- the indexer's side (one thread)
    Result<MailboxMark> mark(std::string_view account, std::int64_t mailbox);
    // Forgets the mailbox's rows and starts it again at `uidvalidity`, nothing indexed.
    Result<void> reset_mailbox(std::string_view account, std::int64_t mailbox, std::uint32_t uidvalidity);
    // Adds the documents and moves indexed_through to `through`, in one transaction.
    Result<void> add(std::string_view account, std::int64_t mailbox, std::span<const Doc> docs, std::uint32_t through);
    // Removes expunged messages and records that expunges up to `swept_modseq` are done. (Their
    // trigrams stay in the file, unreachable, counted in IndexStats::garbage.)
    Result<void> remove(std::string_view account, std::int64_t mailbox, std::span<const std::uint32_t> uids,
                        std::uint64_t swept_modseq);
    // Forgets the account's mailboxes not in `keep` (deleted ones); empty `keep`: the whole account.
    Result<void> drop_mailboxes_except(std::string_view account, std::span<const std::int64_t> keep);
    // The accounts the index has rows for (to catch up with at start).
    Result<std::vector<std::string>> accounts();

    // ---- the sessions' side (any thread)
    // nullopt: the index cannot help (needle not usable, mailbox unknown or of another
    // UIDVALIDITY); otherwise the messages that may contain any of `needles` (folded).
    Result<std::optional<Candidates>> candidates(std::string_view account, std::int64_t mailbox,
                                                 std::uint32_t uidvalidity,
                                                 std::span<const std::string> needles);
    Result<IndexStats> stats();

private:
    explicit Index(std::filesystem::path file) : file_(std::move(file)) {}
    Result<void> open_connections();
    std::filesystem::path file_;
    std::mutex write_mu_, read_mu_;  // lock order: write_mu_, then read_mu_
    sqlite::Db writer_, reader_;
};

}  // namespace tern::search
