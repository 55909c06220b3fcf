// Logging implementation: whole lines, each with a UTC timestamp, written to stderr by one write(2).
#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include <limits.h>  // PIPE_BUF
#include <unistd.h>
#include <cerrno>

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
    // The whole line in one buffer and one write(2): lines from different threads never mix.
    char head[48];
    int n = std::snprintf(head, sizeof head, "%s.%03dZ %s ", stamp, static_cast<int>(ms), name(l));
    std::string out;
    out.reserve(static_cast<std::size_t>(n) + line.size() + 1);
    out.append(head, static_cast<std::size_t>(n)).append(line).push_back('\n');
    const char* p = out.data();
    std::size_t left = out.size();
    // A write(2) of up to PIPE_BUF bytes is never split on a pipe, and on a regular file the
    // kernel serialises writers of one open file: such a line needs no lock of ours, whose
    // contention would put a thread to sleep (on a VM, a costly wake-up) behind another's write.
    // Longer lines, and the rest after a short write, go out under the lock.
    if (left <= PIPE_BUF) {
        ssize_t w;
        do w = ::write(STDERR_FILENO, p, left);
        while (w < 0 && errno == EINTR);
        if (w <= 0 || static_cast<std::size_t>(w) == left) return;  // done, or nowhere to log to
        p += w;
        left -= static_cast<std::size_t>(w);
    }
    std::lock_guard lock(g_mutex);
    while (left > 0) {
        ssize_t w = ::write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;  // nowhere to log to: drop the line rather than block or crash
        p += w;
        left -= static_cast<std::size_t>(w);
    }
}

}  // namespace tern::log
