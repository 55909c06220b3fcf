// What every `tern` command shares: the global options (--account, --json, --trace) and the
// directories. Each command lives in its own cmd_*.cpp and registers itself from main.cpp; the
// commands only parse arguments and print, the work is in src/mua.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "mua/account.hpp"
#include "mua/cache.hpp"
#include "mua/compose.hpp"
#include "mua/connection.hpp"
#include "mua/paths.hpp"

namespace tern::cli {

struct Context {
    std::string account;   // --account NAME ("" = the first account)
    bool json = false;     // --json: machine-readable listings
    bool trace = false;    // --trace: the protocol dialogue on stderr, secrets masked
    mua::Paths paths;
    int exit_code = 0;     // set by the command that ran
};

// The account chosen by --account (or the first) and its local cache; prints why not and sets
// ctx.exit_code on failure.
struct Opened {
    mua::Account account;
    std::unique_ptr<mua::Cache> cache;
};
std::optional<Opened> open_account(Context& ctx);
// Prints "tern: <message>" on stderr and sets the exit code (1 unless given).
void error(Context& ctx, const std::string& message, int code = 1);
// The --trace sink (stderr), or none.
mua::TraceSink trace_sink(const Context& ctx);
// One line from stdin; no echo when stdin is a terminal (prompting on stderr).
std::string read_secret(const std::string& prompt);
// Terminal width (COLUMNS, the tty, else 100).
std::size_t terminal_width();

// The body of a new message: from `body_file` ("-" = stdin), else stdin when it is not a terminal,
// else $EDITOR on a temporary file holding `initial` (cmd_compose.cpp).
Result<std::string> read_body(const std::string& body_file, const std::string& initial);
// Date, UTC offset and Message-ID randomness for a draft about to be built.
void stamp(mua::Draft& draft);

// Builds `draft` (From = the account), sends it or queues it in the outbox, prints the outcome;
// the id of the copy in Sent/Outbox, or 0 after printing why not (cmd_send.cpp).
std::int64_t send_draft(Context& ctx, Opened& opened, mua::Draft draft);
// The same without printing (the browser shows it on its message line): the Sent/Outbox id
// (0: neither), what happened in one line, or why it failed.
struct SendReport {
    std::int64_t id = 0;
    bool sent = false, queued = false;
    std::string summary;               // "sent <id> to 2 recipients (copy 7 in Sent)" / "not sent now ..."
    std::vector<std::string> refused;  // recipients the server refused (the others got it)
    std::string error;                 // non-empty: not sent nor queued, and why
    std::int64_t kept = 0;             // refused for good: the copy kept in Drafts (0: none)
};
SendReport send_draft_quietly(Opened& opened, mua::Draft draft, const mua::TraceSink& trace);

// One per cmd_*.cpp.
void add_account_commands(CLI::App& app, Context& ctx);
void add_pop_commands(CLI::App& app, Context& ctx);
void add_list_commands(CLI::App& app, Context& ctx);
void add_compose_commands(CLI::App& app, Context& ctx);
void add_send_commands(CLI::App& app, Context& ctx);
void add_sync_commands(CLI::App& app, Context& ctx);
void add_manage_commands(CLI::App& app, Context& ctx);
void add_browse_commands(CLI::App& app, Context& ctx);

// The full-screen browser (browser.cpp): `tern` with no subcommand on a terminal, `tern browse`.
void run_browser(Context& ctx, const std::string& folder);
void add_read_commands(CLI::App& app, Context& ctx);         // cmd_read.cpp
void add_attachments_commands(CLI::App& app, Context& ctx);  // cmd_attachments.cpp
void add_reply_commands(CLI::App& app, Context& ctx);        // cmd_reply.cpp

// Message `id` of the account's cache (the ID `tern list` shows), or the message file when `file`
// is given; prints why not and sets ctx.exit_code on failure. From the cache, `*opened_out` keeps
// the account open for flags to set afterwards (cmd_read.cpp).
std::optional<std::string> message_bytes(Context& ctx, std::int64_t id, const std::string& file,
                                         std::optional<Opened>* opened_out);
// Adds `flag` to message `id`'s flags in the cache (the next sync pushes it); says so if it cannot.
void add_flag(mua::Cache& cache, std::int64_t id, std::string_view flag);
void add_search_commands(CLI::App& app, Context& ctx);       // cmd_search.cpp

}  // namespace tern::cli
