// CRLF normalisation, dot-stuffing and the pre-send scan of outgoing bodies (RFC 5321 §2.3.8,
// §4.5.2, §4.5.3.1.6; RFC 6152). Pure; state crosses chunk boundaries.
#include "client/smtp/body.hpp"

namespace tern::client::smtp {

void BodyEncoder::put(char c, std::string& out) {
    if (max_line_ > 0 && column_ >= max_line_) {
        out += "\r\n ";  // the continuation starts with a space: never a "." to stuff
        column_ = 1;
        line_start_ = false;
    }
    // RFC 5321 §4.5.2: a line starting with "." gets one more "." in front.
    if (line_start_ && dot_stuff_ && c == '.') {
        out += '.';
        ++column_;
    }
    out += c;
    ++column_;
    line_start_ = false;
}

void BodyEncoder::feed(std::string_view chunk, std::string& out) {
    out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 4);
    for (const char c : chunk) {
        if (pending_cr_) {
            pending_cr_ = false;
            out += "\r\n";  // CRLF, or a bare CR turned into one (RFC 5321 §2.3.8)
            line_start_ = true;
            column_ = 0;
            if (c == '\n') continue;
        }
        if (c == '\r') {
            pending_cr_ = true;  // decided by the next octet, possibly in the next chunk
        } else if (c == '\n') {
            out += "\r\n";       // bare LF
            line_start_ = true;
            column_ = 0;
        } else {
            put(c, out);
        }
    }
}

void BodyEncoder::finish(std::string& out) {
    if (pending_cr_) {
        pending_cr_ = false;
        out += "\r\n";
        line_start_ = true;
    }
    if (!line_start_) out += "\r\n";  // the message must end in CRLF before the end marker
    line_start_ = true;
    if (dot_stuff_) out += ".\r\n";   // RFC 5321 §4.1.1.4: CRLF.CRLF
}

void BodyScan::end_line() {
    if (line_ > longest_) longest_ = line_;
    line_ = 0;
}

void BodyScan::feed(std::string_view chunk) {
    for (const char c : chunk) {
        if (pending_cr_) {
            pending_cr_ = false;
            end_line();
            if (c == '\n') continue;
        }
        if (c == '\r') pending_cr_ = true;
        else if (c == '\n') end_line();
        else {
            ++line_;
            if (static_cast<unsigned char>(c) >= 0x80) eight_bit_ = true;
        }
    }
}

void BodyScan::finish() {
    pending_cr_ = false;
    end_line();
}

}  // namespace tern::client::smtp
