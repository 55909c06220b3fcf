// Tests for base/thread.hpp: thread names as the kernel reports them, and the per-thread nice value.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "base/thread.hpp"

namespace tern::base {
namespace {

int my_nice() {
    return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
}

TEST(Thread, NameIsVisibleAndCutTo15Characters) {
    std::thread t([] {
        name_this_thread("tern-deliver-and-more");
        char buf[32] = {};
        ASSERT_EQ(pthread_getname_np(pthread_self(), buf, sizeof buf), 0);
        EXPECT_STREQ(buf, "tern-deliver-an");
    });
    t.join();
}

TEST(Thread, LowerPriorityAffectsOnlyThatThread) {
    const int before = my_nice();
    int inside = 0;
    std::thread t([&] {
        lower_this_thread_priority(5);
        inside = my_nice();
    });
    t.join();
    EXPECT_EQ(inside, std::min(before + 5, 19));
    EXPECT_EQ(my_nice(), before) << "the calling thread keeps its priority";
}

}  // namespace
}  // namespace tern::base
