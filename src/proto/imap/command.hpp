// IMAP command grammar (RFC 9051 §6 and §9, RFC 3501 differences, and the extensions issue 9
// lists): a reader Command -> one typed struct per command family, or the text of a BAD reply.
// Pure: must never decide policy (state, permissions, charsets, limits beyond the syntax).
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proto/imap/datetime.hpp"
#include "proto/imap/reader.hpp"
#include "proto/imap/search.hpp"
#include "proto/imap/sequence.hpp"
#include "proto/imap/fetch.hpp"

namespace tern::imap {

enum class Cmd {
    Capability, Noop, Logout, StartTls, Authenticate, Login, Enable,
    Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Namespace,
    Status, Append, Idle, Close, Unselect, Expunge, Check,
    Search, Fetch, Store, Copy, Move, Sort, Thread,
    Compress, Id, GetQuota, GetQuotaRoot,
};

// Mailbox names are kept as sent (modified UTF-7 or UTF-8, RFC 9051 §5.1): the session decodes
// them with mailbox.hpp, which also folds INBOX's case.
struct NoArgs {};
struct AuthenticateArgs {
    std::string mechanism;                       // upper-cased
    std::optional<std::string> initial_response;  // RFC 4959 SASL-IR, still base64; "=" = empty
};
struct LoginArgs {
    std::string user, password;
};
struct EnableArgs {
    std::vector<std::string> capabilities;  // upper-cased (RFC 5161 §3)
};
struct QresyncParams {  // RFC 7162 §3.2.5
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known_uids;
    std::optional<SequenceSet> seq_match_seqs, seq_match_uids;
};
struct SelectArgs {  // SELECT and EXAMINE
    std::string mailbox;
    bool condstore = false;  // RFC 7162 §3.1.8
    std::optional<QresyncParams> qresync;
};
struct CreateArgs {
    std::string mailbox;
    std::vector<std::string> use;  // RFC 6154 §3 CREATE-SPECIAL-USE: (USE (\Drafts ...))
};
struct MailboxArgs {  // DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT
    std::string mailbox;
};
struct RenameArgs {
    std::string from, to;
};
enum class StatusItem { Messages, UidNext, UidValidity, Unseen, Deleted, Size, Recent, HighestModSeq, AppendLimit };
struct ListArgs {  // LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED) and LSUB (RFC 3501 §6.3.9)
    std::string reference;
    std::vector<std::string> patterns;  // one, or several with LIST-EXTENDED
    bool extended = false;              // selection options or RETURN were given
    // Selection options (RFC 5258 §3.1, RFC 6154 §5.3)
    bool sel_subscribed = false, sel_remote = false, sel_recursive = false, sel_special_use = false;
    // Return options (RFC 5258 §3.2, RFC 6154, RFC 5819 LIST-STATUS)
    bool ret_subscribed = false, ret_children = false, ret_special_use = false;
    std::optional<std::vector<StatusItem>> ret_status;
};
struct StatusArgs {
    std::string mailbox;
    std::vector<StatusItem> items;
};
struct AppendMessage {
    std::vector<std::string> flags;
    std::optional<DateTime> date;
    std::string data;      // the literal's octets
    bool binary = false;   // sent as literal8 (RFC 3516 §4.4)
    bool utf8 = false;     // RFC 6855 §4 UTF8 (literal8): a message with UTF-8 headers
};
struct AppendArgs {
    std::string mailbox;
    std::vector<AppendMessage> messages;  // more than one: MULTIAPPEND (RFC 3502)
};
struct SetArgs {  // EXPUNGE with a set (UID EXPUNGE, RFC 4315 §2.1)
    SequenceSet set;
};
struct CopyArgs {  // COPY, MOVE
    SequenceSet set;
    std::string mailbox;
};
struct StoreArgs {
    SequenceSet set;
    enum class Mode { Replace, Add, Remove } mode = Mode::Replace;
    bool silent = false;
    std::vector<std::string> flags;
    std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3
};
struct IdArgs {  // RFC 2971: NIL gives no pairs
    std::vector<std::pair<std::string, std::optional<std::string>>> fields;
};
struct CompressArgs {
    std::string mechanism;  // upper-cased; RFC 4978 defines DEFLATE
};
struct QuotaArgs {
    std::string root;
};

using CommandArgs = std::variant<NoArgs, AuthenticateArgs, LoginArgs, EnableArgs, SelectArgs, CreateArgs,
                                 MailboxArgs, RenameArgs, ListArgs, StatusArgs, AppendArgs, SetArgs,
                                 CopyArgs, StoreArgs, FetchArgs, SearchArgs, SortArgs, ThreadArgs, IdArgs,
                                 CompressArgs, QuotaArgs>;

struct ParsedCommand {
    std::string tag;
    Cmd cmd = Cmd::Noop;
    bool uid = false;  // UID FETCH/STORE/COPY/MOVE/SEARCH/SORT/THREAD/EXPUNGE (RFC 9051 §6.4.9)
    CommandArgs args;
};

std::string_view command_name(Cmd c);

// Grammar only. The error text follows "<tag> BAD ".
std::expected<ParsedCommand, std::string> parse_command(const Command& c);

}  // namespace tern::imap
