// The maildrop pickup thread (see pickup.hpp). Must never unlink a file before the spool commit
// of its message returned, and never open a maildrop entry in a way a local user could redirect.
#include "server/pickup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <vector>

#include "base/log.hpp"
#include "base/thread.hpp"
#include "queue/inspect.hpp"
#include "queue/maildrop.hpp"

namespace tern::server {

namespace fs = std::filesystem;
namespace md = queue::maildrop;

namespace {

constexpr std::size_t kChunk = 64u << 10;
constexpr std::size_t kInlineBody = 1u << 20;  // as net::Server: small messages reach the scheduler from memory

bool is_drop_name(std::string_view name) {
    if (name.size() != 36 || !name.ends_with(".msg")) return false;
    return std::all_of(name.begin(), name.begin() + 32, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string user_name(uid_t uid) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name) return found->pw_name;
    return "uid " + std::to_string(uid);
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// pread until `n` octets or the end of the file.
Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(std::string("read: ") + std::strerror(errno), errno);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

}  // namespace

// Why 1733 (Postfix's maildrop): local users (cron jobs, scripts) must be able to submit, and the
// server must know who did without a set-uid helper. The kernel gives both: a user creates a file
// in the world-writable directory and owns it, the pickup reads the owner with fstat. The sticky
// bit keeps users from removing or renaming each other's files; without read permission nobody
// can list the directory, so another user's file (0644, a 128-bit random name) cannot be found to
// be read. The data directory is 0711 for the same reason: passable, not listable; everything in
// it other than the maildrop keeps its owner-only mode. A user can still fill the disk through the
// maildrop (as with Postfix: disk quotas are the answer); the pickup bounds what it reads per file.
Result<void> prepare_maildrop(const fs::path& data) {
    auto dir = data / "maildrop";
    for (auto [path, mode] : {std::pair{dir, mode_t(01733)}, std::pair{dir / "bad", mode_t(0700)}}) {
        if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
            return fail("cannot create " + path.string() + ": " + std::strerror(errno), errno);
        struct stat st{};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return fail(path.string() + " is not a directory", ENOTDIR);
        if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0)
            return fail("cannot chmod " + path.string() + ": " + std::strerror(errno), errno);
    }
    return {};
}

Pickup::Pickup(PickupOptions options, queue::Spool& spool, Committed on_committed)
    : options_(std::move(options)), spool_(spool), on_committed_(std::move(on_committed)) {}

Pickup::~Pickup() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void Pickup::start() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    // A finished submission is a rename into the directory (tmp-X -> X.msg).
    if (inotify_fd_ >= 0 && ::inotify_add_watch(inotify_fd_, options_.maildrop.c_str(), IN_MOVED_TO) < 0) {
        ::close(inotify_fd_);
        inotify_fd_ = -1;
    }
    thread_ = std::thread([this] {
        base::name_this_thread("tern-pickup");
        run();
    });
}

void Pickup::stop() {
    stopping_ = true;
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
}

void Pickup::run() {
    while (!stopping_) {
        scan();
        pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
        int n = ::poll(fds, inotify_fd_ >= 0 ? 2 : 1, static_cast<int>(options_.interval.count()));
        if (n > 0 && (fds[1].revents & POLLIN)) {
            char events[4096];
            while (::read(inotify_fd_, events, sizeof events) > 0) {
            }
        }
    }
}

