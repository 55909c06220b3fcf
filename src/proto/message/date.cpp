// See date.hpp. Formatted by hand from std::chrono's civil calendar: no strftime, whose glibc
// version calls tzset() and so stat()s /etc/localtime on every call (once per message here), and
// whose %a/%b would follow LC_TIME, while RFC 5322 §3.3 wants the English names.
#include "proto/message/date.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "base/ascii.hpp"

namespace tern::message {

namespace {
void two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int month_number(std::string_view name) {
    static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
    if (name.size() < 3) return 0;
    for (char c : name)
        if (!is_alpha(c)) return 0;
    for (std::size_t m = 0; m < kMonths.size(); ++m)
        if (ascii::iequals(name.substr(0, 3), kMonths[m])) return static_cast<int>(m) + 1;
    return 0;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
}

int days_in_month(int y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

// RFC 5322 §4.3 obs-zone: the US zones have their offsets; "UT", "GMT" and everything else
// (military letters, unknown names) count as -0000, i.e. 0.
int zone_name_minutes(std::string_view z) {
    static constexpr std::pair<std::string_view, int> kZones[] = {
        {"EDT", -4 * 60}, {"EST", -5 * 60}, {"CDT", -5 * 60}, {"CST", -6 * 60},
        {"MDT", -6 * 60}, {"MST", -7 * 60}, {"PDT", -7 * 60}, {"PST", -8 * 60}};
    for (auto& [name, minutes] : kZones)
        if (ascii::iequals(z, name)) return minutes;
    return 0;
}

}  // namespace

std::int64_t ParsedDate::unix_seconds() const {
    using namespace std::chrono;
    auto d = sys_days{std::chrono::year{year} / std::chrono::month{static_cast<unsigned>(month)} /
                      std::chrono::day{static_cast<unsigned>(day)}};
    return d.time_since_epoch().count() * 86400LL + hour * 3600 + minute * 60 + second -
           static_cast<std::int64_t>(zone_minutes) * 60;
}

std::optional<ParsedDate> parse_date(std::string_view value) {
    // Comments (RFC 5322 §3.2.2 CFWS) become white space; nesting counted, never recursed.
    std::string text;
    int depth = 0;
    for (std::size_t i = 0; i < value.size() && text.size() < 256; ++i) {
        char c = value[i];
        if (c == '\\' && depth > 0) {
            ++i;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && depth > 0) {
            if (--depth == 0) text.push_back(' ');
        } else if (depth == 0) {
            text.push_back(c == ',' ? ' ' : c);
        }
    }
    std::vector<std::string_view> tok;
    std::string_view rest(text);
    while (!rest.empty()) {
        std::size_t b = 0;
        while (b < rest.size() && is_space(rest[b])) ++b;
        std::size_t e = b;
        while (e < rest.size() && !is_space(rest[e])) ++e;
        if (e > b) tok.push_back(rest.substr(b, e - b));
        rest.remove_prefix(e);
    }
    std::size_t i = 0;
    // [day-of-week ","]: any name of letters before the day.
    if (i < tok.size() && !tok[i].empty() && is_alpha(tok[i][0])) ++i;
    if (i + 3 > tok.size()) return std::nullopt;
    std::string_view day = tok[i], month = tok[i + 1], year = tok[i + 2];
    i += 3;
    if (!all_digits(day) || day.size() > 2 || !all_digits(year) || year.size() < 2 || year.size() > 4)
        return std::nullopt;
    ParsedDate d;
    d.month = month_number(month);
    if (d.month == 0) return std::nullopt;
    d.year = to_int(year);
    if (year.size() == 2) d.year += d.year < 50 ? 2000 : 1900;  // RFC 5322 §4.3
    else if (year.size() == 3) d.year += 1900;
    d.day = to_int(day);
    if (d.day < 1 || d.day > days_in_month(d.year, d.month)) return std::nullopt;
    // time-of-day = hour ":" minute [ ":" second ]
    if (i < tok.size()) {
        std::string_view t = tok[i];
        std::size_t c1 = t.find(':');
        std::size_t c2 = c1 == std::string_view::npos ? c1 : t.find(':', c1 + 1);
        std::string_view h = t.substr(0, c1);
        std::string_view m = c1 == std::string_view::npos ? std::string_view() : t.substr(c1 + 1, c2 - c1 - 1);
        std::string_view s = c2 == std::string_view::npos ? std::string_view() : t.substr(c2 + 1);
        if (all_digits(h) && h.size() <= 2 && all_digits(m) && m.size() == 2 &&
            (c2 == std::string_view::npos || (all_digits(s) && s.size() == 2))) {
            d.hour = to_int(h);
            d.minute = to_int(m);
            d.second = c2 == std::string_view::npos ? 0 : to_int(s);
            if (d.hour > 23 || d.minute > 59 || d.second > 60) return std::nullopt;
            d.has_time = true;
            ++i;
            if (i < tok.size()) {
                std::string_view z = tok[i];
                if ((z[0] == '+' || z[0] == '-') && z.size() == 5 && all_digits(z.substr(1))) {
                    int hh = to_int(z.substr(1, 2)), mm = to_int(z.substr(3, 2));
                    if (mm <= 59) d.zone_minutes = (z[0] == '-' ? -1 : 1) * (hh * 60 + mm);
                } else {
                    d.zone_minutes = zone_name_minutes(z);
                }
            }
        }
    }
    return d;
}


std::string rfc5322_date(std::int64_t unix_seconds) {
    using namespace std::chrono;
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const sys_seconds t{seconds{unix_seconds}};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    std::string out;
    out.reserve(32);
    out += kDays[weekday{day}.c_encoding()];
    out += ", ";
    two(out, static_cast<unsigned>(ymd.day()));
    out += ' ';
    out += kMonths[static_cast<unsigned>(ymd.month()) - 1];
    out += ' ';
    out += std::to_string(static_cast<int>(ymd.year()));
    out += ' ';
    two(out, static_cast<unsigned>(hms.hours().count()));
    out += ':';
    two(out, static_cast<unsigned>(hms.minutes().count()));
    out += ':';
    two(out, static_cast<unsigned>(hms.seconds().count()));
    out += " +0000";
    return out;
}

}  // namespace tern::message
