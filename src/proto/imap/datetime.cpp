// IMAP date and date-time parsing and formatting (RFC 9051 §9). Must never call localtime(),
// strptime() or anything locale-dependent.
#include "proto/imap/datetime.hpp"

#include <cstdio>

#include "base/ascii.hpp"

namespace tern::imap {
namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool digits(std::string_view s, std::size_t n, int& out) {
    if (s.size() != n) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    return true;
}

int month_of(std::string_view s) {
    for (int i = 0; i < 12; ++i)
        if (ascii::iequals(s, kMonths[i])) return i + 1;
    return 0;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in(int y, int m) {
    static constexpr int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

// "dd-Mon-yyyy" with the day already split off.
std::optional<Date> finish_date(int day, std::string_view rest) {
    // rest = "-Mon-yyyy"
    if (rest.size() != 9 || rest[0] != '-' || rest[4] != '-') return std::nullopt;
    Date d;
    d.day = day;
    d.month = month_of(rest.substr(1, 3));
    if (!d.month || !digits(rest.substr(5), 4, d.year)) return std::nullopt;
    if (d.day < 1 || d.day > days_in(d.year, d.month)) return std::nullopt;
    return d;
}

}  // namespace

std::int64_t days_from_civil(int y, int m, int d) {  // H. Hinnant's algorithm
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<Date> parse_date(std::string_view s) {
    // RFC 9051 §9 date-day = 1*2DIGIT
    std::size_t dash = s.find('-');
    int day = 0;
    if (dash == std::string_view::npos || dash == 0 || dash > 2 || !digits(s.substr(0, dash), dash, day))
        return std::nullopt;
    return finish_date(day, s.substr(dash));
}

std::optional<DateTime> parse_date_time(std::string_view s) {
    // "dd-Mon-yyyy hh:mm:ss +zzzz", date-day-fixed = (SP DIGIT) / 2DIGIT: always 26 octets.
    if (s.size() != 26 || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ') return std::nullopt;
    int day = 0;
    std::string_view dd = s.substr(0, 2);
    if (dd[0] == ' ') dd.remove_prefix(1);
    if (!digits(dd, dd.size(), day)) return std::nullopt;
    auto date = finish_date(day, s.substr(2, 9));
    if (!date) return std::nullopt;
    DateTime t;
    t.date = *date;
    int zone = 0;
    if (!digits(s.substr(12, 2), 2, t.hour) || !digits(s.substr(15, 2), 2, t.minute) ||
        !digits(s.substr(18, 2), 2, t.second) || !digits(s.substr(22, 4), 4, zone))
        return std::nullopt;
    if (s[21] != '+' && s[21] != '-') return std::nullopt;
    // RFC 9051 §9 time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; a leap second (60) is let through.
    if (t.hour > 23 || t.minute > 59 || t.second > 60 || zone % 100 > 59) return std::nullopt;
    t.zone_minutes = (zone / 100 * 60 + zone % 100) * (s[21] == '-' ? -1 : 1);
    return t;
}

std::int64_t DateTime::unix_seconds() const {
    return days_from_civil(date.year, date.month, date.day) * 86400 + hour * 3600 + minute * 60 + second -
           zone_minutes * 60;
}

std::string format_date_time(std::int64_t unix_seconds, int zone_minutes) {
    std::int64_t t = unix_seconds + zone_minutes * 60;
    std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    std::int64_t secs = t - days * 86400;
    // civil_from_days (H. Hinnant)
    std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
    int zone = zone_minutes < 0 ? -zone_minutes : zone_minutes;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02u-%s-%04lld %02d:%02d:%02d %c%02d%02d", d, kMonths[m - 1],
                  static_cast<long long>(y), static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+', zone / 60, zone % 60);
    return buf;
}

}  // namespace tern::imap
