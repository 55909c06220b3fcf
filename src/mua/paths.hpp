// Where the mail client keeps its files (XDG Base Directory Specification): configuration in
// $XDG_CONFIG_HOME/tern (default ~/.config/tern), mail and index in $XDG_DATA_HOME/tern (default
// ~/.local/share/tern). Must never create a directory or file readable by others (0700 / 0600).
#pragma once
#include <filesystem>

#include "base/result.hpp"

namespace tern::mua {

struct Paths {
    std::filesystem::path config_dir;  // accounts.toml
    std::filesystem::path data_dir;    // <account>/ : the local cache of each account

    // From the environment: XDG_CONFIG_HOME, XDG_DATA_HOME, HOME.
    static Result<Paths> from_environment();
};

// Creates `dir` and its missing parents with mode 0700.
Result<void> make_private_dir(const std::filesystem::path& dir);

}  // namespace tern::mua
