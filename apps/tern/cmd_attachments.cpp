// `tern attachments ID | --file PATH [--save DIR] [--force] [--json] [N...]`: the attachments of one
// message listed, or saved into DIR (src/mua/attachments: names made safe, never outside DIR,
// no overwrite without --force). ID is the number `tern list` shows (the message is read from the
// account's cache and marked \Seen); --file reads a message file instead.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "mua/attachments.hpp"
#include "mua/json.hpp"

namespace tern::cli {


struct AttachmentsArgs {
    std::optional<std::int64_t> id;
    std::string file;
    std::string save_dir;  // "" = list
    bool force = false;
    std::vector<std::size_t> indices;  // empty = all
};

// The bytes of one message to the listing or the saved files. Returns the exit code.
int attachments_of(std::string_view message, const AttachmentsArgs& args, bool json, std::ostream& out,
                   std::ostream& err) {
    if (args.save_dir.empty()) {
        std::vector<mua::Attachment> all = mua::list_attachments(message), shown;
        int rc = 0;
        for (const mua::Attachment& a : all)
            if (args.indices.empty() || std::find(args.indices.begin(), args.indices.end(), a.index) != args.indices.end())
                shown.push_back(a);
        for (std::size_t i : args.indices)
            if (i == 0 || i > all.size()) {
                err << "tern: no attachment " << i << " (the message has " << all.size() << ")\n";
                rc = 1;
            }
        if (json) {
            out << mua::attachments_json(shown) << "\n";
            return rc;
        }
        for (const mua::Attachment& a : shown)
            out << "[" << a.index << "] " << (a.name.empty() ? a.save_name : a.name) << "  " << a.content_type << "  "
                << mua::human_size(a.size) << (a.uuencoded ? "  (uuencoded)" : "")
                << (!a.name.empty() && a.name != a.save_name ? "  saved as " + a.save_name : "") << "\n";
        return rc;
    }
    mua::SaveOptions so;
    so.force = args.force;
    auto saved = mua::save_attachments(message, args.indices, args.save_dir, so);
    if (!saved) {
        err << "tern: " << saved.error().message << "\n";
        return 1;
    }
    int rc = 0;
    std::string js = "[";
    for (const mua::Saved& s : *saved) {
        if (s.error) rc = 1;
        if (json) {
            if (js.size() > 1) js += ',';
            js += "{\"index\":" + std::to_string(s.index) + ",\"path\":" + mua::json_string(s.path.string()) +
                  ",\"size\":" + std::to_string(s.size) + ",\"replaced\":" + (s.replaced ? "true" : "false") +
                  ",\"error\":" + (s.error ? mua::json_string(*s.error) : std::string("null")) + "}";
        } else if (s.error) {
            err << "tern: attachment " << s.index << (s.path.empty() ? "" : " (" + s.path.string() + ")") << ": "
                << *s.error << "\n";
        } else {
            out << "saved [" << s.index << "] " << s.path.string() << " (" << s.size << " bytes"
                << (s.replaced ? ", replaced" : "") << ")\n";
        }
    }
    if (json) out << js << "]\n";
    return rc;
}

void add_attachments_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<AttachmentsArgs>();
    auto* cmd = app.add_subcommand("attachments", "list a message's attachments, or save them into a directory");
    // With --file there is no ID: the first number is then an attachment number.
    cmd->add_option("ID", args->id, "the message's number as `tern list` shows it");
    cmd->add_option("--file", args->file, "a message file instead (e.g. one from a Maildir)");
    cmd->add_option("--save", args->save_dir, "save into this directory (it must exist)");
    cmd->add_flag("--force", args->force, "replace files that already exist (atomically)");
    cmd->add_flag("--json", ctx.json, "output as JSON");
    cmd->add_option("N", args->indices, "attachment numbers as listed (default: all)");
    cmd->callback([&ctx, args] {
        if (!args->file.empty() && args->id) {
            if (*args->id < 0) return error(ctx, "attachments: no attachment " + std::to_string(*args->id));
            args->indices.insert(args->indices.begin(), static_cast<std::size_t>(*args->id));
            args->id.reset();
        }
        if (args->file.empty() && (!args->id || *args->id <= 0))
            return error(ctx, "attachments: give a message ID or --file PATH");
        std::int64_t id = args->id.value_or(0);
        std::optional<Opened> opened;
        auto bytes = message_bytes(ctx, id, args->file, &opened);
        if (!bytes) return;
        ctx.exit_code = attachments_of(*bytes, *args, ctx.json, std::cout, std::cerr);
        if (opened) add_flag(*opened->cache, id, "\\Seen");
    });
}

}  // namespace tern::cli
