// Counts the Received: trace fields of a message's header section as the message streams in, for
// mail-loop detection at intake (RFC 5321 §6.3). Pure and incremental: any split of the input
// gives the same count. Must never look past the header section (a Received: line in the body
// is content), and never hold more than its few bytes of state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::mime {

class ReceivedCounter {
public:
    // Feeds the next octets of the message (CRLF lines; a bare LF also ends a line).
    void feed(std::string_view piece);
    // Received: fields seen so far: lines of the header section whose field name is "Received"
    // in any case, optionally followed by WSP before the colon (RFC 5322 §3.6.7, §4.5.3).
    // Continuation lines, "X-Received:" and "Received-SPF:" do not count.
    std::size_t count() const { return count_; }
    // The empty line ending the header section (RFC 5322 §2.1) has been seen.
    bool header_done() const { return state_ == State::Done; }

private:
    enum class State : std::uint8_t { LineStart, CrAtStart, Name, NameWsp, Rest, Done };
    State state_ = State::LineStart;
    std::uint8_t matched_ = 0;  // octets of "received" matched at this line's start
    std::size_t count_ = 0;
};

}  // namespace tern::mime
