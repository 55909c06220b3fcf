// A minimal JSON writer for `--json` output (RFC 8259): objects, arrays, strings, numbers and
// booleans, written in order. Must never emit invalid JSON: strings are escaped and invalid UTF-8
// becomes U+FFFD.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::mua {

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

class JsonWriter {
public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(std::int64_t n);
    JsonWriter& value(std::uint64_t n);
    JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
    JsonWriter& value(bool b);
    JsonWriter& null();
    const std::string& str() const { return out_; }

private:
    void comma();
    std::string out_;
    bool first_ = true;     // no element yet at this level
    bool after_key_ = false;
};

}  // namespace tern::mua
