// The full-screen browser's state machine and screen layout (see browser_model.hpp): no curses, no
// terminal; the header list comes from the cache's index, message files are read only to open one.
// Must never return a line wider than asked, nor invalid UTF-8 or control characters to draw.
#include "mua/browser_model.hpp"

#include "mua/listing.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "base/bytes.hpp"
#include "mime/encoded_word.hpp"
#include "mime/filename.hpp"
#include "mime/part_reader.hpp"
#include "mime/part_tree.hpp"
#include "mua/render.hpp"

namespace tern::mua {

namespace {

// ---- UTF-8 and display columns ----

struct Glyph {
    char32_t cp;
    std::size_t len;  // octets consumed
};

Glyph next_glyph(std::string_view s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return {c, 1};
    std::size_t len;
    char32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return {0xFFFD, 1};
    if (i + len > s.size()) return {0xFFFD, 1};
    for (std::size_t k = 1; k < len; ++k) {
        unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return {0xFFFD, 1};
        cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return {0xFFFD, 1};
    return {cp, len};
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool in(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

// Invisible format characters that could reorder or hide what is drawn (bidi overrides, zero-width
// joiners, BOM): left out of the screen entirely.
bool dropped(char32_t cp) {
    return in(cp, 0x200B, 0x200F) || in(cp, 0x202A, 0x202E) || in(cp, 0x2060, 0x2069) || cp == 0xFEFF || cp == 0xAD;
}

bool control(char32_t cp) { return cp < 0x20 || in(cp, 0x7F, 0x9F); }

// A small wcwidth (Unicode East Asian Wide/Fullwidth and common combining ranges): the tests run
// in the C locale, where the C library's wcwidth knows nothing beyond ASCII.
std::size_t cp_width(char32_t cp) {
    if (in(cp, 0x0300, 0x036F) || in(cp, 0x0483, 0x0489) || in(cp, 0x0591, 0x05BD) || in(cp, 0x0610, 0x061A) ||
        in(cp, 0x064B, 0x065F) || in(cp, 0x0E31, 0x0E31) || in(cp, 0x0E34, 0x0E3A) || in(cp, 0x1AB0, 0x1AFF) ||
        in(cp, 0x1DC0, 0x1DFF) || in(cp, 0x20D0, 0x20FF) || in(cp, 0xFE00, 0xFE0F) || in(cp, 0xFE20, 0xFE2F))
        return 0;
    if (in(cp, 0x1100, 0x115F) || in(cp, 0x2E80, 0x303E) || in(cp, 0x3041, 0x33FF) || in(cp, 0x3400, 0x4DBF) ||
        in(cp, 0x4E00, 0x9FFF) || in(cp, 0xA000, 0xA4CF) || in(cp, 0xAC00, 0xD7A3) || in(cp, 0xF900, 0xFAFF) ||
        in(cp, 0xFE30, 0xFE4F) || in(cp, 0xFF00, 0xFF60) || in(cp, 0xFFE0, 0xFFE6) || in(cp, 0x1F300, 0x1F64F) ||
        in(cp, 0x1F900, 0x1F9FF) || in(cp, 0x20000, 0x3FFFD))
        return 2;
    return 1;
}

// One drawable cell group: its bytes (clean UTF-8) and columns.
struct Cell {
    std::string bytes;
    std::size_t width;
};

std::vector<Cell> cells(std::string_view s) {
    std::vector<Cell> out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        Glyph g = next_glyph(s, i);
        i += g.len;
        if (dropped(g.cp)) continue;
        if (control(g.cp)) {
            out.push_back({" ", 1});
            continue;
        }
        std::string b;
        append_utf8(b, g.cp);
        out.push_back({std::move(b), cp_width(g.cp)});
    }
    return out;
}

// Blanks and stray CRs at either end (a CR there could not survive a round trip through a file).
std::string_view trim_ws(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string right(std::string s, std::size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

std::string expand_tabs(std::string_view line) {
    std::string out;
    std::size_t col = 0;
    for (std::size_t i = 0; i < line.size();) {
        if (line[i] == '\t') {
            std::size_t n = 8 - col % 8;
            out.append(n, ' ');
            col += n;
            ++i;
            continue;
        }
        Glyph g = next_glyph(line, i);
        out.append(line.substr(i, g.len));
        col += cp_width(g.cp);
        i += g.len;
    }
    return out;
}

// Moves a selection within `n` entries showing `rows` at a time.
void move_in(std::size_t& sel, std::size_t& top, std::size_t n, std::ptrdiff_t delta, std::size_t rows) {
    if (n == 0) {
        sel = top = 0;
        return;
    }
    std::ptrdiff_t s = static_cast<std::ptrdiff_t>(sel) + delta;
    sel = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(s, 0, static_cast<std::ptrdiff_t>(n) - 1));
    if (rows == 0) {
        top = sel;
        return;
    }
    if (sel < top) top = sel;
    if (sel >= top + rows) top = sel - rows + 1;
    std::size_t max_top = n > rows ? n - rows : 0;
    top = std::min(top, max_top);
}

void page_in(std::size_t& sel, std::size_t& top, std::size_t n, bool down, std::size_t rows) {
    std::size_t page = std::max<std::size_t>(rows, 1);
    std::size_t max_top = n > rows ? n - rows : 0;
    if (down) top = std::min(top + page, max_top);
    else top = top > page ? top - page : 0;
    move_in(sel, top, n, down ? static_cast<std::ptrdiff_t>(page) : -static_cast<std::ptrdiff_t>(page), rows);
}

std::string join_flags(const std::set<std::string>& flags) {
    std::string out;
    for (auto& f : flags) out += (out.empty() ? "" : " ") + f;
    return out;
}

std::set<std::string> split_flags(std::string_view flags) {
    std::set<std::string> out;
    while (!flags.empty()) {
        auto sp = flags.find(' ');
        if (sp != 0) out.emplace(flags.substr(0, sp));
        if (sp == std::string_view::npos) break;
        flags.remove_prefix(sp + 1);
    }
    return out;
}

}  // namespace

// ---- Text ----

std::string fit(std::string_view s, std::size_t width, bool pad) {
    std::string out;
    std::size_t shown = 0;
    for (auto& c : cells(s)) {
        if (shown + c.width > width) break;
        out += c.bytes;
        shown += c.width;
    }
    if (pad) out.append(width - shown, ' ');
    return out;
}

std::vector<std::string> wrap(std::string_view s, std::size_t width) {
    std::vector<Cell> g = cells(s);
    std::vector<std::string> out;
    auto join = [&](std::size_t from, std::size_t to) {
        std::string line;
        for (std::size_t i = from; i < to; ++i) line += g[i].bytes;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        return line;
    };
    if (width == 0 || g.empty()) {
        out.push_back(width == 0 ? std::string() : join(0, g.size()));
        return out;
    }
    std::size_t start = 0;
    while (start < g.size()) {
        std::size_t w = 0, i = start, last_space = std::string::npos;
        while (i < g.size() && w + g[i].width <= width) {
            if (g[i].bytes == " ") last_space = i;
            w += g[i].width;
            ++i;
        }
        if (i >= g.size()) {
            out.push_back(join(start, i));
            break;
        }
        std::size_t end = i, next = i;
        if (g[i].bytes == " ") next = i + 1;                    // breaks at a space just past the edge
        else if (last_space != std::string::npos && last_space > start) end = last_space, next = last_space + 1;
        else if (i == start) next = i + 1;                      // one glyph wider than the width: left out
        if (end > start) out.push_back(join(start, end));
        start = next;
        while (start < g.size() && g[start].bytes == " ") ++start;
    }
    if (out.empty()) out.emplace_back();
    return out;
}

std::vector<std::string> pager_lines(std::string_view message, std::size_t width) {
    RenderOptions o;
    o.width = width;
    Rendered r = render_message(message, o);
    std::vector<std::string> out;
    std::string_view text = r.text;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    for (std::size_t s = 0; s <= text.size();) {
        std::size_t e = text.find('\n', s);
        if (e == std::string_view::npos) e = text.size();
        for (auto& l : wrap(expand_tabs(text.substr(s, e - s)), width)) out.push_back(std::move(l));
        s = e + 1;
    }
    return out;
}

std::string quotable_text(std::string_view message, std::size_t width) {
    RenderOptions o;
    o.width = width;
    Rendered r = render_message(message, o);
    std::string out;
    bool first = true;
    for (const BodyBlock& b : r.blocks) {
        std::string prefix;
        for (unsigned k = 0; k < b.quote_depth; ++k) prefix += "> ";
        std::string bare = prefix;
        while (!bare.empty() && bare.back() == ' ') bare.pop_back();
        if (!first) out += bare + "\n";
        first = false;
        if (b.kind == BodyBlock::Kind::Forwarded) {
            out += prefix + "----- Forwarded message -----\n";
            auto field = [&](const char* name, const std::string& v) {
                if (!v.empty()) out += prefix + "> " + name + ": " + v + "\n";
            };
            field("From", b.header.from);
            field("To", b.header.to);
            field("Cc", b.header.cc);
            field("Date", b.header.date);
            field("Subject", b.header.subject);
            continue;
        }
        for (std::size_t s = 0; s < b.text.size();) {
            std::size_t e = b.text.find('\n', s);
            if (e == std::string::npos) e = b.text.size();
            std::string_view ln(b.text.data() + s, e - s);
            out += ln.empty() ? bare : prefix;
            out += ln;
            out += '\n';
            s = e + 1;
        }
    }
    return out;
}

namespace {

std::string joined(const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& a : list) {
        if (a.find_first_not_of(" \t") == std::string::npos) continue;
        if (!out.empty()) out += ", ";
        out += a;
    }
    return out;
}

}  // namespace

std::string draft_text(const Draft& draft) {
    return "To: " + joined(draft.to) + "\nCc: " + joined(draft.cc) + "\nBcc: " + joined(draft.bcc) +
           "\nSubject: " + draft.subject + "\n\n" + draft.body;
}

Result<Draft> parse_draft_text(std::string_view text, Draft base) {
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t pos = 0;
    bool ended = false;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
            ended = true;
            break;
        }
        if (line[0] == ' ' || line[0] == '\t') {  // RFC 5322 §2.2.3: a folded line continues the field
            if (fields.empty()) return fail("the draft starts with an indented line, not a header field");
            std::string_view more = trim_ws(line);
            if (!more.empty()) fields.back().second += (fields.back().second.empty() ? "" : " ") + std::string(more);
            continue;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return fail("not a header field in the draft: \"" + fit(line, 60) + "\" (keep an empty line before the text)");
        fields.emplace_back(lower_ascii(std::string(trim_ws(line.substr(0, colon)))),
                            std::string(trim_ws(line.substr(colon + 1))));
    }
    if (!ended) return fail("the draft has no empty line between its header fields and its text");
    for (auto& [name, value] : fields) {
        auto list = [&](std::vector<std::string>& into) {
            into.clear();
            if (!value.empty()) into.push_back(value);
        };
        if (name == "to") list(base.to);
        else if (name == "cc") list(base.cc);
        else if (name == "bcc") list(base.bcc);
        else if (name == "subject") base.subject = value;
        else return fail("the draft may only have To, Cc, Bcc and Subject fields, not \"" + fit(name, 60) + "\"");
    }
    base.body = std::string(text.substr(pos));
    return base;
}

// ---- The model ----

BrowserModel::BrowserModel(Cache& cache, BrowserOptions options) : cache_(cache), options_(std::move(options)) {
    if (!options_.render) options_.render = pager_lines;
    load_folders();
    for (auto& f : folders_)
        if (f.name == options_.start_folder) open_folder(f.name);
}

void BrowserModel::resize(std::size_t width, std::size_t height) {
    width_ = width;
    height_ = height;
    std::size_t rows = body_rows();
    move_in(sel_, top_, rows_.size(), 0, rows);
    move_in(folder_sel_, folder_top_, folders_.size(), 0, rows);
}

std::size_t BrowserModel::body_rows() const { return height_ > 3 ? height_ - 3 : 0; }

std::optional<MessageRow> BrowserModel::current() const {
    if (screen_ == Screen::Folders || rows_.empty()) return std::nullopt;
    return rows_[sel_];
}

void BrowserModel::load_folders() {
    auto list = cache_.folders();
    if (!list) {
        message_ = "cannot list the folders: " + list.error().message;
        return;
    }
    folders_ = std::move(*list);
    move_in(folder_sel_, folder_top_, folders_.size(), 0, body_rows());
}

void BrowserModel::open_folder(const std::string& name) {
    auto f = std::find_if(folders_.begin(), folders_.end(), [&](const Folder& x) { return x.name == name; });
    if (f == folders_.end()) {
        message_ = "no folder " + name;
        return;
    }
    auto list = cache_.list({f->id, false, 0});
    if (!list) {
        message_ = "cannot list " + name + ": " + list.error().message;
        return;
    }
    folder_sel_ = static_cast<std::size_t>(f - folders_.begin());
    folder_name_ = f->name;
    folder_id_ = f->id;
    rows_ = std::move(*list);
    id_width_ = 4;
    unread_ = 0;
    for (auto& m : rows_) {
        id_width_ = std::max(id_width_, std::to_string(m.id).size());
        unread_ += !m.has("\\Seen");
    }
    // Like mutt: start at the first unread message, else the newest (the last).
    sel_ = rows_.empty() ? 0 : rows_.size() - 1;
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (!rows_[i].has("\\Seen")) {
            sel_ = i;
            break;
        }
    top_ = 0;
    move_in(sel_, top_, rows_.size(), 0, body_rows());
    screen_ = Screen::Index;
}

void BrowserModel::leave_folder() {
    std::size_t purged = 0;
    for (auto id : pending_delete_) {
        if (auto r = cache_.remove(id); !r) message_ = "cannot delete message " + std::to_string(id) + ": " + r.error().message;
        else ++purged;
    }
    pending_delete_.clear();
    if (purged) message_ = std::to_string(purged) + (purged == 1 ? " message" : " messages") + " deleted";
    load_folders();
}

void BrowserModel::reload() {
    load_folders();
    if (screen_ == Screen::Folders || folder_id_ == 0) return;
    std::int64_t keep = rows_.empty() ? 0 : rows_[sel_].id;
    auto list = cache_.list({folder_id_, false, 0});
    if (!list) return;
    rows_ = std::move(*list);
    unread_ = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].id == keep) sel_ = i;
        unread_ += !rows_[i].has("\\Seen");
        id_width_ = std::max(id_width_, std::to_string(rows_[i].id).size());
    }
    move_in(sel_, top_, rows_.size(), 0, body_rows());
}

