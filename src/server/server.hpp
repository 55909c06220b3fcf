// Wiring of the daemon (`ternd serve`) and the admin commands. Opens the data directory, the
// directory and store databases and the spool, starts the scheduler and the network layer.
// Must never run two servers on one data directory (an flock guards it).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"
#include "queue/control.hpp"

namespace tern::server {

// Creates the data directory (mode 0700) if needed.
Result<void> prepare_data_dir(const std::filesystem::path& dir);

// Runs the server until SIGTERM/SIGINT. Returns the process exit code.
int serve(const config::Config& config);

// Admin commands; each prints its result and returns a process exit code. They open the same
// databases as the running server, which sees the effect at once.
namespace admin {
int domain_add(const std::filesystem::path& data, const std::string& domain);
int domain_remove(const std::filesystem::path& data, const std::string& domain);
int domain_list(const std::filesystem::path& data);
int user_add(const std::filesystem::path& data, const std::string& address, const std::string& password);
int user_remove(const std::filesystem::path& data, const std::string& address);
int user_passwd(const std::filesystem::path& data, const std::string& address, const std::string& password);
int user_list(const std::filesystem::path& data);
int user_apop_secret(const std::filesystem::path& data, const std::string& address, const std::string& secret);
int alias_add(const std::filesystem::path& data, const std::string& alias, const std::vector<std::string>& targets);
int alias_remove(const std::filesystem::path& data, const std::string& alias, const std::vector<std::string>& targets);
int alias_list(const std::filesystem::path& data);
int import_mbox(const std::filesystem::path& data, const std::filesystem::path& file, const std::string& address,
                const std::string& folder);
int export_mbox(const std::filesystem::path& data, const std::string& address, const std::string& folder);
int mailbox_list(const std::filesystem::path& data, const std::string& address);
// The mail waiting in the spool (like mailq), and one message's envelope, states and headers.
// Read-only; they work while the server runs.
int queue_list(const std::filesystem::path& data);
int queue_show(const std::filesystem::path& data, const std::string& id);
// `ternd queue retry|hold|release|delete ID` (`id` empty: every message, retry only): through the
// running server's control socket, or on the spool itself when no server holds ternd.lock.
int queue_change(const std::filesystem::path& data, queue::QueueOp op, const std::optional<std::string>& id);
}  // namespace admin

}  // namespace tern::server
