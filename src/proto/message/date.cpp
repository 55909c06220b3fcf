// See date.hpp. Formatted by hand from std::chrono's civil calendar: no strftime, whose glibc
// version calls tzset() and so stat()s /etc/localtime on every call (once per message here), and
// whose %a/%b would follow LC_TIME, while RFC 5322 §3.3 wants the English names.
#include "proto/message/date.hpp"

#include <chrono>

namespace tern::message {

namespace {
void two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}
}  // namespace

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
