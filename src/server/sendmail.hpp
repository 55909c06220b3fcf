// `ternd sendmail` (and ternd called as `sendmail` or `mailq`): the classic local submission
// interface for cron, git send-email and scripts. It writes the message from stdin durably into
// <data>/maildrop (queue/maildrop.hpp: tmp file, fsync, rename, directory sync) and exits 0; the
// running server's pickup (pickup.hpp) queues it, at once or at its next start. Must never exit
// 0 before the file is durable under its final name, nor leave a partial file under that name.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::server {

// sysexits.h, as every sendmail returns them.
inline constexpr int kExUsage = 64, kExDataErr = 65, kExSoftware = 70, kExTempFail = 75, kExConfig = 78;

struct SendmailArgs {
    bool extract = false;                // -t
    bool dot_ends = true;                // no -i / -oi: a lone "." line ends the message
    bool eight_bit = false;              // -B 8BITMIME
    enum class Mode { Deliver, ListQueue, Newaliases } mode = Mode::Deliver;  // -bm (default), -bp, -bi
    std::optional<std::string> sender;   // -f / -r ("" or "<>": the null sender)
    std::string full_name;               // -F
    std::string notify, ret, envid;      // -N, -R, -V (RFC 3461)
    std::string config_file;             // -C
    std::vector<std::string> recipients; // operands, comma-separated lists split
};

// Sendmail's options as Postfix's sendmail(1) accepts them; options that do not apply (-oem,
// -odi, -v, -X file, -h N, ...) are accepted and ignored. EINVAL with a usage message otherwise.
Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args);

// The whole command. `data`: --data when given; `as_link`: called as sendmail/mailq (through
// `ternd setup --link-sendmail`), where the data directory must come from a configuration file:
// -C FILE, else $TERN_CONFIG, else /etc/tern/ternd.toml. Returns the exit status (sysexits).
int sendmail_main(std::optional<std::filesystem::path> data, const std::vector<std::string>& args, bool as_link,
                  bool as_mailq);

// The configuration file the sendmail/mailq links read (see sendmail_main).
std::filesystem::path default_config_file();

}  // namespace tern::server
