// Test helpers that drive imap::CommandReader the way a session does, with the input cut into
// pieces, and render each event as text. Must never hide a difference between feeding styles.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/reader.hpp"

namespace tern::imap::testing {

inline std::string render(const Arg& a) {
    switch (a.kind) {
        case Arg::Kind::Atom: return a.text;
        case Arg::Kind::Quoted: return "\"" + a.text + "\"";
        case Arg::Kind::Literal: return "{" + a.text + "}";
        case Arg::Kind::Literal8: return "~{" + a.text + "}";
        case Arg::Kind::List: {
            std::string s = "(";
            for (std::size_t i = 0; i < a.list.size(); ++i) s += (i ? " " : "") + render(a.list[i]);
            return s + ")";
        }
    }
    return "?";
}

inline std::string render(const Event& e) {
    if (auto* c = std::get_if<Command>(&e)) {
        std::string s = "CMD " + c->tag + " " + c->name;
        for (auto& a : c->args) s += " " + render(a);
        return s;
    }
    if (auto* l = std::get_if<NeedLiteral>(&e))
        return "LIT " + std::to_string(l->size) + (l->synchronizing ? "" : "+");
    if (auto* r = std::get_if<ReadError>(&e))
        return "BAD [" + r->tag + "] " + r->text + (r->close ? " (close)" : "");
    if (auto* l = std::get_if<Line>(&e)) return "LINE " + l->text;
    return "MORE";
}

// Feeds the pieces in order, keeping unconsumed input as a session does; records every event
// except NeedMore. `raw_after` lists command names after which the next line is raw (IDLE).
inline std::vector<std::string> run(const std::vector<std::string_view>& pieces, Limits limits = {},
                                    std::vector<std::string> raw_after = {}) {
    CommandReader r(limits);
    std::vector<std::string> events;
    std::string buf;
    for (auto piece : pieces) {
        buf += piece;
        for (;;) {
            Step s = r.feed(buf);
            if (s.consumed > buf.size()) {
                events.push_back("BUG: consumed too much");
                return events;
            }
            buf.erase(0, s.consumed);
            if (std::holds_alternative<NeedMore>(s.event)) {
                if (!buf.empty()) events.push_back("BUG: NeedMore left input");
                break;
            }
            events.push_back(render(s.event));
            if (auto* c = std::get_if<Command>(&s.event))
                for (auto& n : raw_after)
                    if (c->name == n) r.expect_line();
            if (auto* e = std::get_if<ReadError>(&s.event); e && e->close) return events;
        }
    }
    if (!buf.empty()) events.push_back("BUG: leftover");
    return events;
}

inline std::vector<std::vector<std::string_view>> splits(std::string_view in) {
    std::vector<std::vector<std::string_view>> all;
    all.push_back({in});
    for (std::size_t k = 0; k <= in.size(); ++k) all.push_back({in.substr(0, k), in.substr(k)});
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    all.push_back(bytes);
    return all;
}

}  // namespace tern::imap::testing
