// Incremental DATA content decoder (RFC 5321 §4.1.4, §4.5.2): finds the CRLF "." CRLF end,
// removes dot-stuffing, counts the size. Pure, no I/O.
// Must never end the message on anything but CRLF "." CRLF: "\n.\n", "\r.\r", "\n.\r\n",
// "\r\n.\n", "\r.\r\n" are content (CVE-2023-51764). Bare CR / bare LF are flagged, not framed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::smtp {

class DataReader {
public:
    explicit DataReader(std::uint64_t max_size) : max_size_(max_size) {}

    struct Step {
        std::size_t consumed = 0;  // bytes of input used; input after the end marker is left alone
        bool done = false;         // the terminating CRLF.CRLF was consumed
    };
    // Feeds the next bytes. The content goes into the internal buffer (unstuffed, CRLF line ends
    // kept) until max_size is exceeded; after that bytes are counted and dropped, but the reader
    // keeps looking for the end so the session stays in sync. The start of DATA is a line start;
    // a leading dot is removed only on lines that start after a real CRLF and only when it is
    // followed by something other than CR or LF ("\r\n.\n" keeps its dot and sets bare_newline).
    Step feed(std::string_view in);

    bool too_big() const { return size_ > max_size_; }
    bool bare_newline() const { return bare_newline_; }  // a CR not followed by LF, or LF not after CR
    std::uint64_t size() const { return size_; }         // unstuffed content octets seen so far
    std::string take() { return std::move(data_); }      // the message (valid once done; only the
                                                         // first max_size octets when too_big())
    // Streaming use: the content decoded since the last clear_pending(), to be moved on (to the
    // spool's IncomingBody) so that the reader holds one input's worth, not the whole message.
    std::string_view pending() const { return data_; }
    void clear_pending() { data_.clear(); }

private:
    std::uint64_t max_size_;
    std::uint64_t size_ = 0;
    bool bare_newline_ = false;
    std::string data_;
    int state_ = 0;  // position in the CRLF "." CRLF matcher; implementation-defined
};

// Scans a complete message (e.g. from BDAT) for bare CR or bare LF.
bool has_bare_newline(std::string_view message);

// The same over a message that arrives in pieces (BDAT chunks): a CR at the end of one piece may
// be followed by the LF at the start of the next.
class BareNewlineScanner {
public:
    void feed(std::string_view piece);
    bool found() const { return found_ || pending_cr_; }  // call once the last piece is fed
private:
    bool found_ = false;
    bool pending_cr_ = false;
};

}  // namespace tern::smtp
