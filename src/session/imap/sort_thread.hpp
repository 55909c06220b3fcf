// SORT and THREAD as pure algorithms (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO): base subject
// extraction (§2.1), sent date (§2.2), the sort keys (§3), ORDEREDSUBJECT and REFERENCES threading
// (§4) and the THREAD response's format. No store, no session: the fields come from a header text.
// Must never recurse on input structure (reference chains may be thousands deep) and never create
// a parent/child loop.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/search.hpp"

namespace tern::imap {

// RFC 5256 §2.1: the base subject of a subject that is already RFC 2047-decoded (steps 2-7; step 1's
// white space rules included). `reply_or_forward` is set when a "Re:", "Fw:", "Fwd:", "(fwd)"
// trailer or "[fwd: ...]" wrapper was removed (what REFERENCES step 5 calls a reply or forward).
std::string base_subject(std::string_view decoded, bool* reply_or_forward = nullptr);

// What SORT and THREAD need of one message. String keys are upper-cased in ASCII: RFC 5256 §3
// compares with i;ascii-casemap.
struct SortFields {
    std::uint32_t number = 0;         // sequence number or UID, as the response reports it
    std::uint32_t seq = 0;            // mailbox order: the final tie-breaker (RFC 5256 §3, §2.2)
    std::uint64_t size = 0;           // RFC822.SIZE
    std::int64_t internal_date = 0;   // ARRIVAL
    std::int64_t sent_date = 0;       // §2.2: Date: in UTC, else the internal date
    std::string subject;              // §2.1 base subject, ASCII upper-cased
    bool reply_or_forward = false;
    std::string from, to, cc;         // §3: addr-mailbox (local part) of the first address
    std::string display_from, display_to;  // RFC 5957 §3
    std::string message_id;           // without <>, empty when none
    std::vector<std::string> references;  // §4 step 1: References, else In-Reply-To's first id
};

// Fills every field but number, seq, size and internal_date from the message's header section
// (the octets up to the empty line; more is ignored). `internal_date` must be set first: it is
// the sent date's fallback.
void read_sort_fields(std::string_view header, SortFields& f);

// The message ids ("<...>") in a References or In-Reply-To value, without <>, in order.
std::vector<std::string> message_ids(std::string_view value);

// RFC 5256 §3: indices into `msgs` in the order the criteria give, ties by seq.
std::vector<std::size_t> sort_messages(std::span<const SortFields> msgs, std::span<const SortCriterion> criteria);

// A thread tree: nodes[i].msg indexes the messages, or is kDummy. Roots in `roots`, in order.
struct ThreadTree {
    static constexpr std::size_t kDummy = static_cast<std::size_t>(-1);
    struct Node {
        std::size_t msg = kDummy;
        std::vector<std::size_t> children;  // node indices, in order
    };
    std::vector<Node> nodes;
    std::vector<std::size_t> roots;
};

ThreadTree thread_orderedsubject(std::span<const SortFields> msgs);  // RFC 5256 §4 ORDEREDSUBJECT
ThreadTree thread_references(std::span<const SortFields> msgs);      // RFC 5256 §4 REFERENCES

// The THREAD response's data after "THREAD" (RFC 5256 §4 thread-list), numbers from msgs[].number,
// e.g. "(2)(3 6 (4 23)(44 7 96))"; empty for no threads.
std::string format_threads(const ThreadTree& tree, std::span<const SortFields> msgs);

}  // namespace tern::imap
