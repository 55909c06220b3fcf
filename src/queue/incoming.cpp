// IncomingBody (see incoming.hpp): memory, then a nameless spill file written in 64 KiB steps.
#include "queue/incoming.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <utility>

namespace tern::queue {

namespace {
std::unexpected<Error> io_fail(const std::string& what, int e) {
    return fail("incoming body: " + what + ": " + std::error_code(e, std::generic_category()).message(), e);
}
}  // namespace

IncomingBody::IncomingBody(std::filesystem::path spill_dir, std::size_t memory_limit)
    : dir_(std::move(spill_dir)), limit_(memory_limit) {}

IncomingBody IncomingBody::in_memory(std::string data) {
    IncomingBody b;
    b.limit_ = static_cast<std::size_t>(-1);
    b.size_ = data.size();
    b.buffer_ = std::move(data);
    return b;
}

IncomingBody::IncomingBody(IncomingBody&& o) noexcept
    : dir_(std::move(o.dir_)), limit_(o.limit_), buffer_(std::move(o.buffer_)), fd_(std::exchange(o.fd_, -1)),
      written_(o.written_), size_(o.size_) {}

IncomingBody& IncomingBody::operator=(IncomingBody&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        dir_ = std::move(o.dir_);
        limit_ = o.limit_;
        buffer_ = std::move(o.buffer_);
        fd_ = std::exchange(o.fd_, -1);
        written_ = o.written_;
        size_ = o.size_;
    }
    return *this;
}

IncomingBody::~IncomingBody() {
    if (fd_ >= 0) ::close(fd_);  // a nameless file goes away with its last descriptor
}

Result<void> IncomingBody::spill() {
    int fd = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        // A file system without O_TMPFILE: a named file, unlinked at once.
        std::string tmpl = (dir_ / "incoming-XXXXXX").string();
        fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd >= 0) ::unlink(tmpl.c_str());
    }
    if (fd < 0) return io_fail("cannot create a spill file in " + dir_.string(), errno);
    fd_ = fd;
    return flush_buffer();
}

Result<void> IncomingBody::flush_buffer() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::pwrite(fd_, buffer_.data() + done, buffer_.size() - done, static_cast<off_t>(written_));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            return io_fail("cannot write the spill file", e == EDQUOT ? ENOSPC : e);
        }
        done += static_cast<std::size_t>(n);
        written_ += static_cast<std::uint64_t>(n);
    }
    buffer_.clear();
    return {};
}

Result<void> IncomingBody::append(std::string_view data) {
    buffer_.append(data);
    size_ += data.size();
    if (fd_ < 0) {
        if (buffer_.size() <= limit_) return {};
        return spill();
    }
    if (buffer_.size() >= kWriteBuffer) return flush_buffer();
    return {};
}

Result<void> IncomingBody::finish() {
    if (fd_ < 0) return {};
    return flush_buffer();
}

Result<std::string> IncomingBody::read_all() const {
    if (fd_ < 0) return buffer_;
    std::string out(static_cast<std::size_t>(written_), '\0');
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_fail("cannot read the spill file", n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    out += buffer_;  // not yet flushed
    return out;
}

}  // namespace tern::queue
