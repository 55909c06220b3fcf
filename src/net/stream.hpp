// A connection's byte stream: plain TCP that can become TLS (STARTTLS / STLS) or start as TLS
// (implicit TLS ports), and may then be compressed (IMAP COMPRESS=DEFLATE, RFC 4978). The TLS and
// zlib states are only allocated once they start, so an idle plaintext connection stays small.
// Must never read or write plaintext once TLS is active, nor uncompressed data once compressing.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <array>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>

#include "net/deflate.hpp"

namespace tern::net {

class Stream {
public:
    using tcp = boost::asio::ip::tcp;
    explicit Stream(tcp::socket socket) : plain_(std::move(socket)) {}

    bool tls() const { return tls_ != nullptr; }
    tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(boost::asio::mutable_buffer b) {
        if (!z_) co_return co_await raw_read_some(b);
        // Compressed: inflate what is buffered into b; read more only when it yields nothing.
        // At most one read's worth of compressed input is held (z_->in), whatever it inflates to.
        std::span<char> out(static_cast<char*>(b.data()), b.size());
        for (;;) {
            if (z_->in_pos < z_->in_len) {
                auto r = z_->inflater.inflate(
                    std::string_view(z_->in.data() + z_->in_pos, z_->in_len - z_->in_pos), out);
                z_->in_pos += r.consumed;
                if (r.status != Inflater::Status::Ok || (r.produced == 0 && r.consumed == 0 && !out.empty()))
                    co_return std::tuple{make_error_code(boost::asio::error::invalid_argument), std::size_t{0}};
                if (r.produced > 0 || out.empty()) co_return std::tuple{boost::system::error_code{}, r.produced};
            }
            auto [ec, n] = co_await raw_read_some(boost::asio::buffer(z_->in));
            if (ec) co_return std::tuple{ec, std::size_t{0}};
            z_->in_pos = 0;
            z_->in_len = n;
        }
    }

    // RFC 4978 §3: from now on both directions are raw deflate. `already_read` is input received
    // before the switch but not consumed (it follows the COMPRESS command, so it is compressed).
    // False when it does not fit the input buffer (a client may not pipeline behind COMPRESS).
    bool start_compress(std::string_view already_read) {
        auto z = std::make_unique<Compression>();
        if (already_read.size() > z->in.size()) return false;
        std::copy(already_read.begin(), already_read.end(), z->in.begin());
        z->in_len = already_read.size();
        z_ = std::move(z);
        return true;
    }
    bool compressed() const { return z_ != nullptr; }

    // Writes everything; false if the peer is gone. `on_progress()` runs after every partial
    // write that moved bytes, so a caller's idle deadline follows a slow but progressing reader
    // (one deadline for a whole 50 MB RETR would cut off any client slower than size/timeout).
    // The TLS stream writes a record or so per call, which counts as progress the same way.
    template <class OnProgress>
    boost::asio::awaitable<bool> write(std::string_view data, OnProgress on_progress) {
        if (!z_) co_return co_await raw_write(data, on_progress);
        // Compressed in slices so the output buffer stays small; the last one ends with a sync
        // flush, so a response is never held back in zlib (RFC 4978 §4).
        constexpr std::size_t kSlice = 32u << 10;
        do {
            std::size_t n = std::min(data.size(), kSlice);
            z_->out.clear();
            if (!z_->deflater.compress(data.substr(0, n), n == data.size(), z_->out)) co_return false;
            data.remove_prefix(n);
            if (!co_await raw_write(z_->out, on_progress)) co_return false;
        } while (!data.empty());
        if (z_->out.capacity() > 2 * kSlice) z_->out = std::string();  // after an unusual expansion
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
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> raw_read_some(boost::asio::mutable_buffer b) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        if (tls_) co_return co_await tls_->async_read_some(b, as_tuple(use_awaitable));
        co_return co_await plain_->async_read_some(b, as_tuple(use_awaitable));
    }

    template <class OnProgress>
    boost::asio::awaitable<bool> raw_write(std::string_view data, OnProgress on_progress) {
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

    struct Compression {
        Deflater deflater;
        Inflater inflater;
        std::array<char, 4096> in;  // compressed input not yet inflated: [in_pos, in_len)
        std::size_t in_pos = 0, in_len = 0;
        std::string out;            // one slice's compressed output
    };
    std::optional<tcp::socket> plain_;
    std::shared_ptr<boost::asio::ssl::context> ctx_;
    std::unique_ptr<boost::asio::ssl::stream<tcp::socket>> tls_;
    std::unique_ptr<Compression> z_;
};

}  // namespace tern::net
