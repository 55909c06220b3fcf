// Sending a message for the user: SMTP submission (RFC 6409) to the account's server over
// implicit TLS (RFC 8314) or STARTTLS (RFC 3207), with AUTH (RFC 4954), and the offline outbox
// that holds what could not be sent until the next `tern sync`. Must never send the password
// without TLS unless the account allows it, and never drop a message: what was not accepted is
// either reported refused or kept in the outbox.
#pragma once
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mua/account.hpp"
#include "mua/cache.hpp"
#include "mua/connection.hpp"

namespace tern::mua {

struct Envelope {
    std::string sender;
    std::vector<std::string> recipients;
};

struct SubmitOutcome {
    bool accepted = false;       // every recipient accepted and the data acknowledged (250)
    bool temporary = false;      // not sent, worth retrying (no connection, 4xx): goes to the outbox
    std::string reason;          // why not, for the user
    std::vector<std::string> refused;  // "addr: 550 ..." for recipients the server refused
};

SubmitOutcome submit(const Account& account, const Envelope& envelope, std::string message, const TraceSink& trace);

// `tern send`: submits, then keeps a copy in Sent (\Seen); a temporary failure puts the message in
// the Outbox folder with its envelope instead. Returns the outcome and the cache id of the copy.
struct SendResult {
    SubmitOutcome outcome;
    std::int64_t id = 0;          // the copy in Sent, or in Outbox when queued
    bool queued = false;
};
Result<SendResult> send_or_queue(const Account& account, Cache& cache, const Envelope& envelope,
                                 const std::string& message, const TraceSink& trace);

// Sends what the outbox holds (oldest first); each sent message moves to Sent. Stops at the first
// connection failure (the rest stay queued).
struct OutboxReport {
    std::size_t sent = 0, left = 0, refused = 0;
    std::vector<std::string> errors;
};
Result<OutboxReport> flush_outbox(const Account& account, Cache& cache, const TraceSink& trace);

}  // namespace tern::mua
