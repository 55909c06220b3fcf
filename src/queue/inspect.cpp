// Read-only spool scan for `ternd queue` (see inspect.hpp). Uses the same SegmentScanner as
// replay; opens segments O_RDONLY and maps them privately; a segment removed meanwhile is skipped.
#include "queue/inspect.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "queue/record.hpp"

namespace tern::queue {

namespace fs = std::filesystem;

namespace {

// A segment file mapped read-only for the scan's lifetime.
struct Mapped {
    int fd = -1;
    const char* data = nullptr;
    std::size_t size = 0;
    ~Mapped() {
        if (data) ::munmap(const_cast<char*>(data), size);
        if (fd >= 0) ::close(fd);
    }
};

std::vector<fs::path> segment_files(const fs::path& dir, std::error_code& ec) {
    std::vector<fs::path> out;
    for (const auto& de : fs::directory_iterator(dir, ec)) {
        auto name = de.path().filename().string();
        if (name.size() == 24 && name.starts_with("seg-") && name.ends_with(".log")) out.push_back(de.path());
    }
    std::sort(out.begin(), out.end());  // fixed-width hex sequence numbers sort in order
    return out;
}

struct Where {
    fs::path segment;
    std::uint64_t body_at = 0;
    std::uint64_t size = 0;
};

// Walks every segment; calls on_message(id, MessageRecord, where) and on_state(StateRecord).
template <class OnMessage, class OnState>
Result<std::vector<std::string>> walk(const fs::path& dir, OnMessage on_message, OnState on_state) {
    std::error_code ec;
    auto files = segment_files(dir, ec);
    if (ec) return fail("cannot list " + dir.string() + ": " + ec.message(), ec.value());
    std::vector<std::string> problems;
    for (const auto& path : files) {
        Mapped m;
        m.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (m.fd < 0) {
            if (errno == ENOENT) continue;  // removed by the server since the listing
            return fail("cannot open " + path.string() + ": " + std::error_code(errno, std::generic_category()).message(), errno);
        }
        struct stat st{};
        if (::fstat(m.fd, &st) != 0) return fail("cannot stat " + path.string(), errno);
        m.size = static_cast<std::size_t>(st.st_size);
        if (m.size == 0) continue;
        void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, m.fd, 0);
        if (p == MAP_FAILED) return fail("cannot map " + path.string(), errno);
        m.data = static_cast<const char*>(p);
        record::SegmentScanner scanner(std::string_view(m.data, m.size));
        for (;;) {
            auto ev = scanner.next();
            if (auto* t = std::get_if<record::Tail>(&ev)) {
                if (t->kind == record::Tail::Kind::Damaged)
                    problems.push_back(path.filename().string() + ": " + t->bad.reason + " at offset " + std::to_string(t->at));
                break;
            }
            if (auto* b = std::get_if<record::Bad>(&ev)) {
                problems.push_back(path.filename().string() + ": " + b->reason + " at offset " + std::to_string(b->from) +
                                   (b->id ? " (queue id " + format_queue_id(*b->id) + ")" : ""));
                continue;
            }
            auto& f = std::get<record::Found>(ev);
            if (auto* msg = std::get_if<record::MessageRecord>(&f.record.record))
                on_message(*msg, Where{path, f.at + msg->body_offset, msg->body_size});
            else if (auto* s = std::get_if<record::StateRecord>(&f.record.record))
                on_state(*s);
        }
    }
    return problems;
}

}  // namespace

std::string format_queue_id(QueueId id) {
    static const char* hex = "0123456789ABCDEF";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, id >>= 4) s[static_cast<std::size_t>(i)] = hex[id & 0xF];
    return s;
}

std::optional<QueueId> parse_queue_id(std::string_view text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    QueueId id = 0;
    for (char c : text) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return std::nullopt;
        id = (id << 4) | static_cast<QueueId>(d);
    }
    return id;
}

Result<QueueSnapshot> inspect_queue(const fs::path& dir) {
    std::map<QueueId, QueuedMessage> index;
    auto problems = walk(
        dir,
        [&](record::MessageRecord& m, const Where& w) {
            QueuedMessage& q = index[m.id];  // a compaction copy replaces the earlier record
            q.id = m.id;
            q.envelope = std::move(m.envelope);
            q.states = std::move(m.states);
            q.size = w.size;
        },
        [&](record::StateRecord& s) {
            auto it = index.find(s.id);
            if (it != index.end() && s.recipient < it->second.states.size())
                it->second.states[s.recipient] = std::move(s.state);
        });
    if (!problems) return std::unexpected(problems.error());
    QueueSnapshot snap;
    snap.problems = std::move(*problems);
    for (auto& [id, q] : index)
        if (!q.final()) snap.waiting.push_back(std::move(q));
    return snap;
}

Result<std::string> inspect_headers(const fs::path& dir, QueueId id, std::size_t limit) {
    std::optional<Where> where;
    auto problems = walk(
        dir, [&](record::MessageRecord& m, const Where& w) { if (m.id == id) where = w; }, [](record::StateRecord&) {});
    if (!problems) return std::unexpected(problems.error());
    if (!where) return fail("no message " + format_queue_id(id) + " in the queue", ENOENT);
    int fd = ::open(where->segment.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + where->segment.string(), errno);
    std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(where->size, limit)), '\0');
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(where->body_at));
    int e = errno;
    ::close(fd);
    if (n < 0) return fail("cannot read " + where->segment.string(), e);
    out.resize(static_cast<std::size_t>(n));
    if (auto end = out.find("\r\n\r\n"); end != std::string::npos) out.resize(end + 2);
    return out;
}

}  // namespace tern::queue
