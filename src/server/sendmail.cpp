// The sendmail command (see sendmail.hpp): options, then stdin into a maildrop file, durably.
// Must never exit 0 before the file is durable under its final name, and never leave a
// temporary file behind on an error it saw.
#include "server/sendmail.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "base/durable.hpp"
#include "config/config.hpp"
#include "queue/maildrop.hpp"
#include "server/server.hpp"

namespace tern::server {

namespace fs = std::filesystem;
namespace md = queue::maildrop;

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

Error usage(const std::string& what) {
    return Error{what + "\nusage: sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [-B 8BITMIME] [-N DSN] [-R full|hdrs] "
                        "[-V ENVID] [-C CONFIG] [RECIPIENT...]",
                 EINVAL};
}

}  // namespace

Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args) {
    SendmailArgs a;
    bool operands = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (operands || arg.size() < 2 || arg[0] != '-') {
            if (arg == "-") return std::unexpected(usage("bad option \"-\""));
            // "a@example.org, b@example.org" is two recipients, as sendmail has it.
            std::size_t pos = 0;
            while (pos <= arg.size()) {
                auto comma = arg.find(',', pos);
                if (comma == std::string::npos) comma = arg.size();
                std::string one = arg.substr(pos, comma - pos);
                auto b = one.find_first_not_of(" \t"), e = one.find_last_not_of(" \t");
                if (b != std::string::npos) a.recipients.push_back(one.substr(b, e - b + 1));
                pos = comma + 1;
            }
            continue;
        }
        if (arg == "--") {
            operands = true;
            continue;
        }
        // The option's value: attached ("-fuser") or the next argument ("-f user").
        auto value = [&](const char* what) -> Result<std::string> {
            if (arg.size() > 2) return arg.substr(2);
            if (i + 1 >= args.size()) return std::unexpected(usage(std::string("option -") + arg[1] + " needs " + what));
            return args[++i];
        };
        switch (arg[1]) {
            case 'f':
            case 'r': {
                auto v = value("a sender address");
                if (!v) return std::unexpected(v.error());
                a.sender = *v == "<>" ? std::string() : *v;
                break;
            }
            case 'F': {
                auto v = value("a name");
                if (!v) return std::unexpected(v.error());
                a.full_name = *v;
                break;
            }
            case 'B': {
                auto v = value("a body type");
                if (!v) return std::unexpected(v.error());
                auto t = lower(*v);
                if (t == "8bitmime") a.eight_bit = true;
                else if (t != "7bit") return std::unexpected(usage("-B takes 7BIT or 8BITMIME, not " + *v));
                break;
            }
            case 'N': {
                auto v = value("never or success,delay,failure");
                if (!v) return std::unexpected(v.error());
                a.notify = lower(*v);
                md::DropEnvelope probe;
                probe.notify = a.notify;
                if (!md::format(probe)) return std::unexpected(usage("-N takes never or a list of success,delay,failure"));
                break;
            }
            case 'R': {
                auto v = value("full or hdrs");
                if (!v) return std::unexpected(v.error());
                a.ret = lower(*v);
                if (a.ret != "full" && a.ret != "hdrs") return std::unexpected(usage("-R takes full or hdrs"));
                break;
            }
            case 'V': {
                auto v = value("an envelope id");
                if (!v) return std::unexpected(v.error());
                a.envid = *v;
                break;
            }
            case 'C': {
                auto v = value("a configuration file");
                if (!v) return std::unexpected(v.error());
                a.config_file = *v;
                break;
            }
            case 'X':
            case 'h':
            case 'L': {  // log file, hop count, syslog label: accepted, ignored
                auto v = value("a value");
                if (!v) return std::unexpected(v.error());
                break;
            }
            case 'o':
                // -oi is -i; the other sendmail.cf options (-oem, -odi, -odb, -oQ...) do not apply.
                if (arg == "-oi") a.dot_ends = false;
                else if (arg == "-o") return std::unexpected(usage("option -o needs a letter (-oi)"));
                break;
            case 'b': {
                std::string mode = arg.substr(2);
                if (mode == "m") a.mode = SendmailArgs::Mode::Deliver;
                else if (mode == "p") a.mode = SendmailArgs::Mode::ListQueue;
                else if (mode == "i") a.mode = SendmailArgs::Mode::Newaliases;
                else return std::unexpected(usage("-b" + mode + " is not supported (only -bm, -bp, -bi)"));
                break;
            }
            case 'q':
                return std::unexpected(usage("-q: run `ternd queue retry --all` to try the queue now"));
            case 'A':  // -Am / -Ac: which sendmail.cf: there is none
                break;
            default: {
                // Clusters of flags: -t, -i, and the ignored -v -n -U -G -m -s -c -e.
                for (std::size_t k = 1; k < arg.size(); ++k) {
                    char c = arg[k];
                    if (c == 't') a.extract = true;
                    else if (c == 'i') a.dot_ends = false;
                    else if (std::string_view("vnUGmsce").find(c) == std::string_view::npos)
                        return std::unexpected(usage(std::string("unknown option -") + c));
                }
            }
        }
    }
    return a;
}

