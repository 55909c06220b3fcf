// The POP3 client for one connection as a pure state machine (RFC 1939, 2449, 2595, 5034, 1939 §7
// APOP, 5802/7677 SCRAM): server bytes in -> commands out, plus what the driver does next; the
// caller's requests (STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT) queued in, results out
// as values, message octets handed to a sink in chunks. No sockets, no clock. Must never send a
// password in clear text without TLS unless allowed, never use bytes received before a TLS
// handshake after it, never report a login whose SCRAM server signature did not verify, and never
// report deletions done unless QUIT was answered +OK (RFC 1939 §6).
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

#include "client/pop3/reply.hpp"

namespace tern::sasl {
class ScramClient;
}

namespace tern::client::pop3 {

// What CAPA said (RFC 2449 §6).
struct Capabilities {
    bool known = false;        // CAPA answered +OK (false: the server predates RFC 2449)
    bool top = false;          // §6.1
    bool user = false;         // §6.2 USER/PASS
    std::vector<std::string> sasl;  // §6.3 mechanisms, upper-cased
    bool resp_codes = false;   // §6.4
    bool login_delay = false;  // §6.5
    std::optional<std::uint64_t> login_delay_seconds;
    bool pipelining = false;   // §6.6
    bool expire = false;       // §6.7
    std::string expire_value;  // "NEVER", a number of days, with " USER" when per-user
    bool uidl = false;         // §6.8
    std::string implementation;  // §6.9
    bool stls = false;         // RFC 2595 §4
    bool has_sasl(std::string_view mech) const;
};
// Parses CAPA body lines (dot-unstuffed, no CRLF); unknown capabilities are ignored.
Capabilities parse_capa(const std::vector<std::string>& lines);

// The APOP timestamp of a greeting text ("<1896.697170952@dbc.mtview.ca.us>"), or "" (RFC 1939 §7).
std::string apop_timestamp(std::string_view greeting_text);

// For a `--trace` of what the client wrote: the same lines with secrets replaced by "****" (PASS's
// argument, APOP's digest, AUTH initial responses and every SASL response line).
std::string mask_secrets(std::string_view client_output);

enum class LoginMethod { Auto, Apop, Scram, Plain, UserPass };

struct Options {
    std::string user;
    std::string password;
    std::string apop_secret;      // APOP's shared secret; empty: the password
    bool use_apop = false;        // the account asks for APOP: used when the greeting has a timestamp
    LoginMethod method = LoginMethod::Auto;  // Auto: APOP (if use_apop) > SCRAM-SHA-256 > PLAIN > USER
    bool tls_possible = true;     // the driver can do a TLS handshake (STLS used when offered)
    bool require_tls = false;     // no STLS, or a refused one, ends the connection (TlsUnavailable)
    bool implicit_tls = false;    // pop3s: TLS from the first byte (RFC 8314 §3.3)
    bool allow_plaintext_password = false;  // PLAIN or USER/PASS without TLS (RFC 2595 §3.1)
    std::size_t pipeline_window = 16;    // requests in flight when PIPELINING is offered (RFC 2449 §6.6)
    std::size_t chunk_size = 64 * 1024;  // at most this many octets per message chunk
    std::size_t max_listing = 1'000'000; // LIST/UIDL entries kept; more is a ProtocolError
    std::string scram_nonce;             // tests only: a fixed SCRAM client nonce
};

enum class Command { Stat, List, Uidl, Retr, Top, Dele, Rset, Noop, Quit };

struct ListEntry {
    std::uint32_t msg = 0;
    std::uint64_t size = 0;  // LIST: octets; unused by UIDL
    std::string uid;         // UIDL only
};

// The answer to one request.
struct Outcome {
    std::uint64_t id = 0;       // what the request call returned
    Command command = Command::Noop;
    std::uint32_t msg = 0;      // the message number given (0: none)
    bool ok = false;            // +OK from the server
    bool from_server = false;   // false: the client gave up (connection lost, login failed, ...)
    std::string code;           // RFC 2449 response code ("SYS/TEMP"), or ""
    std::string text;
    std::uint64_t count = 0, size = 0;  // STAT: messages and octets
    std::vector<ListEntry> entries;     // LIST / UIDL (one entry for LIST n / UIDL n)
    std::uint64_t octets = 0;   // RETR / TOP: message octets handed to the sink
};

// A piece of a RETR/TOP message: dot-unstuffed octets in order, CRLF as the server sent it.
// `last` is set once on the final call for a message (its data is empty). A message whose
// Outcome is not ok (the connection dropped mid-message) got no `last`: discard what was written.
struct Chunk {
    std::uint64_t id = 0;
    std::uint32_t msg = 0;
    std::string_view data;
    bool last = false;
};
using ChunkSink = std::function<void(const Chunk&)>;

enum class ConnectionEnd {
    Open,
    Quit,             // QUIT answered +OK: the UPDATE state ran, DELEs took effect (RFC 1939 §6)
    QuitFailed,       // QUIT answered -ERR: some deletions may not have happened
    GreetingRefused,  // -ERR greeting
    TlsUnavailable,   // require_tls and no STLS, or STLS refused
    TlsFailed,        // the handshake failed
    AuthFailed,       // refused, no usable method, or a password would go in clear text
    Dropped,          // closed or timed out before QUIT's answer: no deletion happened
    ProtocolError,    // an unparseable or unasked-for response
};

class Session {
public:
    explicit Session(Options options, ChunkSink sink = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    enum class Next {
        Read,      // write `output` (may be empty), then read and call receive() and advance()
        StartTls,  // write `output`, do the TLS handshake, then tls_started() or tls_failed()
        Idle,      // logged in, nothing queued: add requests (then advance()) or quit()
        Close,     // write `output`, then close; the connection is over
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };

    // Requests, answered in order once logged in; each returns the id its Outcome will carry.
    std::uint64_t stat();
    std::uint64_t list(std::uint32_t msg = 0);   // 0: all (multi-line)
    std::uint64_t uidl(std::uint32_t msg = 0);   // 0: all (multi-line); msg number -> unique id
    std::uint64_t retr(std::uint32_t msg);       // streamed to the sink
    std::uint64_t top(std::uint32_t msg, std::uint32_t lines);
    std::uint64_t dele(std::uint32_t msg);       // takes effect only at QUIT (RFC 1939 §6)
    std::uint64_t rset();
    std::uint64_t noop();
    std::uint64_t quit();                        // the last request; later ones fail at once

    void receive(std::string_view bytes);
    Action advance();
    void tls_started();                      // handshake done (RFC 2595 §4: start afresh)
    void tls_failed(std::string_view why);
    void connection_lost(std::string_view why);

    std::vector<Outcome> take_outcomes();    // outcomes finished so far, in request order
    ConnectionEnd end() const { return end_; }
    const Status& end_status() const { return end_status_; }  // the response or reason for end()
    const Capabilities& capabilities() const { return caps_; }
    const std::string& greeting_timestamp() const { return timestamp_; }
    bool tls_active() const { return tls_active_; }
    bool authenticated() const { return authenticated_; }
    LoginMethod login_method() const { return used_method_; }
    bool update_confirmed() const { return end_ == ConnectionEnd::Quit; }

private:
    enum class Expect { Greeting, Capa, Stls, Apop, User, Pass, Auth, Request };
    struct Request {
        std::uint64_t id = 0;
        Command command = Command::Noop;
        std::uint32_t msg = 0, lines = 0;
    };
    struct Pending {
        Expect expect = Expect::Request;
        Request request;
        bool status_done = false;   // multi-line: the +OK came, the body is being read
        Outcome outcome;
        std::vector<std::string> lines;  // CAPA body
    };

    std::uint64_t add(Command c, std::uint32_t msg = 0, std::uint32_t lines = 0);
    bool step(std::string& out);          // false: needs more input
    bool multiline(const Pending& p) const;
    bool streamed(const Pending& p) const;
    void on_status(Pending& p, const Status& s, std::string& out);  // may pop p
    void on_body_end(Pending& p, std::string& out);
    void after_capa(std::string& out);
    void login(std::string& out);
    void logged_in(std::string& out);
    void auth_step(const Status& s, std::string& out);
    void send(std::string& out, std::string line, Expect e);
    void send_requests(std::string& out);
    void finish_request(Pending& p, const Status& s);
    void end_with(ConnectionEnd e, Status why);
    void pop_front();

    Options options_;
    ChunkSink sink_;
    ResponseReader reader_;
    Capabilities caps_;
    std::string timestamp_;
    std::deque<Pending> pending_;   // sent, waiting for the answer
    std::deque<Request> queue_;     // not sent yet
    std::vector<Outcome> outcomes_;
    std::string chunk_;             // one message chunk being handed out
    std::unique_ptr<sasl::ScramClient> scram_;
    std::string deferred_;          // output produced outside advance()
    std::uint64_t next_id_ = 1;
    bool tls_active_ = false;
    bool tls_due_ = false;          // STLS answered +OK: advance() returns StartTls
    bool waiting_tls_ = false;
    bool authenticated_ = false;
    bool quit_queued_ = false;
    bool sasl_done_ = false;        // the server's final SASL data verified (SCRAM)
    bool scram_sent_final_ = false;
    std::string sasl_initial_;      // base64 initial response waiting for the empty challenge
    std::string auth_error_;        // why we cancelled the exchange with "*"
    LoginMethod used_method_ = LoginMethod::Auto;
    ConnectionEnd end_ = ConnectionEnd::Open;
    Status end_status_;
};

}  // namespace tern::client::pop3
