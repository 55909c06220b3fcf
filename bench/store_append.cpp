// Store benchmark: does delivery slow down as a mailbox grows? Appends N messages to one INBOX
// through the SQLite store in batches (as the scheduler does) and prints the append rate of each
// block, so the first block (empty mailbox) and the last (near N messages) sit side by side.
// Usage: bench_store_append [N=1000000] [message bytes=512] [batch=256] [dir=/var/tmp/...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hpp"

int main(int argc, char** argv) {
    std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    std::size_t size = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 512;
    std::size_t batch = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 256;
    std::filesystem::path dir = argc > 4 ? argv[4] : std::filesystem::temp_directory_path() / "tern-store-bench";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = tern::store::open_sqlite_store(dir);
    if (!store) {
        std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
        return 1;
    }
    (*store)->create_account("user@bench.test");
    std::string body = "Subject: bench\r\n\r\n" + std::string(size > 20 ? size - 20 : 1, 'x') + "\r\n";
    std::size_t block = std::max<std::size_t>(n / 10, batch);
    std::printf("%12s %14s %12s\n", "messages", "appends/s", "ms/batch");
    auto block_start = std::chrono::steady_clock::now();
    std::size_t done = 0, block_done = 0;
    while (done < n) {
        std::vector<tern::store::NewMessage> msgs(std::min(batch, n - done));
        for (auto& m : msgs) {
            m.account = "user@bench.test";
            m.data = body;
            m.internal_date = 1795000000;
        }
        if (auto r = (*store)->append(msgs); !r) {
            std::fprintf(stderr, "append: %s\n", r.error().message.c_str());
            return 1;
        }
        done += msgs.size();
        block_done += msgs.size();
        if (block_done >= block || done == n) {
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - block_start).count();
            std::printf("%12zu %14.0f %12.2f\n", done, block_done / s, 1000.0 * s / (double(block_done) / batch));
            std::fflush(stdout);
            block_start = std::chrono::steady_clock::now();
            block_done = 0;
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}
