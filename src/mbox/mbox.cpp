// mboxrd reading and writing (RFC 4155 for the "From " separator and the application/mbox type;
// qmail mbox(5) "mboxrd" for the quoting rule). Pure stream code: no files, no clocks, no locale.
// Must never split a message on a line that is not a separator, and never drop or alter a byte of
// a message read from a canonical file (see write_entry in mbox.hpp for what "canonical" means).
#include "mbox/mbox.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <vector>

namespace tern::mbox {
namespace {

constexpr std::string_view kFrom = "From ";

bool starts_with_from(std::string_view line) { return line.starts_with(kFrom); }

// mbox(5) mboxrd: a line matching ^>*From  is quoted on write by prepending one '>'.
bool needs_quote(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == '>') ++i;
    return line.substr(i).starts_with(kFrom);
}

// mbox(5) mboxrd: a line matching ^>+From  is unquoted on read by removing one '>'.
bool is_quoted(std::string_view line) { return line.starts_with('>') && needs_quote(line); }

// ---- civil calendar (proleptic Gregorian, H. Hinnant's days_from_civil / civil_from_days) ----

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil { std::int64_t y; unsigned m; unsigned d; };

Civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr std::array<const char*, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Dates are kept within years 0..9999 so that format and parse are exact inverses.
const std::int64_t kMinDate = days_from_civil(0, 1, 1) * 86400;
const std::int64_t kMaxDate = days_from_civil(9999, 12, 31) * 86400 + 86399;

std::int64_t clamp_date(std::int64_t t) { return t < kMinDate ? kMinDate : (t > kMaxDate ? kMaxDate : t); }

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Non-negative decimal of 1..max_digits digits.
std::optional<int> parse_uint(std::string_view s, std::size_t max_digits) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

std::vector<std::string_view> split_blanks(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

// A zone token: "+hhmm"/"-hhmm" (seconds east of UTC) or UTC/GMT/UT/Z.
std::optional<std::int64_t> parse_zone(std::string_view t) {
    if (t == "UTC" || t == "GMT" || t == "UT" || t == "Z") return 0;
    if (t.size() == 5 && (t[0] == '+' || t[0] == '-')) {
        auto hh = parse_uint(t.substr(1, 2), 2);
        auto mm = parse_uint(t.substr(3, 2), 2);
        if (!hh || !mm || *hh > 23 || *mm > 59) return std::nullopt;
        std::int64_t off = *hh * 3600 + *mm * 60;
        return t[0] == '-' ? -off : off;
    }
    return std::nullopt;
}

template <std::size_t N>
std::optional<unsigned> index_of(const std::array<const char*, N>& names, std::string_view t) {
    for (std::size_t i = 0; i < N; ++i)
        if (t == names[i]) return static_cast<unsigned>(i);
    return std::nullopt;
}

// What follows "From " on a separator line: the envelope sender (first blank-delimited token;
// "MAILER-DAEMON" if there is none) and the date (0 if it is missing or unreadable: hand-made
// files often carry just "From someone").
void parse_from_line(std::string_view rest, Entry& e) {
    std::size_t end = 0;
    while (end < rest.size() && rest[end] != ' ' && rest[end] != '\t' && rest[end] != '\r') ++end;
    e.sender = end == 0 ? std::string("MAILER-DAEMON") : std::string(rest.substr(0, end));
    e.date = parse_from_line_date(rest.substr(end)).value_or(0);
}

}  // namespace

std::string from_line_date(std::int64_t unix_seconds) {
    const std::int64_t t = clamp_date(unix_seconds);
    std::int64_t days = t / 86400;
    std::int64_t secs = t % 86400;
    if (secs < 0) { secs += 86400; --days; }
    const Civil c = civil_from_days(days);
    const std::int64_t wd = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
    // asctime(3): "%.3s %.3s%3d %.2d:%.2d:%.2d %d"
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %s%3u %02d:%02d:%02d %lld", kWeekdays[static_cast<std::size_t>(wd)],
                  kMonths[c.m - 1], c.d, static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60), static_cast<long long>(c.y));
    return buf;
}

