// TLS material for every listener: the OpenSSL context (TLS 1.2 and later only), the certificate
// and key from the config, or a self-signed pair generated in the data directory on first start,
// and reload on SIGHUP. Must never accept SSLv3/TLS 1.0/1.1, and never write a private key
// readable by anyone but its owner.
#pragma once
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.hpp"

namespace boost::asio::ssl { class context; }

namespace tern::net {

struct TlsFiles {
    std::filesystem::path cert;  // PEM chain, leaf first
    std::filesystem::path key;   // PEM private key
};

// Writes a self-signed certificate (EC P-256, SAN = hostname, 10 years) and its key (mode 0600)
// under <data>/tls/ unless they exist. Returns the paths.
Result<TlsFiles> ensure_self_signed(const std::filesystem::path& data_dir, const std::string& hostname);

// "AB:CD:..." SHA-256 fingerprint of the certificate file's leaf.
Result<std::string> fingerprint_sha256(const std::filesystem::path& cert);

// Holds the current context; connections take a shared_ptr at accept, so a reload affects only
// new connections.
class TlsManager {
public:
    static Result<std::unique_ptr<TlsManager>> load(TlsFiles files);
    std::shared_ptr<boost::asio::ssl::context> context() const;
    Result<void> reload();  // SIGHUP: re-read the files; on error the old context stays
    const TlsFiles& files() const { return files_; }

private:
    TlsFiles files_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace tern::net
