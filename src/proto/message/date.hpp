// RFC 5322 §3.3 date-time, as Date: and Received: headers carry it: formatting and a lenient
// parser (§4.3 obsolete forms). Pure; must never throw or read past its input.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::message {

// `unix_seconds` in UTC: "Sat, 21 Nov 2026 11:21:27 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

// A Date: value as written: the sender's calendar date, and the time and zone when present.
struct ParsedDate {
    int year = 0, month = 0, day = 0;
    int hour = 0, minute = 0, second = 0;
    int zone_minutes = 0;   // east of UTC; unknown names count as 0 (RFC 5322 §4.3)
    bool has_time = false;
    std::int64_t unix_seconds() const;  // the instant (midnight UTC+zone when no time was given)
};
// RFC 5322 §3.3 with the §4.3 obsolete forms (2- and 3-digit years, zone names, comments
// anywhere); nullopt when there is no valid day, month and year.
std::optional<ParsedDate> parse_date(std::string_view value);

}  // namespace tern::message
