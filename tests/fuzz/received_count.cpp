// libFuzzer target: the Received: counter for loop detection (src/mime/trace_count) on arbitrary
// bytes. Must never crash, must give the same count whole, split in two at any point and fed
// octet by octet, and must agree with the RFC 5322 header parser (mime/header) on input without
// bare CR (where the two define line ends alike).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/ascii.hpp"
#include "mime/header.hpp"
#include "mime/trace_count.hpp"

using namespace tern::mime;

static void check(bool ok) {
    if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    std::size_t cut = (data[0] | data[1] << 8) % size;
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    cut = cut > in.size() ? in.size() : cut;

    ReceivedCounter whole, split, bytes;
    whole.feed(in);
    split.feed(in.substr(0, cut));
    split.feed(in.substr(cut));
    for (char c : in) bytes.feed(std::string_view(&c, 1));
    check(whole.count() == split.count() && whole.count() == bytes.count());
    check(whole.header_done() == split.header_done() && whole.header_done() == bytes.header_done());

    for (std::size_t i = 0; i < in.size(); ++i)
        if (in[i] == '\r' && (i + 1 >= in.size() || in[i + 1] != '\n')) return 0;
    auto h = parse_header_section(in);
    if (!h) return 0;
    std::size_t n = 0;
    for (const auto& f : h->fields) n += tern::ascii::iequals(f.name, "Received");
    check(n == whole.count());
    check(h->has_separator == whole.header_done());
    return 0;
}
