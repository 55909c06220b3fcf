// safe_filename (see filename.hpp). A name must never become a path outside the target dir: every
// separator is a cut, and what is left can be neither "." nor ".." nor start with a dot.
#include "mime/filename.hpp"

#include "mime/charset.hpp"
#include "mime/part_tree.hpp"

namespace tern::mime {

std::string safe_filename(std::string_view name, std::string_view fallback) {
    // Last component: "../../etc/passwd" -> "passwd", "C:\\x\\y.exe" -> "y.exe".
    std::size_t cut = name.find_last_of("/\\");
    if (cut != std::string_view::npos) name.remove_prefix(cut + 1);
    std::string out;
    for (std::size_t i = 0; i < name.size();) {
        std::size_t n = utf8_len(name, i);
        if (n == 0) {  // not UTF-8: dropped
            ++i;
            continue;
        }
        auto c = static_cast<unsigned char>(name[i]);
        bool control = n == 1 ? (c < 0x20 || c == 0x7f)
                              : (n == 2 && c == 0xc2 && static_cast<unsigned char>(name[i + 1]) < 0xa0);  // C1
        if (!control) out.append(name.substr(i, n));
        i += n;
    }
    auto ws = [](char c) { return c == ' ' || c == '\t'; };
    while (!out.empty() && ws(out.back())) out.pop_back();
    std::size_t b = 0;
    while (b < out.size() && ws(out[b])) ++b;
    out.erase(0, b);
    // A leading dot would make "..", "." or a hidden file; ':' is harmless on POSIX but not on
    // the Windows/macOS volumes a user may save to, so it goes too.
    for (char& c : out)
        if (c == ':') c = '_';
    if (!out.empty() && out.front() == '.') out.front() = '_';
    if (out.size() > 255) {
        std::size_t e = 255;
        while (e > 0 && (static_cast<unsigned char>(out[e]) & 0xc0) == 0x80) --e;
        out.resize(e);
    }
    if (out.empty()) return std::string(fallback);
    return out;
}

std::optional<std::string> part_filename(const MimePart& part) {
    if (part.disposition)
        if (const Param* p = part.disposition->params.find("filename"); p && !p->value.empty()) return param_utf8(*p);
    if (const Param* p = part.content_type.params.find("name"); p && !p->value.empty()) return param_utf8(*p);
    return std::nullopt;
}

}  // namespace tern::mime
