// The control socket (see control.hpp): an Asio coroutine on the server's first io_context accepts
// one client at a time, reads bounded lines and runs the handler on a worker thread. Must never
// block the I/O thread on the handler, nor keep a client that sends nothing past its deadline.
#include "net/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace tern::net {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

struct ControlServer::Impl {
    Impl(asio::io_context& i, ControlHandler h, std::chrono::seconds t)
        : io(i), handler(std::move(h)), timeout(t), acceptor(i) {}
    asio::io_context& io;
    ControlHandler handler;
    std::chrono::seconds timeout;
    local::acceptor acceptor;
    local::socket* current = nullptr;  // the client being served (only touched on io's thread)
    std::filesystem::path path;
    bool closed = false;
    // The handler may wait for the spool (a flush behind a group commit): never on an I/O thread.
    asio::thread_pool worker{1};

    void do_close() {
        if (closed) return;
        closed = true;
        boost::system::error_code ec;
        acceptor.close(ec);
        if (current) current->close(ec);
        if (!path.empty()) ::unlink(path.c_str());
    }

    asio::awaitable<void> serve(local::socket& socket);
    asio::awaitable<void> accept_loop();
};

ControlServer::ControlServer(asio::io_context& io, ControlHandler handler, std::chrono::seconds client_timeout)
    : impl_(std::make_shared<Impl>(io, std::move(handler), client_timeout)) {}

ControlServer::~ControlServer() {
    impl_->do_close();  // the io_context has stopped running by now (or never ran)
    impl_->worker.join();
}

Result<void> ControlServer::listen(const std::filesystem::path& path) {
    if (path.native().size() >= sizeof(sockaddr_un{}.sun_path))
        return fail("control socket path too long for a Unix socket: " + path.string());
    // A socket file left by a server that was killed: we hold ternd.lock, so it is nobody's.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return fail("cannot remove the old control socket " + path.string() + ": " + std::strerror(errno), errno);
    boost::system::error_code ec;
    local::endpoint endpoint(path.string());
    impl_->acceptor.open(endpoint.protocol(), ec);
    // Created 0600 whatever the umask: bind() takes the mode from it, and a chmod after bind
    // would leave a moment with a wider mode.
    mode_t old = ::umask(0177);
    if (!ec) impl_->acceptor.bind(endpoint, ec);
    ::umask(old);
    if (!ec) impl_->acceptor.listen(4, ec);
    if (ec) return fail("cannot listen on the control socket " + path.string() + ": " + ec.message());
    ::chmod(path.c_str(), 0600);
    impl_->path = path;
    return {};
}

void ControlServer::start() {
    asio::co_spawn(impl_->io, [impl = impl_]() { return impl->accept_loop(); }, asio::detached);
}

void ControlServer::close() {
    asio::post(impl_->io, [impl = impl_] { impl->do_close(); });
}

asio::awaitable<void> ControlServer::Impl::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (closed || !acceptor.is_open()) co_return;
        if (ec) {
            // EMFILE and the like: try again a little later instead of spinning.
            log::warn("control socket: accept failed: ", ec.message());
            asio::steady_timer pause(io, std::chrono::milliseconds(200));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        current = &socket;
        co_await serve(socket);
        current = nullptr;
    }
}

asio::awaitable<void> ControlServer::Impl::serve(local::socket& socket) {
    std::string buffer;
    asio::steady_timer deadline(io);
    for (;;) {
        // Each request must arrive within the timeout: one silent client cannot keep the channel.
        deadline.expires_after(timeout);
        deadline.async_wait([&socket](const boost::system::error_code& ec) {
            if (ec) return;  // cancelled: the line arrived in time (the socket may be gone then)
            boost::system::error_code ignored;
            socket.close(ignored);
        });
        auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, kMaxControlLine), '\n',
                                                        asio::as_tuple(asio::use_awaitable));
        deadline.cancel();
        if (ec == asio::error::not_found) {
            std::string refusal = "ERR request longer than " + std::to_string(kMaxControlLine) + " octets\n";
            co_await asio::async_write(socket, asio::buffer(refusal), asio::as_tuple(asio::use_awaitable));
            co_return;
        }
        if (ec || closed) co_return;
        std::string line = buffer.substr(0, n - 1);
        buffer.erase(0, n);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string reply = co_await asio::co_spawn(
            worker,
            [&]() -> asio::awaitable<std::string> {
                try {
                    co_return handler(line);
                } catch (const std::exception& e) {
                    co_return std::string("ERR internal error: ") + e.what();
                }
            },
            asio::use_awaitable);
        // One reply line: a line end inside the handler's text would split it.
        for (char& c : reply)
            if (c == '\r' || c == '\n') c = ' ';
        reply += '\n';
        if (closed) co_return;
        auto [wec, written] = co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
        (void)written;
        if (wec) co_return;
    }
}

namespace {

// Waits for `events` on `fd` until `until`; false on timeout (errno ETIMEDOUT) or error.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point until) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

}  // namespace

Result<std::string> control_request(const std::filesystem::path& path, std::string_view request,
                                    std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof addr.sun_path)
        return fail("control socket path too long for a Unix socket: " + path.string(), ENAMETOOLONG);
    std::memcpy(addr.sun_path, path.c_str(), path.native().size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno), errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    const auto until = std::chrono::steady_clock::now() + timeout;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        // A Unix socket connects at once or fails (EAGAIN: the backlog is full: wait, then retry).
        int err = errno;
        while (err == EAGAIN && std::chrono::steady_clock::now() < until) {
            ::usleep(20000);
            err = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
        }
        if (err != 0) return fail(std::string(std::strerror(err)), err == EAGAIN ? ETIMEDOUT : err);
    }
    std::string out(request);
    out += '\n';
    std::size_t sent = 0;
    while (sent < out.size()) {
        ssize_t w = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (w > 0) sent += static_cast<std::size_t>(w);
        else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, until)) return fail("no answer: " + std::string(std::strerror(errno)), errno);
        } else {
            return fail(std::string("send: ") + std::strerror(errno), errno);
        }
    }
    std::string reply;
    char buf[512];
    for (;;) {
        if (auto nl = reply.find('\n'); nl != std::string::npos) return reply.substr(0, nl);
        if (reply.size() > kMaxControlLine) return fail("reply too long", EPROTO);
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r > 0) reply.append(buf, static_cast<std::size_t>(r));
        else if (r == 0) return fail("the server closed the control connection without an answer", EPIPE);
        else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_fd(fd, POLLIN, until)) return fail("no answer within " + std::to_string(timeout.count()) + " ms", ETIMEDOUT);
        } else {
            return fail(std::string("recv: ") + std::strerror(errno), errno);
        }
    }
}

}  // namespace tern::net
