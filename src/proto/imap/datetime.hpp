// IMAP dates (RFC 9051 §9 date, date-time): SEARCH's "1-Feb-2024" and APPEND's
// "01-Feb-2024 10:00:00 +0100". Pure; must never consult the local time zone or locale.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::imap {

struct Date {
    int year = 0, month = 0, day = 0;  // month 1-12; the day is checked against the month
    bool operator==(const Date&) const = default;
};

struct DateTime {
    Date date;
    int hour = 0, minute = 0, second = 0;
    int zone_minutes = 0;  // east of UTC: "+0130" = 90
    bool operator==(const DateTime&) const = default;
    std::int64_t unix_seconds() const;  // the instant in UTC
};

// RFC 9051 §9 date-text (without quotes: the reader already removed them): date-day "-"
// date-month "-" date-year, the day 1 or 2 digits, the month's English abbreviation in any case.
std::optional<Date> parse_date(std::string_view s);
// RFC 9051 §9 date-time content: date-day-fixed "-" date-month "-" date-year SP time SP zone.
std::optional<DateTime> parse_date_time(std::string_view s);

// For responses: "01-Feb-2024 10:00:00 +0100" (INTERNALDATE, without the quotes).
std::string format_date_time(std::int64_t unix_seconds, int zone_minutes = 0);

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(int y, int m, int d);

}  // namespace tern::imap
