// RFC 5322 §3.4 address parser (with the §4.4 obsolete forms and RFC 6532 UTF-8): mailbox,
// name-addr, groups, comments, quoted strings, domain literals, returning structured results or
// an error that says what and where. Pure and bounded. Must never return an empty list for input
// it could not parse, never decode RFC 2047 encoded-words (they are kept as written for the
// caller), and never recurse on attacker-controlled nesting.
#pragma once
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tern::mime {

struct Mailbox {
    std::string display_name;  // phrase or quoted string, unquoted, runs of WSP as one space;
                               // RFC 2047 encoded-words left encoded; empty if none
    std::string local_part;    // unquoted (quoted-pairs resolved), "." between the words
    std::string domain;        // dot-atom as written, or a domain literal with its brackets
    // An addr-spec with no display name ("user@domain (Real Name)", or "<user@domain (x)>"):
    // the text of its last comment, as Dovecot reads it (outer parentheses off, quoted-pairs
    // resolved, folds' CRLF removed, nested parentheses kept). Dovecot, and so clients, show it
    // as the name in IMAP ENVELOPE; nothing else should. Empty otherwise.
    std::string comment;
    // RFC 5322 §4.4 obs-route ("<@a.example,@b.example:user@domain>"): its domains as
    // "@a.example,@b.example" (Dovecot's form; IMAP ENVELOPE's adl). Empty if none.
    std::string route;
    // local@domain, the local part quoted again when it is not a dot-atom (RFC 5322 §3.4.1).
    std::string addr_spec() const;
    bool operator==(const Mailbox&) const = default;
};

struct Group {  // RFC 5322 §3.4: display-name ":" [group-list] ";" ("undisclosed-recipients:;")
    std::string display_name;
    std::vector<Mailbox> members;
    bool operator==(const Group&) const = default;
};

using Address = std::variant<Mailbox, Group>;

struct AddressError {
    std::size_t offset = 0;  // byte in the input where the parse failed
    std::string message;     // e.g. "unterminated quoted string"
};

template <class T>
using AddressResult = std::expected<T, AddressError>;

inline constexpr std::size_t kMaxCommentDepth = 32;  // nested "((( ... )))" deeper than this: an error

// address-list (RFC 5322 §3.4; empty list elements tolerated per §4.4 obs-addr-list). An input
// with no address at all (only CFWS) is an error, as is anything that is not an address.
AddressResult<std::vector<Address>> parse_address_list(std::string_view value);
// mailbox-list (From:, RFC 5322 §3.6.2); RFC 6854 allows a group in From:, so groups are accepted
// and flattened: the result holds every mailbox named. May be empty only for "group:;".
AddressResult<std::vector<Mailbox>> parse_mailbox_list(std::string_view value);
// Exactly one mailbox (Sender:, RFC 5322 §3.6.2).
AddressResult<Mailbox> parse_single_mailbox(std::string_view value);

// Every mailbox in a parsed list, groups flattened.
std::vector<Mailbox> mailboxes(const std::vector<Address>& list);

}  // namespace tern::mime
