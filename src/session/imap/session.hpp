// The IMAP server session as a state machine (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1 and the
// extensions it advertises): bytes in -> responses and requests (password check, SCRAM lookup,
// TLS handshake, wait in IDLE) out. Store calls are made inline: the network layer runs advance()
// off its I/O threads. Must never answer anything pipelined behind STARTTLS, never send EXPUNGE
// while a FETCH, STORE or SEARCH is answered (RFC 9051 §7.5.1), and never log a password.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "proto/imap/command.hpp"
#include "proto/imap/reader.hpp"
#include "proto/sasl/sasl.hpp"
#include "store/store.hpp"

namespace tern::imap {

struct SessionLimits {
    // Before login: short lines, small literals, one level of parentheses (issue 9 limits). The
    // line still fits the largest valid ID (RFC 2971 §3.3: 30 fields of 30 and values of 1024
    // octets, about 31,800 octets), which clients may send before logging in.
    Limits before_login{.max_line = 32 * 1024, .max_literal = 8192, .max_append_literal = 0,
                        .max_command_literals = 8192, .max_depth = 1, .max_args = 64, .literal_plus = false};
    Limits after_login{};
    unsigned bad_commands = 20;          // BAD replies (syntax, unknown, wrong state), then BYE
    unsigned auth_failures = 3;          // failed LOGIN/AUTHENTICATE, then BYE
    unsigned commands_before_login = 50; // any commands before authentication, then BYE
    // RFC 9051 §5.4: an autologout timer of at least 30 minutes once authenticated; shorter before.
    std::chrono::seconds idle_before_login{60};
    std::chrono::seconds idle_after_login{30 * 60};
    std::size_t output_high_water = 256u << 10;  // return Next::Continue past this much output
    std::size_t fetch_chunk = 256u << 10;         // message bytes read per step of a FETCH
    std::size_t max_fetch_messages = 1u << 20;    // messages one FETCH/STORE/COPY may name
    std::uint64_t max_binary = 64ull << 20;       // decoded BINARY[] held in memory, at most
};

struct SessionConfig {
    std::string hostname = "localhost";
    bool tls_available = false;         // STARTTLS may be offered
    bool tls_active = false;            // implicit TLS (imaps, RFC 8314)
    bool allow_plaintext_auth = false;  // LOGIN and AUTHENTICATE PLAIN/LOGIN without TLS
    bool compress_available = false;    // the network layer handles Next::StartCompress (RFC 4978)
    std::string sasl_fake_secret = "tern";
    // FETCH ENVELOPE/BODY/BODYSTRUCTURE from the store's per-message summary (summary.hpp),
    // computed and kept on first use; false: every such FETCH parses the message (benchmarks).
    bool summaries = true;
    SessionLimits limits;
};

// What a search index said about a text key (issue 9): a message may match when its UID is above
// `indexed_through` or listed in `uids` (ascending); others certainly do not contain the needle.
struct SearchCandidates {
    std::uint32_t indexed_through = 0;
    std::vector<std::uint32_t> uids;
};

// What the session needs from the server besides the store.
class ImapHost {
public:
    virtual ~ImapHost() = default;
    // The account a login name refers to, e.g. lower-cased "alice@example.org".
    virtual std::string canonical_account(std::string_view user) = 0;
    // The messages of `box` that may contain one of `needles` (folded as search_match folds
    // them), from a search index; nullopt (no index, or it cannot tell): every message may.
    virtual std::optional<SearchCandidates> search_candidates(const store::MailboxHandle& box,
                                                              std::span<const std::string> needles) {
        (void)box;
        (void)needles;
        return std::nullopt;
    }
};

class Session {
public:
    // The network layer runs advance() on its IMAP threads: commands call the store inline.
    static constexpr bool kRunsOffIoThread = true;

    Session(SessionConfig config, store::MailStore& store, ImapHost& host, std::string id);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    enum class Next {
        Read,            // write `output`, read more input, receive() it, advance()
        VerifyPassword,  // write `output`; check take_password_check(), password_checked(), advance()
        LookupScram,     // write `output`; look up scram_user(), scram_credentials(), advance()
        StartTls,        // write `output`, handshake, tls_started(), advance(); on failure close
        Continue,        // write `output`, advance() again without reading (more output to come)
        Idle,            // write `output`; read, but also advance() when the account's mail changed
                         // (a store change notice) or every poll interval (other processes' changes)
        Close,           // write `output`, close
        StartCompress,   // write `output` uncompressed, then take_unread() and compress both ways
                         // (RFC 4978 §3: after the CRLF of the tagged OK), advance()
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };
    struct PasswordCheck {
        std::string user, password;
    };

    std::string greeting();
    void receive(std::string_view bytes);
    Action advance();

    PasswordCheck take_password_check();
    void password_checked(bool ok);
    std::string scram_user() const;
    void scram_credentials(std::optional<sasl::ScramCredentials> creds);
    void tls_started();
    std::string take_unread();          // Next::StartCompress: input after COMPRESS, still compressed

