// `tern` on a terminal (no subcommand) and `tern browse`: the full-screen browser, a curses driver
// over mua::BrowserModel (which holds every decision): keys in, lines drawn, actions carried out
// ($EDITOR, then sending as `tern send` does, for reply/compose; saving attachments). Must never
// leave the terminal in curses mode, on exit, error or signal, and never keep mail in a file others
// can read.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <csignal>
#include <clocale>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cli.hpp"
#include "mua/attachments.hpp"
#include "mua/browser_model.hpp"

namespace tern::cli {

namespace {

bool g_curses = false;

void on_fatal_signal(int sig) {
    if (g_curses) endwin();
    ::_exit(128 + sig);
}

// initscr() .. endwin(), whatever way the scope is left.
struct Curses {
    Curses() {
        std::setlocale(LC_ALL, "");  // UTF-8 output and wide-character input
        // The terminal's real size, now and after SIGWINCH: an exported COLUMNS/LINES (as `tern
        // list` honours) would pin ncurses to it and make resizing draw at the old size.
        ::unsetenv("COLUMNS");
        ::unsetenv("LINES");
        screen = newterm(nullptr, stdout, stdin);  // unlike initscr, reports an unknown $TERM
        if (!screen) throw std::runtime_error("cannot use this terminal (TERM=" + std::string(std::getenv("TERM") ? std::getenv("TERM") : "") + ")");
        g_curses = true;
        cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        set_escdelay(50);
        curs_set(0);
        if (has_colors()) {
            start_color();
            use_default_colors();
            init_pair(1, COLOR_WHITE, COLOR_BLUE);  // title and key bars
            colors = true;
        }
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(sig, on_fatal_signal);
    }
    ~Curses() {
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(sig, SIG_DFL);
        endwin();
        delscreen(screen);
        g_curses = false;
    }
    Curses(const Curses&) = delete;
    Curses& operator=(const Curses&) = delete;
    SCREEN* screen = nullptr;
    bool colors = false;
};

void draw(const mua::BrowserModel& model, const Curses& c) {
    auto lines = model.layout();
    erase();
    int cursor_row = -1, cursor_col = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& l = lines[i];
        attr_t a = A_NORMAL;
        short pair = 0;
        if (l.style == mua::ScreenLine::Style::Bar) {
            if (c.colors) pair = 1;
            else a |= A_REVERSE;
        }
        if (l.style == mua::ScreenLine::Style::Selected) a |= A_REVERSE;
        if (l.bold) a |= A_BOLD;
        attr_set(a, pair, nullptr);
        mvaddstr(static_cast<int>(i), 0, l.text.c_str());  // the last cell may report ERR: harmless
        // Should the terminal's wcwidth count wider than the model did, what spilled onto the
        // next row is cleared when that row is drawn.
        if (l.style == mua::ScreenLine::Style::Plain || l.style == mua::ScreenLine::Style::Message) clrtoeol();
        if (l.style == mua::ScreenLine::Style::Message && model.prompting()) {
            cursor_row = static_cast<int>(i);
            cursor_col = static_cast<int>(mua::display_width(l.text));
        }
    }
    attr_set(A_NORMAL, 0, nullptr);
    if (cursor_row >= 0) {
        curs_set(1);
        move(cursor_row, cursor_col);
    } else {
        curs_set(0);
    }
    refresh();
}

// The next key for the model, or nothing (resized: *resized set; nothing to read: *gone set).
std::optional<char32_t> read_key(bool* resized, bool* gone) {
    wint_t ch = 0;
    int r = get_wch(&ch);
    if (r == ERR) {
        *gone = errno != EINTR;
        return std::nullopt;
    }
    if (r != KEY_CODE_YES) return static_cast<char32_t>(ch);
    namespace k = mua::key;
    switch (ch) {
    case KEY_UP: return k::Up;
    case KEY_DOWN: return k::Down;
    case KEY_LEFT: return k::Left;
    case KEY_RIGHT: return k::Right;
    case KEY_NPAGE: return k::PageDown;
    case KEY_PPAGE: return k::PageUp;
    case KEY_HOME: return k::Home;
    case KEY_END: return k::End;
    case KEY_ENTER: return k::Enter;
    case KEY_BACKSPACE: case KEY_DC: return k::Backspace;
    case KEY_RESIZE: *resized = true; return std::nullopt;
    default: return std::nullopt;
    }
}

// Runs $VISUAL / $EDITOR (else vi) on a private temporary file holding `initial`, outside curses;
// the edited text, or nothing (unchanged, empty, or the editor failed: *why says which).
std::optional<std::string> edit(const std::string& initial, std::string* why) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/tern-draft-XXXXXX.eml";
    int fd = ::mkstemps(path.data(), 4);  // mode 0600
    if (fd < 0) {
        *why = "cannot create a temporary file: " + std::string(std::strerror(errno));
        return std::nullopt;
    }
    ::fchmod(fd, 0600);
    bool written = ::write(fd, initial.data(), initial.size()) == static_cast<ssize_t>(initial.size());
    ::close(fd);
    if (!written) {
        ::unlink(path.c_str());
        *why = "cannot write the temporary file";
        return std::nullopt;
    }
    const char* editor = std::getenv("VISUAL");
    if (!editor || !*editor) editor = std::getenv("EDITOR");
    if (!editor || !*editor) editor = "vi";
    def_prog_mode();
    endwin();
    auto old_int = std::signal(SIGINT, SIG_IGN), old_quit = std::signal(SIGQUIT, SIG_IGN);  // the editor's ^C
    int status = -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGQUIT, SIG_DFL);
        std::string cmd = std::string(editor) + " \"$1\"";
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), "sh", path.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    if (pid > 0)
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    std::signal(SIGINT, old_int);
    std::signal(SIGQUIT, old_quit);
    reset_prog_mode();
    refresh();
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ::unlink(path.c_str());
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *why = std::string("the editor (") + editor + ") failed: draft discarded";
        return std::nullopt;
    }
    if (text == initial || text.find_first_not_of(" \t\r\n") == std::string::npos) {
        *why = "Unchanged: draft discarded.";
        return std::nullopt;
    }
    return text;
}

