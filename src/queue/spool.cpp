// The durable spool: segment files, replay on open, group commit on one writer thread, and
// deletion/compaction of segments that no longer hold live messages. Must never run a commit
// callback before its record is fdatasync'ed (RFC 5321 §6.1: a 250 reply transfers responsibility),
// and never unlink a segment while it or an older one holds a record replay still needs.
#include "queue/spool.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/durable.hpp"
#include "base/log.hpp"
#include "base/thread.hpp"
#include "queue/incoming.hpp"
#include "queue/record.hpp"

namespace tern::queue {

namespace {
bool is_final(const std::vector<RecipientState>& states) {
    return std::all_of(states.begin(), states.end(), [](const RecipientState& s) {
        return s.status == RecipientState::Status::Delivered || s.status == RecipientState::Status::Failed;
    });
}
}  // namespace

bool QueuedMessage::final() const { return is_final(states); }

namespace {

namespace fs = std::filesystem;

// How long State records wait for a submission or flush to ride along with before committing alone.
constexpr auto kStateDelay = std::chrono::milliseconds(20);
// How long state records wait before another try after a commit failed (a full disk, say).
constexpr auto kRetryDelay = std::chrono::milliseconds(1000);
// Compaction copies at most this many body octets per group commit (at least one message), so
// clients waiting for their 250 are never stuck behind the whole copy; bodies move in chunks of
// kCopyChunk, never whole in memory.
constexpr std::uint64_t kCompactBatchBytes = 8ull << 20;
constexpr std::size_t kCopyChunk = 1u << 20;

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

Error io_error(const std::string& what, const fs::path& path, int e) {
    return Error{what + " " + path.string() + ": " + errno_text(e), e};
}

struct File {
    int fd = -1;
    std::uint64_t allocated = 0;  // bytes on disk, zero-filled past the last record (see kPreallocate)
    explicit File(int f) : fd(f) {
        struct stat st{};
        if (::fstat(fd, &st) == 0) allocated = static_cast<std::uint64_t>(st.st_size);
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() {
        if (fd >= 0) ::close(fd);
    }
};

// The active segment is grown in zero-filled steps ahead of its records, so that a group commit
// overwrites blocks that already exist: its fdatasync then flushes data only, not the inode's new
// size as well (about 3x faster here). Replay already treats a zero-filled tail as the end.
constexpr std::uint64_t kPreallocate = 4ull << 20;

// Writes zeros over [from, to).
int zero_fill(int fd, std::uint64_t from, std::uint64_t to, const std::function<int(const char*)>& fault) {
    static const std::string zeros(1 << 20, '\0');
    while (from < to) {
        if (fault)
            if (int e = fault("zero_fill")) return e;
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - from));
        ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(from));
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        from += static_cast<std::uint64_t>(w);
    }
    return 0;
}

std::string segment_name(std::uint64_t seq) {
    static const char* hex = "0123456789abcdef";
    std::string name = "seg-";
    for (int i = 15; i >= 0; --i) name.push_back(hex[(seq >> (4 * i)) & 0xF]);
    return name + ".log";
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
    if (name.size() != 4 + 16 + 4 || name.compare(0, 4, "seg-") != 0 || name.compare(20, 4, ".log") != 0)
        return std::nullopt;
    std::uint64_t seq = 0;
    for (std::size_t i = 4; i < 20; ++i) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        seq = (seq << 4) | static_cast<std::uint64_t>(d);
    }
    return seq;
}

// Writes every iovec at `offset`, resuming after short writes and splitting at IOV_MAX.
int write_all(int fd, std::vector<iovec> iov, off_t offset) {
    std::size_t i = 0;
    while (i < iov.size()) {
        int count = static_cast<int>(std::min<std::size_t>(iov.size() - i, IOV_MAX));
        ssize_t n = ::pwritev(fd, &iov[i], count, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        offset += n;
        auto left = static_cast<std::size_t>(n);
        while (left > 0 && i < iov.size()) {
            if (left >= iov[i].iov_len) {
                left -= iov[i].iov_len;
                ++i;
            } else {
                iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
                iov[i].iov_len -= left;
                left = 0;
            }
        }
    }
    return 0;
}

int read_all(int fd, char* out, std::size_t size, off_t offset) {
    while (size > 0) {
        ssize_t n = ::pread(fd, out, size, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;  // the record was verified, so a short file is an I/O problem
        out += n, size -= static_cast<std::size_t>(n), offset += n;
    }
    return 0;
}


// Checks the CRC-32C of the record at `record_at` (body of `size` octets after `head` bytes) by
// reading it in bounded chunks; `body_crc`, when given, receives the CRC-32C of the body alone.
int verify_record(int fd, std::uint64_t record_at, std::uint64_t head, std::uint64_t size,
                  std::uint32_t* body_crc = nullptr) {
    if (head < record::kFrameHeader || head > (64u << 20)) return EBADMSG;
    std::string buf(static_cast<std::size_t>(head), '\0');
    if (int e = read_all(fd, buf.data(), buf.size(), static_cast<off_t>(record_at))) return e;
    std::uint32_t crc = record::crc32c(std::string_view(buf).substr(3));
    std::uint32_t body = 0;
    buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kCopyChunk, std::max<std::uint64_t>(size, head))));
    for (std::uint64_t done = 0; done < size;) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        if (int e = read_all(fd, buf.data(), n, static_cast<off_t>(record_at + head + done))) return e;
        crc = record::crc32c(std::string_view(buf.data(), n), crc);
        if (body_crc) body = record::crc32c(std::string_view(buf.data(), n), body);
        done += n;
    }
    if (body_crc) *body_crc = body;
    char stored[record::kFrameTrailer];
    if (int e = read_all(fd, stored, sizeof stored, static_cast<off_t>(record_at + head + size))) return e;
    std::uint32_t want = 0;
    for (int i = 3; i >= 0; --i) want = (want << 8) | static_cast<unsigned char>(stored[i]);
    return crc == want ? 0 : EBADMSG;
}

