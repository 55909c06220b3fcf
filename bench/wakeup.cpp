// What a thread wake-up costs on this machine: two threads hand a turn back and forth through a
// mutex and condition variable (as Tern's I/O and spool threads do for every commit), first
// wherever the scheduler puts them, then both pinned to CPU 0; and, for scale, a plain syscall.
// On a VM a wake-up that has to rouse an idle virtual CPU can cost far more than the same
// hand-off on one CPU; bench/README.md ("smtp_bench.sh") quotes this program's figures.
// Usage: bench_wakeup [round trips=20000]
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace {

double cpu_seconds() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

bool pin_to_cpu0() {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

void ping_pong(const char* label, int rounds, bool pin) {
    std::mutex m;
    std::condition_variable cv;
    int turn = 0;
    if (pin && !pin_to_cpu0()) {
        std::printf("%-22s cannot pin to CPU 0\n", label);
        return;
    }
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::thread other([&] {
        if (pin) pin_to_cpu0();
        for (int i = 0; i < rounds; ++i) {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return turn == 1; });
            turn = 0;
            cv.notify_one();
        }
    });
    for (int i = 0; i < rounds; ++i) {
        std::unique_lock lock(m);
        turn = 1;
        cv.notify_one();
        cv.wait(lock, [&] { return turn == 0; });
    }
    other.join();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - c0;
    // A round trip is two wake-ups.
    std::printf("%-22s %9.1f us per wake-up (wall)  %9.1f us of CPU per wake-up\n", label,
                wall / rounds / 2 * 1e6, cpu / rounds / 2 * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 20000;
    if (rounds <= 0) {
        std::fprintf(stderr, "round trips must be positive\n");
        return 2;
    }
    std::printf("%d round trips, %ld CPUs online\n", rounds, sysconf(_SC_NPROCESSORS_ONLN));
    ping_pong("threads anywhere:", rounds, false);
    ping_pong("both on CPU 0:", rounds, true);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200000; ++i) syscall(SYS_getppid);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-22s %9.2f us per call\n", "getppid(2):", wall / 200000 * 1e6);
    return 0;
}
