// The SMTP client for one connection as a pure state machine (RFC 5321, 3207, 2920, 1870, 6152,
// 6531, 3030, 3461): server replies in -> commands and message bytes out, plus what the driver
// does next. No sockets, no DNS, no clock. Must never send what the peer said it refuses (SIZE,
// 8BITMIME, SMTPUTF8), never use bytes received before a TLS handshake after it, and never report
// a recipient delivered without a 2xx to its RCPT and to the end of the data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "client/smtp/body.hpp"
#include "client/smtp/reply.hpp"

namespace tern::client::smtp {

// What EHLO said (RFC 5321 §4.1.1.1, the extensions' RFCs).
struct Capabilities {
    bool esmtp = false;            // EHLO answered 250 (false: HELO fallback)
    bool pipelining = false;       // RFC 2920
    bool eight_bit_mime = false;   // RFC 6152
    bool smtputf8 = false;         // RFC 6531
    bool chunking = false;         // RFC 3030
    bool dsn = false;              // RFC 3461
    bool starttls = false;         // RFC 3207
    bool enhanced_status = false;  // RFC 2034
    std::optional<std::uint64_t> size;  // RFC 1870: SIZE n (0 or absent number: no fixed limit)
    std::vector<std::string> auth;      // RFC 4954 mechanisms, upper-cased
};
Capabilities parse_ehlo(const Reply& reply);

inline constexpr std::size_t kMaxLine = 998;  // RFC 5321 §4.5.3.1.6, CRLF excluded

struct Options {
    std::string helo_name = "localhost";  // our name in EHLO/HELO
    bool tls_possible = true;     // the driver can do a TLS handshake (STARTTLS is used when offered)
    bool require_tls = false;     // no STARTTLS or a failed one fails the connection (temporary)
    // Lines over 998 octets (RFC 5321 §4.5.3.1.6) are broken with CRLF SP as they are sent (a
    // peer may truncate or reject them); true sends them as they are.
    bool allow_long_lines = false;
    std::size_t chunk_size = 64 * 1024;  // octets of the body read (and sent) at a time
    bool implicit_tls = false;    // the connection is TLS from its first byte (port 465, RFC 8314 §3.3)
    // RFC 4954: AUTH after EHLO when a user is set: PLAIN (RFC 4616) when offered, else LOGIN.
    // Only over TLS unless auth_without_tls; a refusal (535) ends the connection (AuthFailed).
    std::string auth_user;
    std::string auth_password;
    bool auth_without_tls = false;
};

struct Recipient {
    std::string address;   // mailbox text, no angle brackets
    std::string notify;    // NOTIFY= value ("SUCCESS,FAILURE", "NEVER") or "" (RFC 3461 §4.1)
    std::string orcpt;     // "rfc822;addr", decoded; "" if none (RFC 3461 §4.2)
};

struct Message {
    std::uint64_t tag = 0;        // the caller's id for it, returned in its outcome
    std::string sender;           // reverse-path mailbox text; "" for the null path
    std::vector<Recipient> recipients;
    base::ByteSourceRef body;     // the message (header and body) as stored
    bool smtputf8 = false;        // needs SMTPUTF8 (RFC 6531 §3.4); non-ASCII addresses imply it
    std::string ret;              // RET= "FULL"/"HDRS" or "" (RFC 3461 §4.3)
    std::string envid;            // ENVID=, decoded; "" if none (RFC 3461 §4.4)
};

// One final answer: a server reply, or one the client made up (code and enhanced code chosen
// as a server would, text saying why).
struct Status {
    int code = 0;
    std::string enhanced;
    std::string text;
    bool from_server = false;
    bool accepted() const { return code / 100 == 2; }
    bool temporary() const { return code / 100 == 4; }
    bool permanent() const { return code / 100 == 5; }
};

struct RecipientOutcome {
    std::string address;
    Status status;
};
struct MessageOutcome {
    std::uint64_t tag = 0;
    std::vector<RecipientOutcome> recipients;  // in the order given
};

// How the connection ended.
enum class ConnectionEnd {
    Open,             // not ended yet
    Quit,             // QUIT sent after the last message
    GreetingRefused,  // 4xx/5xx greeting or 421: try the next MX (RFC 5321 §3.1, §5.1)
    TlsUnavailable,   // require_tls and no STARTTLS, or STARTTLS refused
    TlsFailed,        // the handshake failed
    ServerClosing,    // 421 during the session (RFC 5321 §3.8)
    Dropped,          // the connection closed or timed out mid-session
    ProtocolError,    // unparseable reply, or a reply the client did not ask for
    AuthFailed,       // AUTH refused, no common mechanism, or AUTH would go without TLS
};

// Which reply the session waits for, so the driver can pick RFC 5321 §4.5.3.2's timeout.
enum class Waiting { Nothing, Greeting, Command, DataStart, DataEnd };

namespace detail {
// One transaction in progress (Session's state; at namespace scope so that its default member
// initialisers are usable inside Session).
struct Transaction {
    Message message;
    std::vector<std::optional<Status>> rcpt;  // RCPT replies so far
    std::size_t accepted = 0;
    bool mail_ok = false;
    bool mail_answered = false;
    std::uint64_t offset = 0;    // body octets read so far
    std::optional<BodyEncoder> encoder;
    bool body_done = false;
    bool eight_bit = false;      // the scan found octets over 127
    bool pipelined = false;      // the envelope went as one RFC 2920 group
    Status mail;                 // MAIL's reply
};
}  // namespace detail

class Session {
public:
    explicit Session(Options options);