// Writes a record at `at` of `out`: `head`, then `size` body octets read from `src` at `body_at`
// in bounded chunks, then the CRC-32C over both.
int copy_record(int src, std::uint64_t body_at, std::uint64_t size, const std::string& head, int out,
                std::uint64_t at) {
    if (int e = write_all(out, {iovec{const_cast<char*>(head.data()), head.size()}}, static_cast<off_t>(at))) return e;
    std::uint32_t crc = record::crc32c(std::string_view(head).substr(3));
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(kCopyChunk, std::max<std::uint64_t>(size, 1))), '\0');
    std::uint64_t pos = at + head.size();
    for (std::uint64_t done = 0; done < size;) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        if (int e = read_all(src, buf.data(), n, static_cast<off_t>(body_at + done))) return e;
        crc = record::crc32c(std::string_view(buf.data(), n), crc);
        if (int e = write_all(out, {iovec{buf.data(), n}}, static_cast<off_t>(pos))) return e;
        done += n, pos += n;
    }
    char tail[record::kFrameTrailer];
    for (int i = 0; i < 4; ++i) tail[i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    return write_all(out, {iovec{tail, sizeof tail}}, static_cast<off_t>(pos));
}

std::string read_error_text(int e) {
    return e == EBADMSG ? "checksum mismatch: the record was damaged on disk" : errno_text(e);
}

struct Segment {
    std::uint64_t seq = 0;
    fs::path path;
    std::shared_ptr<File> file;  // shared so read_message can pread while the writer unlinks
    std::uint64_t size = 0;      // bytes of valid records; appends go here
    std::size_t refs = 0;        // live messages with a Message or State record in this segment
    bool corrupt = false;        // replay skipped bad data: never append; keep as *.corrupt
    bool sealed = false;         // an fdatasync failed here: never append again
};

struct Entry {
    std::uint64_t seg = 0;      // segment holding the current Message record
    std::uint64_t head = 0;     // bytes of the record before the body (the record starts at body_at - head)
    std::uint64_t body_at = 0;  // absolute file offset of the body octets
    std::uint64_t size = 0;
    Envelope envelope;
    std::vector<RecipientState> states;
    std::vector<std::uint64_t> segs;  // segments this message holds a reference on
};

struct Item {
    enum class Kind { Submit, Update, Barrier, Compact } kind = Kind::Barrier;
    Envelope envelope;
    std::optional<IncomingBody> body;
    Spool::CommitCallback done;
    QueueId id = 0;
    std::size_t recipient = 0;
    RecipientState state;
    std::shared_ptr<std::promise<Result<void>>> waiter;
    bool continuation = false;  // Compact: the rest of a compaction run cut into bounded batches
};

class SpoolImpl final : public Spool {
public:
    explicit SpoolImpl(SpoolOptions options) : opts_(std::move(options)), fault_(opts_.inject_fault) {}
    ~SpoolImpl() override { close(); }

    Result<void> replay();
    Result<void> start();

    std::vector<QueuedMessage> recovered() override {
        std::lock_guard lock(mu_);
        return std::move(recovered_);
    }
    using Spool::submit;
    void submit(Envelope envelope, IncomingBody body, CommitCallback done) override;
    void update(QueueId id, std::size_t recipient, const RecipientState& state) override;
    Result<void> flush() override { return wait_for(Item::Kind::Barrier); }
    Result<void> compact() override { return wait_for(Item::Kind::Compact); }
    Result<std::string> read_message(QueueId id) override;
    Result<base::ByteSourceRef> open_message(QueueId id) override;
    std::uint64_t sync_count() const override { return syncs_.load(); }
    void close() override;

private:
    Result<void> wait_for(Item::Kind kind);
    void run();
    void commit(std::deque<Item>& batch);
    void finish(std::deque<Item>& batch, std::vector<Result<QueueId>>& results, const std::optional<Error>& err);
    void fail_batch(std::deque<Item>& batch, std::vector<Result<QueueId>>& results, Error err,
                    const std::shared_ptr<File>& appended_to, std::uint64_t base,
                    std::optional<std::uint64_t> created, bool sync_failed);
    Result<std::shared_ptr<File>> create_segment(std::uint64_t seq);
    void fsync_dir();
    struct Dead {
        fs::path path;
        bool corrupt;  // rename to *.corrupt for inspection instead of unlinking
    };
    std::vector<Dead> take_dead_segments();  // requires mu_
    void remove_segments(const std::vector<Dead>& dead);
    void release(Entry& e);  // requires mu_

    SpoolOptions opts_;
    int dir_fd_ = -1;  // holds the flock that keeps a second process out; fsync'ed after create/unlink

