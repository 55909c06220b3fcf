// `tern search QUERY`: the local full-text index (brought up to date first, offline), or with
// --server the IMAP server's UID SEARCH shown from the local cache. Prints like `tern list` (the
// column helpers are a small local copy of cmd_list.cpp's, which keeps them in an anonymous
// namespace). Only parses arguments and prints; the work is in src/mua/search_index.
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cli.hpp"
#include "mua/json.hpp"
#include "mua/listing.hpp"
#include "mua/search_index.hpp"

namespace tern::cli {

namespace {

// The objects `tern --json list` prints.
void print_json(const std::vector<mua::MessageRow>& rows) {
    mua::JsonWriter j;
    j.begin_array();
    for (auto& m : rows) {
        j.begin_object();
        mua::message_json(j, m);
        j.end_object();
    }
    j.end_array();
    std::cout << j.str() << "\n";
}

void print_rows(const std::vector<mua::MessageRow>& rows, bool show_folder) {
    mua::LineLayout layout;
    layout.width = terminal_width();
    for (auto& m : rows) layout.id_width = std::max(layout.id_width, std::to_string(m.id).size());
    if (show_folder)
        for (auto& m : rows) layout.folder_width = std::min<std::size_t>(16, std::max(layout.folder_width, m.folder.size()));
    std::string out;
    for (auto& m : rows) out += mua::header_line(m, layout) + "\n";
    std::cout << out;
}

struct SearchArgs {
    std::vector<std::string> words;
    std::string folder;  // "" = every folder (local), INBOX (--server)
    bool unread = false, server = false;
    std::size_t limit = 0;
};

void search(Context& ctx, const SearchArgs& a) {
    std::string text;
    for (auto& w : a.words) text += (text.empty() ? "" : " ") + w;
    auto query = mua::parse_search_query(text);
    auto opened = open_account(ctx);
    if (!opened) return;
    std::int64_t folder_id = 0;
    std::string folder_name = a.folder.empty() && a.server ? "INBOX" : a.folder;
    if (!folder_name.empty()) {
        auto folder = opened->cache->folder(folder_name, false);
        if (!folder) return error(ctx, folder.error().message);
        folder_id = folder->id;
    }
    auto index = mua::SearchIndex::open(*opened->cache);
    if (!index) return error(ctx, "cannot open the search index: " + index.error().message);
    mua::SearchFilter filter{folder_id, a.unread, a.limit};
    std::vector<mua::MessageRow> rows;
    std::size_t missing = 0;
    if (a.server) {
        auto uids = mua::server_search(opened->account, folder_name, query, trace_sink(ctx));
        if (!uids) return error(ctx, uids.error().message);
        auto r = (*index)->by_uids(folder_id, *uids, filter, missing);
        if (!r) return error(ctx, r.error().message);
        rows = std::move(*r);
    } else {
        bool tty = ::isatty(STDERR_FILENO) && !ctx.json;
        auto progress = [&](std::size_t done, std::size_t total) {
            if (tty && total >= 500) std::cerr << "\r\033[Kindexing " << done << "/" << total << std::flush;
        };
        auto stats = (*index)->catch_up(256, progress);
        if (tty) std::cerr << "\r\033[K" << std::flush;
        if (!stats) return error(ctx, "cannot update the search index: " + stats.error().message);
        auto r = (*index)->search(query, filter);
        if (!r) return error(ctx, r.error().message);
        rows = std::move(*r);
    }
    if (ctx.json) print_json(rows);
    else if (rows.empty()) std::cout << "(no messages match)\n";
    else print_rows(rows, folder_name.empty());
    if (missing)
        std::cerr << "tern: " << missing << " matching message" << (missing == 1 ? " is" : "s are")
                  << " not in the local cache yet: run `tern sync`\n";
}

}  // namespace

void add_search_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<SearchArgs>();
    auto* s = app.add_subcommand("search", "find messages: words, \"phrases\", from: to: subject: body: (all must match)");
    s->add_option("query", args->words, "the query")->required();
    s->add_option("--folder", args->folder, "only this folder (default: all; INBOX with --server)");
    s->add_flag("--unread", args->unread, "only unread messages");
    s->add_option("--limit", args->limit, "only the newest N");
    s->add_flag("--server", args->server, "ask the IMAP server (UID SEARCH) instead of the local index");
    s->callback([&ctx, args] { search(ctx, *args); });
}

}  // namespace tern::cli