// The edited text as a message: CRLF line ends, header fields left empty (an empty Cc:) dropped.
std::string as_message(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (header && line.empty()) header = false;
        if (header) {
            auto colon = line.find(':');
            if (colon != std::string::npos && line.find_first_not_of(" \t", colon + 1) == std::string::npos &&
                line[0] != ' ' && line[0] != '\t')
                continue;
        }
        out += line + "\r\n";
    }
    if (header) out += "\r\n";
    return out;
}

// Keeps an edited draft in the local "Drafts" folder; what to tell the user.
std::string keep_draft(mua::Cache& cache, const std::string& text) {
    auto drafts = cache.folder("Drafts", true);
    if (!drafts) return "cannot open Drafts: " + drafts.error().message;
    if (drafts->special.empty()) (void)cache.set_special(drafts->id, "\\Drafts");  // RFC 6154
    mua::NewMessage meta;
    meta.flags = "\\Draft \\Seen";
    auto id = cache.add(*drafts, as_message(text), meta);
    if (!id) return "cannot save the draft: " + id.error().message;
    return "kept in Drafts as message " + std::to_string(*id);
}

// The edited draft sent as `tern send` sends (send_draft_quietly); what to tell the user. What
// could not be sent nor queued is kept in Drafts. `original`: the message replied to (\Answered).
std::string send_edited(Opened& opened, const mua::Draft& base, const std::string& text, std::int64_t original) {
    auto draft = mua::parse_draft_text(text, base);
    if (!draft) return draft.error().message + ": " + keep_draft(*opened.cache, text);
    SendReport r = send_draft_quietly(opened, std::move(*draft), {});  // no --trace: curses owns the screen
    if (!r.error.empty()) return r.kept ? r.error : r.error + ": " + keep_draft(*opened.cache, text);
    if (original) add_flag(*opened.cache, original, "\\Answered");  // RFC 9051 §2.3.2
    std::string out = r.summary;
    if (!r.refused.empty()) out += "; refused: " + r.refused.front() + (r.refused.size() > 1 ? " (and more)" : "");
    return out;
}