    mutable std::mutex mu_;  // guards everything below; only the writer thread mutates index/segments
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool urgent_ = false;  // a submission, flush or compaction is queued (not only State records)
    bool stopping_ = false;
    std::optional<Error> last_failure_;  // the last commit that failed (reported by flush after close)
    bool failing_ = false;               // writer thread only: the last commit failed
    int last_errno_ = 0;                 // writer thread only
    std::function<int(const char*)> fault_;  // tests: SpoolOptions::inject_fault
    // Writer thread only: the compaction run in progress moves messages out of segments below
    // this sequence (fixed at the run's start, so copies never chase their own new segments), and
    // skips the ids it could not read.
    std::uint64_t compact_below_ = 0;
    std::unordered_set<QueueId> compact_skip_;
    int fault(const char* op) const { return fault_ ? fault_(op) : 0; }
    std::map<std::uint64_t, Segment> segments_;
    std::optional<std::uint64_t> active_;
    std::uint64_t next_seq_ = 1;
    std::unordered_map<QueueId, Entry> index_;
    QueueId next_id_ = 1;
    std::vector<QueuedMessage> recovered_;

    std::atomic<std::uint64_t> syncs_{0};
    std::thread writer_;
};

// ---- open / replay ---------------------------------------------------------------------------

Result<void> SpoolImpl::replay() {
    // Durably: a segment fsynced into a directory whose own entry is not on disk could vanish.
    if (auto r = base::create_directories_durably(opts_.dir); !r) return fail("spool: " + r.error().message, r.error().code);
    std::error_code ec;
    dir_fd_ = ::open(opts_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return std::unexpected(io_error("spool: cannot open", opts_.dir, errno));
    if (::flock(dir_fd_, LOCK_EX | LOCK_NB) != 0)
        return std::unexpected(io_error("spool: already in use (flock)", opts_.dir, errno));

    std::vector<std::uint64_t> seqs;
    for (const auto& de : fs::directory_iterator(opts_.dir, ec)) {
        if (auto seq = parse_segment_name(de.path().filename().string())) seqs.push_back(*seq);
    }
    if (ec) return fail("spool: cannot list " + opts_.dir.string() + ": " + ec.message(), ec.value());
    std::sort(seqs.begin(), seqs.end());

    QueueId max_id = 0;
    bool removed_any = false;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        const bool last = i + 1 == seqs.size();
        Segment seg;
        seg.seq = seqs[i];
        seg.path = opts_.dir / segment_name(seg.seq);
        int fd = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) return std::unexpected(io_error("spool: cannot open", seg.path, errno));
        seg.file = std::make_shared<File>(fd);
        struct stat st {};
        if (::fstat(fd, &st) != 0) return std::unexpected(io_error("spool: cannot stat", seg.path, errno));
        const auto file_size = static_cast<std::size_t>(st.st_size);
        const char* map = nullptr;
        if (file_size > 0) {
            void* m = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) return std::unexpected(io_error("spool: cannot map", seg.path, errno));
            map = static_cast<const char*>(m);
        }
        std::string_view data(map ? map : "", file_size);

        std::size_t pos = 0;  // end of the last valid record
        bool header_seen = false;
        std::size_t lost_records = 0;
        std::vector<QueueId> lost_messages;
        record::SegmentScanner scanner(data);
        record::Tail tail;
        auto lose = [&](const record::Bad& bad, const char* what) {
            ++lost_records;
            if (bad.type == record::Type::Message && bad.id) lost_messages.push_back(*bad.id);
            log::error("spool: ", seg.path.string(), ": ", bad.reason, " at offset ", bad.from, "; ", what, " ",
                       bad.to - bad.from, " bytes",
                       bad.type == record::Type::Message && bad.id ? " (message " + std::to_string(*bad.id) + ")"
                       : bad.type == record::Type::State && bad.id ? " (a state change of message " + std::to_string(*bad.id) + ")"
                                                                    : std::string());
        };
        for (;;) {
            auto ev = scanner.next();
            if (auto* t = std::get_if<record::Tail>(&ev)) {
                tail = std::move(*t);
                break;
            }
            if (auto* bad = std::get_if<record::Bad>(&ev)) {
                // One damaged record costs that record alone; the segment is kept as *.corrupt later.
                lose(*bad, "skipped");
                seg.corrupt = true;
                header_seen = true;  // a damaged header must not cost the records after it
                continue;
            }
            auto& found = std::get<record::Found>(ev);
            auto& done = found.record;
            const std::size_t at = found.at;
            pos = at + done.bytes;
            if (auto* h = std::get_if<record::SegmentHeader>(&done.record)) {
                if (header_seen) {
                    log::warn("spool: ", seg.path.string(), ": segment header at offset ", at, "; ignored");
                    seg.corrupt = true;
                    continue;
                }
                if (h->sequence != seg.seq)
                    log::warn("spool: ", seg.path.string(), " header names sequence ", h->sequence);
                header_seen = true;
                continue;
            }
            if (!header_seen) {
                log::warn("spool: ", seg.path.string(), ": first record is not a segment header");
                seg.corrupt = true;
                header_seen = true;
            }
            if (auto* m = std::get_if<record::MessageRecord>(&done.record)) {
                max_id = std::max(max_id, m->id);
                // A later Message record for the same id is a compaction copy and replaces the old one.
                Entry& e = index_[m->id];
                e.seg = seg.seq;
                e.head = m->body_offset;
                e.body_at = at + m->body_offset;
                e.size = m->body_size;
                e.envelope = std::move(m->envelope);
                e.states = std::move(m->states);
                e.segs = {seg.seq};
            } else if (auto* s = std::get_if<record::StateRecord>(&done.record)) {
                auto it = index_.find(s->id);
                if (it != index_.end()) {  // ids not present belong to deleted segments: ignore
                    Entry& e = it->second;
                    if (s->recipient < e.states.size()) {
                        e.states[s->recipient] = std::move(s->state);
                        if (std::find(e.segs.begin(), e.segs.end(), seg.seq) == e.segs.end())
                            e.segs.push_back(seg.seq);
                    } else {
                        log::warn("spool: ", seg.path.string(), " state for recipient ", s->recipient,
                                  " of message ", s->id, " out of range; ignored");
                    }
                }
            }
        }
        if (map) ::munmap(const_cast<char*>(map), file_size);
        seg.size = pos;

        switch (tail.kind) {
            case record::Tail::Kind::None: break;
            case record::Tail::Kind::Zeros:
            case record::Tail::Kind::Torn:
                // Preallocated zeros, or a write that a crash cut short. Its records were never
                // acknowledged (a 250 follows the fdatasync of the whole record), so nothing is lost.
                if (tail.kind == record::Tail::Kind::Torn)
                    log::warn("spool: ", seg.path.string(), ": discarding an unfinished write of ",
                              file_size - tail.at, " bytes at offset ", tail.at, " (", tail.bad.reason,
                              "; never acknowledged)");
                if (last && !seg.corrupt && pos > 0 && pos < file_size) {
                    if (::ftruncate(fd, static_cast<off_t>(pos)) != 0 || (opts_.fsync && ::fsync(fd) != 0))
                        return std::unexpected(io_error("spool: cannot truncate", seg.path, errno));
                    seg.file->allocated = pos;
                }
                break;
            case record::Tail::Kind::Damaged:
                lose(tail.bad, "lost the last");
                seg.corrupt = true;
                break;
        }
        if (lost_records > 0) {
            std::string ids;
            for (auto id : lost_messages) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
            log::error("spool: ", seg.path.string(), ": ", lost_records, " damaged record(s) skipped; ",
                       lost_messages.size(), " message(s) lost", ids.empty() ? "" : ": " + ids,
                       "; every other record was recovered; the segment will be kept as ",
                       seg.path.filename().string(), ".corrupt");
        }
        if (pos == 0 && !seg.corrupt) {  // no records at all (crash right after creating it)
            if (::unlink(seg.path.c_str()) != 0)
                return std::unexpected(io_error("spool: cannot remove", seg.path, errno));
            removed_any = true;
            next_seq_ = std::max(next_seq_, seg.seq + 1);
            continue;
        }
        next_seq_ = std::max(next_seq_, seg.seq + 1);
        if (last && !seg.corrupt) active_ = seg.seq;
        segments_.emplace(seg.seq, std::move(seg));
    }

    for (auto it = index_.begin(); it != index_.end();) {
        Entry& e = it->second;
        if (is_final(e.states)) {
            it = index_.erase(it);
            continue;
        }
        for (auto s : e.segs) segments_.at(s).refs++;
        recovered_.push_back(QueuedMessage{it->first, e.envelope, e.states, e.size});
        ++it;
    }
    std::sort(recovered_.begin(), recovered_.end(),
              [](const QueuedMessage& a, const QueuedMessage& b) { return a.id < b.id; });
    auto dead = take_dead_segments();
    remove_segments(dead);
    if (removed_any && dead.empty()) fsync_dir();

    next_id_ = std::max<QueueId>(max_id + 1, static_cast<QueueId>(now_us()));
    return {};
}

