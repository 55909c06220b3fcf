// The fields IMAP ENVELOPE is made of (RFC 9051 §7.5.2), taken from one message's header section:
// raw strings (RFC 2047 words left encoded, as ENVELOPE wants) and parsed address lists (address.hpp).
// A plain struct: the IMAP layer formats it. Must never decode encoded-words, and never drop an
// address list silently: what did not parse keeps its raw text and says so.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "mime/address.hpp"
#include "mime/header.hpp"

namespace tern::mime {

struct EnvelopeAddresses {
    bool present = false;           // the field was there (and not empty)
    std::string raw;                // unfolded value, surrounding white space removed
    std::vector<Address> list;      // mailboxes and groups in order (RFC 5322 §3.4)
    bool parsed = true;             // false: the value (or some comma-separated piece) did not parse
    bool defaulted = false;         // copied from From: (RFC 9051 §7.5.2, Sender and Reply-To only)
};

struct Envelope {
    std::optional<std::string> date;         // each: the first such field, unfolded, trimmed
    std::optional<std::string> subject;
    EnvelopeAddresses from, sender, reply_to, to, cc, bcc;
    std::optional<std::string> in_reply_to;
    std::optional<std::string> message_id;
};

// From a parsed header section. RFC 9051 §7.5.2: Sender and Reply-To absent or empty become From.
// A list that does not parse whole is parsed again piece by piece between commas, keeping the
// pieces that parse (parsed = false then).
Envelope make_envelope(const HeaderSection& header);

}  // namespace tern::mime
