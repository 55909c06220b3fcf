// The full-screen browser's state machine (`tern` on a terminal): screens (folders, header list,
// pager), selection and scrolling, mutt-like keys, prompts, and each screen laid out as lines of
// text for a width and height; what needs the terminal (the editor, saving files) comes back as an
// action. Must never include curses or touch the terminal, never read message files to draw the
// header list, and never return a line wider than the width it was given (in display columns).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mua/cache.hpp"
#include "mua/compose.hpp"
#include "mua/html_text.hpp"  // display_width

namespace tern::mua {

// ---- Text in display columns (UTF-8; invalid octets shown as U+FFFD, controls as spaces) ----

// At most `width` columns of `s` (a wide character that would not fit is left out), padded with
// spaces to exactly `width` when `pad`. Always valid UTF-8 without control characters.
std::string fit(std::string_view s, std::size_t width, bool pad = false);
// `s` broken into lines of at most `width` columns, at spaces where possible (width 0: one line).
std::vector<std::string> wrap(std::string_view s, std::size_t width);

// ---- The reader's text ----

// The message's bytes as lines for the pager, each at most `width` columns: what `tern read`
// prints (src/mua/render: header block, text or HTML rendered as text, attachment list), each
// line wrapped at `width`.
std::vector<std::string> pager_lines(std::string_view message, std::size_t width);

// The text a reply quotes or a forward carries: the rendered body blocks as the reader shows them
// (HTML wrapped at `width`; a forwarded message inside as its header and "> " quoted text),
// without the header block, notes or attachment list.
std::string quotable_text(std::string_view message, std::size_t width = 72);

// What the editor is given for a draft: "To:", "Cc:", "Bcc:" and "Subject:" lines, an empty line,
// the body. parse_draft_text() reads the edited text back over `base` (which keeps what the text
// does not show: In-Reply-To, References, parts): the four fields (case-insensitive, folded lines
// joined; an empty one clears it) and the body. Errors for another field name or a missing empty line.
std::string draft_text(const Draft& draft);
Result<Draft> parse_draft_text(std::string_view text, Draft base);

// ---- The state machine ----

enum class Screen { Folders, Index, Pager };

// Keys as the driver hands them in: a Unicode code point, or one of these (outside Unicode).
namespace key {
inline constexpr char32_t Up = 0x110000, Down = 0x110001, PageUp = 0x110002, PageDown = 0x110003,
                          Home = 0x110004, End = 0x110005, Enter = 0x110006, Escape = 0x110007,
                          Backspace = 0x110008, Tab = 0x110009, Left = 0x11000a, Right = 0x11000b;
}

// What the caller must do after a key.
struct BrowserAction {
    enum class Kind {
        None,             // just redraw
        Quit,             // leave the browser (pending deletions already purged)
        Reply,            // run $EDITOR on draft_text(reply_draft(message)), then send it
        Compose,          // run $EDITOR on draft_text() of an empty draft, then send it
        SaveAttachments,  // save message_id's attachments into `directory`
    };
    Kind kind = Kind::None;
    std::int64_t message_id = 0;
    std::string directory = {};
};

// How a laid-out line is drawn.
struct ScreenLine {
    enum class Style { Plain, Bar, Selected, Message };  // Bar: title and keys (reverse video)
    std::string text;          // at most `width` columns
    Style style = Style::Plain;
    bool bold = false;         // unread messages and folders, the pager's header fields
};

struct BrowserOptions {
    std::string start_folder = "INBOX";
    std::string save_directory;   // proposed when saving attachments
    std::int64_t now = 0;         // for the date column (0: the clock)
    // Message bytes -> pager lines (default pager_lines).
    std::function<std::vector<std::string>(std::string_view, std::size_t)> render;
};

class BrowserModel {
public:
    BrowserModel(Cache& cache, BrowserOptions options = {});

    void resize(std::size_t width, std::size_t height);
    BrowserAction key(char32_t k);
    std::vector<ScreenLine> layout() const;

    // Shown on the message line until the next key.
    void set_message(std::string text) { message_ = std::move(text); }
    // Reloads the folder list and the current folder's header list (after the caller changed the
    // cache: a draft saved, a sync).
    void reload();

    // For the driver and the tests.
    Screen screen() const { return screen_; }
    bool prompting() const { return prompt_.has_value(); }
    std::size_t selected() const { return screen_ == Screen::Folders ? folder_sel_ : sel_; }
    std::size_t top() const { return screen_ == Screen::Folders ? folder_top_ : top_; }
    std::size_t pager_top() const { return pager_top_; }
    const std::vector<MessageRow>& rows() const { return rows_; }
    const std::vector<Folder>& folders() const { return folders_; }
    const std::string& folder_name() const { return folder_name_; }
    const std::string& message() const { return message_; }
    std::optional<MessageRow> current() const;  // the selected (or open) message

private:
    struct Prompt {
        enum class Purpose { Search, SaveDirectory, ConfirmDelete } purpose;
        std::string label, text;
        std::int64_t message_id = 0;
    };

    std::size_t body_rows() const;
    void load_folders();
    void open_folder(const std::string& name);
    void leave_folder();  // purges the deletions confirmed in this folder
    void open_message();
    void step_message(int delta);
    void move_selection(std::ptrdiff_t delta);
    void keep_visible();
    BrowserAction folders_key(char32_t k);
    BrowserAction index_key(char32_t k);
    BrowserAction pager_key(char32_t k);
    BrowserAction message_key(char32_t k);  // keys shared by the index and the pager
    BrowserAction prompt_key(char32_t k);
    void set_flag(std::string_view flag, std::optional<bool> on);  // nullopt: toggle
    bool search_from(std::size_t start);
    const std::vector<std::string>& pager_text() const;

    std::vector<ScreenLine> layout_folders(std::size_t width) const;
    std::vector<ScreenLine> layout_index(std::size_t width) const;
    std::vector<ScreenLine> layout_pager(std::size_t width) const;
    std::string index_line(const MessageRow& m, std::size_t width) const;

    Cache& cache_;
    BrowserOptions options_;
    std::size_t width_ = 80, height_ = 24;
    Screen screen_ = Screen::Folders;
    std::vector<Folder> folders_;
    std::size_t folder_sel_ = 0, folder_top_ = 0;
    std::string folder_name_;
    std::int64_t folder_id_ = 0;
    std::vector<MessageRow> rows_;   // the header list, loaded once per folder
    std::size_t id_width_ = 4;
    std::size_t unread_ = 0;         // rows_ without \Seen (kept as flags change: no scan per draw)
    std::size_t sel_ = 0, top_ = 0;
    std::set<std::int64_t> pending_delete_;  // \Deleted here, removed on leaving the folder
    std::string search_;
    std::optional<Prompt> prompt_;
    std::string message_;
    // The open message: its bytes, and its lines for the last width asked.
    std::string open_bytes_;
    mutable std::vector<std::string> pager_cache_;
    mutable std::size_t pager_cache_width_ = 0;
    mutable bool pager_cache_valid_ = false;
    std::size_t pager_top_ = 0;
};

}  // namespace tern::mua