void BrowserModel::open_message() {
    if (rows_.empty()) {
        message_ = "No messages.";
        return;
    }
    auto bytes = cache_.read(rows_[sel_].id);
    if (!bytes) {
        message_ = "cannot read message " + std::to_string(rows_[sel_].id) + ": " + bytes.error().message;
        return;
    }
    open_bytes_ = std::move(*bytes);
    pager_cache_valid_ = false;
    pager_top_ = 0;
    screen_ = Screen::Pager;
    if (!rows_[sel_].has("\\Seen")) set_flag("\\Seen", true);
}

void BrowserModel::step_message(int delta) {
    if (delta > 0 ? sel_ + 1 >= rows_.size() : sel_ == 0) {
        message_ = delta > 0 ? "You are on the last message." : "You are on the first message.";
        return;
    }
    move_in(sel_, top_, rows_.size(), delta, body_rows());
    open_message();
}

void BrowserModel::set_flag(std::string_view flag, std::optional<bool> on) {
    if (rows_.empty()) {
        message_ = "No messages.";
        return;
    }
    MessageRow& m = rows_[sel_];
    auto flags = split_flags(m.flags);
    bool was = flags.contains(std::string(flag));
    bool now = on.value_or(!was);
    if (now) flags.emplace(flag);
    else flags.erase(std::string(flag));
    std::string joined = normalize_flags(join_flags(flags));
    if (auto r = cache_.set_flags(m.id, joined); !r) {
        message_ = "cannot change the flags: " + r.error().message;
        return;
    }
    if (flag == "\\Seen" && was != now) unread_ = now ? unread_ - 1 : unread_ + 1;
    m.flags = joined;
}

