// read_decoded (see part_reader.hpp): range read -> BodyDecoder -> optional Utf8Converter -> sink.
// Must never pass an empty piece to the sink, nor keep a decoded piece after handing it on.
#include "mime/part_reader.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "mime/charset.hpp"
#include "mime/decode.hpp"

namespace tern::mime {

Result<DecodeSummary> read_decoded(const base::ByteSource& message, const MimePart& part,
                                   const std::function<bool(std::string_view)>& sink, const DecodeOptions& options) {
    DecodeSummary sum;
    BodyDecoder decoder(part.transfer_encoding);
    std::optional<Utf8Converter> conv;
    if (options.to_utf8) {
        const Param* cs = part.content_type.params.find("charset");
        conv.emplace(cs ? std::string_view(cs->value) : std::string_view("us-ascii"));
    }
    std::string raw(std::max<std::size_t>(options.chunk_bytes, 1), '\0');
    std::string decoded, text;
    auto deliver = [&](bool last) -> bool {
        std::string* out = &decoded;
        if (conv) {
            conv->feed(decoded, text);
            if (last) conv->finish(text);
            decoded.clear();
            out = &text;
        }
        bool go_on = true;
        if (!out->empty()) {
            sum.octets += out->size();
            go_on = sink(*out);
        }
        out->clear();
        return go_on;
    };
    const std::uint64_t end = std::min<std::uint64_t>(part.body_end, message.size());
    std::uint64_t off = part.body_begin;
    while (off < end) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(raw.size(), end - off));
        auto n = message.read(off, std::span<char>(raw.data(), want));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("message source ended early at " + std::to_string(off), EIO);
        off += *n;
        decoder.feed(std::string_view(raw.data(), *n), decoded);
        if (!deliver(false)) {
            sum.stopped = true;
            break;
        }
    }
    if (!sum.stopped) {
        decoder.finish(decoded);
        if (!deliver(true)) sum.stopped = true;
    }
    sum.damaged = decoder.damaged();
    if (conv) {
        sum.charset_fallback = conv->fallback();
        sum.charset_replaced = conv->replaced();
    }
    return sum;
}

}  // namespace tern::mime
