// `tern read --file PATH [--json] [--width N] [--html-raw]`: one message shown for reading
// (headers, text, attachment list) by src/mua/render. The message comes from a file for now; the
// cache lookup by ID plugs in beside --file and hands its bytes to show_message().
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "mua/render.hpp"

namespace tern::cli {

struct ReadArgs {
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
    cmd->add_option("--file", args->file, "the message file (e.g. one from a Maildir)")->required();
    cmd->add_flag("--json", ctx.json, "the structured rendering as JSON");
    cmd->add_option("--width", args->width, "wrap HTML text at N columns (0: never)")->check(CLI::Range(0, 10000));
    cmd->add_flag("--html-raw", args->html_raw, "show an HTML body as its source instead of rendering it");
    cmd->add_flag("--prefer-html", args->prefer_html, "multipart/alternative: show the HTML part");
    cmd->callback([&ctx, args] {
        auto bytes = read_message_file(args->file, std::cerr);
        if (!bytes) {
            ctx.exit_code = 1;
            return;
        }
        ctx.exit_code = show_message(*bytes, *args, ctx.json, std::cout);
    });
}

}  // namespace tern::cli