bool BrowserModel::search_from(std::size_t start) {
    if (rows_.empty() || search_.empty()) return false;
    std::string needle = lower_ascii(search_);
    for (std::size_t k = 0; k < rows_.size(); ++k) {
        std::size_t i = (start + k) % rows_.size();
        const MessageRow& m = rows_[i];
        if (lower_ascii(m.subject).find(needle) != std::string::npos ||
            lower_ascii(m.from_name).find(needle) != std::string::npos ||
            lower_ascii(m.from_addr).find(needle) != std::string::npos) {
            if (start + k >= rows_.size()) message_ = "Search wrapped to top.";
            move_in(sel_, top_, rows_.size(), static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(sel_), body_rows());
            return true;
        }
    }
    message_ = "Not found: " + search_;
    return false;
}

BrowserAction BrowserModel::key(char32_t k) {
    message_.clear();
    if (k == 0x7F || k == 0x08) k = key::Backspace;
    if (k == '\r' || k == '\n') k = key::Enter;
    if (k == 0x1B) k = key::Escape;
    if (k == '\t') k = key::Tab;
    if (prompt_) return prompt_key(k);
    switch (screen_) {
    case Screen::Folders: return folders_key(k);
    case Screen::Index: return index_key(k);
    case Screen::Pager: return pager_key(k);
    }
    return {};
}

