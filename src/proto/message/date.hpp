// RFC 5322 §3.3 date-time, as Date: and Received: headers carry it. Pure.
#pragma once
#include <cstdint>
#include <string>

namespace tern::message {

// `unix_seconds` in UTC: "Sat, 21 Nov 2026 11:21:27 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace tern::message
