// Runs a pure protocol client session (src/client/pop3, smtp, imap) over a Connection: writes what
// advance() produced, reads when it asks, does the TLS handshake when it asks, and stops when the
// session is idle (waiting for the caller's next request) or closed. Must never show a secret in
// the trace: what the client writes goes through the session's mask before it is traced.
#pragma once
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mua/connection.hpp"

namespace tern::mua {

// Steps `session` until its Next is Idle or Close; returns that Next. A connection error is
// handed to the session (connection_lost) and the loop goes on until the session closes.
template <class Session, class Mask>
typename Session::Next drive(Session& session, Connection& conn, const TraceSink& trace, Mask mask) {
    using Next = typename Session::Next;
    std::string input;
    while (true) {
        auto action = session.advance();
        if (!action.output.empty()) {
            if (trace) trace_lines(trace, "C: ", mask(action.output));
            if (auto w = conn.write(action.output); !w) {
                session.connection_lost(w.error().message);
                continue;
            }
        }
        switch (action.next) {
            case Next::Idle:
            case Next::Close:
                return action.next;
            case Next::StartTls:
                if (auto r = conn.start_tls(); r) session.tls_started();
                else session.tls_failed(r.error().message);
                break;
            case Next::Read: {
                input.clear();
                auto n = conn.read_some(input);
                if (!n) session.connection_lost(n.error().message);
                else if (*n == 0) session.connection_lost("the server closed the connection");
                else {
                    if (trace) trace_lines(trace, "S: ", input);
                    session.receive(input);
                }
                break;
            }
            default:  // Write (SMTP: more message data follows): just advance again
                break;
        }
    }
}

}  // namespace tern::mua
