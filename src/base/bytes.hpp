// A read-only, reference-counted source of bytes read in ranges: how a message body travels
// between the spool, delivery, the store and the protocol servers without being whole in memory
// (a spool record, a SQLite blob, a string). Must never be modified once shared; a reader that
// needs the bytes whole reads them in bounded chunks or says why not.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/result.hpp"

namespace tern::base {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual std::uint64_t size() const = 0;
    // Reads up to out.size() bytes starting at `offset` into `out`; returns how many (0 only at or
    // past the end), or an error (I/O, or the bytes failed their checksum).
    virtual Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const = 0;
};
using ByteSourceRef = std::shared_ptr<const ByteSource>;

// A source over bytes held in memory.
ByteSourceRef bytes_from_string(std::string data);

// Reads a whole source into a string, in chunks (for small bodies and tests).
Result<std::string> read_all(const ByteSource& source);

}  // namespace tern::base
