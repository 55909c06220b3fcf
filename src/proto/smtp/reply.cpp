// SMTP reply formatting (RFC 5321 §4.2 Reply-line, RFC 2034 §4 enhanced codes on every line). Pure.
// Must never put a CR or LF from caller text on the wire: text lines are split on LF and CRs dropped,
// so every emitted line ends in exactly one CRLF.
#include "proto/smtp/reply.hpp"

namespace tern::smtp {

namespace {

// Splits on LF, drops CR (and NUL) from each piece; a single trailing LF adds no empty line.
std::vector<std::string> split_text(std::string_view text) {
    std::vector<std::string> lines;
    std::string cur;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n') {
            lines.push_back(std::move(cur));
            cur.clear();
        } else if (c != '\r' && c != '\0') {
            cur.push_back(c);
        }
    }
    if (!cur.empty() || lines.empty() || text.back() != '\n') lines.push_back(std::move(cur));
    return lines;
}

// RFC 5321 §4.2: Reply-code [ SP textstring ] CRLF, with "-" instead of SP on all but the last line.
void append_line(std::string& out, int code, bool last, std::string_view enhanced, std::string_view text) {
    out += std::to_string(code);
    if (enhanced.empty() && text.empty()) {
        if (!last) out.push_back('-');
    } else {
        out.push_back(last ? ' ' : '-');
        out += enhanced;
        if (!enhanced.empty() && !text.empty()) out.push_back(' ');
        out += text;
    }
    out += "\r\n";
}

std::string format(int code, std::string_view enhanced, const std::vector<std::string>& lines) {
    std::string clean_enhanced;
    for (char c : enhanced)
        if (c != '\r' && c != '\n' && c != '\0') clean_enhanced.push_back(c);
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        append_line(out, code, i + 1 == lines.size(), clean_enhanced, lines[i]);
    return out;
}

}  // namespace

std::string reply(int code, std::string_view enhanced, std::string_view text) {
    // Nearly every reply is one clean line: build it directly (a reply is written for every
    // command, so the general path's vectors and copies showed up in profiles).
    constexpr std::string_view kUnsafe("\r\n\0", 3);
    if (text.find_first_of(kUnsafe) == std::string_view::npos &&
        enhanced.find_first_of(kUnsafe) == std::string_view::npos) {
        std::string out;
        out.reserve(6 + enhanced.size() + text.size());
        append_line(out, code, true, enhanced, text);
        return out;
    }
    return format(code, enhanced, split_text(text));
}

std::string reply_lines(int code, const std::vector<std::string>& lines) {
    std::vector<std::string> all;
    for (const auto& l : lines)
        for (auto& piece : split_text(l)) all.push_back(std::move(piece));
    if (all.empty()) all.emplace_back();
    return format(code, {}, all);
}

}  // namespace tern::smtp