Result<void> SpoolImpl::start() {
    try {
        writer_ = std::thread([this] {
            base::name_this_thread("tern-spool");
            run();
        });
    } catch (const std::system_error& e) {
        return fail(std::string("spool: cannot start writer thread: ") + e.what(), e.code().value());
    }
    return {};
}

// ---- public operations -----------------------------------------------------------------------

void SpoolImpl::submit(Envelope envelope, IncomingBody body, CommitCallback done) {
    {
        std::lock_guard lock(mu_);
        if (!stopping_) {
            Item item;
            item.kind = Item::Kind::Submit;
            item.envelope = std::move(envelope);
            item.body.emplace(std::move(body));
            item.done = std::move(done);
            queue_.push_back(std::move(item));
            urgent_ = true;
            cv_.notify_one();
            return;
        }
    }
    if (done) done(fail("spool: closed", ESHUTDOWN));
}

void SpoolImpl::update(QueueId id, std::size_t recipient, const RecipientState& state) {
    std::lock_guard lock(mu_);
    if (stopping_) {
        log::warn("spool: update of message ", id, " after close; dropped");
        return;
    }
    Item item;
    item.kind = Item::Kind::Update;
    item.id = id;
    item.recipient = recipient;
    item.state = state;
    queue_.push_back(std::move(item));
    cv_.notify_one();
}

Result<void> SpoolImpl::wait_for(Item::Kind kind) {
    if (std::this_thread::get_id() == writer_.get_id())  // from a commit callback: would wait for itself
        return fail("spool: flush/compact called from a commit callback", EDEADLK);
    auto waiter = std::make_shared<std::promise<Result<void>>>();
    auto future = waiter->get_future();
    {
        std::lock_guard lock(mu_);
        if (stopping_) {
            if (last_failure_) return std::unexpected(*last_failure_);
            return {};  // close() committed everything
        }
        Item item;
        item.kind = kind;
        item.waiter = waiter;
        queue_.push_back(std::move(item));
        urgent_ = true;
        cv_.notify_one();
    }
    return future.get();
}

