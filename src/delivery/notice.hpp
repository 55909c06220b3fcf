// What the scheduler tells a sender about its message (RFC 3461 §4.1 NOTIFY decisions) and the
// bridge to the DSN generator (delivery/dsn.hpp): one notice message for one event of one queued
// message. Pure; must never decide to notify a null sender.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "proto/smtp/command.hpp"
#include "queue/envelope.hpp"

namespace tern::delivery {

enum class NoticeKind { Failed, Delayed, Delivered, Relayed };
std::string_view notice_kind_name(NoticeKind kind);  // "failure", "delay", "success", "relay"

// RFC 3461 §4.1: no NOTIFY means failures (and, at the MTA's discretion, delays: Tern sends them);
// NEVER means nothing; SUCCESS, FAILURE and DELAY each ask for their kind.
bool notice_wanted(const smtp::DsnNotify& notify, NoticeKind kind);

struct NoticeRecipient {
    std::string address;
    std::string orcpt;           // "rfc822;addr" as given at RCPT, or ""
    NoticeKind kind = NoticeKind::Failed;
    std::string reply;           // "550 5.1.1 <x>: no such user"
    std::string remote_mta;      // "mx.example.net [192.0.2.7]" or ""
    std::int64_t last_attempt = 0;
    std::int64_t retry_until = 0;
};

struct NoticeInput {
    std::string reporting_mta;   // our host name
    std::uint64_t queue_id = 0;
    const queue::Envelope* envelope = nullptr;
    std::int64_t now = 0;
    std::vector<NoticeRecipient> recipients;  // all of one kind
    base::ByteSourceRef original;             // the queued message, may be null
    std::uint64_t return_limit = 256u << 10;
};

// The notice as a whole message (header and body, CRLF), to be queued from <> to the sender.
Result<std::string> build_notice(const NoticeInput& in);

}  // namespace tern::delivery
