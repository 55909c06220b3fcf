// Switching from root to the unprivileged server user (see privileges.cpp).
#pragma once
#include <filesystem>
#include <string>

#include "base/result.hpp"

namespace tern::server {

// No-op unless running as root; then chowns the data directory to `user`, makes it the working
// directory and switches to `user`. Returns true if it switched: the data directory is then ".".
Result<bool> drop_privileges(const std::string& user, const std::filesystem::path& data_dir);
// Admin commands run as root switch to the data directory's owner (if it is not root) first;
// true if they did, and the data directory is then the working directory ".".
Result<bool> become_data_owner(const std::filesystem::path& data_dir);
// `ternd setup`: create the system user if missing and give it the data directory, with the
// maildrop open to local users (`ternd sendmail`, mode 1733). With `link_sendmail`, also make
// <link_prefix>/usr/sbin/sendmail and <link_prefix>/usr/bin/mailq links to this ternd, and write
// <link_prefix>/etc/tern/ternd.toml naming the data directory if there is none (they read it).
struct SetupOptions {
    bool link_sendmail = false;
    std::filesystem::path link_prefix = "/";  // tests install the links elsewhere
};
int setup(const std::filesystem::path& data_dir, const std::string& user, const SetupOptions& options = {});

}  // namespace tern::server
