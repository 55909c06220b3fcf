// Process-wide logging to stderr: one line per event, with a level.
// Must never log secrets: callers mask passwords and AUTH payloads before they get here.
#pragma once
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace tern::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view line);

// `ternd serve --trace`: protocol dialogues ("C:" / "S:" lines) are logged when enabled.
void set_trace(bool on);
bool trace_enabled();

namespace detail {
template <class T>
void put(std::string& out, const T& v) {
    using U = std::remove_cvref_t<T>;
    constexpr bool char_like = std::is_same_v<U, char> || std::is_same_v<U, signed char> || std::is_same_v<U, unsigned char>;
    if constexpr (std::is_convertible_v<const T&, std::string_view>) out.append(std::string_view(v));
    else if constexpr (std::is_integral_v<U> && !char_like) out.append(std::to_string(v));
    else {
        std::ostringstream o;  // anything else with an operator<<
        o << v;
        out.append(std::move(o).str());
    }
}
}  // namespace detail

// Concatenates its arguments (g++ 12 has no <format>): strings are appended as they are and
// numbers with std::to_string, so a log line costs no stream unless an argument needs one.
template <class... Args>
std::string cat(Args&&... args) {
    std::string out;
    out.reserve(128);
    (detail::put(out, args), ...);
    return out;
}

template <class... Args> void debug(Args&&... a) { if (level() <= Level::Debug) write(Level::Debug, cat(std::forward<Args>(a)...)); }
template <class... Args> void info(Args&&... a)  { if (level() <= Level::Info)  write(Level::Info,  cat(std::forward<Args>(a)...)); }
template <class... Args> void warn(Args&&... a)  { if (level() <= Level::Warn)  write(Level::Warn,  cat(std::forward<Args>(a)...)); }
template <class... Args> void error(Args&&... a) { write(Level::Error, cat(std::forward<Args>(a)...)); }

}  // namespace tern::log
