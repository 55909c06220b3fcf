// The interface between the queue scheduler and remote delivery (the relay, src/relay/): one
// message for one destination domain, several recipients, answered asynchronously. Plain data and
// an abstract class, so the scheduler never depends on sockets, DNS or TLS. An implementation
// must answer every recipient of every job exactly once, and never report Delivered without the
// next hop's 2xx to the recipient and to the end of the data (RFC 5321 §6.1).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "queue/spool.hpp"

namespace tern::delivery {

struct RemoteRecipient {
    std::size_t index = 0;       // the recipient's index in the envelope (returned in its result)
    std::string address;         // mailbox text, no angle brackets
    std::string notify;          // NOTIFY= value to pass on ("SUCCESS,FAILURE", "NEVER") or ""
    std::string orcpt;           // ORCPT= "rfc822;addr", decoded, or ""
};

struct RemoteJob {
    queue::QueueId id = 0;
    std::string domain;          // the recipients' domain, lower-case (all recipients share it)
    std::string sender;          // reverse-path mailbox text; "" for <>
    std::vector<RemoteRecipient> recipients;
    base::ByteSourceRef body;    // the queued message (Received: included), read in ranges
    bool smtputf8 = false;       // the message needs SMTPUTF8 (RFC 6531)
    bool eight_bit = false;      // declared BODY=8BITMIME or BINARYMIME at intake
    std::string ret;             // RET= "FULL"/"HDRS" or ""
    std::string envid;           // ENVID=, decoded, or ""
};

struct RemoteResult {
    enum class Kind { Delivered, Failed, Deferred } kind = Kind::Deferred;
    std::size_t index = 0;       // RemoteRecipient::index
    // The reply as a DSN's Diagnostic-Code wants it: "550 5.1.1 <bob@example.net>: no such user",
    // the server's own words when it answered, else one made up ("451 4.4.1 connection refused").
    std::string reply;
    std::string remote_mta;      // the host that gave `reply` ("mx.example.net [192.0.2.7]"), or ""
    // Delivered to a next hop that does not support DSN, so a NOTIFY=SUCCESS request ends here and
    // we owe the sender a "relayed" notice (RFC 3461 §5.2.2).
    bool relayed_without_dsn = false;
};

class RemoteTransport {
public:
    virtual ~RemoteTransport() = default;
    // Thread-safe. `done` is called exactly once per job, on the transport's own thread, with one
    // result per recipient; it must be quick (it hands the results back to the scheduler).
    virtual void deliver(RemoteJob job, std::function<void(std::vector<RemoteResult>)> done) = 0;
    // Ends every connection; jobs not finished are answered Deferred. No done() after it returns.
    virtual void stop() = 0;
};

}  // namespace tern::delivery
