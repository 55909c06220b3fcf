// `tern compose`: a message from the command line's addresses, subject and files, with the body
// from --body-file, from stdin when it is not a terminal, else from $EDITOR; written to stdout or
// --out. Thin: the message is made by mua::build_message. Must never leave the body's temporary
// file readable by others or behind it, and never hold mail logic of its own.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "cli.hpp"
#include "mua/compose.hpp"

namespace tern::cli {
namespace {

struct ComposeArgs {
    std::string from, subject, body_file, out;
    std::vector<std::string> to, cc, bcc, attach;
};

Result<std::string> read_all(std::istream& in, const std::string& what) {
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return fail("cannot read " + what);
    return ss.str();
}

}  // namespace

// Runs $EDITOR (default vi) on a temporary file (0600, made by mkstemps) holding `initial`, and
// returns what was saved. The editor runs through /bin/sh so "EDITOR='emacs -nw'" works, as git and mutt do;
// the file name goes as "$1", never into the command text.
Result<std::string> edit_body(const std::string& initial) {
    const char* dir = std::getenv("TMPDIR");
    std::string path = std::string(dir && *dir ? dir : "/tmp") + "/tern-compose-XXXXXX.txt";
    int fd = ::mkstemps(path.data(), 4);
    if (fd < 0) return fail("cannot create a temporary file: " + std::string(std::strerror(errno)));
    for (std::size_t done = 0; done < initial.size();) {
        ssize_t n = ::write(fd, initial.data() + done, initial.size() - done);
        if (n <= 0 && errno != EINTR) {
            ::close(fd);
            ::unlink(path.c_str());
            return fail("cannot write a temporary file: " + std::string(std::strerror(errno)));
        }
        if (n > 0) done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    const char* env = std::getenv("EDITOR");
    std::string editor = env && *env ? env : "vi";
    pid_t pid = ::fork();
    if (pid < 0) {
        ::unlink(path.c_str());
        return fail("cannot start the editor: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
        if (!::isatty(STDOUT_FILENO)) {  // stdout is the message's destination: the editor gets the terminal
            int tty = ::open("/dev/tty", O_WRONLY);
            if (tty >= 0) ::dup2(tty, STDOUT_FILENO);
        }
        std::string cmd = editor + " \"$1\"";
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), "sh", path.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ::unlink(path.c_str());
        return fail("the editor (" + editor + ") failed; nothing was written");
    }
    std::ifstream in(path, std::ios::binary);
    auto body = read_all(in, path);
    ::unlink(path.c_str());
    return body;
}

namespace {
int local_utc_offset_minutes(std::time_t now) {
    std::tm tm{};
    if (!::localtime_r(&now, &tm)) return 0;
    return static_cast<int>(tm.tm_gmtoff / 60);
}
}  // namespace

Result<std::string> read_body(const std::string& body_file, const std::string& initial) {
    if (body_file == "-" || (body_file.empty() && !::isatty(STDIN_FILENO))) return read_all(std::cin, "stdin");
    if (!body_file.empty()) {
        std::ifstream in(body_file, std::ios::binary);
        if (!in) return fail("cannot open " + body_file);
        return read_all(in, body_file);
    }
    return edit_body(initial);
}

void stamp(mua::Draft& d) {
    std::time_t now = std::time(nullptr);
    d.date = now;
    d.utc_offset_minutes = local_utc_offset_minutes(now);
    std::random_device rd;
    d.unique = (std::uint64_t{rd()} << 32) | rd();
}

namespace {

int run_compose(const ComposeArgs& args) {
    mua::Draft d;
    d.from = args.from;
    d.to = args.to;
    d.cc = args.cc;
    d.bcc = args.bcc;
    d.subject = args.subject;
    for (const auto& a : args.attach) d.attachments.push_back({a, ""});

    auto body = read_body(args.body_file, "");
    if (!body) {
        std::cerr << "tern compose: " << body.error().message << "\n";
        return 1;
    }
    d.body = std::move(*body);

    stamp(d);
    auto built = mua::build_message(d);
    if (!built) {
        std::cerr << "tern compose: " << built.error().message << "\n";
        return 1;
    }
    if (args.out.empty()) {
        std::cout.write(built->message.data(), static_cast<std::streamsize>(built->message.size()));
        std::cout.flush();
        return std::cout ? 0 : 1;
    }
    std::ofstream out(args.out, std::ios::binary | std::ios::trunc);  // 0600: main() sets umask 077
    out.write(built->message.data(), static_cast<std::streamsize>(built->message.size()));
    out.close();
    if (!out) {
        std::cerr << "tern compose: cannot write " << args.out << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

void add_compose_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ComposeArgs>();
    auto* cmd = app.add_subcommand("compose", "write a message (RFC 5322, MIME) to stdout or a file");
    cmd->add_option("--from", args->from, "sender: \"Name <addr>\" or addr")->required();
    cmd->add_option("--to", args->to, "recipient (repeatable; \"a@x, b@y\" also works)")->required();
    cmd->add_option("--cc", args->cc, "copy recipient (repeatable)");
    cmd->add_option("--bcc", args->bcc, "blind copy recipient (repeatable; never in the header)");
    cmd->add_option("--subject", args->subject, "subject (UTF-8)")->required();
    cmd->add_option("--attach", args->attach, "file to attach (repeatable)");
    cmd->add_option("--body-file", args->body_file,
                    "the body (UTF-8; \"-\" = stdin); default: stdin when it is not a terminal, else $EDITOR");
    cmd->add_option("--out", args->out, "write the message here instead of stdout");
    cmd->callback([args, &ctx] { ctx.exit_code = run_compose(*args); });
}

}  // namespace tern::cli
