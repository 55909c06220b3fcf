// `tern search QUERY`: the local full-text index (brought up to date first, offline), or with
// --server the IMAP server's UID SEARCH shown from the local cache. Prints like `tern list` (the
// column helpers are a small local copy of cmd_list.cpp's, which keeps them in an anonymous
// namespace). Only parses arguments and prints; the work is in src/mua/search_index.
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cli.hpp"
#include "mua/json.hpp"
#include "mua/search_index.hpp"

namespace tern::cli {

namespace {

std::string column(std::string_view s, std::size_t width) {
    std::string out;
    std::size_t shown = 0, i = 0;
    while (i < s.size() && shown < width) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (i + len > s.size()) break;
        if (c < 0x20 || c == 0x7f) out += ' ';
        else out.append(s.substr(i, len));
        i += len;
        ++shown;
    }
    out.append(width - shown, ' ');
    return out;
}

std::string short_date(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t), now = std::time(nullptr);
    std::tm tm{}, today{};
    ::localtime_r(&tt, &tm);
    ::localtime_r(&now, &today);
    char buf[32];
    if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday) std::strftime(buf, sizeof buf, "%H:%M", &tm);
    else if (tm.tm_year == today.tm_year) std::strftime(buf, sizeof buf, "%b %d", &tm);
    else std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::string iso_date(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string flag_letters(const mua::MessageRow& m) {
    std::string f;
    f += m.has("\\Seen") ? ' ' : 'N';
    f += m.has("\\Deleted") ? 'D' : m.has("\\Flagged") ? '!' : m.has("\\Answered") ? 'r' : ' ';
    f += m.attachments ? '+' : ' ';
    return f;
}

// The objects `tern --json list` prints.
void print_json(const std::vector<mua::MessageRow>& rows) {
    mua::JsonWriter j;
    j.begin_array();
    for (auto& m : rows) {
        j.begin_object().key("id").value(m.id).key("folder").value(m.folder).key("uid").value(std::int64_t{m.uid});
        j.key("flags").begin_array();
        std::string_view fl = m.flags;
        while (!fl.empty()) {
            auto sp = fl.find(' ');
            j.value(fl.substr(0, sp));
            fl = sp == std::string_view::npos ? "" : fl.substr(sp + 1);
        }
        j.end_array();
        j.key("date").value(iso_date(m.date)).key("from").value(m.from_name).key("from_address").value(m.from_addr);
        j.key("subject").value(m.subject).key("size").value(m.size).key("attachments").value(m.attachments);
        j.key("message_id").value(m.message_id);
        j.end_object();
    }
    j.end_array();
    std::cout << j.str() << "\n";
}

void print_rows(const std::vector<mua::MessageRow>& rows, bool show_folder) {
    std::size_t width = terminal_width();
    std::size_t id_w = 4, folder_w = 0;
    for (auto& m : rows) id_w = std::max(id_w, std::to_string(m.id).size());
    if (show_folder)
        for (auto& m : rows) folder_w = std::min<std::size_t>(16, std::max(folder_w, m.folder.size()));
    std::size_t from_w = 20, fixed = id_w + 1 + 3 + 1 + 10 + 1 + from_w + 1 + 1 + 6 + (folder_w ? folder_w + 1 : 0);
    std::size_t subject_w = width > fixed + 10 ? width - fixed : 10;
    std::string out;
    for (auto& m : rows) {
        std::string id = std::to_string(m.id);
        out += std::string(id_w - id.size(), ' ') + id + " " + flag_letters(m) + " ";
        out += column(short_date(m.date), 10) + " ";
        if (folder_w) out += column(m.folder, folder_w) + " ";
        out += column(m.from_name.empty() ? m.from_addr : m.from_name, from_w) + " ";
        out += column(m.subject, subject_w) + " ";
        std::string size = human_size(m.size);
        out += std::string(size.size() < 6 ? 6 - size.size() : 0, ' ') + size + "\n";
    }
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
