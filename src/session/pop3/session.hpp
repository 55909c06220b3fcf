// The POP3 server session as a pure state machine (RFC 1939, 2449, 2595, 5034, 3206): bytes in ->
// responses and requests (password check, SCRAM lookup, TLS handshake) out; no sockets, no hashing.
// Must never answer plaintext pipelined behind STLS (CVE-2011-0411), never expunge except on QUIT
// from TRANSACTION, and never log a password.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "proto/pop3/response.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::pop3 {

struct Limits {
    std::size_t command_line = 255;      // octets incl. CRLF (RFC 2449 §4)
    std::size_t sasl_line = 16384;       // AUTH continuation lines (RFC 5034 §4: mechanism-sized)
    unsigned bad_commands = 10;          // unknown / malformed / out-of-state commands, then close
    unsigned auth_failures = 3;          // failed USER/PASS, APOP or AUTH attempts, then close
    unsigned idle_timeout_seconds = 600; // for the network layer; RFC 1939 §3: at least 10 minutes
    std::size_t output_high_water = 1u << 20;  // stop taking pipelined commands once this much
                                               // output is pending (then Next::Continue)
    std::size_t message_chunk = 256u << 10;    // RETR/TOP read and send a message this much at a
                                               // time, one chunk per advance() (Next::Continue)
};

struct SessionConfig {
    std::string hostname = "localhost";
    // Unique per connection, e.g. "<pid>.<counter>.<unix time>"; the APOP timestamp in the greeting
    // is "<" + unique_token + "@" + hostname + ">" (RFC 1939 §7). Taken from here so tests are
    // deterministic; the network layer must never reuse one.
    std::string unique_token = "0.0.0";
    bool tls_available = false;          // STLS may be offered (a certificate is configured)
    bool tls_active = false;             // implicit TLS (pop3s, RFC 8314 §3.3)
    bool allow_plaintext_auth = false;   // USER/PASS and AUTH PLAIN/LOGIN without TLS (RFC 2595 §3.1)
    std::string sasl_fake_secret = "tern";  // keys fake SCRAM salts for unknown users
    Limits limits;
};

enum class LockResult { Locked, InUse, Error };

// One message of the maildrop snapshot, in maildrop order.
struct MessageRef {
    std::uint32_t uid = 0;
    std::uint64_t size = 0;   // octets as stored, CRLF counted (what RETR sends before stuffing)
    std::string uidl;         // stable across sessions, 1..70 chars of 0x21..0x7E (RFC 1939 §7)
};

// What the session needs from the rest of the server (the maildrop and APOP secrets). Called on the
// I/O thread, except expunge(), which the network layer runs on a store thread (take_expunge());
// implemented by the server glue and by fakes in tests.
class Pop3Host {
public:
    virtual ~Pop3Host() = default;
    // Exclusive access to the maildrop (RFC 1939 §4), taken after authentication.
    virtual LockResult lock(std::string_view account) = 0;
    virtual void unlock(std::string_view account) = 0;
    // The INBOX messages at the time of locking, in order; fixed for the rest of the session.
    virtual Result<std::vector<MessageRef>> snapshot(std::string_view account) = 0;
    // The message, read in chunks by RETR/TOP on the I/O thread (the store's reader connections:
    // no locks, no writer waits). A read failing later (the message expunged by someone else)
    // is an error, never other bytes.
    virtual Result<base::ByteSourceRef> open(std::string_view account, std::uint32_t uid) = 0;
    // RFC 1939 §6 UPDATE state: remove the messages marked as deleted. Waits for the store's
    // writer (and its fsync), so it is called off the I/O thread: it must be thread-safe.
    virtual Result<void> expunge(std::string_view account, std::vector<std::uint32_t> uids) = 0;
    // The shared APOP secret of `user`, or nullopt (unknown user, or APOP not enabled for it).
    virtual std::optional<std::string> apop_secret(std::string_view user) = 0;
    // The account (maildrop) name a login name refers to, e.g. lower-cased "alice@example.org".
    virtual std::string canonical_account(std::string_view user) = 0;
};

