// XDG directories for the mail client (see paths.hpp). Must never fall back to a shared location
// such as /tmp when HOME is unset: that would put mail where others can read it.
#include "mua/paths.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tern::mua {

namespace {
std::filesystem::path env_dir(const char* name) {
    const char* v = std::getenv(name);
    // XDG: "If $XDG_CONFIG_HOME is either not set or empty, a default ... should be used"; a
    // relative path is invalid and ignored.
    if (v == nullptr || *v == '\0' || v[0] != '/') return {};
    return v;
}
}  // namespace

Result<Paths> Paths::from_environment() {
    Paths p;
    auto config = env_dir("XDG_CONFIG_HOME");
    auto data = env_dir("XDG_DATA_HOME");
    auto home = env_dir("HOME");
    if ((config.empty() || data.empty()) && home.empty())
        return fail("HOME is not set (nor XDG_CONFIG_HOME and XDG_DATA_HOME)");
    p.config_dir = (config.empty() ? home / ".config" : config) / "tern";
    p.data_dir = (data.empty() ? home / ".local" / "share" : data) / "tern";
    return p;
}

Result<void> make_private_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return {};
    if (dir.has_parent_path() && dir.parent_path() != dir) {
        if (auto r = make_private_dir(dir.parent_path()); !r) return r;
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail("cannot create " + dir.string() + ": " + std::strerror(errno), errno);
    return {};
}

}  // namespace tern::mua
