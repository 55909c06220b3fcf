// libFuzzer target: the MX answer parser of net/dns.cpp on arbitrary bytes (a DNS response comes
// from the network). Must never crash or read out of bounds; hosts it returns are bounded by input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "net/dns.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto r = tern::net::parse_mx_response(data, size);
    if (r && r->size() > size) std::abort();  // every record takes input bytes
    return 0;
}
