// The IMAP client for one connection as a pure state machine (RFC 9051/3501, 2177 IDLE, 4315
// UIDPLUS, 4959 SASL-IR, 5161 ENABLE, 6851 MOVE, 7162 CONDSTORE/QRESYNC, 7888 LITERAL+/-, 6855
// UTF8=ACCEPT): server bytes in -> commands out plus what the driver does next; the caller's
// requests queued in (each returns an id), results out as values, FETCH bodies handed to a sink in
// chunks, unsolicited mailbox changes collected as updates. No sockets, no clock. Must never send
// a password in clear text without TLS unless allowed, never use bytes received before a TLS
// handshake after it, never report a SCRAM login whose server signature did not verify, and never
// pipeline a command whose meaning depends on the ones before it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "client/imap/response.hpp"

namespace tern::sasl {
class ScramClient;
}

namespace tern::client::imap {

// What CAPABILITY said (RFC 9051 §7.2.2), upper-cased.
struct Capabilities {
    bool known = false;
    std::vector<std::string> list;
    bool has(std::string_view cap) const;                                   // "IDLE", "AUTH=PLAIN"
    bool auth(std::string_view mech) const { return has("AUTH=" + std::string(mech)); }
};

// For a `--trace` of what the client wrote: LOGIN's password, AUTHENTICATE's initial response and
// every line that is not a command (SASL responses, literal octets sent after a "+") become "****".
std::string mask_secrets(std::string_view client_output);

enum class LoginMethod { Auto, Scram, Plain, Login };

struct Options {
    std::string user;
    std::string password;
    LoginMethod method = LoginMethod::Auto;  // Auto: SCRAM-SHA-256 > PLAIN > LOGIN
    bool tls_possible = true;                // the driver can do a TLS handshake (STARTTLS when offered)
    bool require_tls = false;                // no STARTTLS, or a refused one, ends the connection
    bool implicit_tls = false;               // imaps: TLS from the first byte (RFC 8314 §3.3)
    bool allow_plaintext_password = false;   // PLAIN or LOGIN without TLS (RFC 9051 §11.1)
    bool enable_condstore = true;            // ENABLE CONDSTORE when offered (RFC 7162 §3.1)
    bool enable_qresync = true;              // ENABLE QRESYNC when offered (RFC 7162 §3.2.3)
    bool enable_utf8 = false;                // ENABLE UTF8=ACCEPT when offered (RFC 6855 §3)
    std::size_t pipeline_window = 16;        // UID FETCH/STORE/SEARCH in flight at once
    std::size_t write_chunk = 64u << 10;     // APPEND octets written per advance()
    std::size_t max_results = 2'000'000;     // LIST entries, FETCH replies, UIDs kept per request
    ReaderLimits limits;
    std::string scram_nonce;                 // tests only: a fixed SCRAM client nonce
};

enum class Command {
    List, Status, Select, Examine, Fetch, Search, Store, Copy, Move, UidExpunge, Expunge, Append,
    Create, Delete, Rename, Subscribe, Unsubscribe, Noop, Idle, Logout,
};

// RFC 7162 §3.2.5: SELECT ... (QRESYNC (uidvalidity modseq [known-uids]))
struct Qresync {
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::string known_uids;  // a UID set, or "" for none
};
struct SelectOptions {
    bool condstore = false;            // "(CONDSTORE)" (RFC 7162 §3.1.8)
    std::optional<Qresync> qresync;    // needs QRESYNC enabled
};

// What SELECT/EXAMINE learned (RFC 9051 §6.3.2, RFC 7162 §3.1.2, §3.2.5).
struct MailboxState {
    std::string name;
    bool read_only = false;
    std::uint32_t exists = 0;
    std::optional<std::uint32_t> uidvalidity, uidnext, unseen;
    std::optional<std::uint64_t> highestmodseq;
    bool nomodseq = false;
    std::vector<std::string> flags, permanent_flags;
    std::vector<SequenceSet> vanished;  // VANISHED (EARLIER): UIDs gone since the given modseq
    std::vector<FetchData> changed;     // FETCH replies that came with a QRESYNC select
};

struct FetchOptions {
    std::optional<std::uint64_t> changed_since;  // RFC 7162 §3.1.4.1 CHANGEDSINCE
    bool vanished = false;                       // RFC 7162 §3.2.6 VANISHED (needs QRESYNC)
};

enum class StoreMode { Add, Remove, Replace };  // +FLAGS, -FLAGS, FLAGS
struct StoreOptions {
    StoreMode mode = StoreMode::Add;
    std::vector<std::string> flags;
    bool silent = false;
    std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3
};

struct AppendOptions {
    std::vector<std::string> flags;
    std::string date;  // RFC 9051 date-time "07-Dec-2026 10:00:00 +0000", or "" for the server's
};

// The answer to one request.
struct Outcome {
    std::uint64_t id = 0;
    Command command = Command::Noop;
    bool ok = false;           // tagged OK
    bool from_server = false;  // false: the client gave up (connection lost, refused argument, ...)
    Status::Kind status = Status::Kind::No;
    Code code;                 // the tagged response's code (APPENDUID, COPYUID, MODIFIED, TRYCREATE...)
    std::string text;
    std::vector<ListEntry> list;                  // LIST
    std::optional<MailboxStatus> mailbox_status;  // STATUS
    std::optional<MailboxState> mailbox;          // SELECT / EXAMINE
    std::vector<FetchData> fetched;               // UID FETCH; STORE's FETCH replies
    std::vector<SequenceSet> vanished;            // UID FETCH ... (VANISHED)
    std::vector<std::uint32_t> uids;              // UID SEARCH (SEARCH form)
    std::optional<SequenceSet> uid_set;           // UID SEARCH answered by ESEARCH ALL
    std::optional<std::uint64_t> modseq;          // UID SEARCH MODSEQ
    std::optional<SequenceSet> modified;          // STORE UNCHANGEDSINCE: UIDs not changed (MODIFIED)
    std::optional<Code> copyuid;                  // COPY / MOVE (RFC 4315 §3, RFC 6851 §4.3)
    std::optional<Code> appenduid;                // APPEND
    bool move_emulated = false;                   // MOVE not offered: UID COPY + STORE \Deleted (+ UID EXPUNGE)
    bool move_expunged = false;                   // emulated: the originals were expunged (UIDPLUS)
    std::uint64_t octets = 0;                     // FETCH body octets handed to the sink; APPEND octets sent
};

// Mailbox changes the server reported outside the answers they belong to (RFC 9051 §7.4, §5.2).
struct Update {
    enum class Kind { Exists, Expunge, Vanished, Fetch, Flags, Alert } kind = Kind::Exists;
    std::uint32_t number = 0;   // Exists: messages; Expunge: sequence number
    SequenceSet uids;           // Vanished
    FetchData fetch;            // Fetch (FLAGS, MODSEQ changes)
    std::vector<std::string> flags;
    std::string text;           // Alert
};

// Octets of a FETCH body item, in order. `last` comes once per item after its whole FETCH reply,
// with `uid` known (0 if the reply had none); a FETCH whose Outcome is not ok may lack it.
struct Chunk {
    std::uint64_t id = 0;  // the UID FETCH request (0: an unsolicited FETCH)
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    std::string_view section;
    std::uint64_t offset = 0, size = 0;
    std::string_view data;
    bool last = false;
};
using ChunkSink = std::function<void(const Chunk&)>;

enum class ConnectionEnd {
    Open,
    Logout,           // LOGOUT answered
    GreetingRefused,  // BYE greeting
    TlsUnavailable,   // require_tls and no STARTTLS, or STARTTLS refused (or PREAUTH in clear text)
    TlsFailed,
    AuthFailed,       // refused, no usable method, or a password would go in clear text
    Bye,              // the server said BYE on its own
    Dropped,          // closed before LOGOUT's answer
    ProtocolError,    // unparseable, over a limit, or unasked-for
};

class Session {
public:
    explicit Session(Options options, ChunkSink sink = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    enum class Next {
        Read,      // write `output` (may be empty), then read and call receive() and advance()
        Write,     // write `output`, then call advance() again (more APPEND data follows)
        StartTls,  // write `output`, do the TLS handshake, then tls_started() or tls_failed()
        Idle,      // logged in, nothing in flight: add requests (then advance()) or logout()
        Close,     // write `output`, then close
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };

    // Requests, sent once logged in; each returns the id its Outcome carries. Sets are UID sets
    // ("1:4,9"); mailbox names are UTF-8.
    std::uint64_t list(std::string_view reference, std::string_view pattern, bool special_use = true);
    std::uint64_t status(std::string_view mailbox, std::string_view items = "MESSAGES UIDNEXT UIDVALIDITY UNSEEN");
    std::uint64_t select(std::string_view mailbox, SelectOptions o = {});
    std::uint64_t examine(std::string_view mailbox, SelectOptions o = {});
    std::uint64_t fetch(std::string_view uids, std::string_view items, FetchOptions o = {});  // items: "(UID FLAGS)"
    std::uint64_t search(std::string_view criteria);  // UID SEARCH; criteria as IMAP text, one line
    std::uint64_t store(std::string_view uids, StoreOptions o);
    std::uint64_t copy(std::string_view uids, std::string_view mailbox);
    std::uint64_t move(std::string_view uids, std::string_view mailbox);
    std::uint64_t uid_expunge(std::string_view uids);  // needs UIDPLUS
    std::uint64_t expunge();
    std::uint64_t append(std::string_view mailbox, base::ByteSourceRef message, AppendOptions o = {});
    std::uint64_t create(std::string_view mailbox);
    std::uint64_t remove(std::string_view mailbox);  // DELETE
    std::uint64_t rename(std::string_view from, std::string_view to);
    std::uint64_t subscribe(std::string_view mailbox);
    std::uint64_t unsubscribe(std::string_view mailbox);
    std::uint64_t noop();
    std::uint64_t idle();  // RFC 2177: answered when done() is called or another request is queued
    void done();
    std::uint64_t logout();  // the last request

    void receive(std::string_view bytes);
    Action advance();
    void tls_started();  // handshake done (RFC 9051 §6.2.1: forget what came before)
    void tls_failed(std::string_view why);
    void connection_lost(std::string_view why);

    std::vector<Outcome> take_outcomes();
    std::vector<Update> take_updates();
    ConnectionEnd end() const { return end_; }
    const Status& end_status() const { return end_status_; }
    const Capabilities& capabilities() const { return caps_; }
    bool enabled(std::string_view ext) const;  // what ENABLED confirmed ("QRESYNC", "UTF8=ACCEPT")
    bool tls_active() const { return tls_active_; }
    bool authenticated() const { return authenticated_; }
    bool idling() const { return idling_; }
    const std::optional<std::string>& selected() const { return selected_; }
    LoginMethod login_method() const { return used_method_; }

private:
    enum class Expect { Greeting, Capability, StartTls, Login, Enable, Request };
    struct Part {
        std::string text;
        bool wait = false;            // a synchronizing literal: wait for "+" first
        base::ByteSourceRef source;   // literal octets read in chunks
    };
    struct Request {
        std::uint64_t id = 0;
        Command command = Command::Noop;
        std::string mailbox;          // SELECT/EXAMINE (UTF-8)
        // Builds the command after its tag once capabilities and ENABLE are known; false + error:
        // refused without sending.
        std::function<bool(std::vector<Part>&, std::string&)> build;
        std::string uids, dest;       // MOVE emulation
        int step = 0;                 // MOVE emulation: 0 COPY, 1 STORE, 2 UID EXPUNGE
        bool pipelinable = false;
        bool old_open = false;        // SELECT with QRESYNC on while a mailbox was open: until
                                      // [CLOSED], untagged data is the old mailbox's (RFC 7162 §3.2.11)
    };
    struct Pending {
        Expect expect = Expect::Request;
        std::string tag;
        Request request;
        Outcome outcome;
    };
    struct Sending {
        std::string tag;
        std::vector<Part> parts;
        std::size_t index = 0;
        std::uint64_t offset = 0;
        bool waiting = false;         // for "+"
        bool got_plus = false;
        bool text_done = false;
    };

    std::uint64_t add(Request r);
    std::uint64_t refuse(Command c, std::string why);
    bool put_mailbox(std::vector<Part>& parts, std::string_view name, std::string& error) const;
    void put_astring(std::vector<Part>& parts, std::string_view s) const;
    bool nonsync(std::uint64_t size) const;
    bool step(std::string& out);
    void dispatch(Response& r, std::string& out);
    void on_tagged(const Status& s, std::string& out);
    void on_untagged_status(const Status& s, std::string& out);
    void on_continuation(const std::string& text, std::string& out);
    void on_fetch(FetchData& f);
    void on_greeting(const Status& s, std::string& out);
    void after_capability(std::string& out);
    void login(std::string& out);
    void auth_step(const std::string& text, std::string& out);
    void after_login(const Status& s, std::string& out);
    void enable(std::string& out);
    void finish(Pending& p, const Status& s, std::string& out);
    void send(std::string& out, Expect e, std::vector<Part> parts, Request r, Outcome o);
    void send(std::string& out, Expect e, std::vector<Part> parts);
    void send_line(std::string& out, Expect e, std::string line);
    bool pump(std::string& out);  // false: waiting for "+", out of budget, or failed
    void send_requests(std::string& out);
    void send_request(std::string& out, Request r);
    Pending* front_request();
    void end_with(ConnectionEnd e, Status why);
    static Status made_up(std::string text);

    Options options_;
    ChunkSink sink_;
    ResponseReader reader_;
    Capabilities caps_;
    std::vector<std::string> enabled_;
    std::deque<Pending> pending_;
    std::deque<Request> queue_;
    std::optional<Sending> sending_;
    std::vector<Outcome> outcomes_;
    std::vector<Update> updates_;
    std::optional<std::string> selected_;
    std::unique_ptr<sasl::ScramClient> scram_;
    std::string deferred_;
    std::uint64_t next_id_ = 1, next_tag_ = 1;
    std::size_t budget_ = 0;      // APPEND octets this advance() may still write
    bool tls_active_ = false;
    bool tls_due_ = false;
    bool waiting_tls_ = false;
    bool authenticated_ = false;  // logged in (or PREAUTH)
    bool ready_ = false;          // capabilities and ENABLE done: requests may go
    bool logout_queued_ = false;
    bool idling_ = false;         // IDLE's "+" came
    bool done_wanted_ = false;
    bool idle_started_ = false;   // the IDLE in flight got its "+"
    bool sasl_done_ = false, scram_sent_final_ = false;
    std::string sasl_initial_;
    std::string auth_error_;
    bool post_login_caps_ = false;
    LoginMethod used_method_ = LoginMethod::Auto;
    ConnectionEnd end_ = ConnectionEnd::Open;
    Status end_status_;
};

}  // namespace tern::client::imap
