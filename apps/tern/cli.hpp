// What every `tern` command shares: the global options (--account, --json, --trace) and the
// directories. Each command lives in its own cmd_*.cpp and registers itself from main.cpp; the
// commands only parse arguments and print, the work is in src/mua.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "mua/paths.hpp"

namespace tern::cli {

struct Context {
    std::string account;   // --account NAME ("" = the first account)
    bool json = false;     // --json: machine-readable listings
    bool trace = false;    // --trace: the protocol dialogue on stderr, secrets masked
    mua::Paths paths;
    int exit_code = 0;     // set by the command that ran
};

// One per cmd_*.cpp.
void add_account_commands(CLI::App& app, Context& ctx);
void add_read_commands(CLI::App& app, Context& ctx);         // cmd_read.cpp
void add_attachments_commands(CLI::App& app, Context& ctx);  // cmd_attachments.cpp

}  // namespace tern::cli