    enum class Next {
        Read,      // write `output` (may be empty), then read and call receive() and advance()
        Write,     // write `output`, then call advance() again (more message data follows)
        StartTls,  // do the TLS handshake, then call tls_started() or tls_failed()
        Idle,      // nothing to do: add() another message or finish() (an idle limit is the driver's)
        Close,     // write `output`, then close; the connection is over
    };
    struct Action {
        std::string output;
        Next next = Next::Read;
    };

    void add(Message message);             // queue a transaction (before or between others)
    void finish();                         // no more messages: QUIT once the queued ones are done
    void receive(std::string_view bytes);  // append server bytes
    Action advance();
    void tls_started();                    // handshake done (RFC 3207 §4.2: start afresh)
    void tls_failed(std::string_view why);
    void connection_lost(std::string_view why);  // closed or timed out: unfinished -> temporary

    std::vector<MessageOutcome> take_outcomes();  // outcomes of messages finished so far
    ConnectionEnd end() const { return end_; }
    const Status& end_status() const { return end_status_; }  // the reply or reason for end()
    const Capabilities& capabilities() const { return caps_; }
    bool tls_active() const { return tls_active_; }
    Waiting waiting_for() const;
    // MAIL commands sent so far on this connection: a driver that sees the connection end before
    // a message's MAIL went out may try that message elsewhere (nothing of it reached the peer).
    std::uint64_t mails_sent() const { return mails_sent_; }
    bool authenticated() const { return authenticated_; }

private:
    enum class Expect { Greeting, Ehlo, Helo, StartTls, Auth, Rset, Mail, Rcpt, Data, DataEnd, Bdat, Quit };
    using Transaction = detail::Transaction;
    struct Pending {
        Expect expect;
        std::size_t index = 0;  // RCPT: which recipient
    };

    void on_reply(const Reply& r, std::string& out);
    void after_ehlo(std::string& out);
    void next_transaction(std::string& out);
    std::optional<Status> preflight(const Message& m, bool& eight_bit);
    void send_rcpt(std::string& out, std::size_t i);
    void send_envelope(std::string& out);
    void after_rcpts(std::string& out);
    bool send_body_chunk(std::string& out);  // false: read error (transaction failed)
    void finish_transaction(const Status* data_reply);
    void fail_all(ConnectionEnd end, Status status);
    void send(std::string& out, std::string line, Expect e, std::size_t index = 0);
    void start_auth(std::string& out);

    Options options_;
    Capabilities caps_;
    std::string input_;
    std::deque<Pending> pending_;
    std::deque<Message> queued_;
    std::optional<Transaction> txn_;
    std::vector<MessageOutcome> outcomes_;
    bool tls_active_ = false;
    bool finishing_ = false;
    bool need_rset_ = false;
    bool sending_body_ = false;     // advance() returns Write until the body is out
    bool waiting_tls_ = false;
    bool ehlo_due_ = false;
    bool greeted_ = false;
    bool close_ = false;
    bool authenticated_ = false;
    std::uint64_t mails_sent_ = 0;
    ConnectionEnd end_ = ConnectionEnd::Open;
    Status end_status_;
};

}  // namespace tern::client::smtp
