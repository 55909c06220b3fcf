// SMTP reply formatting (RFC 5321 §4.2, RFC 2034 enhanced status codes). Pure.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tern::smtp {

// "250 2.1.0 Ok\r\n"; `enhanced` may be empty (greeting, EHLO). Multi-line when `text` has '\n':
// every line but the last uses "code-". CR/LF inside text never reach the wire unescaped.
std::string reply(int code, std::string_view enhanced, std::string_view text);
// A multi-line reply from separate lines, e.g. the EHLO keyword list.
std::string reply_lines(int code, const std::vector<std::string>& lines);

}  // namespace tern::smtp
