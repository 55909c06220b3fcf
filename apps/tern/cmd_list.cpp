// `tern list` (the header list of a folder, from the local cache: works offline) and
// `tern folders`. Human columns by default, --json for scripts.
#include <ctime>
#include <iostream>

#include "cli.hpp"
#include "mua/json.hpp"
#include "mua/threads.hpp"

namespace tern::cli {

namespace {

// Up to `width` characters of UTF-8 text (code points; control characters shown as spaces), padded.
std::string column(std::string_view s, std::size_t width, bool pad = true) {
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
    if (pad) out.append(width - shown, ' ');
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

// mutt's letters: N unread, r answered, ! flagged, D deleted, + attachments.
std::string flag_letters(const mua::MessageRow& m) {
    std::string f;
    f += m.has("\\Seen") ? ' ' : 'N';
    f += m.has("\\Deleted") ? 'D' : m.has("\\Flagged") ? '!' : m.has("\\Answered") ? 'r' : ' ';
    f += m.attachments ? '+' : ' ';
    return f;
}

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
            auto& m = (*rows)[line.index];
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
            if (a.thread) j.key("depth").value(static_cast<std::int64_t>(line.depth));
            j.end_object();
        }
        j.end_array();
        std::cout << j.str() << "\n";
        return;
    }
    std::size_t width = terminal_width();
    std::size_t id_w = 4;
    for (auto& m : *rows) id_w = std::max(id_w, std::to_string(m.id).size());
    std::size_t from_w = 20, fixed = id_w + 1 + 3 + 1 + 10 + 1 + from_w + 1 + 1 + 6;
    std::size_t subject_w = width > fixed + 10 ? width - fixed : 10;
    std::string out;
    for (auto& line : order) {
        auto& m = (*rows)[line.index];
        std::string id = std::to_string(m.id);
        out += std::string(id_w - id.size(), ' ') + id + " " + flag_letters(m) + " ";
        out += column(short_date(m.date), 10) + " ";
        out += column(m.from_name.empty() ? m.from_addr : m.from_name, from_w) + " ";
        std::string subject = std::string(std::min<std::size_t>(line.depth, 8) * 2, ' ') + (line.depth ? "> " : "") + m.subject;
        out += column(subject, subject_w) + " ";
        std::string size = human_size(m.size);
        out += std::string(size.size() < 6 ? 6 - size.size() : 0, ' ') + size + "\n";
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
        std::cout << column(f.name, 30) << " " << f.messages << " messages";
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