Result<std::string> SpoolImpl::read_message(QueueId id) {
    auto source = open_message(id);  // verifies the record's CRC
    if (!source) return std::unexpected(source.error());
    return base::read_all(**source);
}

namespace {
// A verified message body read in ranges from its segment; holds the segment's file open.
class SegmentSource final : public SpooledBody {
public:
    SegmentSource(std::shared_ptr<File> file, std::uint64_t at, std::uint64_t size, std::uint32_t crc)
        : file_(std::move(file)), at_(at), size_(size), crc_(crc) {}
    std::uint64_t size() const override { return size_; }
    std::uint32_t body_crc32c() const override { return crc_; }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= size_ || out.empty()) return std::size_t{0};
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
        if (int e = read_all(file_->fd, out.data(), n, static_cast<off_t>(at_ + offset)))
            return fail("spool: cannot read message body: " + errno_text(e), e);
        return n;
    }

private:
    std::shared_ptr<File> file_;
    std::uint64_t at_ = 0, size_ = 0;
    std::uint32_t crc_ = 0;
};
}  // namespace

Result<base::ByteSourceRef> SpoolImpl::open_message(QueueId id) {
    std::shared_ptr<File> file;
    std::uint64_t at = 0, head = 0, size = 0;
    {
        std::lock_guard lock(mu_);
        auto it = index_.find(id);
        if (it == index_.end()) return fail("spool: no message " + std::to_string(id), ENOENT);
        file = segments_.at(it->second.seg).file;
        at = it->second.body_at;
        head = it->second.head;
        size = it->second.size;
    }
    std::uint32_t crc = 0;
    if (int e = verify_record(file->fd, at - head, head, size, &crc))
        return fail("spool: cannot read message " + std::to_string(id) + ": " + read_error_text(e), e);
    try {
        return base::ByteSourceRef(std::make_shared<SegmentSource>(std::move(file), at, size, crc));
    } catch (const std::bad_alloc&) {
        return fail("spool: out of memory opening message " + std::to_string(id), ENOMEM);
    }
}

void SpoolImpl::close() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        cv_.notify_one();
    }
    if (std::this_thread::get_id() == writer_.get_id()) return;  // from a callback: the writer stops itself
    if (writer_.joinable()) writer_.join();
    if (dir_fd_ >= 0) {  // releases the flock: the directory may be opened again
        ::close(dir_fd_);
        dir_fd_ = -1;
    }
}

// ---- writer thread ---------------------------------------------------------------------------

void SpoolImpl::run() {
    for (;;) {
        std::deque<Item> batch;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
            if (!urgent_ && !stopping_)  // only State records: give them a moment to ride along
                // (a second while writes fail: they are retried, not lost, and need not spin)
                cv_.wait_for(lock, failing_ ? kRetryDelay : kStateDelay, [&] { return urgent_ || stopping_; });
            if (queue_.empty() && stopping_) {
                // A clean stop leaves the active segment ending at its last record.
                if (active_) {
                    auto& seg = segments_.at(*active_);
                    if (seg.file && ::ftruncate(seg.file->fd, static_cast<off_t>(seg.size)) == 0)
                        seg.file->allocated = seg.size;
                }
                return;
            }
            batch.swap(queue_);
            urgent_ = false;
        }
        commit(batch);
    }
}

Result<std::shared_ptr<File>> SpoolImpl::create_segment(std::uint64_t seq) {
    fs::path path = opts_.dir / segment_name(seq);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return std::unexpected(io_error("spool: cannot create", path, errno));
    return std::make_shared<File>(fd);
}

void SpoolImpl::fsync_dir() {
    if (opts_.fsync && ::fsync(dir_fd_) != 0)
        log::warn("spool: fsync of ", opts_.dir.string(), " failed: ", errno_text(errno));
}

void SpoolImpl::release(Entry& e) {
    for (auto s : e.segs) {
        auto it = segments_.find(s);
        if (it != segments_.end() && it->second.refs > 0) it->second.refs--;
    }
    e.segs.clear();
}

// Segments are removed oldest first only. A State record that finished a message must outlive every
// segment holding that message's Message record, or replay would resurrect the message; removing
// strictly in order guarantees it, because State records always follow their Message record.
// A long-lived message in the oldest segment therefore holds back removal until compact() moves it.
std::vector<SpoolImpl::Dead> SpoolImpl::take_dead_segments() {
    std::vector<Dead> dead;
    for (auto it = segments_.begin(); it != segments_.end();) {
        if (it->second.refs != 0 || (active_ && it->first == *active_)) break;
        dead.push_back(Dead{it->second.path, it->second.corrupt});
        it = segments_.erase(it);
    }
    return dead;
}

void SpoolImpl::remove_segments(const std::vector<Dead>& dead) {
    if (dead.empty()) return;
    for (const auto& d : dead) {
        std::string s = d.path.string();
        if (d.corrupt) {
            // A segment with corrupt data is kept for inspection, out of replay's way.
            const std::string& from = s;
            if (::rename(from.c_str(), (from + ".corrupt").c_str()) != 0)
                log::warn("spool: cannot rename ", from, ": ", errno_text(errno));
            else
                log::warn("spool: kept corrupt segment as ", from, ".corrupt");
        } else if (::unlink(s.c_str()) != 0) {
            log::warn("spool: cannot remove ", s, ": ", errno_text(errno));
        } else {
            log::debug("spool: removed ", s);
        }
    }
    fsync_dir();
}

