// libFuzzer target: the IMAP command reader (proto/imap/reader.hpp) on arbitrary bytes, fed whole
// and cut at fuzzer-chosen points, then each command through the grammar; and the same bytes as a
// sequence set. Must never crash, never consume more than it was given, and never give different
// events for different cuts.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.hpp"
#include "proto/imap/reader.hpp"

using namespace tern::imap;

static void check(bool ok) {
    if (!ok) std::abort();
}

static std::size_t arg_count(const std::vector<Arg>& args) {
    std::size_t n = args.size();
    for (auto& a : args) n += arg_count(a.list);
    return n;
}

// Runs the reader over `pieces`; returns a transcript of events.
static std::vector<std::string> run(const std::vector<std::string_view>& pieces, const Limits& l) {
    CommandReader r(l);
    std::vector<std::string> out;
    std::string buf;
    for (auto piece : pieces) {
        buf += piece;
        for (;;) {
            Step s = r.feed(buf);
            check(s.consumed <= buf.size());
            buf.erase(0, s.consumed);
            if (std::holds_alternative<NeedMore>(s.event)) {
                check(buf.empty());
                break;
            }
            if (auto* c = std::get_if<Command>(&s.event)) {
                check(!c->tag.empty() && !c->name.empty());
                check(arg_count(c->args) <= l.max_args);
                auto parsed = parse_command(*c);
                if (!parsed) check(!parsed.error().empty());
                out.push_back("C" + c->tag + " " + c->name + " " + std::to_string(arg_count(c->args)));
                if (c->name == "IDLE") r.expect_line();
            } else if (auto* e = std::get_if<ReadError>(&s.event)) {
                check(!e->text.empty());
                out.push_back("E" + e->tag + e->text);
                if (e->close) return out;
            } else if (auto* n = std::get_if<NeedLiteral>(&s.event)) {
                out.push_back("L" + std::to_string(n->size));
            } else if (auto* ln = std::get_if<Line>(&s.event)) {
                check(ln->text.size() <= l.max_line);
                out.push_back("R" + ln->text);
            }
        }
    }
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    Limits l;
    l.max_line = 256;
    l.max_literal = 64;
    l.max_append_literal = 512;
    l.max_command_literals = 1024;
    l.max_depth = 4;
    l.max_args = 64;
    l.literal_plus = (data[0] & 1) != 0;
    std::size_t cut = data[1];
    std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
    // Sequence sets: what parses prints back to the same set ("1:1" prints as "1"), and
    // membership agrees with expand().
    if (auto set = parse_sequence_set(in, 64)) {
        auto printed = parse_sequence_set(format_sequence_set(*set), 64);
        check(printed && *printed == *set);
        bool too_many = false;
        auto nums = expand(*set, 50, 100, &too_many);
        check(!too_many);
        for (std::uint32_t n = 1; n <= 50; ++n)
            check(set->contains(n, 50) == std::binary_search(nums.begin(), nums.end(), n) || set->saved);
        if (!nums.empty()) {  // ranges printed from the members give the same members back
            auto again = parse_sequence_set(compress_numbers(nums));
            check(again && expand(*again, 50, 100) == nums);
        }
    }
    auto whole = run({in}, l);
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < in.size();) {
        std::size_t n = 1 + (cut + i) % 7;
        pieces.push_back(in.substr(i, n));
        i += n;
    }
    check(run(pieces, l) == whole);
    return 0;
}
