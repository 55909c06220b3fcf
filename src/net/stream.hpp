// A connection's byte stream: plain TCP that can become TLS (STARTTLS / STLS) or start as TLS
// (implicit TLS ports). The TLS state is only allocated once TLS starts, so an idle plaintext
// connection stays small. Must never read or write plaintext once TLS is active.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>

namespace tern::net {

class Stream {
public:
    using tcp = boost::asio::ip::tcp;
    explicit Stream(tcp::socket socket) : plain_(std::move(socket)) {}

    bool tls() const { return tls_ != nullptr; }
    tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(boost::asio::mutable_buffer b) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        if (tls_) co_return co_await tls_->async_read_some(b, as_tuple(use_awaitable));
        co_return co_await plain_->async_read_some(b, as_tuple(use_awaitable));
    }

    // Writes everything; false if the peer is gone. `on_progress()` runs after every partial
    // write that moved bytes, so a caller's idle deadline follows a slow but progressing reader
    // (one deadline for a whole 50 MB RETR would cut off any client slower than size/timeout).
    // The TLS stream writes a record or so per call, which counts as progress the same way.
    template <class OnProgress>
    boost::asio::awaitable<bool> write(std::string_view data, OnProgress on_progress) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        while (!data.empty()) {
            auto buf = boost::asio::buffer(data.data(), data.size());
            boost::system::error_code ec;
            std::size_t n = 0;
            if (tls_) std::tie(ec, n) = co_await tls_->async_write_some(buf, as_tuple(use_awaitable));
            else std::tie(ec, n) = co_await plain_->async_write_some(buf, as_tuple(use_awaitable));
            if (ec) co_return false;
            data.remove_prefix(n);
            if (n > 0) on_progress();
        }
        co_return true;
    }

    // Server-side handshake over the current socket; the context is kept alive by the stream.
    boost::asio::awaitable<boost::system::error_code> handshake(std::shared_ptr<boost::asio::ssl::context> ctx) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        ctx_ = std::move(ctx);
        tls_ = std::make_unique<boost::asio::ssl::stream<tcp::socket>>(std::move(*plain_), *ctx_);
        plain_.reset();
        auto [ec] = co_await tls_->async_handshake(boost::asio::ssl::stream_base::server, as_tuple(use_awaitable));
        co_return ec;
    }

    void close() {
        boost::system::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

private:
    std::optional<tcp::socket> plain_;
    std::shared_ptr<boost::asio::ssl::context> ctx_;
    std::unique_ptr<boost::asio::ssl::stream<tcp::socket>> tls_;
};

}  // namespace tern::net
