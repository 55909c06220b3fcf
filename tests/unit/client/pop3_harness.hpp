// Test harness for the POP3 client session: plays a scripted server against it with no socket,
// feeding each scripted turn in pieces of a chosen size (1 = byte by byte), collecting what the
// client writes, its outcomes and the message chunks. Must never hide a difference between
// feeding styles.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "client/pop3/session.hpp"

namespace tern::client::pop3::testing {

struct Run {
    std::string sent;                              // everything the client wrote
    std::vector<Outcome> outcomes;
    std::map<std::uint64_t, std::string> messages;  // RETR/TOP octets per request id
    std::map<std::uint64_t, int> lasts;             // `last` chunks seen per request id
    ConnectionEnd end = ConnectionEnd::Open;
    Session::Next last = Session::Next::Read;
    int handshakes = 0;
    Capabilities caps;
    LoginMethod method = LoginMethod::Auto;
};

inline Options user_options() {
    Options o;
    o.user = "alice@example.org";
    o.password = "secret";
    return o;
}

inline void pump(Session& s, Run& run) {
    for (int guard = 0; guard < 100000; ++guard) {
        auto a = s.advance();
        run.sent += a.output;
        run.last = a.next;
        if (a.next == Session::Next::StartTls) {
            ++run.handshakes;
            s.tls_started();
            continue;
        }
        return;
    }
    ADD_FAILURE() << "advance() never settled";
}

using Setup = std::function<void(Session&)>;

inline Run converse(Options options, const Setup& setup, const std::vector<std::string>& script, std::size_t piece) {
    Run run;
    Session s(std::move(options), [&run](const Chunk& c) {
        run.messages[c.id].append(c.data);
        if (c.last) ++run.lasts[c.id];
    });
    if (setup) setup(s);
    for (const auto& turn : script)
        for (std::size_t i = 0; i < turn.size(); i += piece) {
            s.receive(std::string_view(turn).substr(i, piece));
            pump(s, run);
        }
    run.outcomes = s.take_outcomes();
    run.end = s.end();
    run.caps = s.capabilities();
    run.method = s.login_method();
    return run;
}

inline bool same(const Outcome& a, const Outcome& b) {
    if (a.entries.size() != b.entries.size()) return false;
    for (std::size_t i = 0; i < a.entries.size(); ++i)
        if (a.entries[i].msg != b.entries[i].msg || a.entries[i].size != b.entries[i].size ||
            a.entries[i].uid != b.entries[i].uid)
            return false;
    return a.id == b.id && a.command == b.command && a.msg == b.msg && a.ok == b.ok &&
           a.from_server == b.from_server && a.code == b.code && a.text == b.text && a.count == b.count &&
           a.size == b.size && a.octets == b.octets;
}

// The conversation fed whole and in every piece size below the longest turn must give the same
// output, outcomes, messages and end; returns the whole-fed run.
inline Run converse_all_splits(const Options& options, const Setup& setup, const std::vector<std::string>& script) {
    std::size_t longest = 1;
    for (const auto& t : script) longest = std::max(longest, t.size());
    Run whole = converse(options, setup, script, longest);
    for (std::size_t piece = 1; piece < longest; ++piece) {
        Run r = converse(options, setup, script, piece);
        EXPECT_EQ(r.sent, whole.sent) << "piece " << piece;
        EXPECT_EQ(r.end, whole.end) << "piece " << piece;
        EXPECT_EQ(r.messages, whole.messages) << "piece " << piece;
        EXPECT_EQ(r.lasts, whole.lasts) << "piece " << piece;
        EXPECT_EQ(r.outcomes.size(), whole.outcomes.size()) << "piece " << piece;
        for (std::size_t i = 0; i < std::min(r.outcomes.size(), whole.outcomes.size()); ++i)
            EXPECT_TRUE(same(r.outcomes[i], whole.outcomes[i])) << "piece " << piece << " outcome " << i;
        if (::testing::Test::HasFailure()) break;
    }
    return whole;
}

inline const char* kGreeting = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";
inline const char* kCapaPlain = "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\n.\r\n";

}  // namespace tern::client::pop3::testing
