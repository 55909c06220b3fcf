// Durable file helpers: a file written whole or not at all (temporary file, fsync, rename, then an
// fsync of the directory), and an fsync of the directory that holds a new name. Must never leave a
// half-written file under the final name, nor report success before the directory entry is on disk.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "base/result.hpp"

namespace tern::base {

// fsync(2) of a directory: makes names created, renamed or removed in it durable.
Result<void> fsync_directory(const std::filesystem::path& dir);

// Creates `dir` and its missing parents, and fsyncs each parent that gained an entry, so that a
// crash right after the first start cannot lose the directory (and what is later written in it).
Result<void> create_directories_durably(const std::filesystem::path& dir, mode_t mode = 0700);

// Writes `data` to `file` atomically and durably: `file`.tmp is written and fsynced, renamed over
// `file`, and the directory is fsynced.
Result<void> write_file_durably(const std::filesystem::path& file, std::string_view data, mode_t mode = 0600);

}  // namespace tern::base