class Session {
public:
    Session(SessionConfig config, Pop3Host& host, std::string id);
    ~Session();  // a session that never reached QUIT unlocks without deleting (RFC 1939 §6)
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // What the network layer does after advance() (and after greeting()).
    enum class Next {
        Read,            // write `output`, read more input, call receive() then advance()
        VerifyPassword,  // write `output`; check take_password_check() off the I/O thread, then
                         // call password_checked() and advance()
        LookupScram,     // write `output`; look up scram_user()'s credentials, call
                         // scram_credentials() and advance()
        StartTls,        // write `output` ("+OK Begin TLS negotiation"), do the TLS handshake, call
                         // tls_started() and advance(); on handshake failure just close (abort())
        Continue,        // write `output`, then call advance() again without reading: pipelined
                         // commands are still buffered (output was cut at output_high_water), or
                         // a RETR/TOP has more of its message to send (one chunk per advance())
        Expunge,         // QUIT in TRANSACTION: run take_expunge() against the host off the I/O
                         // thread (it waits for the disk), then call expunged() and advance()
        Close,           // write `output`, then close the connection
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };
    struct PasswordCheck {
        std::string user;      // the login name as given (USER, or the SASL authcid)
        std::string password;  // handed over once; not kept by the session
    };

    std::string greeting();                 // "+OK <host> POP3 ready <timestamp>" (RFC 1939 §4, §7)
    const std::string& apop_timestamp() const { return timestamp_; }
    void receive(std::string_view bytes);   // append input (dropped while TLS is being negotiated)
    Action advance();                       // process buffered input as far as possible

    PasswordCheck take_password_check();    // valid once advance() returned VerifyPassword
    void password_checked(bool ok);
    std::string scram_user() const;         // valid once advance() returned LookupScram
    void scram_credentials(std::optional<sasl::ScramCredentials> creds);
    struct ExpungeRequest {
        std::string account;
        std::vector<std::uint32_t> uids;
    };
    ExpungeRequest take_expunge() const;    // valid once advance() returned Expunge
    void expunged(const Result<void>& result);  // the host's answer: the QUIT reply, then Close
    void tls_started();                     // handshake done: buffered plaintext is discarded

    // The connection is gone (peer closed, error, handshake failure): unlock, delete nothing.
    void abort();
    // Idle timeout (RFC 1939 §3 autologout): the reply to send before closing; deletes nothing.
    std::string timeout_reply();
    std::string shutdown_reply();           // server stopping; deletes nothing

    // Set by the network layer while the client's IP is refused for too many failed logins:
    // APOP, checked inside the session, then fails like a wrong digest.
    void set_logins_refused(bool refused) { logins_refused_ = refused; }
    bool authenticated() const;             // in TRANSACTION state
    // Failed credential attempts so far; the network layer delays the next reply when it grows.
    unsigned auth_failures() const { return auth_failures_; }
    bool tls_active() const { return tls_active_; }
    const std::string& account() const { return account_; }  // empty until authenticated
    const std::string& id() const { return id_; }
    std::size_t buffered() const { return input_.size() - input_pos_; }

private:
    // One struct per state, holding only what is valid in it.
    struct Authorization {              // RFC 1939 §4
        std::string user;               // after a USER command, until PASS
    };
    struct SaslExchange {               // AUTH in progress, waiting for a client line (RFC 5034 §4)
        std::unique_ptr<sasl::Mechanism> mech;
        bool final_empty = false;       // sent success data as a challenge; expecting an empty line
        std::string authcid, authzid;   // set with final_empty
    };
    struct Verifying {                  // waiting for password_checked()
        std::unique_ptr<sasl::Mechanism> mech;  // null for USER/PASS
        PasswordCheck check;
        bool taken = false;
    };
    struct ScramLookup {                // waiting for scram_credentials()
        std::unique_ptr<sasl::Mechanism> mech;
        std::string user;
    };
    struct StartingTls {};              // "+OK Begin TLS negotiation" sent, waiting for tls_started()
    struct Transaction {                // RFC 1939 §5: the maildrop is locked
        std::vector<MessageRef> messages;
        std::vector<bool> deleted;
    };
    struct Update {                     // RFC 1939 §6: QUIT given, expunging (still locked)
        std::vector<std::uint32_t> uids;  // marked as deleted, never empty
        std::size_t left = 0;             // messages that stay
    };
    struct Closed {};
    using State = std::variant<Authorization, SaslExchange, Verifying, ScramLookup, StartingTls,
                               Transaction, Update, Closed>;

