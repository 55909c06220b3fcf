// Test helpers that drive the incremental SMTP readers the way a session does, with the input cut
// into arbitrary pieces. Must never hide a difference between feeding styles: callers compare runs.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/data_reader.hpp"
#include "proto/smtp/line_reader.hpp"

namespace tern::smtp::testing {

// Everything observable about one DATA run.
struct DataOutcome {
    bool done = false;
    std::size_t consumed = 0;  // total input octets used, end marker included
    std::string data;
    bool bare_newline = false;
    bool too_big = false;
    std::uint64_t size = 0;
    bool operator==(const DataOutcome&) const = default;
};

inline DataOutcome run_data(const std::vector<std::string_view>& pieces, std::uint64_t max_size) {
    DataReader r(max_size);
    DataOutcome out;
    for (auto piece : pieces) {
        auto step = r.feed(piece);
        out.consumed += step.consumed;
        if (step.done) {
            out.done = true;
            break;
        }
        if (step.consumed != piece.size()) {  // must eat everything until the end marker
            out.consumed = static_cast<std::size_t>(-1);
            break;
        }
    }
    out.bare_newline = r.bare_newline();
    out.too_big = r.too_big();
    out.size = r.size();
    out.data = r.take();
    return out;
}

// Every way of cutting `in` that the tests try: whole, each single cut, byte at a time, and
// every pair of cuts for short inputs.
inline std::vector<std::vector<std::string_view>> splits(std::string_view in) {
    std::vector<std::vector<std::string_view>> all;
    all.push_back({in});
    for (std::size_t k = 0; k <= in.size(); ++k) all.push_back({in.substr(0, k), in.substr(k)});
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    all.push_back(bytes);
    if (in.size() <= 64)
        for (std::size_t a = 0; a <= in.size(); ++a)
            for (std::size_t b = a; b <= in.size(); ++b)
                all.push_back({in.substr(0, a), in.substr(a, b - a), in.substr(b)});
    return all;
}

// The command-line framing loop of a session, recording what it would act on:
// "L:<line>" for a line, "TOO_LONG" once per over-long line, "BARE" for a bare CR/LF line.
struct LineOutcome {
    std::vector<std::string> events;
    std::string leftover;  // buffered, not yet framed
    bool skipping = false;
    bool operator==(const LineOutcome&) const = default;
};

inline LineOutcome run_lines(const std::vector<std::string_view>& pieces, std::size_t max_len) {
    LineOutcome out;
    std::string buf;
    for (auto piece : pieces) {
        buf += piece;
        for (;;) {
            LineResult r = next_line(buf, max_len, out.skipping);
            if (r.kind == LineResult::Kind::NeedMore) {
                if (r.consumed != 0) out.events.push_back("BUG: NeedMore consumed");
                break;
            }
            if (r.consumed == 0 || r.consumed > buf.size()) {
                out.events.push_back("BUG: bad consumed");
                return out;
            }
            switch (r.kind) {
                case LineResult::Kind::Line:
                    out.events.push_back("L:" + std::string(r.line));
                    break;
                case LineResult::Kind::BareNewline:
                    out.events.push_back("BARE");
                    break;
                case LineResult::Kind::TooLong:
                    if (!out.skipping) out.events.push_back("TOO_LONG");
                    out.skipping = !r.complete;
                    break;
                default:
                    break;
            }
            buf.erase(0, r.consumed);
        }
    }
    out.leftover = buf;
    return out;
}

}  // namespace tern::smtp::testing
