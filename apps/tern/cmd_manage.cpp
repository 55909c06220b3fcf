// `tern delete ID...`, `tern flag ID... +\Flagged -\Seen`, `tern move ID... FOLDER`: changes in the
// local cache, pushed to the IMAP server by the next `tern sync`.
#include <iostream>

#include "cli.hpp"

namespace tern::cli {

namespace {

std::optional<std::int64_t> parse_id(Context& ctx, const std::string& s) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v <= 0) {
        error(ctx, "not a message number: " + s + " (see `tern list`)");
        return std::nullopt;
    }
    return v;
}

void remove(Context& ctx, const std::vector<std::string>& ids) {
    auto opened = open_account(ctx);
    if (!opened) return;
    for (auto& s : ids) {
        auto id = parse_id(ctx, s);
        if (!id) return;
        if (auto r = opened->cache->remove(*id); !r) return error(ctx, r.error().message);
        std::cout << "deleted " << *id << "\n";
    }
}

void flag(Context& ctx, const std::vector<std::string>& args) {
    std::vector<std::int64_t> ids;
    std::vector<std::string> add, drop;
    for (auto& a : args) {
        if (a.starts_with('+') && a.size() > 1) add.push_back(a.substr(1));
        else if (a.starts_with('-') && a.size() > 1) drop.push_back(a.substr(1));
        else if (auto id = parse_id(ctx, a)) ids.push_back(*id);
        else return;
    }
    if (ids.empty() || (add.empty() && drop.empty()))
        return error(ctx, "usage: tern flag ID... +FLAG|-FLAG... (e.g. +\\Flagged -\\Seen)");
    for (auto& f : add)
        if (f.find_first_of(" (){%*\"]\\", f[0] == '\\' ? 1 : 0) != std::string::npos)
            return error(ctx, "not a flag: " + f);
    auto opened = open_account(ctx);
    if (!opened) return;
    for (auto id : ids) {
        auto row = opened->cache->get(id);
        if (!row) return error(ctx, row.error().message);
        std::string flags = row->flags;
        for (auto& f : add) flags += " " + f;
        std::string kept;
        std::string norm = mua::normalize_flags(flags);
        std::size_t i = 0;
        while (i < norm.size()) {
            auto sp = norm.find(' ', i);
            if (sp == std::string::npos) sp = norm.size();
            std::string f = norm.substr(i, sp - i);
            bool dropped = false;
            for (auto& d : drop) dropped = dropped || mua::normalize_flags(d) == f;
            if (!dropped) kept += f + " ";
            i = sp + 1;
        }
        if (auto r = opened->cache->set_flags(id, kept); !r) return error(ctx, r.error().message);
        std::cout << id << ": " << mua::normalize_flags(kept) << "\n";
    }
}

void move(Context& ctx, const std::vector<std::string>& args) {
    if (args.size() < 2) return error(ctx, "usage: tern move ID... FOLDER");
    auto opened = open_account(ctx);
    if (!opened) return;
    auto folder = opened->cache->folder(args.back());
    if (!folder) return error(ctx, folder.error().message);
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        auto id = parse_id(ctx, args[i]);
        if (!id) return;
        if (auto r = opened->cache->move(*id, *folder); !r) return error(ctx, r.error().message);
        std::cout << "moved " << *id << " to " << folder->name << "\n";
    }
}

}  // namespace

void add_manage_commands(CLI::App& app, Context& ctx) {
    auto ids = std::make_shared<std::vector<std::string>>();
    auto* d = app.add_subcommand("delete", "delete messages (on the IMAP server at the next sync)");
    d->add_option("id", *ids, "message numbers from `tern list`")->required();
    d->callback([&ctx, ids] { remove(ctx, *ids); });

    auto* f = app.add_subcommand("flag", "add (+) or remove (-) flags: tern flag 12 +\\Flagged -\\Seen");
    f->prefix_command();  // every argument is taken as it is: "-\Seen" is a flag to remove, not an option
    f->callback([&ctx, f] { flag(ctx, f->remaining()); });

    auto margs = std::make_shared<std::vector<std::string>>();
    auto* m = app.add_subcommand("move", "move messages to a folder (on the IMAP server at the next sync)");
    m->add_option("args", *margs, "IDs, then the folder")->required();
    m->callback([&ctx, margs] { move(ctx, *margs); });
}

}  // namespace tern::cli
