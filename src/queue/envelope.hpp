// The SMTP envelope as the queue keeps it: sender, recipients with their DSN parameters
// (RFC 3461), and where the message came from. Plain data, shared by session, spool, scheduler.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "proto/smtp/command.hpp"

namespace tern::queue {

struct Recipient {
    std::string address;         // canonical mailbox text as accepted at RCPT ("user+tag@example.org")
    smtp::DsnNotify notify;      // NOTIFY= (RFC 3461 §4.1)
    std::string orcpt;           // ORCPT= "addr-type;address", decoded; empty if not given
    bool operator==(const Recipient&) const = default;
};

struct Envelope {
    std::string mail_from;       // reverse-path mailbox text; empty for the null path "<>"
    std::vector<Recipient> recipients;
    smtp::DsnRet ret = smtp::DsnRet::Unspecified;  // RET= (RFC 3461 §4.3)
    std::string envid;           // ENVID= (RFC 3461 §4.4), decoded
    smtp::BodyType body = smtp::BodyType::Unspecified;
    bool smtputf8 = false;
    std::string auth_user;       // authenticated submitter account, empty if none
    std::string client_ip;       // peer address
    std::string helo;            // HELO/EHLO name given by the client
    std::int64_t received_at = 0;  // unix seconds when the message was accepted
    bool operator==(const Envelope&) const = default;
};

}  // namespace tern::queue