    void enter(State next, const char* why);  // the one place state changes (logged)
    static const char* state_name(const State& s);

    bool step(std::string& out);
    bool on_line(std::string_view line, std::string& out);
    void bad_command(std::string& out, std::string text);
    void auth_failed(std::string& out, std::string_view why);
    void login(std::string& out, std::string_view user);  // authenticated: lock and snapshot
    void release();                                       // unlock if locked

    // Command handlers (commands.cpp): check preconditions, then act.
    void on_command(std::string_view line, std::string& out);
    void cmd_capa(std::string& out);
    void cmd_user(std::string_view name, std::string& out);
    void cmd_pass(std::string password, std::string& out);
    void cmd_apop(std::string_view name, std::string_view digest, std::string& out);
    void cmd_auth(std::string_view mech, std::optional<std::string_view> initial, std::string& out);
    void cmd_stls(std::string& out);
    void cmd_quit(std::string& out);
    void sasl_line(std::string_view line, std::string& out);
    void sasl_step(sasl::Step step, std::unique_ptr<sasl::Mechanism> mech, std::string& out);
    bool plaintext_allowed() const { return config_.allow_plaintext_auth || tls_active_; }
    std::vector<std::string> mechanisms() const;  // those usable now

    // TRANSACTION helpers: the message numbered `msg` (1-based) or an -ERR written to out.
    const MessageRef* message(std::optional<std::uint64_t> msg, std::string& out);

    void trace_in(std::string_view line) const;
    void trace_out(std::string_view reply) const;
    void say(std::string& out, std::string text) const;  // append a one-line response, tracing it
    void say_multiline(std::string& out, std::string first, std::string_view body) const;
    // RETR/TOP: `first`, then the message streamed by pump(), one chunk per call.
    void send_message(std::string& out, std::string first, base::ByteSourceRef source,
                      std::optional<std::uint64_t> top_lines, std::uint32_t uid);
    void pump(std::string& out);

    SessionConfig config_;
    Pop3Host& host_;
    std::string id_;
    std::string timestamp_;
    State state_ = Authorization{};
    std::string input_;
    std::size_t input_pos_ = 0;
    std::string deferred_out_;  // responses produced outside advance()
    struct Sending {            // a RETR/TOP response being sent (RFC 1939 §3 multi-line)
        base::ByteSourceRef source;
        std::uint32_t uid = 0;
        std::uint64_t offset = 0;          // next octet of the message to read
        MultilineStuffer stuffer;
        std::optional<TopCutter> top;      // TOP: where to stop
        std::unique_ptr<char[]> buffer;    // one chunk, freed with the response
        std::size_t buffer_size = 0;
        std::size_t reply_start = 0;       // the "+OK" line's offset in this advance()'s output
        bool started = false;              // a chunk was produced: the "+OK" may be on the wire
    };
    std::optional<Sending> sending_;
    bool skipping_long_line_ = false;
    bool tls_active_ = false;
    std::string account_;       // set while the maildrop is locked
    bool locked_ = false;
    unsigned bad_commands_ = 0;
    unsigned auth_failures_ = 0;
    bool logins_refused_ = false;
};

}  // namespace tern::pop3
