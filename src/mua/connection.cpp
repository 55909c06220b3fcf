// Blocking connection with timeouts for the mail client (see connection.hpp). Every wait runs the
// io_context for at most the timeout; a wait that runs out closes the socket. Must never skip
// certificate checks silently: a failure says why and what the server's fingerprint is, so the
// user can decide to pin it.
#include "mua/connection.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <optional>

namespace tern::mua {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string cert_fingerprint(X509* cert) {
    if (cert == nullptr) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
    std::string out;
    char hex[4];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
        out += hex;
    }
    return out;
}

}  // namespace

std::string normalize_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':' || c == ' ') continue;
        hex += static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
    }
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i) out += ':';
        out += hex.substr(i, 2);
    }
    return out;
}

void trace_lines(const TraceSink& sink, std::string_view prefix, std::string_view bytes) {
    if (!sink) return;
    std::size_t shown = 0;
    while (!bytes.empty()) {
        auto nl = bytes.find('\n');
        std::string_view line = bytes.substr(0, nl);
        bytes = nl == std::string_view::npos ? std::string_view{} : bytes.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (++shown > 40) {  // a message body: say how much, not all of it
            std::size_t rest = 1;
            for (char c : bytes) rest += c == '\n';
            sink(std::string(prefix) + "... (" + std::to_string(rest) + " more lines)");
            return;
        }
        sink(std::string(prefix) + std::string(line.substr(0, 400)));
    }
}

struct Connection::Impl {
    asio::io_context io;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<tcp::socket>> stream;
    std::chrono::seconds timeout{60};
    std::string host;
    TlsTrust trust;
    bool tls = false;
    std::string verify_error;   // what the verify callback rejected
    std::string seen_fingerprint;

    tcp::socket& socket() { return stream->next_layer(); }

    // Runs the io_context until `done` or the timeout; on timeout closes the socket and fails.
    Result<void> wait(bool& done, boost::system::error_code& ec, std::string_view what) {
        io.restart();
        io.run_for(timeout);
        if (!done) {
            boost::system::error_code ignored;
            socket().close(ignored);
            io.restart();
            io.run();
            return fail(std::string(what) + ": no answer from " + host + " in " + std::to_string(timeout.count()) +
                        " s", ETIMEDOUT);
        }
        if (ec) return fail(std::string(what) + " " + host + ": " + ec.message(), ec.value());
        return {};
    }

    Result<void> handshake() {
        auto* h = stream->native_handle();
        boost::system::error_code ignored;
        asio::ip::make_address(host, ignored);  // fails for a name
        if (ignored) SSL_set_tlsext_host_name(h, host.c_str());  // SNI for names, not for addresses
        if (trust.fingerprint.empty()) {
            stream->set_verify_mode(ssl::verify_peer);
            // RFC 6125: the name we connected to must be in the certificate.
            if (!ignored) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h), host.c_str());
            } else {
                SSL_set1_host(h, host.c_str());
            }
        } else {
            stream->set_verify_mode(ssl::verify_none);  // checked below against the pin
        }
        stream->set_verify_callback([this](bool ok, ssl::verify_context& vc) {
            X509_STORE_CTX* x = vc.native_handle();
            if (X509_STORE_CTX_get_error_depth(x) == 0)
                seen_fingerprint = cert_fingerprint(X509_STORE_CTX_get_current_cert(x));
            if (!ok && verify_error.empty())
                verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(x));
            return ok;
        });
        bool done = false;
        boost::system::error_code ec;
        stream->async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& e) {
            ec = e;
            done = true;
        });
        if (auto r = wait(done, ec, "TLS handshake with"); !r) {
            if (!verify_error.empty())
                return fail("the certificate of " + host + " is not trusted (" + verify_error +
                            "); its SHA-256 fingerprint is " + (seen_fingerprint.empty() ? "unknown" : seen_fingerprint) +
                            ": to trust it, give --fingerprint or --ca FILE to `tern account add`");
            return r;
        }
        X509* peer = SSL_get1_peer_certificate(h);
        std::string fp = cert_fingerprint(peer);
        X509_free(peer);
        seen_fingerprint = fp;
        if (!trust.fingerprint.empty() && fp != normalize_fingerprint(trust.fingerprint))
            return fail("the certificate of " + host + " has fingerprint " + fp + ", not the pinned " +
                        normalize_fingerprint(trust.fingerprint));
        tls = true;
        return {};
    }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& endpoint, const TlsTrust& trust,
                                                     std::chrono::seconds timeout) {
    auto impl = std::make_unique<Impl>();
    impl->timeout = timeout;
    impl->host = endpoint.host;
    impl->trust = trust;
    boost::system::error_code ec;
    impl->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!trust.ca_file.empty()) {
        impl->ctx.load_verify_file(trust.ca_file, ec);
        if (ec) return fail("cannot load the CA file " + trust.ca_file + ": " + ec.message());
    } else {
        impl->ctx.set_default_verify_paths(ec);
    }
    impl->stream.emplace(impl->io, impl->ctx);

    tcp::resolver resolver(impl->io);
    bool done = false;
    tcp::resolver::results_type addrs;
    resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                           [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                               ec = e;
                               addrs = std::move(r);
                               done = true;
                           });
    if (auto r = impl->wait(done, ec, "cannot resolve"); !r) return std::unexpected(r.error());
    done = false;
    asio::async_connect(impl->socket(), addrs, [&](const boost::system::error_code& e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    if (auto r = impl->wait(done, ec, "cannot connect to"); !r)
        return fail(r.error().message + " (port " + std::to_string(endpoint.port) + ")", r.error().code);
    impl->socket().set_option(tcp::no_delay(true), ec);
    if (endpoint.tls == Tls::Implicit) {
        if (auto r = impl->handshake(); !r) return std::unexpected(r.error());
    }
    return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Result<void> Connection::write(std::string_view bytes) {
    if (bytes.empty()) return {};
    bool done = false;
    boost::system::error_code ec;
    auto handler = [&](const boost::system::error_code& e, std::size_t) {
        ec = e;
        done = true;
    };
    if (impl_->tls) asio::async_write(*impl_->stream, asio::buffer(bytes), handler);
    else asio::async_write(impl_->socket(), asio::buffer(bytes), handler);
    return impl_->wait(done, ec, "cannot send to");
}

Result<std::size_t> Connection::read_some(std::string& out, std::size_t max) {
    std::size_t old = out.size();
    out.resize(old + max);
    bool done = false;
    boost::system::error_code ec;
    std::size_t got = 0;
    auto handler = [&](const boost::system::error_code& e, std::size_t n) {
        ec = e;
        got = n;
        done = true;
    };
    auto buf = asio::buffer(out.data() + old, max);
    if (impl_->tls) impl_->stream->async_read_some(buf, handler);
    else impl_->socket().async_read_some(buf, handler);
    auto r = impl_->wait(done, ec, "cannot read from");
    out.resize(old + got);
    if (!r) {
        if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return std::size_t{0};
        return std::unexpected(r.error());
    }
    return got;
}

Result<void> Connection::start_tls() {
    if (impl_->tls) return fail("TLS is already active");
    return impl_->handshake();
}

bool Connection::tls_active() const { return impl_->tls; }
std::string Connection::peer_fingerprint() const { return impl_->seen_fingerprint; }

}  // namespace tern::mua
