// libFuzzer target for the spool record decoder: arbitrary bytes must never crash it, read out of
// bounds or allocate absurdly; a record that decodes must re-encode to the same bytes and decode
// back to the same record. Must never touch the file system.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "queue/record.hpp"

using namespace tern::queue::record;

namespace {

void check(std::string_view in) {
    auto first = decode(in);
    auto* done = std::get_if<Complete>(&first);
    if (!done) return;
    if (done->bytes < kFrameOverhead || done->bytes > in.size()) std::abort();

    auto again = encode(done->record);
    if (!again) std::abort();                            // anything decodable must be encodable
    if (*again != in.substr(0, done->bytes)) std::abort();  // the format is canonical
    auto second = decode(*again);
    auto* redone = std::get_if<Complete>(&second);
    if (!redone || redone->bytes != again->size() || !(redone->record == done->record)) std::abort();

    // The body-less decode agrees with the full one.
    auto lean = decode(in, {.copy_body = false});
    auto* l = std::get_if<Complete>(&lean);
    if (!l || l->bytes != done->bytes) std::abort();
    if (auto* m = std::get_if<MessageRecord>(&done->record)) {
        const auto& lm = std::get<MessageRecord>(l->record);
        if (!lm.body.empty() || lm.body_offset != m->body_offset || lm.body_size != m->body.size()) std::abort();
        if (in.substr(m->body_offset, m->body_size) != m->body) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check(in);
    // Random mutations almost never keep the checksum valid; to reach the payload parsers, also
    // check the input with its length field and CRC rewritten to frame everything after the header.
    if (size >= kFrameOverhead) {
        std::string framed(in);
        auto length = static_cast<std::uint32_t>(size - kFrameOverhead);
        for (int i = 0; i < 4; ++i) framed[4 + i] = static_cast<char>(length >> (8 * i));
        std::uint32_t crc = crc32c(std::string_view(framed).substr(3, 5 + length));
        for (int i = 0; i < 4; ++i) framed[size - 4 + i] = static_cast<char>(crc >> (8 * i));
        check(framed);
    }
    return 0;
}
