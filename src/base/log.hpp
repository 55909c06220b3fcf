// Process-wide logging to stderr: one line per event, with a level.
// Must never log secrets: callers mask passwords and AUTH payloads before they get here.
#pragma once
#include <sstream>
#include <string>
#include <string_view>

namespace tern::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view line);

// `ternd serve --trace`: protocol dialogues ("C:" / "S:" lines) are logged when enabled.
void set_trace(bool on);
bool trace_enabled();

// Concatenates its arguments with operator<< (g++ 12 has no <format>).
template <class... Args>
std::string cat(Args&&... args) {
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    return std::move(out).str();
}

template <class... Args> void debug(Args&&... a) { if (level() <= Level::Debug) write(Level::Debug, cat(std::forward<Args>(a)...)); }
template <class... Args> void info(Args&&... a)  { if (level() <= Level::Info)  write(Level::Info,  cat(std::forward<Args>(a)...)); }
template <class... Args> void warn(Args&&... a)  { if (level() <= Level::Warn)  write(Level::Warn,  cat(std::forward<Args>(a)...)); }
template <class... Args> void error(Args&&... a) { write(Level::Error, cat(std::forward<Args>(a)...)); }

}  // namespace tern::log
