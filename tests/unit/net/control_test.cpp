// The control socket: one reply line per request line, the handler off the I/O thread, a bounded
// request, a silent client dropped at its deadline so the next one is served, a stale socket file
// replaced, the file removed at close, and the client's errors when nobody serves the socket.
#include "net/control.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "../common/temp_dir.hpp"

namespace tern::net {
namespace {

struct Running {
    boost::asio::io_context io;
    std::unique_ptr<ControlServer> server;
    std::thread thread;
    std::thread::id io_thread;
    std::thread::id handler_thread;

    Running(const std::filesystem::path& path, std::chrono::seconds timeout) {
        server = std::make_unique<ControlServer>(io, [this](std::string_view line) {
            handler_thread = std::this_thread::get_id();
            return "got:" + std::string(line);
        }, timeout);
        auto r = server->listen(path);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        server->start();
        thread = std::thread([this] {
            io_thread = std::this_thread::get_id();
            io.run();
        });
    }
    ~Running() {
        server->close();
        thread.join();
        server.reset();
    }
};

int raw_connect(const std::filesystem::path& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

TEST(ControlSocket, AnswersEachLineOnAWorkerThread) {
    testing::TempDir dir;
    auto path = dir.path() / "control.sock";
    std::ofstream(path) << "stale";  // left by a killed server: replaced
    {
        Running r(path, std::chrono::seconds(5));
        struct stat st{};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        auto reply = control_request(path, "HOLD 0123456789ABCDEF");
        ASSERT_TRUE(reply) << reply.error().message;
        EXPECT_EQ(*reply, "got:HOLD 0123456789ABCDEF");
        EXPECT_NE(r.handler_thread, r.io_thread);
        // Two lines on one connection, CRLF tolerated.
        int fd = raw_connect(path);
        std::string both = "A\r\nB\n";
        ASSERT_EQ(::write(fd, both.data(), both.size()), static_cast<ssize_t>(both.size()));
        std::string got;
        char buf[256];
        while (got.size() < 12) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        EXPECT_EQ(got, "got:A\ngot:B\n");
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << "removed at close";
    auto none = control_request(path, "PING", std::chrono::milliseconds(500));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ENOENT);
}

TEST(ControlSocket, BoundsTheRequest) {
    testing::TempDir dir;
    auto path = dir.path() / "control.sock";
    Running r(path, std::chrono::seconds(5));
    auto reply = control_request(path, std::string(kMaxControlLine + 100, 'x'));
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_TRUE(reply->starts_with("ERR request longer than")) << *reply;
}

TEST(ControlSocket, SilentClientDoesNotKeepTheChannel) {
    testing::TempDir dir;
    auto path = dir.path() / "control.sock";
    Running r(path, std::chrono::seconds(1));
    int silent = raw_connect(path);
    // Served one at a time: this request waits for the silent client's deadline, then is answered.
    auto reply = control_request(path, "RETRY ALL", std::chrono::seconds(10));
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(*reply, "got:RETRY ALL");
    char c;
    EXPECT_EQ(::read(silent, &c, 1), 0) << "the silent client was disconnected";
    ::close(silent);
}

}  // namespace
}  // namespace tern::net
