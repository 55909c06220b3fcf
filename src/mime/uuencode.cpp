// uuencode detection and decoding (see uuencode.hpp). Line by line, one pass. Must never write a
// block's name anywhere: names only ever leave through safe_filename().
#include "mime/uuencode.hpp"

#include "mime/filename.hpp"

namespace tern::mime {
namespace {

std::string_view next_line(std::string_view text, std::size_t& pos) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    return line;
}

// "begin" SP 3-4 octal digits SP name
bool parse_begin(std::string_view line, unsigned& mode, std::string_view& name) {
    if (line.substr(0, 6) != "begin ") return false;
    std::size_t i = 6;
    unsigned m = 0;
    std::size_t digits = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '7' && digits < 4) {
        m = m * 8 + static_cast<unsigned>(line[i] - '0');
        ++i;
        ++digits;
    }
    if (digits < 3 || i >= line.size() || line[i] != ' ') return false;
    name = line.substr(i + 1);
    mode = m;
    return !name.empty();
}

constexpr unsigned uu(char c) { return (static_cast<unsigned char>(c) - 0x20) & 0x3f; }  // "`" is 0

// A uuencoded line: length character, then ceil(n/3)*4 characters in 0x20..0x60.
bool looks_encoded(std::string_view line) {
    if (line.empty()) return false;
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x60) return false;
    unsigned n = uu(line[0]);
    std::size_t need = (n + 2) / 3 * 4;
    return line.size() - 1 >= need;
}

}  // namespace

std::vector<UuBlock> find_uuencoded(std::string_view text, const UuLimits& limits) {
    std::vector<UuBlock> out;
    std::size_t pos = 0;
    while (pos < text.size() && out.size() < limits.max_blocks) {
        std::size_t line_start = pos;
        std::string_view line = next_line(text, pos);
        unsigned mode = 0;
        std::string_view name;
        if (!parse_begin(line, mode, name)) continue;
        std::size_t peek = pos;
        std::string_view first = next_line(text, peek);
        if (!looks_encoded(first)) continue;  // "begin 123 ..." in prose
        UuBlock b;
        b.begin = line_start;
        b.mode = mode;
        b.raw_name = std::string(name.substr(0, 1024));
        b.name = safe_filename(b.raw_name);  // a name must never become a path outside the target dir
        bool ended = false;
        bool zero_seen = false;
        while (pos < text.size()) {
            std::string_view l = next_line(text, pos);
            if (l == "end" || (l.size() > 3 && l.substr(0, 3) == "end" && (l[3] == ' ' || l[3] == '\t'))) {
                ended = true;
                break;
            }
            if (l.empty()) continue;  // tolerated (some encoders and MUAs insert blank lines)
            unsigned n = uu(l[0]);
            if (n == 0) {  // the "`" (or " ") line before "end"
                zero_seen = true;
                continue;
            }
            if (zero_seen || !looks_encoded(l)) b.damaged = true;
            // Decode groups of four characters into three octets; the length character says how
            // many of them are real.
            std::size_t produced = 0;
            for (std::size_t i = 1; i + 3 < l.size() + 3 && produced < n; i += 4) {
                auto ch = [&](std::size_t k) { return k < l.size() ? uu(l[k]) : 0u; };
                unsigned v = ch(i) << 18 | ch(i + 1) << 12 | ch(i + 2) << 6 | ch(i + 3);
                for (int s = 16; s >= 0 && produced < n; s -= 8, ++produced) {
                    if (b.data.size() >= limits.max_bytes) {
                        b.truncated = true;
                        break;
                    }
                    b.data += static_cast<char>((v >> s) & 0xff);
                }
                if (i >= l.size()) break;
            }
        }
        if (!ended) b.damaged = true;
        b.end = pos;
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace tern::mime