void SpoolImpl::commit(std::deque<Item>& batch) {
    std::vector<Result<QueueId>> results(batch.size(), QueueId{0});

    struct NewMessage {
        std::size_t item;
        record::MessageRecord rec;
        std::uint64_t rel = 0;   // body offset within this batch's bytes
        std::uint64_t head = 0;  // record bytes before the body
    };
    // A record whose body is copied from a file in bounded chunks, after this batch's other
    // records, never whole in memory: a live message that compaction moves forward from an old
    // segment, or a new message whose body was spilled to a file while it arrived (IncomingBody).
    struct Copy {
        QueueId id;
        std::string head;              // the new record's bytes before the body
        int src = -1;                  // the file holding the body (an old segment, or a spill file)
        std::uint64_t src_body = 0;    // the body's offset there
        std::uint64_t size = 0;        // body octets
        std::uint64_t rel = 0;         // new body offset within this batch's bytes (set after the loop)
        bool fresh = false;            // a new message: enters the index like those in `fresh`
        Envelope envelope;             // (fresh only)
        std::vector<RecipientState> states;
        std::uint64_t bytes() const { return head.size() + size + record::kFrameTrailer; }
    };
    std::shared_ptr<std::promise<Result<void>>> compact_waiter;  // a run that goes on in a later batch
    bool compact_more = false;
    std::deque<NewMessage> fresh;  // deques: encoded parts view into these records' bodies
    std::deque<Copy> copies;
    std::vector<record::EncodedParts> parts;
    std::uint64_t bytes = 0;
    std::vector<QueueId> touched;

    const Segment* current = active_ ? &segments_.at(*active_) : nullptr;
    const bool rotate = !current || current->size >= opts_.segment_bytes || current->sealed;
    const std::uint64_t target = rotate ? next_seq_ : *active_;
    std::unordered_set<QueueId> copied;

    try {
        for (std::size_t i = 0; i < batch.size(); ++i) {
            Item& item = batch[i];
            switch (item.kind) {
                case Item::Kind::Submit: {
                    record::MessageRecord rec;
                    rec.id = next_id_++;
                    rec.states.resize(item.envelope.recipients.size());
                    rec.envelope = std::move(item.envelope);
                    if (item.body && item.body->spilled()) {  // streamed from its spill file
                        if (auto r = item.body->finish(); !r) {
                            results[i] = std::unexpected(r.error());
                            break;
                        }
                        auto head = record::encode_message_head(rec, item.body->size());
                        if (!head) {
                            results[i] = std::unexpected(head.error());
                            break;
                        }
                        Copy c;
                        c.id = rec.id;
                        c.head = std::move(*head);
                        c.src = item.body->fd();
                        c.size = item.body->size();
                        c.fresh = true;
                        c.envelope = std::move(rec.envelope);
                        c.states = std::move(rec.states);
                        copies.push_back(std::move(c));
                        results[i] = rec.id;
                        break;
                    }
                    if (item.body) rec.body = std::move(item.body->memory());
                    auto& nm = fresh.emplace_back(NewMessage{i, std::move(rec)});
                    auto enc = record::encode_parts(nm.rec);
                    if (!enc) {
                        results[i] = std::unexpected(enc.error());
                        fresh.pop_back();
                        break;
                    }
                    nm.rel = bytes + enc->head.size();
                    nm.head = enc->head.size();
                    bytes += enc->size();
                    parts.push_back(std::move(*enc));
                    results[i] = nm.rec.id;
                    break;
                }
                case Item::Kind::Update: {
                    auto it = index_.find(item.id);
                    if (it == index_.end() || item.recipient >= it->second.states.size()) {
                        log::warn("spool: update for unknown message ", item.id, " recipient ", item.recipient,
                                  "; dropped");
                        break;
                    }
                    record::StateRecord rec{item.id, static_cast<std::uint32_t>(item.recipient), item.state};
                    if (rec.state.last_reply.size() > record::kMaxStringBytes)
                        rec.state.last_reply.resize(record::kMaxStringBytes);
                    auto enc = record::encode_parts(rec);
                    if (!enc) {
                        log::warn("spool: cannot encode state of ", item.id, ": ", enc.error().message);
                        break;
                    }
                    bytes += enc->size();
                    parts.push_back(std::move(*enc));
                    {
                        std::lock_guard lock(mu_);
                        it->second.states[item.recipient] = std::move(rec.state);
                    }
                    touched.push_back(item.id);
                    break;
                }
                case Item::Kind::Compact: {
                    if (!item.continuation) {
                        compact_below_ = target;  // everything older than the segment written now
                        compact_skip_.clear();
                    }
                    std::uint64_t budget = kCompactBatchBytes;
                    for (auto& [id, e] : index_) {
                        bool old = std::any_of(e.segs.begin(), e.segs.end(), [&](auto s) { return s < compact_below_; });
                        if (!old || copied.contains(id) || compact_skip_.contains(id)) continue;
                        if (!copies.empty() && e.size > budget) {
                            compact_more = true;  // the rest waits for the next batch
                            break;
                        }
                        const auto& file = segments_.at(e.seg).file;
                        if (int err = verify_record(file->fd, e.body_at - e.head, e.head, e.size)) {
                            // Left where it is: a damaged body must not be copied under a fresh checksum.
                            log::error("spool: compaction cannot read message ", id, ": ", read_error_text(err));
                            compact_skip_.insert(id);
                            continue;
                        }
                        record::MessageRecord rec{id, e.envelope, e.states, {}};
                        auto head = record::encode_message_head(rec, e.size);
                        if (!head) {
                            compact_skip_.insert(id);
                            continue;
                        }
                        Copy c;
                        c.id = id;
                        c.head = std::move(*head);
                        c.src = file->fd;  // segments_ keeps the file open until after this commit
                        c.src_body = e.body_at;
                        c.size = e.size;
                        copies.push_back(std::move(c));
                        copied.insert(id);
                        budget -= std::min(budget, e.size);
                    }
                    if (compact_more) {
                        compact_waiter = std::move(item.waiter);  // answered when the run ends
                    } else {
                        compact_skip_.clear();
                    }
                    break;
                }
                case Item::Kind::Barrier: break;
            }
        }
    } catch (const std::exception& e) {  // allocation failure: fail this batch, keep the spool up
        Error err{std::string("spool: commit failed: ") + e.what(), ENOMEM};
        log::error(err.message);
        if (compact_waiter) compact_waiter->set_value(std::unexpected(err));
        return finish(batch, results, err);
    }

    for (auto& c : copies) {
        c.rel = bytes + c.head.size();
        bytes += c.bytes();
    }
    std::optional<Error> err;
    std::uint64_t base = 0;          // file offset where this batch's first record lands
    std::uint64_t header_bytes = 0;  // segment header written in front of a new segment
    std::shared_ptr<File> file;
    bool sync_failed = false;
    if (!parts.empty() || !copies.empty()) {
        std::string header;
        if (rotate) {
            auto f = create_segment(target);
            if (!f) {
                err = f.error();
            } else {
                file = *f;
                header = *record::encode(record::SegmentHeader{record::kFormatVersion, target, now_us()});
                header_bytes = header.size();
            }
        } else {
            file = current->file;
            base = current->size;
        }
        if (!err) {
            std::vector<iovec> iov;
            auto add = [&](std::string_view s) {
                if (!s.empty()) iov.push_back(iovec{const_cast<char*>(s.data()), s.size()});
            };
            add(header);
            for (const auto& p : parts) {
                add(p.head);
                add(p.body);
                add(p.tail);
            }
            std::uint64_t end = base + header.size() + bytes;
            if (end > file->allocated) {
                // Zeros go only past the last valid record (`base`): never over records already
                // written, whatever an earlier, failed zero fill left behind.
                std::uint64_t from = std::max(file->allocated, base);
                std::uint64_t grow_to = (end / kPreallocate + 1) * kPreallocate;
                if (zero_fill(file->fd, from, grow_to, fault_) != 0) {
                    // Out of space, probably: the append below extends the file as far as it can,
                    // and fails cleanly if it cannot. What the fill did reach is zeros.
                    struct stat st{};
                    file->allocated = ::fstat(file->fd, &st) == 0 ? std::max<std::uint64_t>(from, static_cast<std::uint64_t>(st.st_size)) : from;
                } else {
                    file->allocated = grow_to;
                }
            }
            if (rotate && current) {
                // The segment left behind loses its zero tail: it ends at its last record.
                if (::ftruncate(current->file->fd, static_cast<off_t>(current->size)) == 0)
                    current->file->allocated = current->size;
            }
            int e = fault("write");
            if (e == 0) e = write_all(file->fd, std::move(iov), static_cast<off_t>(base));
            for (const auto& c : copies) {
                if (e != 0) break;
                std::uint64_t at = base + header.size() + c.rel - c.head.size();
                e = copy_record(c.src, c.src_body, c.size, c.head, file->fd, at);
            }
            if (e != 0) {
                err = io_error("spool: write failed on", opts_.dir / segment_name(target), e);
            } else if (opts_.fsync || fault_) {
                e = fault("fdatasync");
                if (e == 0 && opts_.fsync && ::fdatasync(file->fd) != 0) e = errno;
                if (e == 0 && rotate && opts_.fsync && ::fsync(dir_fd_) != 0) e = errno;
                if (e != 0) {
                    err = io_error("spool: fdatasync failed on", opts_.dir / segment_name(target), e);
                    sync_failed = true;
                }
            }
            if (!err) syncs_++;
        }
    }
    if (err && compact_waiter) {  // a compaction run cut short: its caller learns why
        compact_waiter->set_value(std::unexpected(*err));
        compact_skip_.clear();
    }
    if (err) {
        fail_batch(batch, results, *err, rotate ? nullptr : file, base, rotate && file ? std::optional(target) : std::nullopt,
                   sync_failed);
        return;
    }
    if (failing_) {
        failing_ = false;
        log::info("spool: writes succeed again");
    }

    std::vector<Dead> dead;
    {
        std::lock_guard lock(mu_);
        if (!parts.empty() || !copies.empty()) {
            if (rotate) {
                Segment seg;
                seg.seq = target;
                seg.path = opts_.dir / segment_name(target);
                seg.file = file;
                segments_.emplace(target, std::move(seg));
                active_ = target;
                next_seq_ = target + 1;
            }
            Segment& seg = segments_.at(target);
            seg.size = base + header_bytes + bytes;
            auto hold = [&](Entry& e) {
                if (std::find(e.segs.begin(), e.segs.end(), target) == e.segs.end()) {
                    e.segs.push_back(target);
                    seg.refs++;
                }
            };
            for (auto& nm : fresh) {
                Entry& e = index_[nm.rec.id];
                e.seg = target;
                e.body_at = base + header_bytes + nm.rel;
                e.head = nm.head;
                e.size = nm.rec.body.size();
                e.envelope = std::move(nm.rec.envelope);
                e.states = std::move(nm.rec.states);
                hold(e);
                touched.push_back(nm.rec.id);
            }
            for (auto& c : copies) {
                if (c.fresh) {
                    Entry& e = index_[c.id];
                    e.seg = target;
                    e.body_at = base + header_bytes + c.rel;
                    e.head = c.head.size();
                    e.size = c.size;
                    e.envelope = std::move(c.envelope);
                    e.states = std::move(c.states);
                    hold(e);
                    touched.push_back(c.id);
                    continue;
                }
                auto it = index_.find(c.id);
                if (it == index_.end()) continue;
                Entry& e = it->second;
                release(e);
                e.seg = target;
                e.body_at = base + header_bytes + c.rel;
                e.head = c.head.size();
                hold(e);
            }
            if (compact_more) {  // the run goes on behind whatever was queued meanwhile
                Item next;
                next.kind = Item::Kind::Compact;
                next.continuation = true;
                next.waiter = std::move(compact_waiter);
                queue_.push_back(std::move(next));
                urgent_ = true;
            }
            for (QueueId id : touched) {
                auto it = index_.find(id);
                if (it == index_.end()) continue;
                hold(it->second);  // its State record now lives in this segment too
                if (is_final(it->second.states)) {  // the State records making it final are durable now
                    release(it->second);
                    index_.erase(it);
                }
            }
        }
        dead = take_dead_segments();
    }
    remove_segments(dead);
    finish(batch, results, std::nullopt);
}

