// See thread.hpp.
#include "base/thread.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace tern::base {

void name_this_thread(std::string_view name) {
    std::string n(name.substr(0, 15));
    pthread_setname_np(pthread_self(), n.c_str());
}

void lower_this_thread_priority(int steps) {
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    int now = ::getpriority(PRIO_PROCESS, tid);
    if (now == -1 && errno != 0) return;
    ::setpriority(PRIO_PROCESS, tid, now + steps);  // per thread on Linux (setpriority(2), NOTES)
}

}  // namespace tern::base
