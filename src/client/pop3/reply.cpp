// POP3 response reader (RFC 1939 §3, RFC 2449 §8): framing, response codes and dot-unstuffing.
// Must never buffer more than one line (plus what the caller fed), never treat a "." that is not
// alone on its line as the end, and never drop or alter a message octet other than a stuffed dot.
#include "client/pop3/reply.hpp"

#include <cstring>

namespace tern::client::pop3 {

namespace {

bool code_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// A line [pos, LF] in buf: returns the LF's index or npos.
std::size_t find_lf(const std::string& buf, std::size_t pos) {
    const void* p = std::memchr(buf.data() + pos, '\n', buf.size() - pos);
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - buf.data()) : std::string::npos;
}

std::string_view strip_eol(std::string_view line) {  // line includes its LF
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

void split_code(std::string_view rest, Status& out) {
    // RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]"; resp-level = 1*rchar
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close != std::string_view::npos && close > 1) {
            const auto code = rest.substr(1, close - 1);
            bool good = code.front() != '/' && code.back() != '/';
            for (std::size_t i = 0; good && i < code.size(); ++i) {
                good = code_char(code[i]) || (code[i] == '/' && code[i - 1] != '/');
            }
            if (good) {
                out.code = std::string(code);
                rest.remove_prefix(close + 1);
                if (rest.starts_with(' ')) rest.remove_prefix(1);
            }
        }
    }
    out.text = std::string(rest);
}

void ResponseReader::feed(std::string_view bytes) {
    compact();
    buf_.append(bytes);
}

void ResponseReader::compact() {
    if (pos_ == 0) return;
    if (pos_ >= buf_.size()) {
        buf_.clear();
    } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
    } else {
        return;
    }
    pos_ = 0;
}

ResponseReader::Result ResponseReader::status(Status& out) {
    const auto lf = find_lf(buf_, pos_);
    if (lf == std::string::npos) {
        if (buffered() >= kMaxResponseLine) {
            error_ = "response line too long";
            return Result::Error;
        }
        return Result::Incomplete;
    }
    if (lf + 1 - pos_ > kMaxResponseLine) {
        error_ = "response line too long";
        return Result::Error;
    }
    std::string_view line = strip_eol(std::string_view(buf_).substr(pos_, lf + 1 - pos_));
    out = Status{};
    // RFC 1939 §3: a status indicator, then (for +OK/-ERR) a space and text, or nothing.
    if (line.starts_with("+OK") && (line.size() == 3 || line[3] == ' ')) {
        out.kind = Status::Kind::Ok;
        line.remove_prefix(std::min<std::size_t>(4, line.size()));
        split_code(line, out);
    } else if (line.starts_with("-ERR") && (line.size() == 4 || line[4] == ' ')) {
        out.kind = Status::Kind::Err;
        line.remove_prefix(std::min<std::size_t>(5, line.size()));
        split_code(line, out);
    } else if (line == "+" || line.starts_with("+ ")) {
        // RFC 5034 §4: continue-req = "+" SP [base64] CRLF (some servers send a bare "+").
        out.kind = Status::Kind::Continue;
        out.text = std::string(line.substr(std::min<std::size_t>(2, line.size())));
    } else {
        error_ = "not a POP3 status line";
        return Result::Error;
    }
    pos_ = lf + 1;
    return Result::Done;
}

ResponseReader::Result ResponseReader::body_line(std::string& out) {
    const auto lf = find_lf(buf_, pos_);
    if (lf == std::string::npos) {
        if (buffered() >= kMaxResponseLine) {
            error_ = "multi-line response line too long";
            return Result::Error;
        }
        return Result::Incomplete;
    }
    if (lf + 1 - pos_ > kMaxResponseLine) {
        error_ = "multi-line response line too long";
        return Result::Error;
    }
    std::string_view line = strip_eol(std::string_view(buf_).substr(pos_, lf + 1 - pos_));
    pos_ = lf + 1;
    // RFC 1939 §3: "." CRLF ends the response; any other line starting with "." loses that dot.
    if (line == ".") return Result::End;
    if (line.starts_with('.')) line.remove_prefix(1);
    out = std::string(line);
    return Result::Done;
}

ResponseReader::Result ResponseReader::body_chunk(std::string& chunk, std::size_t max) {
    if (max == 0) max = 1;
    const std::size_t start_size = chunk.size();
    auto produced = [&] { return chunk.size() - start_size; };
    while (pos_ < buf_.size() && produced() < max) {
        if (line_start_ && buf_[pos_] == '.') {
            // RFC 1939 §3: "." CRLF is the end; "." followed by anything else is a stuffed line
            // whose first dot goes. Deciding needs the next one or two octets.
            const std::size_t have = buf_.size() - pos_;
            if (have < 2) break;
            if (buf_[pos_ + 1] == '\n') {  // lenient: a bare LF ends lines too
                if (produced()) return Result::Data;
                pos_ += 2;
                return Result::End;
            }
            if (buf_[pos_ + 1] == '\r') {
                if (have < 3) break;
                if (buf_[pos_ + 2] == '\n') {
                    if (produced()) return Result::Data;  // hand out what came before the end first
                    pos_ += 3;
                    return Result::End;
                }
            }
            ++pos_;  // the stuffed dot
            line_start_ = false;
            continue;
        }
        const std::size_t room = max - produced();
        const std::size_t lf = find_lf(buf_, pos_);
        std::size_t take;
        if (lf != std::string::npos && lf + 1 - pos_ <= room) {
            take = lf + 1 - pos_;
            line_start_ = true;
        } else {
            take = std::min(room, (lf == std::string::npos ? buf_.size() : lf + 1) - pos_);
            line_start_ = false;
        }
        chunk.append(buf_, pos_, take);
        pos_ += take;
    }
    if (produced()) return Result::Data;
    return Result::Incomplete;
}

}  // namespace tern::client::pop3
