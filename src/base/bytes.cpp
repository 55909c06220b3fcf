// ByteSource helpers (see bytes.hpp).
#include "base/bytes.hpp"

#include <algorithm>
#include <cstring>

namespace tern::base {

namespace {
class StringSource final : public ByteSource {
public:
    explicit StringSource(std::string data) : data_(std::move(data)) {}
    std::uint64_t size() const override { return data_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= data_.size()) return std::size_t{0};
        std::size_t n = std::min<std::size_t>(out.size(), data_.size() - static_cast<std::size_t>(offset));
        std::memcpy(out.data(), data_.data() + offset, n);
        return n;
    }

private:
    std::string data_;
};
}  // namespace

ByteSourceRef bytes_from_string(std::string data) { return std::make_shared<StringSource>(std::move(data)); }

Result<std::string> read_all(const ByteSource& source) {
    std::string out(static_cast<std::size_t>(source.size()), '\0');
    std::size_t done = 0;
    while (done < out.size()) {
        auto n = source.read(done, std::span<char>(out.data() + done, out.size() - done));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("byte source ended early at " + std::to_string(done) + " of " + std::to_string(out.size()), EIO);
        done += *n;
    }
    return out;
}

}  // namespace tern::base
