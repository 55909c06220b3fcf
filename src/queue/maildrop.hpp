// The maildrop (`ternd sendmail`, like Postfix's postdrop/pickup): the file format a local
// submission is written in (<data>/maildrop/<random>.msg: an envelope section, an empty line, the
// message as read from stdin), and the pure steps on either side: the command's end-of-input rule
// (a lone "." line unless -i), the pickup's preparation of the message for the spool (a Received:
// line naming the local user, Date:/Message-ID:/From: added when missing, recipients taken from
// To:/Cc:/Bcc: for -t, Bcc: removed, line ends made CRLF). Must never do I/O, never trust a
// length or count it has not bounded, and never let envelope text carry a line end into a header.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "queue/envelope.hpp"

namespace tern::queue::maildrop {

inline constexpr std::string_view kMagic = "TERN-MAILDROP 1";
inline constexpr std::size_t kMaxEnvelope = 1u << 20;     // the envelope section, in octets
inline constexpr std::size_t kMaxEnvelopeLine = 2048;     // one envelope line
inline constexpr std::size_t kMaxRecipients = 10000;
inline constexpr std::size_t kMaxHeader = 1u << 20;       // the message's header section (as submission)

// What the sendmail command writes before the message. Every text is one line without CR, LF
// or NUL (format() refuses others).
struct DropEnvelope {
    std::uint32_t uid = 0;                 // who ran the command (informational: the pickup trusts the file's owner)
    std::string user;                      // that user's login name (informational, likewise)
    std::optional<std::string> sender;     // -f: "" is the null sender <>; none: user@hostname at pickup
    std::string full_name;                 // -F (or the user's GECOS name): for a From: the pickup adds
    bool extract = false;                  // -t: recipients also from To:/Cc:/Bcc: (Resent-* when present)
    bool eight_bit = false;                // -B 8BITMIME
    std::string notify;                    // -N: "never" or a list of success,delay,failure; "" = default
    std::string ret;                       // -R: "full" or "hdrs"; "" = default
    std::string envid;                     // -V
    std::vector<std::string> recipients;   // from the command line, as given (unqualified allowed)
    bool operator==(const DropEnvelope&) const = default;
};

// The envelope section including its terminating empty line; an error for a text with a line end.
Result<std::string> format(const DropEnvelope& envelope);

struct ParsedDrop {
    DropEnvelope envelope;
    std::size_t message_offset = 0;  // where the message starts in the input
};
// Parses the envelope section at the start of `file` (which may hold only a prefix of the file,
// at least kMaxEnvelope octets or all of it). Errors say what is wrong; EINVAL for a bad file.
Result<ParsedDrop> parse(std::string_view file);

// The sendmail command's input rule: without -i a line holding only "." ends the message (the
// rest of stdin is not read); with -i only the end of input does. Fed stdin in chunks.
class InputReader {
public:
    explicit InputReader(bool dot_ends) : dot_ends_(dot_ends) {}
    // Appends the message octets in `chunk` to `out`; returns false once the "." line was seen
    // (then nothing more is appended).
    bool feed(std::string_view chunk, std::string& out);
    // At the end of input: appends what was held back (a "." not yet known to be alone on its line).
    void finish(std::string& out);
    bool ended() const { return ended_; }

private:
    bool dot_ends_;
    bool at_line_start_ = true;
    std::string held_;  // "." or ".\r" at a line start, waiting for what follows
    bool ended_ = false;
};

// Line ends to CRLF: CRLF stays, a bare LF or a bare CR becomes CRLF. Streams: a CR at the end of
// one chunk waits for the next. Also notes whether any octet had its high bit set.
class CrlfWriter {
public:
    void feed(std::string_view chunk, std::string& out);
    void finish(std::string& out);
    bool eight_bit() const { return eight_bit_; }

private:
    bool pending_cr_ = false;
    bool eight_bit_ = false;
};

// The local environment of one pickup.
struct Origin {
    std::string user;          // the file owner's login name ("uid N" if it has none)
    std::uint32_t uid = 0;     // the file owner
    std::string hostname;      // this server's name: qualifies bare names, goes in Received:/Message-ID:
    std::string drop_id;       // the file's random name (the "local id" of the Received: line)
    std::int64_t now = 0;      // unix seconds
};

struct Prepared {
    Envelope envelope;              // sender, recipients (qualified, deduplicated), DSN fields, received_at
    std::string head;               // Received: + the kept header fields + added ones + the empty line, CRLF
    std::size_t body_offset = 0;    // where the body starts in the message (stream it from there)
    std::vector<std::string> notes; // what was skipped (unparsable address fields), for the log
};

// `message_head` is the start of the message, at most kMaxHeader octets of it (`whole_message`:
// all of it); its header section must end within it. Errors (EINVAL) for a bad sender or
// command-line recipient, a header section longer than that, and a message without any recipient.
Result<Prepared> prepare(const DropEnvelope& drop, std::string_view message_head, const Origin& origin,
                         bool whole_message);

// Mailbox text ("alice", "alice@example.org", "<alice@example.org>") to canonical local@domain,
// a bare name qualified with `hostname`. Errors for anything else.
Result<std::string> qualify(std::string_view address, std::string_view hostname);

}  // namespace tern::queue::maildrop
