// `tern read ID | --file PATH [--json] [--width N] [--html-raw]`: one message shown for reading
// (headers, text, attachment list) by src/mua/render. ID is the number `tern list` shows: the
// message comes from the account's cache and is marked \Seen there (the next `tern sync` tells the
// IMAP server); --file reads a message file instead and changes nothing.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "mua/render.hpp"

namespace tern::cli {

struct ReadArgs {
    std::int64_t id = 0;
    std::string file;
    std::size_t width = 78;
    bool html_raw = false;
    bool prefer_html = false;
};

// A whole message file (Maildir files are single messages), at most 1 GiB.
std::optional<std::string> read_message_file(const std::string& path, std::ostream& err) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        err << "tern: cannot open " << path << "\n";
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) {
        err << "tern: cannot read " << path << "\n";
        return std::nullopt;
    }
    std::string s = std::move(ss).str();
    if (s.size() > (1u << 30)) {
        err << "tern: " << path << " is too large to be a message\n";
        return std::nullopt;
    }
    return s;
}

// The message `id` of the account's cache, or the file; prints why not (exit code set) on failure.
// From the cache, `*opened_out` keeps the account open for the caller (flags to set afterwards).
std::optional<std::string> message_bytes(Context& ctx, std::int64_t id, const std::string& file,
                                         std::optional<Opened>* opened_out) {
    if (!file.empty()) {
        auto bytes = read_message_file(file, std::cerr);
        if (!bytes) ctx.exit_code = 1;
        return bytes;
    }
    auto opened = open_account(ctx);
    if (!opened) return std::nullopt;
    auto bytes = opened->cache->read(id);
    if (!bytes) {
        error(ctx, "message " + std::to_string(id) + ": " + bytes.error().message);
        return std::nullopt;
    }
    if (opened_out) *opened_out = std::move(opened);
    return std::move(*bytes);
}

// Adds `flag` to message `id`'s flags in the cache (kept for the next sync); says so if it cannot.
void add_flag(mua::Cache& cache, std::int64_t id, std::string_view flag) {
    auto row = cache.get(id);
    if (row && row->has(flag)) return;
    auto r = row ? cache.set_flags(id, mua::normalize_flags(row->flags + " " + std::string(flag)))
                 : Result<void>(std::unexpected(row.error()));
    if (!r) std::cerr << "tern: cannot mark message " << id << " " << flag << ": " << r.error().message << "\n";
}

// The bytes of one message to what `tern read` prints. Returns the exit code.
int show_message(std::string_view message, const ReadArgs& args, bool json, std::ostream& out) {
    mua::RenderOptions o;
    o.width = args.width;
    o.html_raw = args.html_raw;
    o.prefer_html = args.prefer_html;
    mua::Rendered r = mua::render_message(message, o);
    if (json)
        out << mua::render_json(r) << "\n";
    else
        out << r.text;
    return 0;
}

void add_read_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ReadArgs>();
    auto* cmd = app.add_subcommand("read", "show a message: its header, text and attachment list");
    auto* id = cmd->add_option("ID", args->id, "the message's number as `tern list` shows it")->check(CLI::PositiveNumber);
    auto* file = cmd->add_option("--file", args->file, "a message file instead (e.g. one from a Maildir)");
    id->excludes(file);
    file->excludes(id);
    cmd->add_flag("--json", ctx.json, "the structured rendering as JSON");
    cmd->add_option("--width", args->width, "wrap HTML text at N columns (0: never)")->check(CLI::Range(0, 10000));
    cmd->add_flag("--html-raw", args->html_raw, "show an HTML body as its source instead of rendering it");
    cmd->add_flag("--prefer-html", args->prefer_html, "multipart/alternative: show the HTML part");
    cmd->callback([&ctx, args] {
        if (args->id == 0 && args->file.empty()) return error(ctx, "read: give a message ID or --file PATH");
        std::optional<Opened> opened;
        auto bytes = message_bytes(ctx, args->id, args->file, &opened);
        if (!bytes) return;
        ctx.exit_code = show_message(*bytes, *args, ctx.json, std::cout);
        // RFC 9051 §2.3.2: \Seen once the message has been read.
        if (opened) add_flag(*opened->cache, args->id, "\\Seen");
    });
}

}  // namespace tern::cli
