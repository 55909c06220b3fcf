// Test harness for the SMTP client session: plays a scripted server against it with no socket,
// feeding each scripted reply in pieces of a chosen size (1 = byte by byte) and collecting
// everything the client writes. Must never hide a difference between feeding styles.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/smtp/session.hpp"

namespace tern::client::smtp::testing {

inline Message make_message(std::uint64_t tag, std::string sender, std::vector<std::string> rcpts, std::string body) {
    Message m;
    m.tag = tag;
    m.sender = std::move(sender);
    for (auto& r : rcpts) m.recipients.push_back({std::move(r), "", ""});
    m.body = base::bytes_from_string(std::move(body));
    return m;
}

inline Options make_options() {
    Options o;
    o.helo_name = "relay.example.net";
    return o;
}

struct Transcript {
    std::string sent;  // everything the client wrote, in order
    std::vector<MessageOutcome> outcomes;
    ConnectionEnd end = ConnectionEnd::Open;
    Session::Next last = Session::Next::Read;
    int handshakes = 0;
    Capabilities caps;
};

// Calls advance() until the client waits for the server (or is done), doing TLS handshakes.
inline void pump(Session& s, Transcript& run) {
    for (int guard = 0; guard < 100000; ++guard) {
        auto a = s.advance();
        run.sent += a.output;
        run.last = a.next;
        if (a.next == Session::Next::Write) continue;
        if (a.next == Session::Next::StartTls) {
            ++run.handshakes;
            s.tls_started();
            continue;
        }
        return;
    }
    ADD_FAILURE() << "advance() never settled";
}

// Plays `script` (one entry per server turn) in pieces of `piece` octets.
inline Transcript converse(Options options, std::vector<Message> messages, const std::vector<std::string>& script,
                    std::size_t piece, bool finish = true) {
    Session s(std::move(options));
    for (auto& m : messages) s.add(std::move(m));
    if (finish) s.finish();
    Transcript run;
    for (const auto& turn : script)
        for (std::size_t i = 0; i < turn.size(); i += piece) {
            s.receive(std::string_view(turn).substr(i, piece));
            pump(s, run);
        }
    run.outcomes = s.take_outcomes();
    run.end = s.end();
    run.caps = s.capabilities();
    return run;
}

// The same conversation fed whole, byte by byte and in every piece size up to the longest turn
// must give the same transcript and outcomes; returns the whole-fed run.
inline Transcript converse_all_splits(const Options& options, const std::vector<Message>& messages,
                               const std::vector<std::string>& script) {
    std::size_t longest = 1;
    for (const auto& t : script) longest = std::max(longest, t.size());
    Transcript whole = converse(options, messages, script, longest);
    for (std::size_t piece = 1; piece < longest; ++piece) {
        Transcript r = converse(options, messages, script, piece);
        EXPECT_EQ(r.sent, whole.sent) << "piece size " << piece;
        EXPECT_EQ(r.end, whole.end) << "piece size " << piece;
        EXPECT_EQ(r.outcomes.size(), whole.outcomes.size()) << "piece size " << piece;
        for (std::size_t i = 0; i < std::min(r.outcomes.size(), whole.outcomes.size()); ++i)
            for (std::size_t j = 0; j < std::min(r.outcomes[i].recipients.size(), whole.outcomes[i].recipients.size()); ++j)
                EXPECT_EQ(r.outcomes[i].recipients[j].status.text, whole.outcomes[i].recipients[j].status.text);
    }
    return whole;
}

inline const Status& status_of(const Transcript& run, std::size_t message, std::size_t rcpt) {
    return run.outcomes.at(message).recipients.at(rcpt).status;
}

inline const std::string kGreeting = "220 mx.example.org ESMTP\r\n";
inline const std::string kEhloBasic = "250-mx.example.org\r\n250 ENHANCEDSTATUSCODES\r\n";
inline const std::string kEhloPipelining = "250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10000\r\n";

}  // namespace tern::client::smtp::testing
