// `tern list` (the header list of a folder, from the local cache: works offline) and
// `tern folders`. Human columns by default, --json for scripts.
#include <iostream>

#include "cli.hpp"
#include "mua/browser_model.hpp"
#include "mua/json.hpp"
#include "mua/listing.hpp"
#include "mua/threads.hpp"

namespace tern::cli {

namespace {

struct ListArgs {
    std::string folder = "INBOX";
    bool unread = false, thread = false;
    std::size_t limit = 0;
};

void list(Context& ctx, const ListArgs& a) {
    auto opened = open_account(ctx);
    if (!opened) return;
    auto folder = opened->cache->folder(a.folder, false);
    if (!folder) return error(ctx, folder.error().message);
    auto rows = opened->cache->list({folder->id, a.unread, a.limit});
    if (!rows) return error(ctx, rows.error().message);
    std::vector<mua::ThreadLine> order;
    if (a.thread) order = mua::thread_order(*rows);
    else
        for (std::size_t i = 0; i < rows->size(); ++i) order.push_back({i, 0});
    if (ctx.json) {
        mua::JsonWriter j;
        j.begin_array();
        for (auto& line : order) {
            j.begin_object();
            mua::message_json(j, (*rows)[line.index]);
            if (a.thread) j.key("depth").value(static_cast<std::int64_t>(line.depth));
            j.end_object();
        }
        j.end_array();
        std::cout << j.str() << "\n";
        return;
    }
    mua::LineLayout layout;
    layout.width = terminal_width();
    for (auto& m : *rows) layout.id_width = std::max(layout.id_width, std::to_string(m.id).size());
    std::string out;
    for (auto& line : order) {
        layout.depth = line.depth;
        out += mua::header_line((*rows)[line.index], layout) + "\n";
    }
    if (rows->empty()) out = "(no messages in " + a.folder + (a.unread ? " unread" : "") + ")\n";
    std::cout << out;
}

void folders(Context& ctx) {
    auto opened = open_account(ctx);
    if (!opened) return;
    auto list = opened->cache->folders();
    if (!list) return error(ctx, list.error().message);
    if (ctx.json) {
        mua::JsonWriter j;
        j.begin_array();
        for (auto& f : *list) {
            j.begin_object().key("name").value(f.name).key("messages").value(f.messages).key("unread").value(f.unread);
            j.key("special").value(f.special).end_object();
        }
        j.end_array();
        std::cout << j.str() << "\n";
        return;
    }
    for (auto& f : *list) {
        std::cout << mua::fit(f.name, 30, true) << " " << f.messages << " messages";
        if (f.unread) std::cout << ", " << f.unread << " unread";
        if (!f.special.empty()) std::cout << "  " << f.special;
        std::cout << "\n";
    }
}

}  // namespace

void add_list_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ListArgs>();
    auto* l = app.add_subcommand("list", "the header list of a folder (from the local cache)");
    l->add_option("--folder", args->folder, "the folder (default INBOX)");
    l->add_flag("--unread", args->unread, "only unread messages");
    l->add_option("--limit", args->limit, "only the newest N");
    l->add_flag("--thread", args->thread, "group replies under the message they answer");
    l->callback([&ctx, args] { list(ctx, *args); });
    app.add_subcommand("folders", "the folders in the local cache")->callback([&ctx] { folders(ctx); });
}

}  // namespace tern::cli