fs::path default_config_file() {
    if (const char* env = std::getenv("TERN_CONFIG"); env && *env) return env;
    return "/etc/tern/ternd.toml";
}

namespace {

std::string random_name() {
    unsigned char raw[16];
    std::size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = ::getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) std::abort();  // no kernel randomness: nothing sensible to do
        got += static_cast<std::size_t>(r);
    }
    std::string out;
    for (unsigned char b : raw) {
        out += "0123456789abcdef"[b >> 4];
        out += "0123456789abcdef"[b & 15];
    }
    return out;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t w = ::write(fd, data.data(), data.size());
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(w));
    }
    return true;
}

int say(int code, const std::string& what) {
    std::cerr << "sendmail: " << what << "\n";
    return code;
}

// The submission itself: `dir` is the maildrop.
int drop(const fs::path& dir, const SendmailArgs& args, std::uint64_t message_size, int in_fd) {
    md::DropEnvelope env;
    env.uid = static_cast<std::uint32_t>(::getuid());
    std::string gecos;
    if (passwd* pw = ::getpwuid(::getuid())) {
        env.user = pw->pw_name ? pw->pw_name : "";
        if (pw->pw_gecos) gecos = std::string(pw->pw_gecos).substr(0, std::string(pw->pw_gecos).find(','));
    }
    if (env.user.empty()) env.user = "uid" + std::to_string(env.uid);
    env.sender = args.sender;
    env.full_name = args.full_name.empty() ? gecos : args.full_name;
    env.extract = args.extract;
    env.eight_bit = args.eight_bit;
    env.notify = args.notify;
    env.ret = args.ret;
    env.envid = args.envid;
    env.recipients = args.recipients;
    if (env.recipients.empty() && !env.extract) return say(kExUsage, "no recipients given (name them, or use -t)");
    // What the pickup will check, checked now, so the user hears of a mistake at once.
    for (const auto& r : env.recipients)
        if (auto q = md::qualify(r, "localhost"); !q) return say(kExUsage, "recipient " + q.error().message);
    if (env.sender && !env.sender->empty())
        if (auto q = md::qualify(*env.sender, "localhost"); !q) return say(kExUsage, "sender " + q.error().message);
    auto section = md::format(env);
    if (!section) return say(kExUsage, section.error().message);

    const std::string name = random_name();
    const fs::path tmp = dir / ("tmp-" + name);
    const fs::path final_path = dir / (name + ".msg");
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return say(kExTempFail, "no maildrop " + dir.string() + ": start the server once, or run `ternd setup`");
        if (err == EACCES)
            return say(kExTempFail, "cannot write in " + dir.string() + " (" + std::strerror(err) +
                                        "): only root and the server's user may submit until `ternd setup` or a "
                                        "server start opened the maildrop to local users");
        return say(kExTempFail, "cannot create a file in " + dir.string() + ": " + std::strerror(err));
    }
    // The server reads it as another user: readable, under a name nobody can list (see pickup.cpp).
    ::fchmod(fd, 0644);
    struct Cleanup {
        const fs::path& path;
        int& fd;
        bool keep = false;
        ~Cleanup() {
            if (fd >= 0) ::close(fd);
            if (!keep) ::unlink(path.c_str());
        }
    } cleanup{tmp, fd};

    if (!write_all(fd, *section)) return say(kExTempFail, "cannot write " + tmp.string() + ": " + std::strerror(errno));
    md::InputReader reader(args.dot_ends);
    std::string head;  // the message's first octets, for the header checks below
    std::uint64_t total = 0;
    std::string buf(64u << 10, '\0'), out;
    bool more = true;
    while (more) {
        ssize_t n = ::read(in_fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return say(kExTempFail, std::string("cannot read the message: ") + std::strerror(errno));
        out.clear();
        if (n == 0) {
            reader.finish(out);
            more = false;
        } else {
            more = reader.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), out);
        }
        total += out.size();
        if (total > message_size)
            return say(kExDataErr, "message larger than limits.message_size (" + std::to_string(message_size) +
                                       " octets): not sent");
        if (head.size() < md::kMaxHeader) head.append(out, 0, md::kMaxHeader - head.size());
        if (!write_all(fd, out)) return say(kExTempFail, "cannot write " + tmp.string() + ": " + std::strerror(errno));
    }
    // The header rules the pickup applies (-t needs a recipient, a header section must end).
    md::Origin origin{env.user, env.uid, "localhost", name, 0};
    if (auto p = md::prepare(env, head, origin, total <= head.size()); !p) return say(kExDataErr, p.error().message);

    // Durable before the final name appears, and the name durable before we say so.
    if (::fsync(fd) != 0) return say(kExTempFail, "cannot sync " + tmp.string() + ": " + std::strerror(errno));
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
        return say(kExTempFail, "cannot rename " + tmp.string() + ": " + std::strerror(errno));
    cleanup.keep = true;
    if (auto r = base::fsync_directory(dir); !r) {
        // A local user may not open the maildrop (mode 1733, not readable) to fsync it; syncfs
        // on our own file commits the file system's journal, the rename included.
        if (::syncfs(fd) != 0) {
            int err = errno;
            ::unlink(final_path.c_str());  // not known to be durable: the caller retries
            return say(kExTempFail, "cannot sync " + dir.string() + ": " + std::strerror(err));
        }
    }
    return 0;
}

}  // namespace

