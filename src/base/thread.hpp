// Names for ternd's threads (shown by top -H, ps -L and perf), and a lower CPU priority for the
// ones doing background work. Intake is latency-bound: a client waits for every SMTP reply and
// RETR, while local delivery and password hashing can wait a few milliseconds. On a busy machine
// the scheduler should run the I/O and spool threads first. Linux applies nice values per thread.
#pragma once
#include <string_view>

namespace tern::base {

// At most 15 characters are kept (the kernel's limit).
void name_this_thread(std::string_view name);
// Raises this thread's nice value by `steps` (lower priority; never needs privileges). Best
// effort: a failure changes nothing else.
void lower_this_thread_priority(int steps);

}  // namespace tern::base
