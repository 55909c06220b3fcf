// The SMTP server session as a pure state machine (RFC 5321, 6409): bytes in -> replies and
// effects out. No sockets, no Asio, no clock reads except through SessionHost, so every
// conversation can be replayed in a unit test. Must never say 250 to DATA before the host has
// reported the message durable, and never treat a bare CR or LF as a line end.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.hpp"
#include "mime/trace_count.hpp"
#include "proto/smtp/command.hpp"
#include "proto/sasl/sasl.hpp"
#include "proto/smtp/data_reader.hpp"
#include "queue/envelope.hpp"
#include "queue/incoming.hpp"

namespace tern::smtp {

// Which listener the session runs on; decides relay and authentication rules.
enum class ListenerKind {
    Smtp,         // port 25's role: mail for local domains only (RFC 5321)
    Submission,   // 587: users' clients, AUTH required (RFC 6409 §4.3)
    Submissions,  // 465: as Submission, over implicit TLS (RFC 8314 §3.3)
};

struct Limits {
    std::size_t command_line = 512;            // octets incl. CRLF (RFC 5321 §4.5.3.1.4)
    std::uint64_t message_size = 50u << 20;    // octets, advertised with SIZE (RFC 1870)
    std::size_t recipients = 100;              // per message (RFC 5321 §4.5.3.1.8 minimum)
    unsigned bad_commands = 20;                // then 421 and close
    unsigned idle_timeout_seconds = 300;       // enforced by the network layer (RFC 5321 §4.5.3.2.7)
    std::size_t max_hops = 50;                 // Received: fields a message may carry, ours included;
                                               // more is a mail loop: 554 5.4.6 (RFC 5321 §6.3)
};

struct SessionConfig {
    std::string hostname = "localhost";
    ListenerKind kind = ListenerKind::Smtp;
    Limits limits;
    bool tls_available = false;         // STARTTLS may be offered (RFC 3207)
    bool tls_active = false;            // implicit TLS (submissions, RFC 8314 §3.3)
    bool allow_plaintext_auth = false;  // AUTH before TLS only if explicitly configured
    unsigned auth_failures = 3;         // failed AUTH attempts before 421 and disconnect
    std::string scram_secret;           // per-installation key for fake SCRAM salts of unknown users
    // Where message bodies spill once they outgrow memory (the spool directory: the spool copies
    // them into its segment). Empty: bodies stay in memory (tests).
    std::filesystem::path spill_dir;
    std::size_t body_memory = queue::IncomingBody::kDefaultMemoryLimit;
};

// The verdict on one RCPT (RFC 5321 §3.6, §7.1).
enum class RcptVerdict { Accept, RelayDenied, UnknownUser, TemporaryFailure };

// What the session needs from the rest of the server. Implemented by the server glue and by fakes
// in tests.
class SessionHost {
public:
    virtual ~SessionHost() = default;
    // Decides one recipient. `authenticated` is the submitting account or empty.
    virtual RcptVerdict check_recipient(const Mailbox& rcpt, std::string_view authenticated) = 0;
    // The first local domain, for RCPT TO:<postmaster> (RFC 5321 §4.5.1). Empty if none.
    virtual std::string postmaster_domain() = 0;
    virtual std::int64_t now() = 0;  // unix seconds
    // The account an authentication identity logs in as ("Alice@Example.org" -> "alice@example.org").
    virtual std::string canonical_account(std::string_view authcid) = 0;
    // RFC 6409 §6.1: may `account` send as `address` (its own address, an alias of it, a +tag)?
    virtual bool sender_allowed(std::string_view account, std::string_view address) = 0;
    // Is there room in the queue for a message of about `size` octets (0: size not announced)?
    // RFC 1870 §6.1: no room is 452 at MAIL, before the client sends the data.
    virtual bool queue_has_room(std::uint64_t size) { (void)size; return true; }
};

// A message ready to be committed to the queue.
struct PendingCommit {
    queue::Envelope envelope;
    queue::IncomingBody message = queue::IncomingBody::in_memory({});  // the Received: header first
};

class Session {
public:
    Session(SessionConfig config, SessionHost& host, std::string peer_ip, std::string id);

    // What the network layer does next after advance().
    enum class Next {
        Read,            // write `output`, then read more input and call receive()
        Commit,          // write `output`, then commit take_commit() and call committed()
        Close,           // write `output`, then close the connection
        StartTls,        // write `output`, do the TLS handshake, then call tls_started()
        VerifyPassword,  // check password_request() off the I/O thread, then call password_checked()
        LookupScram,     // fetch SCRAM credentials of scram_user(), then call scram_credentials()
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };

    std::string greeting();                 // 220 banner (RFC 5321 §4.2, §3.1)
    void receive(std::string_view bytes);   // append input
    Action advance();                       // process buffered input as far as possible
    PendingCommit take_commit();            // valid once advance() returned Commit
    void committed(const Result<std::uint64_t>& queue_id);  // the spool's answer
    void tls_started();                     // handshake done: RFC 3207 §4.2, start afresh
    struct PasswordCheck { std::string user, password; };
    PasswordCheck take_password_check();    // valid once advance() returned VerifyPassword (moves out)
    void password_checked(bool ok);
    std::string scram_user() const;         // valid once advance() returned LookupScram
    void scram_credentials(std::optional<sasl::ScramCredentials> creds);
    unsigned auth_failures() const { return auth_failures_; }
    const std::string& authenticated() const { return auth_user_; }
    bool tls_active() const { return config_.tls_active; }
    std::string timeout_reply();            // 421 on idle timeout; the session is then closed
    std::string shutdown_reply();           // 421 when the server stops (only between transactions)

