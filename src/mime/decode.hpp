// Content-Transfer-Encoding decoders (RFC 2045 §6): base64 and quoted-printable, incremental
// (feed a chunk, get the octets it completes) so IMAP BINARY, SEARCH and the client can stream a
// 50 MB part in bounded memory. Lenient like real MUAs, and they say when the input was damaged.
// Must never hold more than a few bytes of state, and never depend on where the chunks are split.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::mime {

// RFC 2045 §6.8 base64. Octets outside the alphabet are ignored ("must be ignored by decoding
// software", §6.8); CR, LF, SP and TAB silently, anything else marks the input damaged. "=" ends
// the current 4-character quantum; decoding resumes after it (concatenated base64 runs exist in
// the wild), which is also reported as damage if alphabet characters follow.
class Base64Decoder {
public:
    void feed(std::string_view in, std::string& out);  // appends the decoded octets to `out`
    void finish(std::string& out);                     // end of input: flushes a partial quantum
    bool damaged() const { return damaged_; }

private:
    std::uint32_t bits_ = 0;
    std::uint8_t have_ = 0;      // sextets in bits_ (0..3)
    bool after_pad_ = false;     // an "=" was seen and no alphabet character since
    bool damaged_ = false;
    void flush_partial(std::string& out);
};

// RFC 2045 §6.7 quoted-printable: "=XX" (lower-case hex accepted too), soft line breaks ("=" then
// optional trailing white space, then CRLF or LF, rule 5), trailing white space on a line deleted
// (rule 3). A malformed "=" sequence is kept as written and marks the input damaged (the "robust
// implementation" note under §6.7). Line breaks come out as they went in (CRLF or bare LF).
class QpDecoder {
public:
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out);
    bool damaged() const { return damaged_; }

    // Pending white space is held back until we know whether it is trailing; beyond this many
    // octets it is written out (so a hostile line of spaces costs no memory; such a line then
    // keeps its trailing spaces). Equal inputs still decode equally at any split.
    static constexpr std::size_t kMaxPendingWsp = 256;

private:
    enum class State : std::uint8_t { Text, Cr, Eq, EqHex, EqWsp, EqCr };
    State state_ = State::Text;
    char hex_ = 0;           // first hex digit after "="
    std::string wsp_;        // pending white space (Text state) or after "=" (EqWsp)
    bool damaged_ = false;
    void text_octet(char c, std::string& out);
};

enum class TransferEncoding : std::uint8_t { Identity, Base64, QuotedPrintable };

// RFC 2045 §6.1 mechanism name (any case) to a decoder choice: 7bit, 8bit, binary and unknown
// names are identity (§6.4: an unknown encoding is treated as application/octet-stream by the
// caller; the octets themselves are passed through).
TransferEncoding transfer_encoding(std::string_view mechanism);

// One decoder for any Content-Transfer-Encoding.
class BodyDecoder {
public:
    explicit BodyDecoder(TransferEncoding e) : enc_(e) {}
    explicit BodyDecoder(std::string_view mechanism) : enc_(transfer_encoding(mechanism)) {}
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out);
    bool damaged() const;

private:
    TransferEncoding enc_;
    Base64Decoder b64_;
    QpDecoder qp_;
};

// Whole-buffer conveniences.
std::string decode_base64(std::string_view in, bool* damaged = nullptr);
std::string decode_qp(std::string_view in, bool* damaged = nullptr);

}  // namespace tern::mime
