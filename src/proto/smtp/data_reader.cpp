// Incremental DATA decoder (RFC 5321 §4.1.4 end of data, §4.5.2 transparency). Pure, no I/O.
// Must never end the message on anything but CRLF "." CRLF (CVE-2023-51764), never unstuff a dot
// that does not follow a real CRLF, and never store more than max_size octets.
//
// Decisions beyond the RFC text:
//  - The start of the content counts as the start of a line, so ".\r\n" first is an empty message.
//  - Only a line that starts after CRLF (or at the start) can be dot-stuffed. Its leading dot is
//    removed when followed by any octet other than CR or LF. When the dot is followed by a bare LF
//    ("\r\n.\n") or by a CR that is not part of CRLF ("\r\n.\rX") the line is malformed: the dot is
//    kept, the octets are content, and bare_newline() is set.
#include "proto/smtp/data_reader.hpp"

#include <algorithm>
#include <cstring>

namespace tern::smtp {

namespace {

enum State : int {
    kLineStart = 0,  // after CRLF, or at the very start: a '.' here is special
    kMid = 1,        // inside a line
    kCr = 2,         // after a CR inside a line (the CR is already stored)
    kDot = 3,        // after CRLF "." (the dot is held back)
    kDotCr = 4,      // after CRLF "." CR (dot and CR held back)
    kDone = 5,       // CRLF "." CRLF consumed
};

}  // namespace

DataReader::Step DataReader::feed(std::string_view in) {
    auto emit = [this](char c) {
        if (size_ < max_size_) data_.push_back(c);  // over the limit: count, don't store
        ++size_;
    };
    // Octet handling once we know we are not at a special line start.
    auto mid = [&](char c) {
        if (c == '\r') {
            emit(c);
            state_ = kCr;
        } else {
            if (c == '\n') bare_newline_ = true;  // LF not preceded by CR
            emit(c);
            state_ = kMid;
        }
    };

    // Fast path for the common case, a whole well-formed line: from here (mid-line, or at a line
    // start that is not a dot) up to the next LF, with the only CR right before that LF. Such a
    // line is content as it stands and ends at a line start; two memchr calls find it.
    auto whole_line = [&](std::size_t from) -> std::size_t {
        const char* base = in.data();
        const void* lf = std::memchr(base + from, '\n', in.size() - from);
        if (!lf) return 0;
        std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - base);  // the LF
        if (end == from || base[end - 1] != '\r') return 0;
        if (std::memchr(base + from, '\r', end - 1 - from)) return 0;
        return end + 1 - from;
    };

    std::size_t i = 0;
    while (i < in.size()) {
        if (state_ == kDone) return Step{i, true};
        char c = in[i];
        if ((state_ == kMid || (state_ == kLineStart && c != '.')) && c != '\r' && c != '\n') {
            if (std::size_t n = whole_line(i)) {
                if (size_ < max_size_) data_.append(in.substr(i, std::min<std::uint64_t>(n, max_size_ - size_)));
                size_ += n;
                i += n;
                state_ = kLineStart;
                continue;
            }
        }
        switch (state_) {
            case kMid: {
                // Fast path: copy the run up to the next CR or LF.
                std::size_t end = in.find_first_of("\r\n", i);
                if (end == std::string_view::npos) end = in.size();
                if (end > i) {
                    std::string_view run = in.substr(i, end - i);
                    if (size_ < max_size_) data_.append(run.substr(0, max_size_ - size_));
                    size_ += run.size();
                    i = end;
                    continue;
                }
                mid(c);
                break;
            }
            case kCr:
                if (c == '\n') {
                    emit(c);
                    state_ = kLineStart;  // RFC 5321 §2.3.8: only CRLF ends a line
                } else {
                    bare_newline_ = true;  // the previous CR was bare
                    mid(c);
                }
                break;
            case kLineStart:
                if (c == '.') {
                    state_ = kDot;
                } else {
                    mid(c);
                }
                break;
            case kDot:
                if (c == '\r') {
                    state_ = kDotCr;
                } else if (c == '\n') {  // "\r\n.\n" is content, not an end nor a stuffed line
                    emit('.');
                    mid(c);
                } else {  // RFC 5321 §4.5.2: delete the first period of the line
                    mid(c);
                }
                break;
            case kDotCr:
                if (c == '\n') {  // RFC 5321 §4.1.4: CRLF "." CRLF ends the data
                    state_ = kDone;
                    return Step{i + 1, true};
                }
                bare_newline_ = true;  // "\r\n.\rX": the CR was bare; keep the line verbatim
                emit('.');
                emit('\r');
                mid(c);
                break;
            default:
                break;
        }
        ++i;
    }
    return Step{i, state_ == kDone};
}

bool has_bare_newline(std::string_view message) {
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\r') {
            if (i + 1 >= message.size() || message[i + 1] != '\n') return true;
            ++i;  // skip the LF of this CRLF
        } else if (message[i] == '\n') {
            return true;
        }
    }
    return false;
}

void BareNewlineScanner::feed(std::string_view piece) {
    if (found_ || piece.empty()) return;
    if (pending_cr_) {
        if (piece.front() != '\n') {
            found_ = true;
            return;
        }
        piece.remove_prefix(1);
        pending_cr_ = false;
    }
    if (!piece.empty() && piece.back() == '\r') {
        pending_cr_ = true;
        piece.remove_suffix(1);
    }
    if (has_bare_newline(piece)) found_ = true;
}

}  // namespace tern::smtp
