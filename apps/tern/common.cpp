// Helpers every command uses (see cli.hpp): opening the account and its cache, errors, --trace,
// reading a secret, sizes for humans.
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

#include "base/terminal.hpp"
#include "cli.hpp"

namespace tern::cli {

void error(Context& ctx, const std::string& message, int code) {
    std::cerr << "tern: " << message << "\n";
    ctx.exit_code = code;
}

std::optional<Opened> open_account(Context& ctx) {
    auto account = mua::find_account(ctx.paths.config_dir, ctx.account);
    if (!account) {
        error(ctx, account.error().message);
        return std::nullopt;
    }
    auto cache = mua::Cache::open(ctx.paths.data_dir / account->name);
    if (!cache) {
        error(ctx, "cannot open the local cache: " + cache.error().message);
        return std::nullopt;
    }
    return Opened{std::move(*account), std::move(*cache)};
}

mua::TraceSink trace_sink(const Context& ctx) {
    if (!ctx.trace) return {};
    return [](std::string_view line) { std::cerr << line << "\n"; };
}

std::string read_secret(const std::string& prompt) { return base::read_secret_line(prompt); }

std::size_t terminal_width() {
    if (const char* c = std::getenv("COLUMNS")) {
        long n = std::strtol(c, nullptr, 10);
        if (n >= 40 && n < 1000) return static_cast<std::size_t>(n);
    }
    winsize ws{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
    return 100;
}

}  // namespace tern::cli