// Saves every attachment of message `id` into `directory` (src/mua/attachments: safe names, no
// overwriting); says how many were saved where.
std::string save_attachments(mua::Cache& cache, std::int64_t id, const std::string& directory) {
    auto bytes = cache.read(id);
    if (!bytes) return "cannot read message " + std::to_string(id) + ": " + bytes.error().message;
    auto saved = mua::save_attachments(*bytes, {}, directory);
    if (!saved) return saved.error().message;
    if (saved->empty()) return "Message " + std::to_string(id) + " has no attachments.";
    std::size_t ok = 0;
    std::string first_error;
    for (const mua::Saved& s : *saved) {
        if (!s.error) ++ok;
        else if (first_error.empty()) first_error = (s.path.empty() ? "" : s.path.filename().string() + ": ") + *s.error;
    }
    std::string out = "Saved " + std::to_string(ok) + " of " + std::to_string(saved->size()) + " attachment" +
                      (saved->size() == 1 ? "" : "s") + " in " + directory;
    if (!first_error.empty()) out += " (" + first_error + ")";
    return out;
}

std::string from_header(const mua::Account& a) {
    return a.display_name.empty() ? a.address : a.display_name + " <" + a.address + ">";
}

}  // namespace

void run_browser(Context& ctx, const std::string& folder) {
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) return error(ctx, "the browser needs a terminal");
    auto opened = open_account(ctx);
    if (!opened) return;
    mua::Cache& cache = *opened->cache;
    mua::BrowserOptions options;
    if (!folder.empty()) options.start_folder = folder;
    const char* home = std::getenv("HOME");
    options.save_directory = home && *home ? std::string(home) + "/Downloads" : ".";
    std::string failure;
    try {
        Curses curses;
        mua::BrowserModel model(cache, options);
        model.resize(static_cast<std::size_t>(std::max(COLS, 0)), static_cast<std::size_t>(std::max(LINES, 0)));
        int errors = 0;
        while (true) {
            draw(model, curses);
            bool resized = false, gone = false;
            auto k = read_key(&resized, &gone);
            if (resized) model.resize(static_cast<std::size_t>(std::max(COLS, 0)), static_cast<std::size_t>(std::max(LINES, 0)));
            if (gone && ++errors > 100) {
                failure = "the terminal went away";
                break;
            }
            if (!k) continue;
            errors = 0;
            auto action = model.key(*k);
            using Kind = mua::BrowserAction::Kind;
            if (action.kind == Kind::Quit) break;
            if (action.kind == Kind::Reply || action.kind == Kind::Compose) {
                mua::Draft draft;
                if (action.kind == Kind::Reply) {
                    auto bytes = cache.read(action.message_id);
                    if (!bytes) {
                        model.set_message("cannot read the message: " + bytes.error().message);
                        continue;
                    }
                    draft = mua::reply_draft(*bytes, mua::quotable_text(*bytes), from_header(opened->account), false);
                }
                std::string initial = mua::draft_text(draft), why;
                auto text = edit(initial, &why);
                model.set_message(text ? send_edited(*opened, draft, *text,
                                                     action.kind == Kind::Reply ? action.message_id : 0)
                                       : why);
                model.reload();
            } else if (action.kind == Kind::SaveAttachments) {
                model.set_message(save_attachments(cache, action.message_id, action.directory));
            }
        }
    } catch (const std::exception& e) {
        failure = e.what();  // the terminal is already restored (Curses left scope)
    }
    if (!failure.empty()) error(ctx, failure);
}

void add_browse_commands(CLI::App& app, Context& ctx) {
    auto folder = std::make_shared<std::string>();
    auto* b = app.add_subcommand("browse", "the full-screen browser (what `tern` alone opens on a terminal)");
    b->add_option("--folder", *folder, "the folder to open first (default INBOX)");
    b->callback([&ctx, folder] { run_browser(ctx, *folder); });
}

}  // namespace tern::cli
