// The per-message summary kept in the store (issue 9): ENVELOPE, BODY and BODYSTRUCTURE exactly
// as a rev1 (non-UTF-8) session sends them, and the header fields SORT and THREAD need (RFC 5256),
// computed once from the part tree; its compact binary form, opaque to the store. Pure: reads only
// the source it is given. Must never trust a blob it did not check: every length is checked
// against what is left, and a blob of another version or with any damage decodes to nothing
// (the caller recomputes), never to partial data.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mime/part_tree.hpp"

namespace tern::imap {

// The first mailbox of an address header, as SORT (FROM, TO, CC, DISPLAYFROM, DISPLAYTO) needs it.
struct SummaryAddress {
    std::string name;     // display name as written (RFC 2047 words left encoded); may be empty
    std::string mailbox;  // local part
    std::string host;     // domain
    bool operator==(const SummaryAddress&) const = default;
};

struct MessageSummary {
    // FETCH texts for a session without UTF-8 (rev1, no UTF8=ACCEPT), without their labels.
    std::string envelope;       // ENVELOPE (...)
    std::string body;           // BODY (...)
    std::string bodystructure;  // BODYSTRUCTURE (...)
    // RFC 5256 §2.2 SORT DATE: the Date: field as unix seconds; absent when missing or invalid
    // (SORT then uses the internal date).
    std::optional<std::int64_t> sent;
    std::optional<std::string> subject;  // unfolded, trimmed, RFC 2047 words left encoded
    std::optional<SummaryAddress> from, to, cc;  // first mailbox of each, if any
    std::optional<std::string> message_id, in_reply_to, references;  // unfolded, trimmed (RFC 5256 §3)
    std::uint64_t header_size = 0;  // octets of the message's header section, its empty line included
    bool operator==(const MessageSummary&) const = default;
};

// Version byte first; a change of format (or of what the texts hold: any change to
// proto/imap/fetch_data's ENVELOPE or BODYSTRUCTURE output) takes a new version, so old blobs
// decode to nothing and are recomputed (imap_summary_test's VersionTripwire fails until then).
// Version 2: ENVELOPE names an addr-spec by its comment ("u@d (Name)") and sends an obs-route
// as the adl, as Dovecot does.
inline constexpr std::uint8_t kSummaryVersion = 2;
// A summary larger than this is not kept (a header built to be huge): FETCH parses that message.
inline constexpr std::size_t kMaxSummaryBytes = 1u << 20;

std::string encode_summary(const MessageSummary& s);
std::optional<MessageSummary> decode_summary(std::string_view blob);

// From a message's part tree and the source it was parsed from (read again only for the root's
// header section, at most 256 KiB of it, for References:). Errors only when the source fails.
Result<MessageSummary> make_summary(const mime::PartTree& tree, const base::ByteSource& source);
// The same for a message in memory (APPEND), parsed here without a copy.
MessageSummary make_summary(std::string_view message);

}  // namespace tern::imap
