// libFuzzer target: DataReader fed in pieces chosen by the input must equal feeding it whole.
// Must never crash, and never end on anything but CRLF "." CRLF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/data_reader.hpp"

using namespace tern::smtp;

static void check(bool ok) {
    if (!ok) std::abort();
}

struct Outcome {
    bool done = false;
    std::size_t consumed = 0;
    std::string data;
    bool bare = false, too_big = false;
    std::uint64_t size = 0;
    bool operator==(const Outcome&) const = default;
};

static Outcome run(std::string_view in, const std::vector<std::size_t>& cuts, std::uint64_t max) {
    DataReader r(max);
    Outcome o;
    std::size_t pos = 0;
    std::size_t ci = 0;
    while (pos < in.size()) {
        std::size_t len = ci < cuts.size() ? cuts[ci++] : in.size() - pos;
        if (len > in.size() - pos) len = in.size() - pos;
        auto step = r.feed(in.substr(pos, len));
        o.consumed += step.consumed;
        if (step.done) {
            o.done = true;
            break;
        }
        check(step.consumed == len);
        pos += len;
    }
    o.bare = r.bare_newline();
    o.too_big = r.too_big();
    o.size = r.size();
    o.data = r.take();
    return o;
}

// A deliberately different, non-incremental decoder: find the first CRLF "." CRLF (the start counts
// as after a CRLF), then unstuff each CRLF-delimited line whose leading dot is followed by an octet
// other than CR or LF.
static std::string reference(std::string_view in) {
    std::string framed = "\r\n" + std::string(in);
    std::size_t end = framed.find("\r\n.\r\n");
    std::string content = framed.substr(2, end);  // keeps the final CRLF of the last line
    std::string out;
    std::size_t pos = 0;
    while (pos < content.size()) {
        std::size_t eol = content.find("\r\n", pos);
        std::size_t stop = eol == std::string::npos ? content.size() : eol + 2;
        std::string_view line = std::string_view(content).substr(pos, stop - pos);
        if (line.size() >= 2 && line[0] == '.' && line[1] != '\r' && line[1] != '\n') line.remove_prefix(1);
        out += line;
        pos = stop;
    }
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    // First byte: maximum size; second: seed for the piece lengths.
    std::uint64_t max = data[0] < 200 ? data[0] : (1u << 20);
    unsigned seed = data[1];
    std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

    std::vector<std::size_t> cuts;
    for (std::size_t total = 0; total < in.size();) {
        seed = seed * 1103515245u + 12345u;
        std::size_t len = (seed >> 16) % 9;  // 0..8: includes empty feeds
        cuts.push_back(len);
        total += len;
    }
    Outcome whole = run(in, {}, max);
    Outcome pieces = run(in, cuts, max);
    std::vector<std::size_t> ones(in.size(), 1);
    Outcome bytes = run(in, ones, max);
    check(whole == pieces);
    check(whole == bytes);
    check(whole.data.size() <= max);
    check(whole.too_big == (whole.size > max));
    if (!whole.too_big) check(whole.data.size() == whole.size);
    if (whole.done) {
        // It ended exactly at a CRLF "." CRLF, or at ".\r\n" as the very first line.
        std::string_view used = in.substr(0, whole.consumed);
        check(used.size() >= 3 && used.substr(used.size() - 3) == ".\r\n");
        check(used.size() == 3 || used.substr(used.size() - 5, 2) == "\r\n");
        if (!whole.too_big && whole.size > 0) check(whole.data.substr(whole.data.size() - 2) == "\r\n");
    } else {
        check(whole.consumed == in.size());
    }
    // bare_newline() agrees with has_bare_newline() on what was consumed; a trailing CR is still
    // undecided when the data has not ended.
    std::string_view seen = in.substr(0, whole.consumed);
    if (!whole.done && !seen.empty() && seen.back() == '\r') seen.remove_suffix(1);
    check(whole.bare == has_bare_newline(seen));
    if (whole.done && !whole.too_big) check(whole.data == reference(in));
    return 0;
}
