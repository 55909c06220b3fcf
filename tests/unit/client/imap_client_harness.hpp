// Test harness for the IMAP client session: plays a scripted server against it with no socket,
// feeding each scripted turn in pieces of a chosen size (1 = byte by byte), collecting what the
// client writes, its outcomes, updates and body chunks. Must never hide a difference between
// feeding styles.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "client/imap/session.hpp"

namespace tern::client::imap::testing {

struct Run {
    std::string sent;
    std::vector<Outcome> outcomes;
    std::vector<Update> updates;
    std::map<std::uint64_t, std::string> bodies;  // octets per request id (all its items)
    std::map<std::uint64_t, int> lasts;
    std::vector<std::uint32_t> last_uids;
    ConnectionEnd end = ConnectionEnd::Open;
    Session::Next last = Session::Next::Read;
    int handshakes = 0;
    std::string end_text;
};

inline Options user_options() {
    Options o;
    o.user = "alice";
    o.password = "secret";
    o.allow_plaintext_password = true;
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
        if (a.next == Session::Next::Write) continue;
        return;
    }
    ADD_FAILURE() << "advance() never settled";
}

using Setup = std::function<void(Session&)>;

inline Run converse(Options options, const Setup& setup, const std::vector<std::string>& script, std::size_t piece,
                    const Setup& after = {}) {
    Run run;
    Session s(std::move(options), [&run](const Chunk& c) {
        run.bodies[c.id].append(c.data);
        if (c.last) {
            ++run.lasts[c.id];
            run.last_uids.push_back(c.uid);
        }
    });
    if (setup) setup(s);
    pump(s, run);
    for (const auto& turn : script) {
        for (std::size_t i = 0; i < turn.size(); i += piece) {
            s.receive(std::string_view(turn).substr(i, piece));
            pump(s, run);
        }
        if (after) {
            after(s);
            pump(s, run);
        }
    }
    run.outcomes = s.take_outcomes();
    run.updates = s.take_updates();
    run.end = s.end();
    run.end_text = s.end_status().text;
    return run;
}

inline bool same(const Outcome& a, const Outcome& b) {
    return a.id == b.id && a.command == b.command && a.ok == b.ok && a.from_server == b.from_server &&
           a.code.name == b.code.name && a.text == b.text && a.list.size() == b.list.size() &&
           a.fetched.size() == b.fetched.size() && a.uids == b.uids && a.octets == b.octets &&
           a.mailbox.has_value() == b.mailbox.has_value() && a.move_emulated == b.move_emulated &&
           a.move_expunged == b.move_expunged;
}

// The conversation fed whole and in every piece size below the longest turn must give the same
// output, outcomes, bodies and end; returns the whole-fed run.
inline Run converse_all_splits(const Options& options, const Setup& setup, const std::vector<std::string>& script,
                               const Setup& after = {}) {
    std::size_t longest = 1;
    for (const auto& t : script) longest = std::max(longest, t.size());
    Run whole = converse(options, setup, script, longest, after);
    for (std::size_t piece = 1; piece < longest; ++piece) {
        Run r = converse(options, setup, script, piece, after);
        EXPECT_EQ(r.sent, whole.sent) << "piece " << piece;
        EXPECT_EQ(r.end, whole.end) << "piece " << piece;
        EXPECT_EQ(r.bodies, whole.bodies) << "piece " << piece;
        EXPECT_EQ(r.lasts, whole.lasts) << "piece " << piece;
        EXPECT_EQ(r.updates.size(), whole.updates.size()) << "piece " << piece;
        EXPECT_EQ(r.outcomes.size(), whole.outcomes.size()) << "piece " << piece;
        for (std::size_t i = 0; i < std::min(r.outcomes.size(), whole.outcomes.size()); ++i)
            EXPECT_TRUE(same(r.outcomes[i], whole.outcomes[i])) << "piece " << piece << " outcome " << i;
        if (::testing::Test::HasFailure()) break;
    }
    return whole;
}

inline const char* kGreeting =
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE UIDPLUS MOVE CONDSTORE QRESYNC AUTH=PLAIN] ready\r\n";
// Login answered with its capabilities; ENABLE answered.
inline const char* kLoggedIn =
    "A1 OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE IDLE UIDPLUS MOVE CONDSTORE QRESYNC SPECIAL-USE] Logged in\r\n";
inline const char* kEnabled = "* ENABLED CONDSTORE QRESYNC\r\nA2 OK enabled\r\n";

}  // namespace tern::client::imap::testing