int sendmail_main(std::optional<fs::path> data, const std::vector<std::string>& raw_args, bool as_link, bool as_mailq) {
    auto args = parse_sendmail_args(raw_args);
    if (!args) return say(kExUsage, args.error().message);
    if (as_mailq) args->mode = SendmailArgs::Mode::ListQueue;
    if (args->mode == SendmailArgs::Mode::Newaliases) {
        std::cout << "newaliases: nothing to do: aliases live in Tern's directory (`ternd alias add|list`)\n";
        return 0;
    }
    // The configuration: -C, else $TERN_CONFIG or /etc/tern/ternd.toml when it exists. It gives
    // the data directory (unless --data did) and the message size limit.
    config::Config cfg;
    fs::path file = args->config_file.empty() ? default_config_file() : fs::path(args->config_file);
    std::error_code ec;
    bool have_file = fs::exists(file, ec);
    if (!args->config_file.empty() && !have_file) return say(kExConfig, "no configuration file " + file.string());
    if (have_file) {
        auto loaded = config::load_file(file, cfg);
        if (!loaded) return say(kExConfig, loaded.error().message);
        cfg = *loaded;
    }
    fs::path dir;
    if (data) dir = *data;
    else if (have_file) dir = cfg.data_dir;
    else if (!as_link) dir = cfg.data_dir;  // `ternd sendmail` alone: the same default as every command
    else
        return say(kExConfig, "no data directory: put server.data_dir in " + file.string() +
                                  " (`ternd setup --link-sendmail` writes it) or set TERN_CONFIG");
    if (args->mode == SendmailArgs::Mode::ListQueue) return admin::queue_list(dir);
    return drop(dir / "maildrop", *args, cfg.message_size, STDIN_FILENO);
}

}  // namespace tern::server
