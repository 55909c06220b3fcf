// RFC 5322 header-section parser (see header.hpp). One pass over the lines, no copies of the
// message. Must never read past the input, never treat a continuation line as a new field, and
// never grow beyond HeaderLimits.
#include "mime/header.hpp"

#include "base/ascii.hpp"

namespace tern::mime {
namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126 (printable US-ASCII except ":").
constexpr bool is_ftext(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 33 && c <= 126 && c != ':';
}

}  // namespace

std::string unfold(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        // RFC 5322 §2.2.3: "unfolding is accomplished by simply removing any CRLF that is
        // immediately followed by WSP"; a bare LF line end is treated the same way.
        if (text[i] == '\r' && i + 2 < text.size() && text[i + 1] == '\n' && is_wsp(text[i + 2])) {
            ++i;
            continue;
        }
        if (text[i] == '\n' && i + 1 < text.size() && is_wsp(text[i + 1])) continue;
        out += text[i];
    }
    return out;
}

std::string HeaderField::value() const { return unfold(raw_value); }

bool HeaderField::is(std::string_view field_name) const { return ascii::iequals(name, field_name); }

const HeaderField* HeaderSection::find(std::string_view name) const {
    for (const auto& f : fields)
        if (f.is(name)) return &f;
    return nullptr;
}

std::vector<const HeaderField*> HeaderSection::all(std::string_view name) const {
    std::vector<const HeaderField*> out;
    for (const auto& f : fields)
        if (f.is(name)) out.push_back(&f);
    return out;
}

std::size_t HeaderSection::count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& f : fields)
        if (f.is(name)) ++n;
    return n;
}

Result<HeaderSection> parse_header_section(std::string_view message, const HeaderLimits& limits) {
    HeaderSection h;
    bool in_field = false;  // the last line was part of fields.back(), so a WSP line continues it
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        std::size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
        std::size_t end = nl == std::string_view::npos ? message.size() : nl;
        if (end > pos && message[end - 1] == '\r') --end;  // CRLF (a bare LF is tolerated)
        std::string_view line = message.substr(pos, end - pos);

        if (line.empty()) {
            if (nl == std::string_view::npos) break;  // a lone trailing CR: end of input
            // RFC 5322 §2.1: the header section ends at the first empty line.
            h.has_separator = true;
            h.body_offset = next;
            return h;
        }
        if (is_wsp(line.front())) {
            // RFC 5322 §2.2.3: a folded continuation of the field above.
            if (in_field) {
                HeaderField& f = h.fields.back();
                f.length = next - f.offset;
                std::size_t value_start = static_cast<std::size_t>(f.raw_value.data() - message.data());
                f.raw_value = message.substr(value_start, end - value_start);
                if (f.length > limits.max_field_bytes)
                    return fail("header field " + std::string(f.name) + " longer than " +
                                std::to_string(limits.max_field_bytes) + " bytes");
            } else {
                h.junk_lines.push_back(pos);  // continuation of nothing (header starts with WSP)
            }
        } else {
            // field-name ":" (RFC 5322 §3.6.8), with obs WSP before the colon (§4.5).
            std::size_t colon = line.find(':');
            std::size_t name_end = colon == std::string_view::npos ? 0 : colon;
            while (name_end > 0 && is_wsp(line[name_end - 1])) --name_end;
            std::string_view name = line.substr(0, name_end);
            bool ok = !name.empty();
            for (char c : name) ok = ok && is_ftext(c);
            if (!ok) {
                h.junk_lines.push_back(pos);
                in_field = false;
            } else {
                if (h.fields.size() >= limits.max_fields)
                    return fail("more than " + std::to_string(limits.max_fields) + " header fields");
                HeaderField f;
                f.name = name;
                f.raw_value = line.substr(colon + 1);
                f.offset = pos;
                f.length = next - pos;
                if (f.length > limits.max_field_bytes)
                    return fail("header field " + std::string(f.name) + " longer than " +
                                std::to_string(limits.max_field_bytes) + " bytes");
                h.fields.push_back(f);
                in_field = true;
            }
        }
        pos = next;
    }
    h.body_offset = message.size();
    return h;
}

}  // namespace tern::mime
