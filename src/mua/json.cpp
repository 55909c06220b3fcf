// JSON writer (see json.hpp).
#include "mua/json.hpp"

#include <cstdio>

#include "mime/charset.hpp"

namespace tern::mua {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20 || c == 0x7f) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        out += buf;
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence is copied; anything else becomes U+FFFD.
        if (std::size_t len = mime::utf8_len(s, i)) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    out += '"';
    return out;
}

void JsonWriter::comma() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_) out_ += ',';
    first_ = false;
}

JsonWriter& JsonWriter::begin_object() {
    comma();
    out_ += '{';
    first_ = true;
    return *this;
}
JsonWriter& JsonWriter::end_object() {
    out_ += '}';
    first_ = false;
    return *this;
}
JsonWriter& JsonWriter::begin_array() {
    comma();
    out_ += '[';
    first_ = true;
    return *this;
}
JsonWriter& JsonWriter::end_array() {
    out_ += ']';
    first_ = false;
    return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
    comma();
    out_ += json_string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
}
JsonWriter& JsonWriter::value(std::string_view s) {
    comma();
    out_ += json_string(s);
    return *this;
}
JsonWriter& JsonWriter::value(std::int64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
}
JsonWriter& JsonWriter::value(std::uint64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
}
JsonWriter& JsonWriter::value(bool b) {
    comma();
    out_ += b ? "true" : "false";
    return *this;
}
JsonWriter& JsonWriter::null() {
    comma();
    out_ += "null";
    return *this;
}

}  // namespace tern::mua