std::size_t Pickup::scan() {
    std::vector<std::string> names;
    std::vector<std::string> others;
    if (DIR* d = ::opendir(options_.maildrop.c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name == "." || name == ".." || name == "bad" || ignored_.contains(name)) continue;
            if (is_drop_name(name)) names.push_back(name);
            else others.push_back(name);
        }
        ::closedir(d);
    } else {
        static std::atomic<bool> said{false};
        if (!said.exchange(true)) log::warn("maildrop: cannot read ", options_.maildrop.string(), ": ", std::strerror(errno));
        return 0;
    }
    const std::int64_t now = unix_now();
    for (const auto& name : others) {
        struct stat st{};
        if (::lstat((options_.maildrop / name).c_str(), &st) != 0) continue;
        if (name.starts_with("tmp-")) {
            // A submission still being written, or abandoned by a command that died.
            if (now - st.st_mtime > options_.stale_temporary.count()) {
                log::warn("maildrop: removing ", name, ", an unfinished submission of uid ", st.st_uid, " from ",
                          (now - st.st_mtime) / 3600, " hours ago");
                ::unlink((options_.maildrop / name).c_str());
            }
            continue;
        }
        set_aside(name, "not a maildrop file name");
    }
    // Oldest first, roughly: names are random, so order by modification time.
    std::vector<std::pair<std::int64_t, std::string>> ordered;
    for (auto& n : names) {
        struct stat st{};
        if (::lstat((options_.maildrop / n).c_str(), &st) == 0) ordered.emplace_back(st.st_mtime, std::move(n));
    }
    std::sort(ordered.begin(), ordered.end());
    std::size_t queued = 0;
    for (const auto& [mtime, name] : ordered) {
        if (stopping_) break;
        if (pick(name) == Outcome::Queued) ++queued;
    }
    return queued;
}

void Pickup::set_aside(const std::string& name, const std::string& why) {
    auto from = options_.maildrop / name;
    auto to = options_.maildrop / "bad" / name;
    if (::rename(from.c_str(), to.c_str()) == 0) {
        log::error("maildrop: ", name, " moved to ", to.string(), ": ", why);
        return;
    }
    // Not even movable (a user's directory): remove it if we can, so it is not retried forever.
    int err = errno;
    if (::unlink(from.c_str()) == 0 || ::rmdir(from.c_str()) == 0) {
        log::error("maildrop: ", name, " removed (", why, "; it could not be moved: ", std::strerror(err), ")");
        return;
    }
    log::error("maildrop: ", name, ": ", why, "; cannot move or remove it: ", std::strerror(err), " (ignored until restart)");
    ignored_.insert(name);
}

