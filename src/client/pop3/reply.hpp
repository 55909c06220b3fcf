// Reader for POP3 responses as a client receives them (RFC 1939 §3, RFC 2449 §8 response codes,
// RFC 3206, RFC 5034 "+ " continuations): bytes in, a status line, body lines or a stream of
// message octets out, each incrementally (any split point). Pure and bounded: must never hold a
// whole message (RETR/TOP are handed out in chunks), never grow without limit on a line that never
// ends, and never read past the response it is asked for.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::client::pop3 {

// RFC 2449 §4: responses are at most 512 octets; real servers send longer texts, so status and
// body lines (CAPA, LIST, UIDL) are accepted up to this many octets, CRLF included.
inline constexpr std::size_t kMaxResponseLine = 8192;

struct Status {
    enum class Kind { Ok, Err, Continue } kind = Kind::Err;  // "+OK", "-ERR", "+ " (RFC 5034 §4)
    std::string code;  // RFC 2449 §8 response code without brackets ("IN-USE", "SYS/TEMP"), or ""
    std::string text;  // the rest of the line, code removed; for Continue the base64 challenge
    bool ok() const { return kind == Kind::Ok; }
};

// Splits "[CODE] text" (RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]"); a bracket
// that is not a well-formed code is left in the text.
void split_code(std::string_view rest, Status& out);

class ResponseReader {
public:
    enum class Result {
        Incomplete,  // feed more bytes
        Done,        // the item is out (status(), line(), End for body_*)
        Data,        // body_chunk(): `chunk` holds message octets (more may follow)
        End,         // the multi-line terminator "." was consumed
        Error,       // malformed or over-long; `error` says why; the connection is not usable
    };

    void feed(std::string_view bytes);
    // One status line ("+OK", "-ERR" or "+ "), CRLF (or a bare LF) removed.
    Result status(Status& out);
    // One line of a multi-line body (RFC 1939 §3), dot-unstuffed, CRLF removed; End at ".".
    Result body_line(std::string& out);
    // Message octets of a multi-line body (RETR/TOP), dot-unstuffed, line ends kept as sent;
    // appends at most `max` octets to `chunk` per call. End once "." CRLF is consumed.
    Result body_chunk(std::string& chunk, std::size_t max);

    std::size_t buffered() const { return buf_.size() - pos_; }
    // RFC 2595 §4 / RFC 3207 §4.2: bytes received before a TLS handshake are never used after it.
    void discard() {
        buf_.clear();
        pos_ = 0;
        line_start_ = true;
    }
    const std::string& error() const { return error_; }

private:
    void compact();
    std::string buf_;
    std::size_t pos_ = 0;
    bool line_start_ = true;  // body_chunk(): the next octet starts a line
    std::string error_;
};

}  // namespace tern::client::pop3
