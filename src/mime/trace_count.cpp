// See trace_count.hpp. One pass, one state per octet; after the header section it returns at once.
#include "mime/trace_count.hpp"

namespace tern::mime {

void ReceivedCounter::feed(std::string_view piece) {
    static constexpr std::string_view kName = "received";
    for (std::size_t i = 0; i < piece.size() && state_ != State::Done; ++i) {
        char c = piece[i];
        char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        switch (state_) {
            case State::LineStart:
                if (c == '\r') state_ = State::CrAtStart;
                else if (c == '\n') state_ = State::Done;  // RFC 5322 §2.1: the empty line
                else if (lower == kName[0]) state_ = State::Name, matched_ = 1;
                else state_ = State::Rest;  // another field, or a continuation line (WSP)
                break;
            case State::CrAtStart:
                state_ = c == '\n' ? State::Done : State::Rest;
                break;
            case State::Name:
                if (matched_ < kName.size() && lower == kName[matched_]) {
                    ++matched_;
                } else if (matched_ == kName.size() && c == ':') {
                    ++count_;
                    state_ = State::Rest;
                } else if (matched_ == kName.size() && (c == ' ' || c == '\t')) {
                    state_ = State::NameWsp;  // RFC 5322 §4.5.3 obs-optional: WSP before the colon
                } else {
                    state_ = c == '\n' ? State::LineStart : State::Rest;
                }
                break;
            case State::NameWsp:
                if (c == ':') {
                    ++count_;
                    state_ = State::Rest;
                } else if (c != ' ' && c != '\t') {
                    state_ = c == '\n' ? State::LineStart : State::Rest;
                }
                break;
            case State::Rest:
                if (c == '\n') state_ = State::LineStart;
                break;
            case State::Done:
                break;
        }
    }
}

}  // namespace tern::mime
