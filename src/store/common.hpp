// Rules shared by every MailStore backend: mailbox-name and flag normalisation, account-name checks,
// UIDVALIDITY allocation, STORE flag modes, UID sets, hierarchy ranges. Pure functions, no I/O.
// Must never accept a name or flag that could break IMAP framing (CR, LF, NUL) and must stay the
// single place these rules live (no per-backend copies).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/store.hpp"

namespace tern::store::detail {

inline constexpr char kHierarchySeparator = '/';
inline constexpr std::size_t kMaxMailboxName = 1024;
inline constexpr std::size_t kMaxAccountName = 320;  // RFC 5321 §4.5.3.1: 64 + "@" + 255

// Validates a mailbox name and returns its stored form: a first level that equals "INBOX" in any case
// becomes "INBOX" (RFC 9051 §5.1: INBOX is case-insensitive; other names are case-sensitive).
// Rejects empty names, empty levels ("a//b", "/a", "a/"), NUL, CR and LF.
Result<std::string> normalize_mailbox_name(std::string_view name);

// The superior names of a hierarchical name, outermost first: "a/b/c" -> {"a", "a/b"}.
// RFC 9051 §6.3.4: CREATE SHOULD create superior names that are needed.
std::vector<std::string> superior_names(std::string_view normalized);

Result<void> check_account_name(std::string_view account);

// Validates flags (RFC 9051 §9: flag = "\" atom / atom), gives system flags their canonical case,
// sorts and deduplicates. "\Recent" is refused: RFC 9051 §2.3.2 removed it and clients cannot set it.
Result<std::vector<std::string>> normalize_flags(std::vector<std::string> flags);
// normalize_flags() for every message of an append batch (index i: batch[i]'s flags); fails on the
// first invalid one, so a backend can refuse the batch before it touches anything.
Result<std::vector<std::vector<std::string>>> normalize_batch_flags(std::span<const NewMessage> batch);

// RFC 9051 §6.4.6 STORE: the flags a message has after FLAGS (Replace), +FLAGS (Add) or -FLAGS
// (Remove) of `flags`; `current` and `flags` normalized (sorted, unique), and so is the result.
std::vector<std::string> apply_flags(const std::vector<std::string>& current, FlagMode mode,
                                     const std::vector<std::string>& flags);

// The UIDs of a request ascending and without repeats (a client may say "3,1:4").
std::vector<std::uint32_t> sorted_uids(std::span<const std::uint32_t> uids);

// True if `name` is strictly below `parent` in the hierarchy ("a/b" below "a"; "ab" is not).
bool is_inferior(std::string_view name, std::string_view parent);
// The names strictly below `parent` are exactly those in [inferiors_first, inferiors_end) in
// byte order: `parent` + "/" up to `parent` + "0" ('0' follows '/' in ASCII).
std::string inferiors_first(std::string_view parent);
std::string inferiors_end(std::string_view parent);

// Flags as stored in one TEXT column: space-separated (flags never contain a space).
std::string join_flags(const std::vector<std::string>& flags);
std::vector<std::string> split_flags(std::string_view joined);

// UIDVALIDITY for a new mailbox (RFC 9051 §2.3.1.1): nonzero and larger than every value handed
// out before (`last`), based on the clock so that a re-created store does not repeat old values.
std::uint32_t next_uidvalidity(std::uint32_t last, std::int64_t now_seconds);

std::int64_t now_seconds();

// The highest UID a mailbox may assign: uidnext must still fit in 32 bits after it.
inline constexpr std::uint32_t kMaxUid = 0xFFFFFFFEu;

// New mailboxes start at HIGHESTMODSEQ 1: RFC 7162 §7 makes mod-sequence values positive.
inline constexpr std::uint64_t kInitialModseq = 1;

// Error helpers with errno-style codes so callers can tell "no such thing" from I/O failures.
std::unexpected<Error> not_found(std::string what);
std::unexpected<Error> invalid(std::string what);

}  // namespace tern::store::detail