BrowserAction BrowserModel::folders_key(char32_t k) {
    std::size_t rows = body_rows(), n = folders_.size();
    switch (k) {
    case 'j': case key::Down: move_in(folder_sel_, folder_top_, n, 1, rows); break;
    case 'k': case key::Up: move_in(folder_sel_, folder_top_, n, -1, rows); break;
    case key::PageDown: case ' ': page_in(folder_sel_, folder_top_, n, true, rows); break;
    case key::PageUp: case '-': page_in(folder_sel_, folder_top_, n, false, rows); break;
    case key::Home: case 'g': move_in(folder_sel_, folder_top_, n, -static_cast<std::ptrdiff_t>(n), rows); break;
    case key::End: case 'G': move_in(folder_sel_, folder_top_, n, static_cast<std::ptrdiff_t>(n), rows); break;
    case key::Enter: case 'l': case key::Right:
        if (n == 0) message_ = "No folders.";
        else open_folder(folders_[folder_sel_].name);
        break;
    case 'q': case 'Q': case key::Escape: return {BrowserAction::Kind::Quit};
    case 'm': return {BrowserAction::Kind::Compose};
    default: message_ = "Key is not bound."; break;
    }
    return {};
}

BrowserAction BrowserModel::message_key(char32_t k) {
    switch (k) {
    case 'd':
        if (rows_.empty()) message_ = "No messages.";
        else if (pending_delete_.contains(rows_[sel_].id)) message_ = "Already deleted (u undeletes).";
        else prompt_ = Prompt{Prompt::Purpose::ConfirmDelete, "Delete message " + std::to_string(rows_[sel_].id) + "? (y/n) ", "", rows_[sel_].id};
        break;
    case 'u':
        if (rows_.empty()) message_ = "No messages.";
        else if (!rows_[sel_].has("\\Deleted")) message_ = "Not deleted.";
        else {
            set_flag("\\Deleted", false);
            pending_delete_.erase(rows_[sel_].id);
        }
        break;
    case 'N': case 's': set_flag("\\Seen", std::nullopt); break;
    case 'F': set_flag("\\Flagged", std::nullopt); break;
    case 'r':
        if (rows_.empty()) message_ = "No messages.";
        else return {BrowserAction::Kind::Reply, rows_[sel_].id};
        break;
    case 'm': return {BrowserAction::Kind::Compose};
    case 'v': case 'a':
        if (rows_.empty()) message_ = "No messages.";
        else prompt_ = Prompt{Prompt::Purpose::SaveDirectory, "Save attachments to: ", options_.save_directory, rows_[sel_].id};
        break;
    case 'Q':
        leave_folder();
        return {BrowserAction::Kind::Quit};
    default: message_ = "Key is not bound."; break;
    }
    return {};
}

