// The control channel of a running server: a Unix stream socket (<data>/control.sock, mode 0600,
// so only the server's user and root can speak to it) answering one line per request line, for
// `ternd queue hold|release|retry|delete` while the server runs; and the blocking client the CLI
// uses. Must never run the handler on an I/O thread (it may wait for a spool flush), never read an
// unbounded request, and never let one silent client keep the channel for more than a few seconds.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace boost::asio {
class io_context;
}

namespace tern::net {

// Answers one request line (without its line end) with one reply line (without its line end).
// Runs on the control channel's own worker thread, one request at a time.
using ControlHandler = std::function<std::string(std::string_view request)>;

inline constexpr std::size_t kMaxControlLine = 4096;  // a longer request is refused, then closed

class ControlServer {
public:
    ControlServer(boost::asio::io_context& io, ControlHandler handler,
                  std::chrono::seconds client_timeout = std::chrono::seconds(10));
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds `path` (a leftover socket file of an earlier run is removed first: the caller holds
    // the data directory's lock, so nobody else serves it) with mode 0600.
    Result<void> listen(const std::filesystem::path& path);
    // Starts accepting on the io_context (one client at a time).
    void start();
    // Thread-safe: stops accepting, drops the client being served, removes the socket file.
    void close();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// The client: connects to `path`, sends `request` + "\n", returns the reply line. ENOENT or
// ECONNREFUSED: nobody serves the socket; ETIMEDOUT: no answer within `timeout`.
Result<std::string> control_request(const std::filesystem::path& path, std::string_view request,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace tern::net
