// The header list's columns and JSON (see listing.hpp).
#include "mua/listing.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "mua/browser_model.hpp"  // fit(): display columns

namespace tern::mua {

std::string short_date(std::int64_t t, std::int64_t now_s) {
    std::time_t tt = static_cast<std::time_t>(t), now = static_cast<std::time_t>(now_s);
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

std::string flag_letters(const MessageRow& m) {
    std::string f;
    f += m.has("\\Seen") ? ' ' : 'N';
    f += m.has("\\Deleted") ? 'D' : m.has("\\Flagged") ? '!' : m.has("\\Answered") ? 'r' : ' ';
    f += m.attachments ? '+' : ' ';
    return f;
}

std::string short_size(std::uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes);
    const char* units = "KMGT";
    double v = static_cast<double>(bytes) / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
    return buf;
}

namespace {
std::string right(std::string s, std::size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}
}  // namespace

std::string header_line(const MessageRow& m, const LineLayout& l) {
    std::size_t fixed = l.id_width + 1 + 3 + 1 + 10 + 1 + (l.folder_width ? l.folder_width + 1 : 0) + 1 + 1 + 6;
    std::size_t avail = l.width > fixed ? l.width - fixed : 0;
    std::size_t from_w = std::min<std::size_t>(20, std::max<std::size_t>(8, avail / 3));
    std::size_t subject_w = avail > from_w ? avail - from_w : 1;
    std::string line = right(std::to_string(m.id), l.id_width) + " " + flag_letters(m) + " ";
    line += fit(short_date(m.date, l.now ? l.now : std::time(nullptr)), 10, true) + " ";
    if (l.folder_width) line += fit(m.folder, l.folder_width, true) + " ";
    line += fit(m.from_name.empty() ? m.from_addr : m.from_name, from_w, true) + " ";
    std::string subject = std::string(std::min<std::size_t>(l.depth, 8) * 2, ' ') + (l.depth ? "> " : "") + m.subject;
    line += fit(subject, subject_w, true) + " ";
    line += right(short_size(m.size), 6);
    return fit(line, l.width);
}

void message_json(JsonWriter& j, const MessageRow& m) {
    j.key("id").value(m.id).key("folder").value(m.folder).key("uid").value(std::int64_t{m.uid});
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
}

}  // namespace tern::mua