BrowserAction BrowserModel::index_key(char32_t k) {
    std::size_t rows = body_rows(), n = rows_.size();
    switch (k) {
    case 'j': case key::Down: move_in(sel_, top_, n, 1, rows); break;
    case 'k': case key::Up: move_in(sel_, top_, n, -1, rows); break;
    case key::PageDown: case ' ': page_in(sel_, top_, n, true, rows); break;
    case key::PageUp: case '-': page_in(sel_, top_, n, false, rows); break;
    case key::Home: case 'g': move_in(sel_, top_, n, -static_cast<std::ptrdiff_t>(n), rows); break;
    case key::End: case 'G': move_in(sel_, top_, n, static_cast<std::ptrdiff_t>(n), rows); break;
    case key::Enter: case 'l': case key::Right: open_message(); break;
    case 'q': case key::Escape: case key::Tab: case 'c': case key::Left:
        leave_folder();
        screen_ = Screen::Folders;
        break;
    case '/': prompt_ = Prompt{Prompt::Purpose::Search, "Search subjects and senders: ", "", 0}; break;
    case 'n':
        if (search_.empty()) message_ = "No search pattern (/ searches).";
        else search_from(sel_ + 1);
        break;
    default: return message_key(k);
    }
    return {};
}

BrowserAction BrowserModel::pager_key(char32_t k) {
    std::size_t rows = body_rows(), lines = pager_text().size();
    std::size_t max_top = lines > rows ? lines - rows : 0;
    std::size_t page = std::max<std::size_t>(rows, 1);
    switch (k) {
    case 'j': case key::Down: case key::Enter: pager_top_ = std::min(pager_top_ + 1, max_top); break;
    case 'k': case key::Up: pager_top_ = pager_top_ ? pager_top_ - 1 : 0; break;
    case ' ': case key::PageDown:
        if (pager_top_ >= max_top) message_ = "End of message.";
        pager_top_ = std::min(pager_top_ + page, max_top);
        break;
    case '-': case 'b': case key::PageUp: pager_top_ = pager_top_ > page ? pager_top_ - page : 0; break;
    case key::Home: case 'g': pager_top_ = 0; break;
    case key::End: case 'G': pager_top_ = max_top; break;
    case 'J': step_message(1); break;
    case 'K': step_message(-1); break;
    case 'q': case 'i': case key::Escape: case key::Left: screen_ = Screen::Index; break;
    default: return message_key(k);
    }
    return {};
}