    void abort();                       // the connection is gone
    std::string timeout_reply();        // RFC 9051 §5.4 autologout: "* BYE ..."
    std::string shutdown_reply();
    void set_logins_refused(bool refused) { logins_refused_ = refused; }

    unsigned auth_failures() const { return auth_failures_; }
    bool authenticated() const { return !account_.empty(); }
    const std::string& account() const { return account_; }
    const std::string& id() const { return id_; }
    std::size_t buffered() const { return input_.size() - input_pos_; }
    std::chrono::seconds idle_timeout() const;

    // Distinct flag lists, each kept once: a message refers to its list by index (most messages
    // of a mailbox share a handful of lists). Lists are sorted, as the store gives them.
    class FlagSets {
    public:
        FlagSets() : sets_(1) {}  // index 0: no flags
        std::uint32_t intern(std::vector<std::string> flags);
        const std::vector<std::string>& operator[](std::uint32_t i) const { return sets_[i]; }
        std::size_t size() const { return sets_.size(); }

    private:
        std::vector<std::vector<std::string>> sets_;
        std::map<std::vector<std::string>, std::uint32_t, std::less<>> index_;
    };

    // One message of the view: 32 bytes, no heap (sizes and dates are here so that FETCH and
    // SEARCH of them need no store call).
    struct ViewMessage {
        std::uint32_t uid = 0;
        std::uint32_t flags = 0;         // index into View::flag_sets
        std::uint64_t modseq = 0;
        std::uint64_t size = 0;          // RFC822.SIZE
        std::int64_t internal_date = 0;  // unix seconds
    };

    // One selected mailbox as this session knows it (RFC 9051 §2.3.1.2 message sequence numbers).
    struct View {
        store::MailboxHandle box;
        std::string name;                        // UTF-8, as stored
        bool read_only = false;                  // EXAMINE, or SELECT of a mailbox we cannot write
        std::vector<ViewMessage> msgs;           // seq - 1 -> message, ascending UIDs
        FlagSets flag_sets;                      // what ViewMessage::flags refers to
        std::vector<std::uint32_t> pending_expunge;  // expunged elsewhere, not announced yet
        std::uint64_t known_modseq = 0;
        std::uint32_t uidnext = 1;
        std::set<std::string> keywords;          // for the FLAGS response
        // RFC 3501 §2.3.2 \Recent in this session: UID ranges [first, last), ascending and
        // disjoint: what a read-write rev1 session claimed (store::MailStore::claim_recent), or
        // what was unclaimed when a read-only one saw it arrive. Empty for IMAP4rev2.
        std::vector<std::pair<std::uint32_t, std::uint32_t>> recent;
        std::uint32_t seq_of(std::uint32_t uid) const;  // 0 when absent
        const std::vector<std::string>& flags(const ViewMessage& m) const { return flag_sets[m.flags]; }
        bool has_flag(const ViewMessage& m, std::string_view flag) const;
        ViewMessage make(store::MessageInfo m);   // a store listing's message, its flags interned
        void set_flags(ViewMessage& m, std::vector<std::string> flags);
        // Forgets flag lists no message uses any more, when they have come to outnumber the
        // messages (a client cycling through keywords must not grow the table for ever).
        void compact_flags();
        bool is_recent(std::uint32_t uid) const;
        std::uint32_t recent_count() const;      // messages in msgs that are \Recent
        void add_recent(std::uint32_t first, std::uint32_t last);
    };

private:
    struct Pending;  // a multi-step command (FETCH streaming, IDLE, AUTHENTICATE): session.cpp
    enum class State { NotAuthenticated, Authenticated, Selected, Logout };

    // session.cpp: reading, dispatch, untagged updates
    bool step(std::string& out);
    void dispatch(ParsedCommand cmd, std::string& out);
    void bad(std::string& out, std::string_view tag, std::string_view text);
    void sync(std::string& out, bool allow_expunge);  // untagged EXISTS/EXPUNGE/FETCH FLAGS
    void say_flags(std::string& out, const View& v);  // FLAGS and PERMANENTFLAGS (RFC 9051 §7.3.5)
    void announce_expunges(std::string& out);
    void say(std::string& out, std::string line) const;  // append one response, tracing it
    bool utf8() const { return rev2_ || utf8_accept_; }
    std::optional<std::string> mailbox_arg(std::string_view wire, std::string_view tag, std::string& out);
    std::string wire_name(std::string_view utf8_name) const;
    std::string store_error(std::string_view tag, const Error& e, std::string_view what) const;
    // The messages `set` names (sequence numbers, or UIDs for UID commands) as indices into the
    // view's msgs, ascending; nullopt after answering BAD (a sequence number beyond the mailbox,
    // RFC 9051 §9 seq-number, or more messages than max_fetch_messages).
    std::optional<std::vector<std::size_t>> resolve(const SequenceSet& set, bool uid, std::string_view tag,
                                                    std::string& out);
    // RFC 7162 §3.1: a CONDSTORE-enabling command turns CONDSTORE on; with a mailbox selected the
    // client learns its HIGHESTMODSEQ right away (an untagged OK before the command's data).
    void enable_condstore(std::string& out);
    void enter_selected(View view);
    // RFC 3501 §2.3.2: the messages below `upto` (a uidnext read before the listing that shows
    // them) become \Recent in this session: claimed in the store when read-write; when
    // read-only, those nobody claimed (at or above `first_unclaimed`), claiming nothing. Nothing
    // for IMAP4rev2 (RFC 9051 dropped \Recent).
    void take_recent(View& v, std::uint32_t from, std::uint32_t upto, std::uint32_t first_unclaimed);
    bool shows_recent(std::uint32_t uid) const { return !rev2_ && view_ && view_->is_recent(uid); }
    // RFC 3501 §6.3.10 STATUS RECENT: the mailbox's messages no session has claimed yet.
    std::uint64_t unclaimed_recent(const store::MailboxInfo& info);
    void leave_selected();

