// libFuzzer target: the per-message summary decoder (src/session/imap/summary) on arbitrary
// blobs, as the store may hand back a damaged one. Must never crash or read out of bounds, and
// whatever it accepts must encode back to exactly the same bytes (one encoding per summary).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "session/imap/summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view blob(reinterpret_cast<const char*>(data), size);
    if (auto s = tern::imap::decode_summary(blob)) {
        if (tern::imap::encode_summary(*s) != blob) std::abort();
    }
    return 0;
}