BrowserAction BrowserModel::prompt_key(char32_t k) {
    Prompt& p = *prompt_;
    if (p.purpose == Prompt::Purpose::ConfirmDelete) {
        std::int64_t id = p.message_id;
        prompt_.reset();
        if (k != 'y' && k != 'Y') {
            message_ = "Not deleted.";
            return {};
        }
        if (rows_.empty() || rows_[sel_].id != id) return {};
        set_flag("\\Deleted", true);
        if (!rows_[sel_].has("\\Deleted")) return {};  // the cache refused: message_ says why
        pending_delete_.insert(id);
        message_ = "Deleted when you leave the folder (u undeletes).";
        if (screen_ == Screen::Pager) screen_ = Screen::Index;
        move_in(sel_, top_, rows_.size(), 1, body_rows());
        return {};
    }
    switch (k) {
    case key::Escape: case 0x07:  // Esc or ^G cancels
        prompt_.reset();
        return {};
    case key::Backspace:
        while (!p.text.empty() && (static_cast<unsigned char>(p.text.back()) & 0xC0) == 0x80) p.text.pop_back();
        if (!p.text.empty()) p.text.pop_back();
        return {};
    case 0x15: p.text.clear(); return {};  // ^U
    case key::Enter: break;
    default:
        if (k >= 0x20 && k < 0x110000 && !control(k)) append_utf8(p.text, k);
        return {};
    }
    Prompt done = std::move(p);
    prompt_.reset();
    if (done.text.empty()) return {};
    if (done.purpose == Prompt::Purpose::Search) {
        search_ = done.text;
        search_from(sel_ + 1);
        return {};
    }
    return {BrowserAction::Kind::SaveAttachments, done.message_id, done.text};
}

const std::vector<std::string>& BrowserModel::pager_text() const {
    if (!pager_cache_valid_ || pager_cache_width_ != width_) {
        pager_cache_ = options_.render(open_bytes_, width_);
        pager_cache_width_ = width_;
        pager_cache_valid_ = true;
    }
    return pager_cache_;
}

// ---- Layout ----

std::string BrowserModel::index_line(const MessageRow& m, std::size_t width) const {
    LineLayout l;
    l.width = width;
    l.id_width = id_width_;
    l.now = options_.now ? options_.now : std::time(nullptr);
    return header_line(m, l);  // the columns of `tern list`
}

std::vector<ScreenLine> BrowserModel::layout_folders(std::size_t width) const {
    std::vector<ScreenLine> out;
    std::size_t rows = body_rows();
    if (folders_.empty() && rows) out.push_back({fit("(no folders yet: `tern pop` downloads mail)", width)});
    for (std::size_t i = folder_top_; i < folders_.size() && out.size() < rows; ++i) {
        const Folder& f = folders_[i];
        std::string line = "  " + fit(f.name, 30, true) + " " + right(std::to_string(f.messages), 7) + " messages";
        if (f.unread) line += ", " + std::to_string(f.unread) + " unread";
        if (!f.special.empty()) line += "  " + f.special;
        bool sel = i == folder_sel_;
        out.push_back({fit(line, width, sel), sel ? ScreenLine::Style::Selected : ScreenLine::Style::Plain, f.unread > 0});
    }
    return out;
}

