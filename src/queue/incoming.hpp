// A message body on its way into the spool: kept in memory up to a limit, then spilled to a
// nameless file (O_TMPFILE) in the spool directory, so a session holds a bounded buffer whatever
// the message size, and a crash leaves nothing behind. The spool copies a spilled body into its
// segment in bounded chunks (Spool::submit). Must never hold more than `memory_limit` + one write
// buffer in memory, nor leave a named file behind.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::queue {

class IncomingBody {
public:
    static constexpr std::size_t kDefaultMemoryLimit = 256u << 10;
    static constexpr std::size_t kWriteBuffer = 64u << 10;

    // `spill_dir` must be on the spool's file system (the spool directory itself).
    explicit IncomingBody(std::filesystem::path spill_dir, std::size_t memory_limit = kDefaultMemoryLimit);
    // A body that is already whole in memory (never spills).
    static IncomingBody in_memory(std::string data);
    IncomingBody(IncomingBody&& other) noexcept;
    IncomingBody& operator=(IncomingBody&& other) noexcept;
    IncomingBody(const IncomingBody&) = delete;
    IncomingBody& operator=(const IncomingBody&) = delete;
    ~IncomingBody();

    // Appends octets; past the memory limit they go to the spill file. ENOSPC when the disk is full.
    Result<void> append(std::string_view data);
    // Writes out what is buffered. Call once after the last append, before handing the body over.
    Result<void> finish();

    std::uint64_t size() const { return size_; }
    bool spilled() const { return fd_ >= 0; }
    const std::string& memory() const { return buffer_; }  // the whole body while not spilled
    std::string& memory() { return buffer_; }
    int fd() const { return fd_; }  // the spill file, once spilled and finished: bytes [0, size())

    // The whole body (tests and small consumers; a spilled body is read back from its file).
    Result<std::string> read_all() const;

private:
    IncomingBody() = default;
    Result<void> spill();
    Result<void> flush_buffer();

    std::filesystem::path dir_;
    std::size_t limit_ = kDefaultMemoryLimit;
    std::string buffer_;        // the body (not spilled), or bytes not yet written to fd_
    int fd_ = -1;
    std::uint64_t written_ = 0;  // bytes in the file
    std::uint64_t size_ = 0;
};

}  // namespace tern::queue
