// Shared MailStore rules (see common.hpp): names and hierarchy, flags and STORE modes, UIDVALIDITY.
// Must never depend on a backend, and never accept bytes that could break IMAP framing.
#include "base/ascii.hpp"
#include "store/common.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>

namespace tern::store::detail {

namespace {

using ascii::iequals;

// RFC 9051 §9: ATOM-CHAR = <any CHAR except atom-specials>; atom-specials = "(" / ")" / "{" / SP /
// CTL / list-wildcards ("%" "*") / quoted-specials (DQUOTE "\") / resp-specials ("]").
bool atom_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x1f || u >= 0x7f) return false;
    switch (c) {
        case '(':
        case ')':
        case '{':
        case ' ':
        case '%':
        case '*':
        case '"':
        case '\\':
        case ']':
            return false;
        default:
            return true;
    }
}

constexpr std::string_view kSystemFlags[] = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};

}  // namespace

Result<std::string> normalize_mailbox_name(std::string_view name) {
    if (name.empty()) return invalid("empty mailbox name");
    if (name.size() > kMaxMailboxName) return invalid("mailbox name too long");
    for (char c : name) {
        if (c == '\0' || c == '\r' || c == '\n') return invalid("mailbox name contains NUL, CR or LF");
    }
    std::size_t start = 0;
    for (;;) {
        std::size_t end = name.find(kHierarchySeparator, start);
        std::size_t len = (end == std::string_view::npos ? name.size() : end) - start;
        if (len == 0) return invalid("mailbox name has an empty level: " + std::string(name));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::string out(name);
    std::size_t first_end = std::min(out.find(kHierarchySeparator), out.size());
    if (iequals(std::string_view(out).substr(0, first_end), "INBOX"))
        out.replace(0, first_end, "INBOX");
    return out;
}

std::vector<std::string> superior_names(std::string_view normalized) {
    std::vector<std::string> out;
    for (std::size_t pos = normalized.find(kHierarchySeparator); pos != std::string_view::npos;
         pos = normalized.find(kHierarchySeparator, pos + 1)) {
        out.emplace_back(normalized.substr(0, pos));
    }
    return out;
}

Result<void> check_account_name(std::string_view account) {
    if (account.empty()) return invalid("empty account name");
    if (account.size() > kMaxAccountName) return invalid("account name too long");
    for (char c : account) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return invalid("account name contains a control character or space");
    }
    return {};
}

Result<std::vector<std::vector<std::string>>> normalize_batch_flags(std::span<const NewMessage> batch) {
    std::vector<std::vector<std::string>> flags;
    flags.reserve(batch.size());
    for (const auto& m : batch) {
        auto f = normalize_flags(m.flags);
        if (!f) return std::unexpected(f.error());
        flags.push_back(std::move(*f));
    }
    return flags;
}

Result<std::vector<std::string>> normalize_flags(std::vector<std::string> flags) {
    for (auto& f : flags) {
        std::string_view atom = f;
        bool system = !atom.empty() && atom.front() == '\\';
        if (system) atom.remove_prefix(1);
        if (atom.empty() || !std::all_of(atom.begin(), atom.end(), atom_char)) {
            return invalid("invalid flag: " + f);
        }
        if (system) {
            if (iequals(f, "\\Recent")) return invalid("\\Recent cannot be stored");
            for (auto sf : kSystemFlags) {
                if (iequals(f, sf)) f = sf;  // flags compare case-insensitively; keep one spelling
            }
        }
    }
    std::sort(flags.begin(), flags.end());
    flags.erase(std::unique(flags.begin(), flags.end()), flags.end());
    return flags;
}

std::vector<std::string> apply_flags(const std::vector<std::string>& current, FlagMode mode,
                                     const std::vector<std::string>& flags) {
    std::vector<std::string> out;
    switch (mode) {
        case FlagMode::Replace:
            return flags;
        case FlagMode::Add:
            std::set_union(current.begin(), current.end(), flags.begin(), flags.end(), std::back_inserter(out));
            return out;
        case FlagMode::Remove:
            std::set_difference(current.begin(), current.end(), flags.begin(), flags.end(), std::back_inserter(out));
            return out;
    }
    return current;
}

std::vector<std::uint32_t> sorted_uids(std::span<const std::uint32_t> uids) {
    std::vector<std::uint32_t> out(uids.begin(), uids.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool is_inferior(std::string_view name, std::string_view parent) {
    return name.size() > parent.size() + 1 && name.starts_with(parent) && name[parent.size()] == kHierarchySeparator;
}

std::string inferiors_first(std::string_view parent) {
    return std::string(parent) + kHierarchySeparator;
}

std::string inferiors_end(std::string_view parent) {
    static_assert(kHierarchySeparator + 1 == '0');
    return std::string(parent) + static_cast<char>(kHierarchySeparator + 1);
}

std::string join_flags(const std::vector<std::string>& flags) {
    std::string out;
    for (const auto& f : flags) {
        if (!out.empty()) out += ' ';
        out += f;
    }
    return out;
}

std::vector<std::string> split_flags(std::string_view joined) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < joined.size()) {
        std::size_t end = joined.find(' ', start);
        if (end == std::string_view::npos) end = joined.size();
        if (end > start) out.emplace_back(joined.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::uint32_t next_uidvalidity(std::uint32_t last, std::int64_t now) {
    std::uint64_t candidate = now > 0 ? static_cast<std::uint64_t>(now) & 0xFFFFFFFFu : 0;
    if (candidate <= last) candidate = std::uint64_t{last} + 1;
    if (candidate > 0xFFFFFFFFu || candidate == 0) candidate = 1;  // wrapped after ~136 years of seconds
    return static_cast<std::uint32_t>(candidate);
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::unexpected<Error> not_found(std::string what) {
    return fail(std::move(what), ENOENT);
}
std::unexpected<Error> invalid(std::string what) {
    return fail(std::move(what), EINVAL);
}

}  // namespace tern::store::detail
