// Parser for SMTP replies as a client receives them (RFC 5321 §4.2, RFC 2034). Pure, bounded.
// Must never accept lines of different codes as one reply or a code outside 2xx..5xx.
#include "client/smtp/reply.hpp"

namespace tern::client::smtp {

std::string Reply::text() const {
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i) out += '\n';
        out += lines[i];
    }
    return out;
}

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 2034 §4: status-code = class "." subject "." detail; class is 2, 4 or 5 and must match the
// reply's first digit; subject and detail are 1 to 3 digits. Returns its length or 0.
std::size_t enhanced_length(std::string_view t, int code) {
    if (t.size() < 5 || t[0] != static_cast<char>('0' + code / 100) || t[1] != '.') return 0;
    std::size_t i = 2, n = 0;
    while (i < t.size() && digit(t[i]) && n < 4) ++i, ++n;
    if (n == 0 || n > 3 || i >= t.size() || t[i] != '.') return 0;
    ++i;
    n = 0;
    while (i < t.size() && digit(t[i]) && n < 4) ++i, ++n;
    if (n == 0 || n > 3) return 0;
    if (i < t.size() && t[i] != ' ') return 0;
    return i;
}

ReplyParse error(std::string why) {
    ReplyParse p;
    p.status = ReplyParse::Status::Error;
    p.error = std::move(why);
    return p;
}

}  // namespace

ReplyParse parse_reply(std::string_view input) {
    ReplyParse out;
    std::size_t pos = 0;
    int code = 0;
    for (std::size_t count = 0;; ++count) {
        if (count >= kMaxReplyLines) return error("reply has too many lines");
        const std::size_t lf = input.find('\n', pos);
        if (lf == std::string_view::npos) {
            if (input.size() - pos >= kMaxReplyLine) return error("reply line too long");
            return out;  // Incomplete
        }
        if (lf + 1 - pos > kMaxReplyLine) return error("reply line too long");
        std::string_view line = input.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = lf + 1;
        // RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
        //                             Reply-code [ SP textstring ] CRLF
        if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]))
            return error("reply line does not start with a 3-digit code");
        const int c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (line[0] < '2' || line[0] > '5') return error("reply code out of range");
        if (count == 0) code = c;
        else if (c != code) return error("multiline reply changes its code");
        bool last = true;
        if (line.size() > 3) {
            if (line[3] == '-') last = false;
            else if (line[3] != ' ') return error("reply code not followed by space or hyphen");
        }
        std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
        for (char ch : text)
            if (ch == '\0' || ch == '\r') return error("control character in reply text");
        // RFC 2034 §4: every line of a reply carries the code; the first one is kept.
        if (const std::size_t n = enhanced_length(text, code); n != 0) {
            if (count == 0) out.reply.enhanced = std::string(text.substr(0, n));
            text.remove_prefix(n);
            if (!text.empty()) text.remove_prefix(1);
        }
        out.reply.lines.emplace_back(text);
        if (last) {
            out.reply.code = code;
            out.consumed = pos;
            out.status = ReplyParse::Status::Complete;
            return out;
        }
    }
}

}  // namespace tern::client::smtp