    // cmd_any.cpp
    void cmd_capability(const ParsedCommand& c, std::string& out);
    std::string capabilities() const;
    void cmd_noop(const ParsedCommand& c, std::string& out);
    void cmd_logout(const ParsedCommand& c, std::string& out);
    void cmd_enable(const ParsedCommand& c, std::string& out);
    void cmd_id(const ParsedCommand& c, std::string& out);
    // cmd_auth.cpp
    void cmd_starttls(const ParsedCommand& c, std::string& out);
    void cmd_login(ParsedCommand& c, std::string& out);
    void cmd_authenticate(ParsedCommand& c, std::string& out);
    void sasl_line(std::string_view line, std::string& out);
    void sasl_step(std::string tag, sasl::Step step, std::unique_ptr<sasl::Mechanism> mech, std::string& out);
    void auth_failed(std::string& out, std::string_view tag, std::string_view why);
    void logged_in(std::string& out, std::string_view tag, std::string_view user);
    bool plaintext_allowed() const { return config_.allow_plaintext_auth || tls_active_; }
    // cmd_select.cpp
    void cmd_select(const ParsedCommand& c, std::string& out);
    void cmd_close(const ParsedCommand& c, std::string& out);
    void cmd_status(const ParsedCommand& c, std::string& out);
    // cmd_mailbox.cpp
    void cmd_create(const ParsedCommand& c, std::string& out);
    void cmd_delete(const ParsedCommand& c, std::string& out);
    void cmd_rename(const ParsedCommand& c, std::string& out);
    void cmd_subscribe(const ParsedCommand& c, std::string& out);
    void cmd_namespace(const ParsedCommand& c, std::string& out);
    // cmd_list.cpp
    void cmd_list(const ParsedCommand& c, std::string& out);
    // cmd_append.cpp
    void cmd_append(ParsedCommand& c, std::string& out);
    // cmd_expunge.cpp
    void cmd_expunge(const ParsedCommand& c, std::string& out);
    // cmd_idle.cpp
    void cmd_idle(const ParsedCommand& c, std::string& out);
    void idle_line(std::string_view line, std::string& out);
    // cmd_fetch.cpp
    void cmd_fetch(const ParsedCommand& c, std::string& out);
    void pump_fetch(std::string& out);
    void keep_summaries(std::vector<std::pair<std::uint32_t, std::string>>& computed);
    // cmd_store.cpp
    void cmd_store(const ParsedCommand& c, std::string& out);
    // cmd_copy.cpp
    void cmd_copy(const ParsedCommand& c, std::string& out);
    // cmd_search.cpp
    void cmd_search(const ParsedCommand& c, std::string& out);
    // cmd_sort.cpp
    void cmd_sort(const ParsedCommand& c, std::string& out);
    void cmd_thread(const ParsedCommand& c, std::string& out);
    // cmd_compress.cpp
    void cmd_compress(const ParsedCommand& c, std::string& out);

    SessionConfig config_;
    store::MailStore& store_;
    ImapHost& host_;
    std::string id_;
    State state_ = State::NotAuthenticated;
    CommandReader reader_;
    std::string input_;
    std::size_t input_pos_ = 0;
    std::string deferred_out_;  // responses produced outside advance()
    std::unique_ptr<Pending> pending_;
    std::optional<View> view_;
    std::string account_;
    bool tls_active_ = false;
    bool starting_tls_ = false;
    bool compressing_ = false;        // RFC 4978: COMPRESS succeeded on this connection
    bool starting_compress_ = false;  // the tagged OK is out; Next::StartCompress is due
    bool rev2_ = false;           // ENABLE IMAP4rev2
    bool utf8_accept_ = false;    // ENABLE UTF8=ACCEPT
    bool condstore_ = false;      // ENABLE CONDSTORE, or a CONDSTORE-enabling command (RFC 7162 §3.1)
    bool qresync_ = false;        // ENABLE QRESYNC (RFC 7162 §3.2.3): VANISHED instead of EXPUNGE
    bool logins_refused_ = false;
    unsigned bad_commands_ = 0;
    unsigned auth_failures_ = 0;
    unsigned commands_before_login_ = 0;
    std::vector<std::uint32_t> saved_search_;  // RFC 5182 SEARCHRES "$", as UIDs
};

}  // namespace tern::imap