// A batch that did not reach the disk. Nothing in it was acknowledged, and every record before it
// was fdatasync'ed by an earlier commit, so the spool stays usable: the failed bytes are cut off (a
// later batch is written at the same offset), a new segment that holds nothing is removed, and
// after a failed fdatasync the segment takes no more appends (its pages may be marked clean without
// being on disk, so later writes and syncs there would prove nothing). Submissions get the error (a
// full disk is 452 4.3.1 to the client, RFC 3463 §3.4); state changes are queued again, to be written
// with the next commit that succeeds. A full disk thus refuses mail only while it is full.
void SpoolImpl::fail_batch(std::deque<Item>& batch, std::vector<Result<QueueId>>& results, Error err,
                           const std::shared_ptr<File>& appended_to, std::uint64_t base,
                           std::optional<std::uint64_t> created, bool sync_failed) {
    if (err.code == ENOSPC || err.code == EDQUOT) {
        err.code = ENOSPC;
        err.message = "spool: the disk is full (" + err.message + ")";
    }
    if (appended_to) {
        if (::ftruncate(appended_to->fd, static_cast<off_t>(base)) == 0) appended_to->allocated = base;
        if (sync_failed && active_) {
            std::lock_guard lock(mu_);
            segments_.at(*active_).sealed = true;
        }
    }
    if (created) {
        std::string path = (opts_.dir / segment_name(*created)).string();
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            log::warn("spool: cannot remove ", path, ": ", errno_text(errno));
        fsync_dir();
        next_seq_ = std::max(next_seq_, *created + 1);  // never reuse the name of a file that may linger
    }
    if (!failing_ || err.code != last_errno_) {
        log::error(err.message, "; refusing new mail until writes succeed again (retrying)");
        failing_ = true;
        last_errno_ = err.code;
    }
    std::deque<Item> retry;
    for (auto& item : batch)
        if (item.kind == Item::Kind::Update) retry.push_back(std::move(item));
    std::erase_if(batch, [](const Item& i) { return i.kind == Item::Kind::Update; });
    {
        std::lock_guard lock(mu_);
        if (!stopping_) {
            for (auto it = retry.rbegin(); it != retry.rend(); ++it) queue_.push_front(std::move(*it));
        } else if (!retry.empty()) {
            log::warn("spool: ", retry.size(), " state change(s) not written at shutdown; those recipients may be delivered again after the restart");
        }
        last_failure_ = err;
    }
    // `results` is indexed like the batch before the updates were taken out.
    std::vector<Result<QueueId>> none(batch.size(), QueueId{0});
    finish(batch, none, err);
    (void)results;
}

void SpoolImpl::finish(std::deque<Item>& batch, std::vector<Result<QueueId>>& results,
                       const std::optional<Error>& err) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
        Item& item = batch[i];
        try {
            if (item.kind == Item::Kind::Submit && item.done) {
                item.done(err ? Result<QueueId>(std::unexpected(*err)) : std::move(results[i]));
            } else if (item.waiter) {
                item.waiter->set_value(err ? Result<void>(std::unexpected(*err)) : Result<void>{});
            }
        } catch (const std::exception& e) {
            log::error("spool: commit callback threw: ", e.what());
        } catch (...) {
            log::error("spool: commit callback threw");
        }
    }
}

}  // namespace

Result<std::unique_ptr<Spool>> Spool::open(SpoolOptions options) {
    try {
        auto spool = std::make_unique<SpoolImpl>(std::move(options));
        if (auto r = spool->replay(); !r) return std::unexpected(r.error());
        if (auto r = spool->start(); !r) return std::unexpected(r.error());
        return std::unique_ptr<Spool>(std::move(spool));
    } catch (const std::exception& e) {
        return fail(std::string("spool: open failed: ") + e.what(), ENOMEM);
    }
}

}  // namespace tern::queue
