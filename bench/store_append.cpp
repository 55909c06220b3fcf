// Store benchmark: does delivery slow down as a mailbox grows? (Issue 2: "a mailbox of a million
// messages must not make delivery slower".)
//
// Phase 1 appends N messages to one INBOX (full@bench.test) through the SQLite store in batches, as
// the scheduler does, each with its redelivery key, and prints the rate of each tenth, so the first
// block (empty mailbox) and the last (near N messages) sit side by side. Those rates also move with
// the database file's growth and the disk (WAL checkpoints write every page twice).
// Phase 2 separates the two: in the same store, it alternates rounds of appends to the full
// mailbox and to an empty one (empty@bench.test) and prints both rates per round and their
// medians. Same database, same disk, same minute: only the mailbox's size differs.
//
// Usage: bench_store_append [N=1000000] [message bytes=512] [batch=256] [dir=/var/tmp/...]
//                           [rounds=10] [messages per round=5120]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Appender {
    tern::store::MailStore& store;
    std::string body;
    std::size_t batch;
    std::uint64_t next_queue_id = 1795000000000000ULL;  // queue ids count up from the clock's microseconds

    // Appends `count` messages to `account`'s INBOX; returns appends per second, or -1 on error.
    double run(const std::string& account, std::size_t count) {
        auto start = Clock::now();
        for (std::size_t done = 0; done < count;) {
            std::vector<tern::store::NewMessage> msgs(std::min(batch, count - done));
            for (auto& m : msgs) {
                m.account = account;
                m.data = body;
                m.internal_date = 1795000000;
                // The redelivery key as local delivery makes it ("q:<queue id>:<content hash>:<account>"),
                // so the store checks and records one per message, as in production.
                const std::uint64_t id = next_queue_id++;
                char key[96];
                std::snprintf(key, sizeof key, "q:%llu:%016zx:", static_cast<unsigned long long>(id),
                              std::hash<std::uint64_t>{}(id));
                m.dedupe_key = key + account;
            }
            if (auto r = store.append(msgs); !r) {
                std::fprintf(stderr, "append: %s\n", r.error().message.c_str());
                return -1;
            }
            done += msgs.size();
        }
        return static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - start).count();
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    std::size_t size = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 512;
    std::size_t batch = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 256;
    std::filesystem::path dir = argc > 4 ? argv[4] : std::filesystem::temp_directory_path() / "tern-store-bench";
    std::size_t rounds = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 10;
    std::size_t per_round = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 5120;
    if (n == 0 || batch == 0 || rounds == 0 || per_round == 0) {
        std::fprintf(stderr, "N, batch, rounds and messages per round must be positive\n");
        return 2;
    }
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = tern::store::open_sqlite_store(dir);
    if (!store) {
        std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
        return 1;
    }
    // A mailbox's messages are one key range of the messages table (mailbox id, UID), and appends
    // go to the end of that range. Appending at the very end of the table is cheaper than before
    // another mailbox's rows (SQLite splits the last page differently), so both mailboxes get a
    // neighbour after them, as nearly every mailbox of a real server has: the comparison is of
    // size alone, not of position.
    const std::string empty = "empty@bench.test", full = "full@bench.test", last = "last@bench.test";
    for (const auto& a : {empty, full, last})
        if (auto r = (*store)->create_account(a); !r) {
            std::fprintf(stderr, "create_account: %s\n", r.error().message.c_str());
            return 1;
        }
    Appender app{**store, "Subject: bench\r\n\r\n" + std::string(size > 20 ? size - 20 : 1, 'x') + "\r\n", batch};
    if (app.run(last, 1) < 0) return 1;

    std::printf("phase 1: %zu messages of %zu bytes into one mailbox, batches of %zu\n", n, size, batch);
    std::printf("%12s %14s %12s\n", "messages", "appends/s", "ms/batch");
    const std::size_t block = std::max<std::size_t>(n / 10, batch);
    for (std::size_t done = 0; done < n;) {
        std::size_t count = std::min(block, n - done);
        double rate = app.run(full, count);
        if (rate < 0) return 1;
        done += count;
        std::printf("%12zu %14.0f %12.2f\n", done, rate, 1000.0 * static_cast<double>(batch) / rate);
        std::fflush(stdout);
    }

    std::printf("\nphase 2: %zu rounds of %zu appends each, alternating a mailbox of %zu+ messages and an empty one\n",
                rounds, per_round, n);
    std::printf("%6s %18s %18s %8s\n", "round", "full appends/s", "empty appends/s", "ratio");
    std::vector<double> to_full, to_empty;
    for (std::size_t r = 1; r <= rounds; ++r) {
        // Alternate which goes first, so a trend in the machine's load favours neither.
        double a = 0, b = 0;
        if (r % 2) a = app.run(full, per_round), b = app.run(empty, per_round);
        else b = app.run(empty, per_round), a = app.run(full, per_round);
        if (a < 0 || b < 0) return 1;
        to_full.push_back(a);
        to_empty.push_back(b);
        std::printf("%6zu %18.0f %18.0f %8.2f\n", r, a, b, a / b);
        std::fflush(stdout);
    }
    std::printf("median %18.0f %18.0f %8.2f  (full/empty: 1.00 = the mailbox's size costs nothing)\n",
                median(to_full), median(to_empty), median(to_full) / median(to_empty));
    std::filesystem::remove_all(dir);
    return 0;
}
