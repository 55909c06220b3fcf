// Logging implementation: a mutex-guarded write of whole lines to stderr with a UTC timestamp.
#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace tern::log {
namespace {
std::atomic<Level> g_level{Level::Info};
std::atomic<bool> g_trace{false};
std::mutex g_mutex;
const char* name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warn";
        case Level::Error: return "error";
    }
    return "?";
}
}  // namespace

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
void set_trace(bool on) { g_trace = on; }
bool trace_enabled() { return g_trace; }

void write(Level l, std::string_view line) {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    // The date and time change once a second: format them once a second per thread.
    thread_local std::time_t last = -1;
    thread_local char stamp[32];
    if (t != last) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        last = t;
    }
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms), name(l),
                 static_cast<int>(line.size()), line.data());
}

}  // namespace tern::log
