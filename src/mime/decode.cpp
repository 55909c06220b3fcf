// Base64 and quoted-printable decoders (see decode.hpp). Byte-at-a-time state machines, so the
// output never depends on how the input was split. Must never read past a chunk, never emit
// anything the input did not encode, and never keep more than kMaxPendingWsp octets pending.
#include "mime/decode.hpp"

#include "base/ascii.hpp"

namespace tern::mime {
namespace {

constexpr int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // lenient: §6.7 (1) says upper case
    return -1;
}

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace

// ---- base64 ---------------------------------------------------------------------------------

void Base64Decoder::flush_partial(std::string& out) {
    // 2 sextets -> 1 octet, 3 -> 2 (RFC 4648 §4 final quantum); 1 sextet encodes nothing whole.
    if (have_ == 2) {
        out += static_cast<char>((bits_ >> 4) & 0xff);
    } else if (have_ == 3) {
        out += static_cast<char>((bits_ >> 10) & 0xff);
        out += static_cast<char>((bits_ >> 2) & 0xff);
    } else if (have_ == 1) {
        damaged_ = true;
    }
    bits_ = 0;
    have_ = 0;
}

void Base64Decoder::feed(std::string_view in, std::string& out) {
    for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        int v = b64_value(c);
        if (v < 0) {
            if (c == '=') {
                if (have_ != 0) flush_partial(out);
                after_pad_ = true;
            } else if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
                damaged_ = true;  // RFC 2045 §6.8: ignored, but worth reporting
            }
            continue;
        }
        if (after_pad_) {
            damaged_ = true;  // data after padding: decoded as a new run
            after_pad_ = false;
        }
        bits_ = (bits_ << 6) | static_cast<std::uint32_t>(v);
        if (++have_ == 4) {
            out += static_cast<char>((bits_ >> 16) & 0xff);
            out += static_cast<char>((bits_ >> 8) & 0xff);
            out += static_cast<char>(bits_ & 0xff);
            bits_ = 0;
            have_ = 0;
        }
    }
}

void Base64Decoder::finish(std::string& out) {
    if (have_ != 0) {
        // A missing "=" padding is common and harmless; the octets are recovered all the same.
        flush_partial(out);
    }
}

// ---- quoted-printable -------------------------------------------------------------------------

void QpDecoder::text_octet(char c, std::string& out) {
    if (is_wsp(c)) {
        if (wsp_.size() >= kMaxPendingWsp) {
            out += wsp_;
            wsp_.clear();
        }
        wsp_ += c;
        return;
    }
    if (c == '\r') {
        state_ = State::Cr;
        return;
    }
    if (c == '\n') {
        wsp_.clear();  // RFC 2045 §6.7 (3): trailing white space is deleted
        out += '\n';
        return;
    }
    out += wsp_;
    wsp_.clear();
    if (c == '=') {
        state_ = State::Eq;
        return;
    }
    out += c;
}

