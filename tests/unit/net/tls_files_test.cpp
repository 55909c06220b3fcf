// Durability of the generated TLS files: ensure_self_signed() must fsync the files and the
// directories their names live in. fsync(2) is interposed in this test binary to see which
// descriptors were synced (the real one still runs); no crash is simulated.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "net/tls.hpp"

namespace {
std::set<std::string>* g_synced = nullptr;  // paths of descriptors passed to fsync while recording
}

// Interposes libc's fsync for this executable (the net library's calls resolve here).
extern "C" int fsync(int fd) {
    if (g_synced) {
        char target[4096];
        auto link = "/proc/self/fd/" + std::to_string(fd);
        auto n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n > 0) g_synced->insert(std::string(target, static_cast<std::size_t>(n)));
    }
    using Fn = int (*)(int);
    static Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "fsync"));
    return real ? real(fd) : 0;
}

namespace tern::net {
namespace {

namespace fs = std::filesystem;

TEST(TlsFiles, SelfSignedFilesAndTheirDirectoriesAreSynced) {
    fs::path data = fs::path(::testing::TempDir()) / ("tern-tls-" + std::to_string(::getpid()));
    fs::remove_all(data);
    fs::create_directories(data);
    data = fs::canonical(data);
    std::set<std::string> synced;
    g_synced = &synced;
    auto files = ensure_self_signed(data, "mx.example.test");
    g_synced = nullptr;
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_TRUE(fs::exists(files->cert));
    EXPECT_TRUE(fs::exists(files->key));
    // The renames into tls/ and the new tls/ entry itself survive a crash only once the
    // directories holding them are synced.
    EXPECT_TRUE(synced.count((data / "tls").string())) << "tls directory not synced";
    EXPECT_TRUE(synced.count(data.string())) << "data directory (holding the new tls/) not synced";
    fs::remove_all(data);
}

}  // namespace
}  // namespace tern::net