Pickup::Outcome Pickup::pick(const std::string& name) {
    const auto path = options_.maildrop / name;
    // O_NOFOLLOW: a user's symbolic link is not followed; O_NONBLOCK: a FIFO does not block us.
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return Outcome::Later;
        if (errno == ELOOP) {
            set_aside(name, "a symbolic link");
            return Outcome::Bad;
        }
        log::warn("maildrop: cannot open ", name, ": ", std::strerror(errno));
        return Outcome::Later;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0) return Outcome::Later;
    if (!S_ISREG(st.st_mode)) {
        set_aside(name, "not a regular file");
        return Outcome::Bad;
    }
    // A hard link to a file the user could not otherwise have us read.
    if (st.st_nlink != 1) {
        set_aside(name, "a file with " + std::to_string(st.st_nlink) + " links");
        return Outcome::Bad;
    }
    const std::uint64_t file_size = static_cast<std::uint64_t>(st.st_size);
    auto start = read_at(fd, 0, md::kMaxEnvelope + md::kMaxHeader);
    if (!start) {
        log::warn("maildrop: ", name, ": ", start.error().message);
        return Outcome::Later;
    }
    auto parsed = md::parse(*start);
    if (!parsed) {
        set_aside(name, parsed.error().message);
        return Outcome::Bad;
    }
    const std::uint64_t message_size = file_size - parsed->message_offset;
    if (message_size > options_.message_size) {
        set_aside(name, "message of " + std::to_string(message_size) + " octets, over limits.message_size (" +
                            std::to_string(options_.message_size) + ")");
        return Outcome::Bad;
    }
    md::Origin origin;
    origin.uid = st.st_uid;  // the kernel's word, not the file's
    origin.user = user_name(st.st_uid);
    origin.hostname = options_.hostname;
    origin.drop_id = name.substr(0, 32);
    origin.now = unix_now();
    std::string_view head = std::string_view(*start).substr(parsed->message_offset);
    head = head.substr(0, md::kMaxHeader);
    const bool whole = message_size <= head.size();
    auto prepared = md::prepare(parsed->envelope, head, origin, whole);
    if (!prepared) {
        set_aside(name, "uid " + std::to_string(st.st_uid) + ": " + prepared.error().message);
        return Outcome::Bad;
    }
    for (const auto& note : prepared->notes) log::warn("maildrop: ", name, ": ", note);

    // The message: our head, then the body with CRLF line ends, streamed from the file.
    queue::IncomingBody body(options_.spill_dir);
    md::CrlfWriter crlf;
    bool eight_bit = false;
    for (char c : prepared->head)
        if (static_cast<unsigned char>(c) >= 0x80) eight_bit = true;
    auto put = [&](std::string_view s) -> bool {
        auto r = body.append(s);
        if (!r) log::warn("maildrop: ", name, ": cannot take the message now: ", r.error().message);
        return r.has_value();
    };
    if (!put(prepared->head)) return Outcome::Later;
    std::uint64_t offset = parsed->message_offset + prepared->body_offset;
    std::string out;
    while (offset < file_size) {
        auto chunk = read_at(fd, offset, static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, file_size - offset)));
        if (!chunk) {
            log::warn("maildrop: ", name, ": ", chunk.error().message);
            return Outcome::Later;
        }
        if (chunk->empty()) break;  // the file shrank: take what there is
        offset += chunk->size();
        out.clear();
        crlf.feed(*chunk, out);
        if (!put(out)) return Outcome::Later;
    }
    out.clear();
    crlf.finish(out);
    if (!out.empty() && !put(out)) return Outcome::Later;
    if (auto r = body.finish(); !r) {
        log::warn("maildrop: ", name, ": cannot take the message now: ", r.error().message);
        return Outcome::Later;
    }
    auto envelope = std::move(prepared->envelope);
    // RFC 6152: a body with 8-bit octets is 8BITMIME, whatever -B said (or did not).
    if ((eight_bit || crlf.eight_bit()) && envelope.body == smtp::BodyType::Unspecified)
        envelope.body = smtp::BodyType::EightBitMime;
    const std::uint64_t size = body.size();
    base::ByteSourceRef inline_body;
    if (!body.spilled() && size <= kInlineBody) inline_body = base::bytes_from_string(body.memory());
    std::promise<Result<queue::QueueId>> done;
    auto committed = done.get_future();
    spool_.submit(envelope, std::move(body), [&done](Result<queue::QueueId> r) { done.set_value(std::move(r)); });
    auto id = committed.get();
    if (!id) {
        log::warn("maildrop: ", name, ": the spool refused the message for now (", id.error().message, "); will retry");
        return Outcome::Later;
    }
    log::info("maildrop: ", name, " from local user ", origin.user, " (uid ", origin.uid, ") queued as ",
              queue::format_queue_id(*id), " <", envelope.mail_from, "> ", envelope.recipients.size(),
              envelope.recipients.size() == 1 ? " recipient" : " recipients");
    // Durable in the spool: the file may go. (A crash before this unlink submits it again at the
    // next start: a duplicate, which RFC 5321 §6.1 tolerates, never a loss.)
    if (::unlink(path.c_str()) != 0) {
        log::error("maildrop: ", name, " was queued as ", queue::format_queue_id(*id), " but cannot be removed: ",
                   std::strerror(errno), " (ignored until restart; remove it, or it is queued again then)");
        ignored_.insert(name);
    }
    if (on_committed_) {
        queue::QueuedMessage m;
        m.id = *id;
        m.envelope = std::move(envelope);
        m.states.resize(m.envelope.recipients.size());
        m.size = size;
        on_committed_(std::move(m), std::move(inline_body));
    }
    return Outcome::Queued;
}

}  // namespace tern::server
