// Streaming a part's body out of the message: the octets of its byte range read from the
// ByteSource in bounded chunks, the Content-Transfer-Encoding undone (IMAP BINARY, the client's
// "save attachment") and, for text, the charset converted to UTF-8 (IMAP SEARCH, the reader).
// Must never hold more than one chunk (plus the decoders' few bytes), and never read outside the
// part's range.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "mime/part_tree.hpp"

namespace tern::mime {

struct DecodeOptions {
    bool to_utf8 = false;           // convert from the part's charset (text/*: RFC 2046 §4.1.2)
    std::size_t chunk_bytes = 64 * 1024;
};

struct DecodeSummary {
    std::uint64_t octets = 0;       // octets handed to the sink
    bool damaged = false;           // the transfer encoding was broken (see decode.hpp)
    bool charset_fallback = false;  // unknown charset: UTF-8 where valid, else Latin-1
    bool charset_replaced = false;  // invalid octets became U+FFFD
    bool stopped = false;           // the sink asked to stop
};

// Calls `sink` with successive pieces of the decoded body of `part` (never empty pieces); a sink
// that returns false stops the read. The charset is the Content-Type charset parameter, us-ascii
// (decoded as windows-1252) when there is none.
Result<DecodeSummary> read_decoded(const base::ByteSource& message, const MimePart& part,
                                   const std::function<bool(std::string_view)>& sink,
                                   const DecodeOptions& options = {});

}  // namespace tern::mime