    bool in_transaction() const;  // MAIL given and not yet finished
    bool committing() const;
    bool receiving_message() const { return std::holds_alternative<ReceivingData>(state_) || std::holds_alternative<ReceivingChunk>(state_); }  // DATA/BDAT octets, not commands
    const std::string& id() const { return id_; }
    std::size_t buffered() const { return input_.size() - input_pos_; }

private:
    // A message being received, streamed into the spool's IncomingBody as it arrives, so a
    // session holds a bounded buffer whatever the size. On the submission ports the header
    // section is held back (at most kMaxHeldHeader octets) until it is complete: RFC 6409 checks
    // run on it and Date:/Message-ID: are added in front of it before it goes out.
    struct Assembly {
        queue::IncomingBody body;
        std::string head;          // submission: the header section, until complete
        bool head_done = false;    // the header section has been checked and written
        std::string refusal;       // reply for the end of the data when it cannot be committed
        bool dropped = false;      // nothing more is kept (refused, or a write failed)
        mime::ReceivedCounter hops;  // the client's Received: fields (ours is not fed to it)
    };
    static constexpr std::size_t kMaxHeldHeader = 1u << 20;
    std::shared_ptr<Assembly> start_assembly(const queue::Envelope& envelope);
    void feed_assembly(Assembly& a, std::string_view piece);
    bool check_held_header(Assembly& a);
    void fail_assembly(Assembly& a, const Error& e);
    bool finish_assembly(Assembly& a, std::string& out);  // false: refused, reply said

    // One struct per state, holding only what is valid in it (DESIGN habit 3).
    struct Connected {};                               // greeted, no HELO/EHLO yet
    struct Ready {};                                   // HELO/EHLO done, no transaction
    struct Transaction {                               // after MAIL
        queue::Envelope envelope;
        std::size_t accepted_rcpts = 0;                // every RCPT answered 250, duplicates included
        unsigned rejected_rcpts = 0;
        bool used_bdat = false;
        std::shared_ptr<Assembly> bdat;                // BDAT data so far (null before the first chunk)
        std::uint64_t bdat_size = 0;                   // octets of BDAT data so far
        BareNewlineScanner bdat_newlines;
        bool too_big = false;
    };
    struct ReceivingData {                             // after DATA / 354
        queue::Envelope envelope;
        DataReader reader;
        std::shared_ptr<Assembly> assembly;
    };
    struct ReceivingChunk {                            // reading BDAT octets
        std::optional<Transaction> txn;                // nullopt: chunk is read and discarded
        std::uint64_t remaining = 0;
        bool last = false;
        std::string error;                             // reply to send after the chunk, if failing
    };
    struct Committing { PendingCommit commit; };
    struct Authenticating {                            // AUTH exchange (RFC 4954 §4)
        std::unique_ptr<sasl::Mechanism> mechanism;
        enum class Waiting { Client, Password, Scram, FinalAck } waiting = Waiting::Client;
        sasl::Step pending;                            // the step the host is working on / the success held back
    };
    struct Closed {};
    using State = std::variant<Connected, Ready, Transaction, ReceivingData, ReceivingChunk, Committing, Closed,
                               Authenticating>;

    void enter(State next, const char* why);           // the one place state changes (logged)
    static const char* state_name(const State& s);

    // Returns false when processing must stop (commit pending or closed).
    bool step(std::string& out);
    bool on_line(std::string_view line, std::string& out);
    void on_command(const Command& cmd, std::string& out);
    bool finish_data(std::string& out);
    bool finish_chunk(std::string& out);
    void bad_command(std::string& out, int code, std::string_view enhanced, std::string_view text);

    // Command handlers (commands.cpp): check preconditions, then act.
    void cmd_helo(const Command& c, std::string& out, bool extended);
    void cmd_mail(const Command& c, std::string& out);
    void cmd_rcpt(const Command& c, std::string& out);
    void cmd_data(std::string& out);
    void cmd_bdat(const Command& c, std::string& out);
    void cmd_rset(std::string& out);
    void cmd_starttls(const Command& c, std::string& out);
    void cmd_auth(const Command& c, std::string& out);

    // SASL exchange (auth.cpp).
    bool auth_allowed() const;
    bool on_auth_line(std::string_view line, std::string& out);
    void on_sasl_step(sasl::Step step, std::string& out);
    void auth_failed(std::string& out, std::string_view why);

    // Submission rules (submission.cpp, RFC 6409 §6.1, §8).
    bool check_submission(std::string& message, std::string& out);

    PendingCommit make_commit(queue::Envelope env, Assembly& assembly);
    std::string received_header(const queue::Envelope& env) const;
    void trace_in(std::string_view line) const;
    void trace_out(std::string_view reply) const;
    void say(std::string& out, std::string text) const;  // append a reply, tracing it

    SessionConfig config_;
    SessionHost& host_;
    std::string peer_ip_;
    std::string id_;
    State state_ = Connected{};
    std::string input_;
    std::string deferred_out_;  // replies produced outside advance() (the commit result)
    std::size_t input_pos_ = 0;
    bool skipping_long_line_ = false;
    bool esmtp_ = false;
    std::string helo_;
    std::string auth_user_;  // set by AUTH (issue: TLS and authentication)
    unsigned bad_commands_ = 0;
    unsigned auth_failures_ = 0;
    bool starttls_pending_ = false;
    unsigned transactions_ = 0;
};

}  // namespace tern::smtp
