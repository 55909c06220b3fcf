// Delivery status notifications: the bounce, delay warning and success notice the scheduler sends
// back to a message's sender (RFC 3461 DSN, RFC 6522 multipart/report, RFC 3464
// message/delivery-status, RFC 6533 for SMTPUTF8 mail), and the NOTIFY decision. Pure: the
// caller supplies the time, the random bits and the queued message; no I/O but reading that.
// Must never be sent for a message whose sender is null (RFC 3461 §6.1, RFC 5321 §4.5.5): the
// caller checks original_sender, build_dsn refuses an empty one. A DSN itself is sent with
// MAIL FROM:<> so that it never causes another.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "proto/smtp/command.hpp"

namespace tern::delivery {

struct DsnRecipient {
    // RFC 3464 §2.3.3 action-value.
    enum class Action { Failed, Delayed, Delivered, Relayed, Expanded };
    std::string address;       // the final recipient's mailbox text, no angle brackets
    std::string orcpt;         // ORCPT as queued, "rfc822;a@b" (decoded), or ""
    Action action = Action::Failed;
    // The reply that decided it: "550 5.1.1 <bob@example.net>: no such user". Its enhanced code
    // is the Status (RFC 3463); without one, the basic code's class gives X.0.0.
    std::string reply;
    // The host that gave `reply` ("mx.example.net [192.0.2.7]"); "" when the reply is our own
    // words (local delivery, routing, a timeout): then Diagnostic-Code is "X-Tern;", not "smtp;".
    std::string remote_mta;
    std::int64_t last_attempt = 0;  // unix seconds; 0: no Last-Attempt-Date
    std::int64_t retry_until = 0;   // Delayed: when we give up (Will-Retry-Until); 0: omitted
};

struct DsnInput {
    std::string reporting_mta;       // our host name (Reporting-MTA, From: MAILER-DAEMON@it)
    std::string envid;               // ENVID (decoded) or ""
    std::string original_sender;     // the reverse-path the DSN goes to; must not be empty
    std::string queue_id_text;       // the message's queue id, as logs and `ternd queue` show it
    std::int64_t arrival = 0;        // when we accepted the message (Arrival-Date); 0: omitted
    std::int64_t now = 0;            // Date:
    smtp::DsnRet ret = smtp::DsnRet::Unspecified;
    bool smtputf8 = false;           // the message came with SMTPUTF8 (queue::Envelope::smtputf8)
    std::vector<DsnRecipient> recipients;  // at least one
    base::ByteSourceRef original;    // the queued message (Received: first); null: not returned
    // RFC 3461 §4.3 lets us return less than asked: content over this many octets comes back as
    // its header section only, and part 1 says so.
    std::uint64_t return_limit = 256 * 1024;
    std::uint64_t unique = 0;        // random bits for the Message-ID and the boundary
};

struct Dsn {
    std::string message;     // the whole message, CRLF lines of at most 998 octets
    bool eight_bit = false;  // has 8-bit octets: send with BODY=8BITMIME (RFC 6152)
    bool smtputf8 = false;   // uses the RFC 6533 message/global* types: send with SMTPUTF8
    bool content_returned = false;  // part 3 is the whole message (else headers or nothing)
};

// The notification for `in.recipients`, which may mix actions (the subject follows the gravest:
// failed, then delayed, then delivered/relayed/expanded). Layout (RFC 6522 §3):
//   headers: From: Mail Delivery System <MAILER-DAEMON@reporting_mta>, To: <original_sender>,
//            Subject, Date, Message-ID, Auto-Submitted: auto-replied (RFC 3834 §5),
//            MIME-Version, Content-Type: multipart/report; report-type=delivery-status
//   part 1:  text/plain, what happened in plain English, each recipient with the server's words
//   part 2:  message/delivery-status (RFC 3464 §2.2 per-message, §2.3 per-recipient fields)
//   part 3:  message/rfc822 (the whole message) when a recipient failed and RET is FULL or
//            unspecified, the message is within return_limit and its lines can travel unchanged
//            (CRLF, at most 998 octets, no NUL); otherwise text/rfc822-headers (RET=HDRS, and
//            always for delay and success notices, RFC 3461 §4.3). Absent if `original` is null.
// SMTPUTF8 (in.smtputf8, or a non-ASCII address) switches to message/global-delivery-status,
// message/global and message/global-headers (RFC 6533 §3, §5, §6) with report-type
// global-delivery-status, and UTF-8 text; otherwise every field is ASCII (other octets in a
// server's reply become '?') and only returned content may carry 8-bit octets (then
// Content-Transfer-Encoding: 8bit and Dsn::eight_bit).
// Errors: no recipients, an empty sender, an unusable host name or address (control characters,
// over 900 octets), or a failed read of `original`.
Result<Dsn> build_dsn(const DsnInput& in);

// RFC 3461 §4.1: does this recipient's NOTIFY ask for a DSN with this action? NEVER: none.
// Not given: failures, and delays (at our discretion, §4.1 and §5.2.5), never success. Given:
// exactly the listed conditions; "relayed" (§5.2.2, to a server without DSN) and "expanded"
// (§5.2.7) count as SUCCESS. The caller also never notifies a null sender.
bool should_notify(const smtp::DsnNotify& notify, DsnRecipient::Action action);

// RFC 3464 §2.3.4: the status for a recipient: the reply's enhanced code ("550 5.1.1 ..." ->
// "5.1.1", also after "550-"), else the basic code's class ("451 ..." -> "4.0.0"), else by the
// action (failed 5.0.0, delayed 4.0.0, otherwise 2.0.0).
std::string dsn_status(const DsnRecipient& r);

}  // namespace tern::delivery
