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

// Positions of the lines that start with '.', found with memchr (std::string_view::find) rather
// than byte by byte: RETR runs this over every message it sends.
template <class F>
void for_each_dot_line(std::string_view data, F&& f) {
    if (!data.empty() && data.front() == '.') f(0);
    for (std::size_t i = data.find("\n."); i != std::string_view::npos; i = data.find("\n.", i + 1)) f(i + 1);
}

std::size_t multiline_size(std::string_view data) {
    std::size_t n = data.size() + 3;  // ".\r\n"
    if (!data.empty() && !ends_with_crlf(data)) n += 2;
    for_each_dot_line(data, [&](std::size_t) { ++n; });
    return n;
}

// The "\n." positions inside `data` (not a "." at its very start), stuffed.
static void append_multiline_lines(std::string& out, std::string_view data) {
    std::size_t start = 0;
    for (std::size_t i = data.find("\n."); i != std::string_view::npos; i = data.find("\n.", i + 1)) {
        out.append(data.substr(start, i + 1 - start));
        out.push_back('.');
        start = i + 1;
    }
    out.append(data.substr(start));
}

void append_multiline(std::string& out, std::string_view data) {
    out.reserve(out.size() + multiline_size(data));
    // RFC 1939 §3: "If any line begins with the termination octet, the line is byte-stuffed by
    // pre-pending the termination octet to that line of the response."
    std::size_t start = 0;
    for_each_dot_line(data, [&](std::size_t dot) {
        out.append(data.substr(start, dot - start));
        out.push_back('.');
        start = dot;
    });
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

void MultilineStuffer::append(std::string& out, std::string_view piece) {
    if (piece.empty()) return;
    // RFC 1939 §3 byte-stuffing; the line start carried over from the previous piece.
    if (line_start_ && piece.front() == '.') out.push_back('.');
    append_multiline_lines(out, piece);
    line_start_ = piece.back() == '\n';
    before_last_ = piece.size() >= 2 ? piece[piece.size() - 2] : last_;
    last_ = piece.back();
    any_ = true;
}

void MultilineStuffer::finish(std::string& out) {
    // The terminator must start a line of its own: add the CRLF a message may lack.
    if (any_ && !(before_last_ == '\r' && last_ == '\n')) out += "\r\n";
    out += ".\r\n";
}

std::size_t TopCutter::take(std::string_view piece) {
    if (done_) return 0;
    std::size_t pos = 0;
    while (header_) {
        // The header ends at its first empty line, "\r\n" or "\n" (as top_of()).
        std::size_t eol = piece.find('\n', pos);
        if (eol == std::string_view::npos) {
            if (line_len_ == 0 && pos < piece.size()) line_cr_ = piece[pos] == '\r';
            line_len_ += piece.size() - pos;
            return piece.size();
        }
        std::size_t len = line_len_ + (eol - pos);
        bool cr_only = len == 1 && (line_len_ == 1 ? line_cr_ : piece[pos] == '\r');
        line_len_ = 0;
        line_cr_ = false;
        pos = eol + 1;
        if (len == 0 || cr_only) {
            header_ = false;
            if (left_ == 0) {
                done_ = true;
                return pos;
            }
        }
    }
    while (pos < piece.size()) {
        std::size_t eol = piece.find('\n', pos);
        if (eol == std::string_view::npos) return piece.size();
        pos = eol + 1;
        if (--left_ == 0) {
            done_ = true;
            return pos;
        }
    }
    return pos;
}

bool valid_uidl(std::string_view uidl) {
    if (uidl.empty() || uidl.size() > 70) return false;
    for (char c : uidl)
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) return false;
    return true;
}

}  // namespace tern::pop3