void QpDecoder::feed(std::string_view in, std::string& out) {
    for (char c : in) {
        switch (state_) {
            case State::Text:
                text_octet(c, out);
                break;
            case State::Cr:
                state_ = State::Text;
                if (c == '\n') {
                    wsp_.clear();  // §6.7 (3)
                    out += "\r\n";
                } else {
                    out += wsp_;  // a bare CR is data, and the white space before it was not trailing
                    wsp_.clear();
                    out += '\r';
                    text_octet(c, out);
                }
                break;
            case State::Eq:
                if (hex_value(c) >= 0) {
                    hex_ = c;
                    state_ = State::EqHex;
                } else if (is_wsp(c)) {
                    wsp_ = c;  // "=" + trailing white space + line break is still a soft break
                    state_ = State::EqWsp;
                } else if (c == '\r') {
                    state_ = State::EqCr;
                } else if (c == '\n') {
                    state_ = State::Text;  // §6.7 (5) soft line break (bare LF tolerated)
                } else {
                    damaged_ = true;  // "=" followed by junk: keep both as written
                    out += '=';
                    state_ = State::Text;
                    text_octet(c, out);
                }
                break;
            case State::EqHex: {
                int lo = hex_value(c);
                state_ = State::Text;
                if (lo >= 0) {
                    out += static_cast<char>(hex_value(hex_) * 16 + lo);
                } else {
                    damaged_ = true;
                    out += '=';
                    out += hex_;
                    text_octet(c, out);
                }
                break;
            }
            case State::EqWsp:
                if (is_wsp(c)) {
                    if (wsp_.size() < kMaxPendingWsp) {
                        wsp_ += c;
                    } else {  // too much: it was not a soft break worth waiting for
                        damaged_ = true;
                        out += '=';
                        out += wsp_;
                        wsp_.clear();
                        state_ = State::Text;
                        text_octet(c, out);
                    }
                } else if (c == '\r') {
                    wsp_.clear();
                    state_ = State::EqCr;
                } else if (c == '\n') {
                    wsp_.clear();
                    state_ = State::Text;
                } else {
                    damaged_ = true;
                    out += '=';
                    out += wsp_;
                    wsp_.clear();
                    state_ = State::Text;
                    text_octet(c, out);
                }
                break;
            case State::EqCr:
                state_ = State::Text;
                if (c != '\n') {  // "=" CR without LF: a soft break all the same (lenient)
                    damaged_ = true;
                    text_octet(c, out);
                }
                break;
        }
    }
}

void QpDecoder::finish(std::string& out) {
    switch (state_) {
        case State::Text:
            break;  // pending white space at the end is trailing: deleted (§6.7 (3))
        case State::Cr:
            out += wsp_;  // a CR at the very end is data, not a line break
            out += '\r';
            break;
        case State::Eq:
        case State::EqWsp:
        case State::EqCr:
            break;  // "=" at the very end: a soft break before the end of the body
        case State::EqHex:
            damaged_ = true;
            out += '=';
            out += hex_;
            break;
    }
    wsp_.clear();
    state_ = State::Text;
}

// ---- dispatch ---------------------------------------------------------------------------------

TransferEncoding transfer_encoding(std::string_view m) {
    while (!m.empty() && is_wsp(m.front())) m.remove_prefix(1);
    while (!m.empty() && (is_wsp(m.back()) || m.back() == '\r' || m.back() == '\n')) m.remove_suffix(1);
    if (ascii::iequals(m, "base64")) return TransferEncoding::Base64;
    if (ascii::iequals(m, "quoted-printable")) return TransferEncoding::QuotedPrintable;
    return TransferEncoding::Identity;
}

void BodyDecoder::feed(std::string_view in, std::string& out) {
    switch (enc_) {
        case TransferEncoding::Identity: out += in; break;
        case TransferEncoding::Base64: b64_.feed(in, out); break;
        case TransferEncoding::QuotedPrintable: qp_.feed(in, out); break;
    }
}

void BodyDecoder::finish(std::string& out) {
    if (enc_ == TransferEncoding::Base64) b64_.finish(out);
    if (enc_ == TransferEncoding::QuotedPrintable) qp_.finish(out);
}

bool BodyDecoder::damaged() const {
    return enc_ == TransferEncoding::Base64 ? b64_.damaged()
         : enc_ == TransferEncoding::QuotedPrintable ? qp_.damaged() : false;
}

std::string decode_base64(std::string_view in, bool* damaged) {
    Base64Decoder d;
    std::string out;
    out.reserve(in.size() / 4 * 3 + 3);
    d.feed(in, out);
    d.finish(out);
    if (damaged) *damaged = d.damaged();
    return out;
}

std::string decode_qp(std::string_view in, bool* damaged) {
    QpDecoder d;
    std::string out;
    out.reserve(in.size());
    d.feed(in, out);
    d.finish(out);
    if (damaged) *damaged = d.damaged();
    return out;
}

}  // namespace tern::mime
