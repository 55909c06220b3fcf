// IMAP sequence sets: parser, membership, range compression. Must never allocate per number of
// a range (only expand() does, and only up to its caller's bound).
#include "proto/imap/sequence.hpp"

#include <algorithm>

namespace tern::imap {
namespace {

// RFC 9051 §9: seq-number = nz-number / "*"; nz-number is at most 2^32-1 (number).
bool parse_seq_number(std::string_view s, std::uint32_t& out) {
    if (s == "*") {
        out = kStar;
        return true;
    }
    if (s.empty() || s.size() > 10 || s[0] == '0') return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 0xFFFFFFFFull) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

std::uint32_t resolve(std::uint32_t n, std::uint32_t star) { return n == kStar ? star : n; }

}  // namespace

std::expected<SequenceSet, std::string> parse_sequence_set(std::string_view s, std::size_t max_ranges) {
    SequenceSet set;
    if (s == "$") {  // RFC 5182 §3: seq-last-command, only on its own
        set.saved = true;
        return set;
    }
    if (s.empty()) return std::unexpected("Empty sequence set");
    std::size_t pos = 0;
    while (pos <= s.size()) {
        std::size_t comma = s.find(',', pos);
        if (comma == std::string_view::npos) comma = s.size();
        std::string_view member = s.substr(pos, comma - pos);
        std::size_t colon = member.find(':');
        SeqRange r;
        bool ok = colon == std::string_view::npos
                      ? parse_seq_number(member, r.first)
                      : parse_seq_number(member.substr(0, colon), r.first) &&
                            parse_seq_number(member.substr(colon + 1), r.last);
        if (!ok) return std::unexpected("Invalid sequence set");
        if (colon == std::string_view::npos) r.last = r.first;
        if (set.ranges.size() >= max_ranges) return std::unexpected("Sequence set too long");
        set.ranges.push_back(r);
        if (comma == s.size()) break;
        pos = comma + 1;
    }
    return set;
}

bool SequenceSet::contains(std::uint32_t n, std::uint32_t star) const {
    for (auto& r : ranges) {
        std::uint32_t a = resolve(r.first, star), b = resolve(r.last, star);
        if (a > b) std::swap(a, b);
        if (n >= a && n <= b) return true;
    }
    return false;
}

std::string format_sequence_set(const SequenceSet& set) {
    if (set.saved) return "$";
    std::string out;
    auto num = [&](std::uint32_t n) { out += n == kStar ? std::string("*") : std::to_string(n); };
    for (std::size_t i = 0; i < set.ranges.size(); ++i) {
        if (i) out += ',';
        num(set.ranges[i].first);
        if (set.ranges[i].last != set.ranges[i].first) {
            out += ':';
            num(set.ranges[i].last);
        }
    }
    return out;
}

std::string compress_numbers(std::span<const std::uint32_t> numbers) {
    std::vector<std::uint32_t> v(numbers.begin(), numbers.end());
    if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::string out;
    for (std::size_t i = 0; i < v.size();) {
        std::size_t j = i;
        while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(v[i]);
        if (j > i) out += ':' + std::to_string(v[j]);
        i = j + 1;
    }
    return out;
}

std::vector<std::uint32_t> expand(const SequenceSet& set, std::uint32_t star, std::size_t max_count, bool* too_many) {
    if (too_many) *too_many = false;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> rs;
    for (auto& r : set.ranges) {
        std::uint32_t a = resolve(r.first, star), b = resolve(r.last, star);
        if (a > b) std::swap(a, b);
        if (a == 0) a = 1;  // star == 0: an empty mailbox
        if (b > star) b = star;
        if (a <= b) rs.emplace_back(a, b);
    }
    std::sort(rs.begin(), rs.end());
    std::vector<std::uint32_t> out;
    std::uint64_t next = 1;  // smallest number not yet emitted
    for (auto [a, b] : rs) {
        for (std::uint64_t n = std::max<std::uint64_t>(a, next); n <= b; ++n) {
            if (out.size() >= max_count) {
                if (too_many) *too_many = true;
                return {};
            }
            out.push_back(static_cast<std::uint32_t>(n));
        }
        next = std::max<std::uint64_t>(next, std::uint64_t{b} + 1);
    }
    return out;
}

}  // namespace tern::imap
