// The header list as `tern list`, `tern search` and the browser show it: one line per message
// (id, mutt's flag letters, date, sender, subject, size; a folder column when asked), and the
// JSON object `--json` prints for a message. Pure; must never read a message file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mua/cache.hpp"
#include "mua/json.hpp"

namespace tern::mua {

// "14:05" today, "Dec 07" this year, else "2025-12-07" (local time).
std::string short_date(std::int64_t t, std::int64_t now);
std::string iso_date(std::int64_t t);  // "2026-12-07T14:05:00Z"
// mutt's letters: N unread, D deleted, ! flagged, r answered, + attachments (3 columns).
std::string flag_letters(const MessageRow& m);
// "419", "4.2K", "12M".
std::string short_size(std::uint64_t bytes);

struct LineLayout {
    std::size_t width = 100;      // the whole line, in display columns
    std::size_t id_width = 4;
    std::size_t folder_width = 0; // 0: no folder column
    std::size_t depth = 0;        // thread depth: the subject is indented
    std::int64_t now = 0;         // for short_date
};
// One header-list line, exactly `layout.width` columns (the sender narrows first when tight).
std::string header_line(const MessageRow& m, const LineLayout& layout);

// Appends {"id", "folder", "uid", "flags", "date", "from", "from_address", "subject", "size",
// "attachments", "message_id"} (the object is left open for more keys).
void message_json(JsonWriter& j, const MessageRow& m);

}  // namespace tern::mua
