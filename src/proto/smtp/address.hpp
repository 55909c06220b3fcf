// RFC 5321 §4.1.2 paths and mailboxes (with RFC 6531 SMTPUTF8 extensions), parsed without I/O.
// Must never accept a mailbox whose parts could escape quoting or contain CR, LF or NUL.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::smtp {

struct Mailbox {
    std::string local;   // local-part as it appears on the wire, unquoted form (quotes removed, quoted-pairs resolved)
    std::string domain;  // domain or address literal ("[192.0.2.1]"), domain lower-cased for ASCII letters

    // The canonical text form: local@domain, re-quoting the local part when it is not a dot-string.
    std::string str() const;
    bool operator==(const Mailbox&) const = default;
};

// Parses "local@domain" (no angle brackets). `allow_utf8` admits UTF-8 (RFC 6531 §3.3).
// Limits: local-part <= 64 octets, domain <= 255 octets (RFC 5321 §4.5.3.1).
Result<Mailbox> parse_mailbox(std::string_view text, bool allow_utf8);

// A reverse- or forward-path: "<" [ A-d-l ":" ] Mailbox ">", or "<>" for the null path.
// Source routes (A-d-l) are accepted and ignored (RFC 5321 §4.1.2, §C).
struct Path {
    std::optional<Mailbox> mailbox;  // nullopt: the null reverse-path "<>"
};

// Parses a path at the start of `text`; on success, `rest` receives what follows the closing ">"
// (the ESMTP parameters, leading spaces included).
Result<Path> parse_path(std::string_view text, bool allow_utf8, std::string_view* rest);

}  // namespace tern::smtp
