// See date.hpp.
#include "proto/message/date.hpp"

#include <ctime>

namespace tern::message {

std::string rfc5322_date(std::int64_t unix_seconds) {
    std::time_t tt = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

}  // namespace tern::message
