// IMAP sequence sets (RFC 9051 §9 sequence-set, RFC 5182 "$"): parsing, and formatting a sorted
// list of numbers as ranges for responses. Pure; must never expand a range into its members
// (`1:4294967295` is one range, not four billion numbers).
#pragma once
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap {

// 0 stands for "*" (the largest number in use, RFC 9051 §9 seq-number); real numbers are >= 1.
inline constexpr std::uint32_t kStar = 0;

struct SeqRange {
    std::uint32_t first = 0;  // as written: "5:2" keeps 5 and 2 (RFC 9051 §9: order does not matter)
    std::uint32_t last = 0;
    bool operator==(const SeqRange&) const = default;
};

struct SequenceSet {
    bool saved = false;  // "$": the result of the last SEARCH ... RETURN (SAVE) (RFC 5182 §2.1)
    std::vector<SeqRange> ranges;
    bool operator==(const SequenceSet&) const = default;

    // Whether n is in the set once "*" means `star` (the highest number in use).
    bool contains(std::uint32_t n, std::uint32_t star) const;
};

// "1", "2:4", "5:*", "*", "1,3:5" or "$". Refuses 0, empty members, numbers over 2^32-1 and more
// than `max_ranges` members.
std::expected<SequenceSet, std::string> parse_sequence_set(std::string_view s, std::size_t max_ranges = 10000);

// RFC 9051 §9 sequence-set text of a set as parsed ("*" for kStar).
std::string format_sequence_set(const SequenceSet& set);

// Sorted, duplicate-free numbers -> "1:3,7,9:10" (e.g. UIDPLUS COPYUID, ESEARCH ALL, VANISHED).
// Empty input gives "". Unsorted input is sorted first.
std::string compress_numbers(std::span<const std::uint32_t> numbers);

// Expands a set into sorted, distinct numbers within [1, star]; refuses to produce more than
// `max_count` (then returns an empty vector and sets *too_many). "$" gives nothing: the session
// substitutes its saved result.
std::vector<std::uint32_t> expand(const SequenceSet& set, std::uint32_t star, std::size_t max_count,
                                  bool* too_many = nullptr);

}  // namespace tern::imap
