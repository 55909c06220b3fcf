// tern: the mail client's command line (CLI11). Registers the commands (one file each) and runs
// the one asked for; no mail logic here. Must never take a password from argv.
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cli.hpp"

int main(int argc, char** argv) {
    ::umask(077);  // the cache holds mail: for this user only
    tern::cli::Context ctx;
    CLI::App app{"tern: read, write and sync mail (POP3, IMAP, SMTP)", "tern"};
    app.set_version_flag("--version", std::string("tern ") + TERN_VERSION);
    app.add_option("--account", ctx.account, "the account to use (default: the first one)");
    app.add_flag("--json", ctx.json, "listings as JSON");
    app.add_flag("--trace", ctx.trace, "print the protocol dialogue (C:/S:, secrets masked) on stderr");
    app.require_subcommand(0, 1);  // none: the full-screen browser on a terminal, else this help

    tern::cli::add_account_commands(app, ctx);
    tern::cli::add_pop_commands(app, ctx);
    tern::cli::add_list_commands(app, ctx);
    tern::cli::add_compose_commands(app, ctx);
    tern::cli::add_send_commands(app, ctx);
    tern::cli::add_sync_commands(app, ctx);
    tern::cli::add_manage_commands(app, ctx);
    tern::cli::add_browse_commands(app, ctx);
    tern::cli::add_read_commands(app, ctx);
    tern::cli::add_attachments_commands(app, ctx);
    tern::cli::add_reply_commands(app, ctx);
    tern::cli::add_search_commands(app, ctx);

    auto paths = tern::mua::Paths::from_environment();
    if (!paths) {
        std::cerr << "tern: " << paths.error().message << "\n";
        return 1;
    }
    ctx.paths = *paths;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (app.get_subcommands().empty()) {
        if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
            std::cout << app.help();
            return 1;
        }
        tern::cli::run_browser(ctx, "");
    }
    return ctx.exit_code;
}
