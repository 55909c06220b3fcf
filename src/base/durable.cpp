// Durable file helpers (see durable.hpp). POSIX calls only; every failure is returned with errno.
#include "base/durable.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

namespace tern::base {

namespace fs = std::filesystem;

namespace {
std::unexpected<Error> os_error(const std::string& what, const fs::path& path, int e) {
    return fail(what + " " + path.string() + ": " + std::error_code(e, std::generic_category()).message(), e);
}
fs::path parent_of(const fs::path& p) {
    fs::path parent = p.parent_path();
    return parent.empty() ? fs::path(".") : parent;
}
}  // namespace

Result<void> fsync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot open directory", dir, errno);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0 && e != EINVAL) return os_error("cannot fsync directory", dir, e);  // EINVAL: fs without dir sync
    return {};
}

Result<void> create_directories_durably(const fs::path& dir, mode_t mode) {
    std::vector<fs::path> missing;
    for (fs::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
        std::error_code ec;
        if (fs::exists(p, ec)) break;
        missing.push_back(p);
        if (!p.has_parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), mode) != 0 && errno != EEXIST) return os_error("cannot create", *it, errno);
        if (auto r = fsync_directory(parent_of(*it)); !r) return r;
    }
    return {};
}

Result<void> write_file_durably(const fs::path& file, std::string_view data, mode_t mode) {
    fs::path tmp = file;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return os_error("cannot create", tmp, errno);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            ::close(fd);
            ::unlink(tmp.c_str());
            return os_error("cannot write", tmp, e);
        }
        p += n, left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return os_error("cannot fsync", tmp, e);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return os_error("cannot rename to", file, e);
    }
    return fsync_directory(parent_of(file));
}

}  // namespace tern::base
