// `tern sync`: sends the outbox and syncs every IMAP folder both ways (src/mua/sync), with a
// progress line on a terminal; for a POP3-only account, sends the outbox.
#include <unistd.h>

#include <iostream>

#include "cli.hpp"
#include "mua/sync.hpp"

namespace tern::cli {

namespace {

void print_outbox(const mua::OutboxReport& o) {
    if (o.sent) std::cout << "outbox: " << o.sent << " sent\n";
    if (o.left) std::cout << "outbox: " << o.left << " still waiting (" << (o.errors.empty() ? "" : o.errors.back()) << ")\n";
    for (auto& e : o.errors)
        if (o.left == 0) std::cerr << "tern: " << e << "\n";
}

void sync(Context& ctx) {
    auto opened = open_account(ctx);
    if (!opened) return;
    if (!opened->account.imap) {
        auto o = mua::flush_outbox(opened->account, *opened->cache, trace_sink(ctx));
        if (!o) return error(ctx, o.error().message);
        print_outbox(*o);
        if (!o->sent && !o->left) std::cout << "nothing to send; this account has no IMAP server (use `tern pop`)\n";
        return;
    }
    mua::SyncOptions options;
    options.trace = trace_sink(ctx);
    bool tty = ::isatty(STDERR_FILENO) && !ctx.trace;
    std::size_t last_shown = 0;
    if (tty) {
        options.progress = [&](const mua::SyncProgress& p) {
            // A redraw per percent (or per folder), not per message.
            std::size_t pct = p.total ? p.done * 100 / p.total : 0;
            std::size_t key = p.folder_index * 1000 + pct;
            if (key == last_shown && p.done != p.total) return;
            last_shown = key;
            std::string bar(20, ' ');
            for (std::size_t i = 0; i < pct / 5; ++i) bar[i] = '#';
            std::cerr << "\r\033[K[" << p.folder_index << "/" << p.folders << "] " << p.folder;
            if (p.total) std::cerr << " [" << bar << "] " << p.done << "/" << p.total;
            std::cerr << std::flush;
        };
    }
    auto r = mua::sync_account(opened->account, *opened->cache, options);
    if (tty) std::cerr << "\r\033[K" << std::flush;
    if (!r) return error(ctx, r.error().message);
    print_outbox(r->outbox);
    for (auto& f : r->folders) {
        std::vector<std::string> parts;
        auto add = [&](std::size_t n, const char* what) {
            if (n) parts.push_back(std::to_string(n) + " " + what);
        };
        add(f.downloaded, "new");
        add(f.flags_down, "flag changes down");
        add(f.removed_down, "removed");
        add(f.flags_up, "flag changes up");
        add(f.deleted_up, "deleted on the server");
        add(f.moved_up, "moved on the server");
        add(f.uploaded, "uploaded");
        if (f.reset) parts.push_back("UIDVALIDITY changed: rebuilt");
        if (f.created) parts.push_back("created on the server");
        if (parts.empty()) continue;
        std::cout << f.name << ": ";
        for (std::size_t i = 0; i < parts.size(); ++i) std::cout << (i ? ", " : "") << parts[i];
        std::cout << "\n";
    }
    for (auto& f : r->removed_folders) std::cout << f << ": gone from the server, removed here\n";
    std::cout << "synced " << r->folders.size() << " folder" << (r->folders.size() == 1 ? "" : "s") << " ("
              << (r->qresync ? "QRESYNC" : r->condstore ? "CONDSTORE" : "full compare") << (r->tls ? ", TLS" : ", no TLS")
              << ")\n";
}

}  // namespace

void add_sync_commands(CLI::App& app, Context& ctx) {
    app.add_subcommand("sync", "send the outbox and sync every IMAP folder both ways")->callback([&ctx] { sync(ctx); });
}

}  // namespace tern::cli