// Accepts asctime form "Www Mmm dd hh:mm:ss yyyy" with any run of blanks between fields (the day
// may be space- or zero-padded), plus an optional zone ("+0200", "UTC") before or after the year,
// as some writers add one. The weekday must be a valid name but is not checked against the date.
std::optional<std::int64_t> parse_from_line_date(std::string_view text) {
    auto tok = split_blanks(text);
    if (tok.size() != 5 && tok.size() != 6) return std::nullopt;
    std::int64_t zone = 0;
    if (tok.size() == 6) {
        // The zone is either tok[4] (before the year) or tok[5] (after it).
        std::size_t zi = parse_zone(tok[5]) ? 5 : 4;
        auto z = parse_zone(tok[zi]);
        if (!z) return std::nullopt;
        zone = *z;
        tok.erase(tok.begin() + static_cast<std::ptrdiff_t>(zi));
    }
    if (!index_of(kWeekdays, tok[0])) return std::nullopt;
    auto mon = index_of(kMonths, tok[1]);
    auto day = parse_uint(tok[2], 2);
    auto year = parse_uint(tok[4], 4);
    const std::string_view hms = tok[3];
    if (!mon || !day || !year || hms.size() != 8 || hms[2] != ':' || hms[5] != ':') return std::nullopt;
    auto hh = parse_uint(hms.substr(0, 2), 2);
    auto mm = parse_uint(hms.substr(3, 2), 2);
    auto ss = parse_uint(hms.substr(6, 2), 2);
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
    const unsigned m = *mon + 1;
    if (*day < 1 || static_cast<unsigned>(*day) > days_in_month(*year, m)) return std::nullopt;
    const std::int64_t t = days_from_civil(*year, m, static_cast<unsigned>(*day)) * 86400 + *hh * 3600 +
                           *mm * 60 + *ss - zone;
    return clamp_date(t);
}

// Line handling: a line ends at LF; any CRs right before the LF are part of the line end (so CRLF
// files read like LF files). A last line without LF is read as if it had one.
Result<std::optional<Entry>> Reader::next() {
    std::string line;
    auto read_line = [&]() -> bool {
        if (!std::getline(in_, line)) return false;
        while (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
    };

    if (!started_) {
        started_ = true;
        // Leading empty lines are tolerated; anything else before the first separator is not mbox.
        bool got = false;
        while ((got = read_line()) && line.empty()) {}
        if (in_.bad()) return fail("mbox: read error", EIO);
        if (!got) return std::optional<Entry>{};  // empty input: no entries
        if (!starts_with_from(line)) return fail("mbox: input does not start with a \"From \" line");
        pending_from_ = line;
    }
    if (!pending_from_) return std::optional<Entry>{};

    Entry e;
    parse_from_line(std::string_view(*pending_from_).substr(kFrom.size()), e);
    pending_from_.reset();

    bool prev_empty = false;  // the line before is empty: a "From " line here is a separator
    bool any = false;
    while (read_line()) {
        if (prev_empty && starts_with_from(line)) {
            pending_from_ = std::move(line);
            break;
        }
        std::string_view body = line;
        if (is_quoted(body)) body.remove_prefix(1);
        e.message.append(body);
        e.message.append("\r\n");
        prev_empty = line.empty();
        any = true;
    }
    if (in_.bad()) return fail("mbox: read error", EIO);
    // The empty line that ends every entry (before the next separator or at end of file) is
    // format, not message (RFC 4155 §2 / mbox(5)). A non-canonical file without it loses nothing.
    if (any && prev_empty) e.message.resize(e.message.size() - 2);
    return std::optional<Entry>{std::move(e)};
}

void write_entry(std::ostream& out, const Entry& entry) {
    std::string sender = entry.sender.empty() ? std::string("MAILER-DAEMON") : entry.sender;
    for (char& c : sender)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';  // keep the separator one token
    out << "From " << sender << ' ' << from_line_date(entry.date) << '\n';

    std::string_view rest = entry.message;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (nl != std::string_view::npos && line.ends_with('\r')) line.remove_suffix(1);  // CRLF -> LF
        if (needs_quote(line)) out << '>';
        out << line << '\n';  // a last line without a line end gets one: mbox lines end in LF
    }
    out << '\n';
}

}  // namespace tern::mbox
