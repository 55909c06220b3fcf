// POP3 response formatting and multi-line bodies (RFC 1939 §3, §7; RFC 2449 §8). Pure. Must never
// emit a line from caller text with CR or LF in it, nor a body line starting with an unstuffed ".".
#include "proto/pop3/response.hpp"

namespace tern::pop3 {
namespace {

void append_clean(std::string& out, std::string_view text) {
    for (char c : text)
        if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
}

bool ends_with_crlf(std::string_view d) { return d.size() >= 2 && d.substr(d.size() - 2) == "\r\n"; }

}  // namespace

std::string ok(std::string_view text) {
    std::string out = "+OK";
    if (!text.empty()) {
        out.push_back(' ');
        append_clean(out, text);
    }
    out += "\r\n";
    return out;
}

std::string err(std::string_view resp_code, std::string_view text) {
    // RFC 2449 §8: "-ERR" SP "[" resp-code "]" SP text.
    std::string out = "-ERR";
    if (!resp_code.empty()) {
        out += " [";
        append_clean(out, resp_code);
        out.push_back(']');
    }
    if (!text.empty()) {
        out.push_back(' ');
        append_clean(out, text);
    }
    out += "\r\n";
    return out;
}

std::size_t multiline_size(std::string_view data) {
    std::size_t n = data.size() + 3;  // ".\r\n"
    if (!data.empty() && !ends_with_crlf(data)) n += 2;
    if (!data.empty() && data.front() == '.') ++n;
    for (std::size_t i = 0; i + 1 < data.size(); ++i)
        if (data[i] == '\n' && data[i + 1] == '.') ++n;
    return n;
}

void append_multiline(std::string& out, std::string_view data) {
    out.reserve(out.size() + multiline_size(data));
    // RFC 1939 §3: "If any line begins with the termination octet, the line is byte-stuffed by
    // pre-pending the termination octet to that line of the response."
    std::size_t start = 0;
    bool line_start = true;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (line_start && data[i] == '.') {
            out.append(data.substr(start, i - start));
            out.push_back('.');
            start = i;
        }
        line_start = data[i] == '\n';
    }
    out.append(data.substr(start));
    // The terminator must start a line of its own: add the CRLF a message may lack.
    if (!data.empty() && !ends_with_crlf(data)) out += "\r\n";
    out += ".\r\n";
}

std::string_view top_of(std::string_view message, std::uint64_t lines) {
    // Header ends at the first empty line (RFC 5322 §2.1); LF-only endings are tolerated.
    std::size_t pos = 0;
    bool found = false;
    while (pos < message.size()) {
        std::size_t eol = message.find('\n', pos);
        std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
        std::string_view line = message.substr(pos, next - pos);
        pos = next;
        if (line == "\r\n" || line == "\n") {
            found = true;
            break;
        }
    }
    if (!found) return message;
    for (std::uint64_t n = 0; n < lines && pos < message.size(); ++n) {
        std::size_t eol = message.find('\n', pos);
        pos = eol == std::string_view::npos ? message.size() : eol + 1;
    }
    return message.substr(0, pos);
}

bool valid_uidl(std::string_view uidl) {
    if (uidl.empty() || uidl.size() > 70) return false;
    for (char c : uidl)
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) return false;
    return true;
}

}  // namespace tern::pop3
