// `tern account add|list|remove`: the accounts in $XDG_CONFIG_HOME/tern/accounts.toml.
#include "cli.hpp"

namespace tern::cli {

void add_account_commands(CLI::App& app, Context& ctx) {
    auto* account = app.add_subcommand("account", "add, list or remove accounts");
    account->require_subcommand(1);
    (void)ctx;
}

}  // namespace tern::cli