std::vector<ScreenLine> BrowserModel::layout_index(std::size_t width) const {
    std::vector<ScreenLine> out;
    std::size_t rows = body_rows();
    if (rows_.empty() && rows) out.push_back({fit("(no messages in " + folder_name_ + ")", width)});
    for (std::size_t i = top_; i < rows_.size() && out.size() < rows; ++i) {
        bool sel = i == sel_;
        out.push_back({fit(index_line(rows_[i], width), width, sel),
                       sel ? ScreenLine::Style::Selected : ScreenLine::Style::Plain, !rows_[i].has("\\Seen")});
    }
    return out;
}

std::vector<ScreenLine> BrowserModel::layout_pager(std::size_t width) const {
    std::vector<ScreenLine> out;
    const auto& lines = pager_text();
    std::size_t rows = body_rows();
    std::size_t max_top = lines.size() > rows ? lines.size() - rows : 0;
    std::size_t header_end = 0;
    while (header_end < lines.size() && !lines[header_end].empty()) ++header_end;
    for (std::size_t i = std::min(pager_top_, max_top); i < lines.size() && out.size() < rows; ++i)
        out.push_back({fit(lines[i], width), ScreenLine::Style::Plain, i < header_end});
    return out;
}

std::vector<ScreenLine> BrowserModel::layout() const {
    std::size_t width = width_;
    std::string title, keys;
    std::vector<ScreenLine> body;
    switch (screen_) {
    case Screen::Folders:
        title = "tern: folders (" + std::to_string(folders_.size()) + ")";
        keys = "q:Quit  Ret:Open  j/k:Move  m:Mail";
        body = layout_folders(width);
        break;
    case Screen::Index: {
        title = "tern: " + folder_name_ + "  [" + (rows_.empty() ? "0" : std::to_string(sel_ + 1)) + "/" +
                std::to_string(rows_.size()) + "]  " + std::to_string(unread_) + " unread";
        if (!pending_delete_.empty()) title += ", " + std::to_string(pending_delete_.size()) + " to delete";
        keys = "q:Folders  Ret:Open  d:Del  u:Undel  N:New  F:Flag  /:Find  n:Next  r:Reply  m:Mail  v:Save  Q:Quit";
        body = layout_index(width);
        break;
    }
    case Screen::Pager: {
        std::size_t lines = pager_text().size(), rows = body_rows();
        std::size_t top = std::min(pager_top_, lines > rows ? lines - rows : 0);
        std::size_t shown = std::min(lines, top + rows);
        title = "tern: " + folder_name_ + "  message " + std::to_string(rows_.empty() ? 0 : rows_[sel_].id) + "  (" +
                (lines ? std::to_string(shown * 100 / lines) : "100") + "%)";
        keys = "q:Back  j/k:Line  Space/-:Page  J/K:Next/Prev  d:Del  N:New  F:Flag  r:Reply  m:Mail  v:Save  Q:Quit";
        body = layout_pager(width);
        break;
    }
    }
    std::vector<ScreenLine> out;
    out.push_back({fit(title, width, true), ScreenLine::Style::Bar});
    for (auto& l : body) out.push_back(std::move(l));
    while (out.size() < 1 + body_rows()) out.push_back({});
    std::string msg = message_;
    if (prompt_) {
        // The prompt and what was typed; a long entry shows its end (where the cursor is).
        msg = prompt_->label + prompt_->text;
        auto c = cells(msg);
        std::size_t w = 0, from = c.size();
        while (from > 0 && w + c[from - 1].width + 1 <= width) w += c[--from].width;  // +1: the cursor
        msg.clear();
        for (std::size_t i = from; i < c.size(); ++i) msg += c[i].bytes;
    }
    out.push_back({fit(msg, width), ScreenLine::Style::Message});
    out.push_back({fit(keys, width, true), ScreenLine::Style::Bar});
    if (out.size() > height_) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(height_));
    return out;
}

}  // namespace tern::mua
