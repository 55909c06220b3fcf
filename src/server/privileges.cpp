// Privilege handling: `ternd setup` creates the unprivileged system user and hands it the data
// directory; `ternd serve` started as root binds its ports, then switches to that user before it
// opens any data. Must never keep root (or a way back to it) after the switch.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "server/pickup.hpp"
#include "server/privileges.hpp"
#include "server/server.hpp"

namespace tern::server {
namespace fs = std::filesystem;

namespace {

Result<void> chown_tree(const fs::path& dir, uid_t uid, gid_t gid) {
    std::error_code ec;
    if (::lchown(dir.c_str(), uid, gid) != 0) return fail("chown " + dir.string() + " failed", errno);
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (::lchown(it->path().c_str(), uid, gid) != 0) return fail("chown " + it->path().string() + " failed", errno);
    if (ec) return fail("cannot walk " + dir.string() + ": " + ec.message());
    return {};
}

}  // namespace

Result<bool> drop_privileges(const std::string& user, const fs::path& data_dir) {
    if (::geteuid() != 0) return false;
    errno = 0;
    struct passwd* pw = ::getpwnam(user.c_str());
    if (!pw) return fail("user '" + user + "' does not exist; `ternd setup` creates it");
    if (pw->pw_uid == 0) return fail("server.user '" + user + "' is root; choose an unprivileged user");
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    // The data directory belongs to the server's user and nobody else.
    if (auto r = prepare_data_dir(data_dir); !r) return std::unexpected(r.error());
    struct stat st{};
    if (::stat(data_dir.c_str(), &st) == 0 && (st.st_uid != uid || st.st_gid != gid))
        if (auto r = chown_tree(data_dir, uid, gid); !r) return std::unexpected(r.error());
    // Enter the data directory while still root: its parents (e.g. /root) need not be
    // traversable by the server user, and every later path is relative to it.
    if (::chdir(data_dir.c_str()) != 0) return fail("cannot enter " + data_dir.string(), errno);
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
        return fail("cannot switch to user '" + user + "'", errno);
    if (::setuid(0) == 0 || ::geteuid() == 0) return fail("still able to regain root after switching users");
    return true;
}

Result<bool> become_data_owner(const fs::path& data_dir) {
    if (::geteuid() != 0) return false;
    struct stat st{};
    if (::stat(data_dir.c_str(), &st) != 0 || st.st_uid == 0) return false;
    // An admin command run as root must not leave root-owned database files (-wal, -shm) that the
    // server, running as the data directory's owner, could not open.
    if (::chdir(data_dir.c_str()) != 0) return fail("cannot enter " + data_dir.string(), errno);
    if (::setgroups(0, nullptr) != 0 || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0)
        return fail("cannot switch to the owner of " + data_dir.string(), errno);
    return true;
}

namespace {

// `target` -> this executable. An existing file that is not already such a link (another MTA's
// sendmail) is left alone: replacing it is the operator's decision (update-alternatives, apt).
bool link_to_self(const fs::path& target, const fs::path& self) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    auto current = fs::read_symlink(target, ec);
    if (!ec) {
        if (current == self) {
            std::cout << target.string() << " already links to " << self.string() << "\n";
            return true;
        }
    }
    if (fs::exists(fs::symlink_status(target, ec))) {
        std::cerr << "ternd setup: " << target.string() << " exists (another mail system's?); not replaced: "
                  << "remove it first to link it to ternd\n";
        return false;
    }
    fs::create_symlink(self, target, ec);
    if (ec) {
        std::cerr << "ternd setup: cannot link " << target.string() << ": " << ec.message() << "\n";
        return false;
    }
    std::cout << "linked " << target.string() << " -> " << self.string() << "\n";
    return true;
}

}  // namespace

int setup(const fs::path& data_dir, const std::string& user, const SetupOptions& options) {
    if (::geteuid() != 0) {
        std::cerr << "ternd setup: run as root (it creates the system user '" << user << "')\n";
        return 1;
    }
    if (!::getpwnam(user.c_str())) {
        pid_t pid = ::fork();
        if (pid == 0) {
            ::execlp("useradd", "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                     "--shell", "/usr/sbin/nologin", user.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !::getpwnam(user.c_str())) {
            std::cerr << "ternd setup: useradd " << user << " failed\n";
            return 1;
        }
        std::cout << "created system user " << user << "\n";
    }
    struct passwd* pw = ::getpwnam(user.c_str());
    if (auto r = prepare_data_dir(data_dir); !r) {
        std::cerr << "ternd setup: " << r.error().message << "\n";
        return 1;
    }
    if (auto r = prepare_maildrop(data_dir); !r) {
        std::cerr << "ternd setup: " << r.error().message << "\n";
        return 1;
    }
    if (auto r = chown_tree(data_dir, pw->pw_uid, pw->pw_gid); !r) {
        std::cerr << "ternd setup: " << r.error().message << "\n";
        return 1;
    }
    const fs::path absolute = fs::absolute(data_dir).lexically_normal();
    std::cout << absolute.string() << " belongs to " << user << " (mode 0711: passable, not listable; "
              << "maildrop/ 1733: local users may submit with `ternd sendmail`)\n"
              << "start the server as root; it drops to " << user << " after binding its ports\n";
    if (!options.link_sendmail) return 0;
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        std::cerr << "ternd setup: cannot find this program's path: " << ec.message() << "\n";
        return 1;
    }
    bool ok = link_to_self(options.link_prefix / "usr/sbin/sendmail", self);
    ok = link_to_self(options.link_prefix / "usr/bin/mailq", self) && ok;
    // The links find the data directory in the default configuration file.
    fs::path config = options.link_prefix / "etc/tern/ternd.toml";
    if (fs::exists(config, ec)) {
        std::cout << config.string() << " exists: make sure its server.data_dir is " << absolute.string() << "\n";
    } else {
        fs::create_directories(config.parent_path(), ec);
        std::ofstream out(config);
        out << "# Written by `ternd setup --link-sendmail`: sendmail and mailq read the data directory here.\n"
            << "# Start the server with `ternd serve --config " << config.string() << "` to share it.\n"
            << "[server]\ndata_dir = \"" << absolute.string() << "\"\n";
        out.close();
        if (!out) {
            std::cerr << "ternd setup: cannot write " << config.string() << "\n";
            return 1;
        }
        ::chmod(config.c_str(), 0644);
        std::cout << "wrote " << config.string() << "\n";
    }
    return ok ? 0 : 1;
}

}  // namespace tern::server
