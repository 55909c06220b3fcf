// OpenSSL glue: context creation (RFC 8996: TLS 1.2 minimum), self-signed certificate generation
// and fingerprints. Must never leave a half-written key or certificate behind: files are written
// to a temporary name and renamed.
#include "net/tls.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <cstdio>

#include "base/log.hpp"

namespace tern::net {
namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

namespace {

std::string openssl_error() {
    char buf[256];
    unsigned long e = ERR_get_error();
    if (e == 0) return "unknown OpenSSL error";
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// Writes via `writer(FILE*)` to path.tmp with `mode`, fsyncs, renames.
template <class Writer>
Result<void> write_pem(const fs::path& path, mode_t mode, Writer writer) {
    fs::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return fail("cannot write " + tmp.string(), errno);
    FILE* f = ::fdopen(fd, "w");
    if (!f) {
        ::close(fd);
        return fail("cannot write " + tmp.string(), errno);
    }
    bool ok = writer(f) == 1;
    ok = ok && std::fflush(f) == 0 && ::fsync(fd) == 0;
    std::fclose(f);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return fail("cannot write " + path.string());
    }
    return {};
}

// fsync(2) of a directory, so that the entries created or renamed in it survive a crash: a
// rename is durable only once its directory is synced (rename(2) alone may be lost).
Result<void> sync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + dir.string(), errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail("cannot sync " + dir.string(), err);
    return {};
}

}  // namespace

Result<TlsFiles> ensure_self_signed(const fs::path& data_dir, const std::string& hostname) {
    TlsFiles files{data_dir / "tls" / "cert.pem", data_dir / "tls" / "key.pem"};
    if (fs::exists(files.cert) && fs::exists(files.key)) return files;
    std::error_code ec;
    fs::create_directories(data_dir / "tls", ec);
    ::chmod((data_dir / "tls").c_str(), 0700);

    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!key) return fail("key generation failed: " + openssl_error());
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return fail("no randomness: " + openssl_error());
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    std::string san = "DNS:" + hostname;
    for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, san.c_str()},
                              {NID_basic_constraints, "critical,CA:FALSE"},
                              {NID_ext_key_usage, "serverAuth"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
        if (!ext) return fail("certificate extension failed: " + openssl_error());
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("signing failed: " + openssl_error());

    if (auto r = write_pem(files.key, 0600, [&](FILE* f) {
            return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        }); !r)
        return std::unexpected(r.error());
    if (auto r = write_pem(files.cert, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); }); !r)
        return std::unexpected(r.error());
    // Both renames, and the tls directory's own entry (it may be new), reach the disk before
    // the certificate is used: a crash right after the first start must not lose them (clients
    // would then see the certificate change and pinned fingerprints break).
    if (auto r = sync_dir(data_dir / "tls"); !r) return std::unexpected(r.error());
    if (auto r = sync_dir(data_dir); !r) return std::unexpected(r.error());
    log::info("generated a self-signed certificate for ", hostname, " in ", files.cert.string());
    return files;
}

Result<std::string> fingerprint_sha256(const fs::path& cert_path) {
    FILE* f = std::fopen(cert_path.c_str(), "r");
    if (!f) return fail("cannot read " + cert_path.string(), errno);
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!cert) return fail("not a PEM certificate: " + cert_path.string());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    X509_free(cert);
    std::string out;
    char hex[4];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
        out += hex;
    }
    return out;
}

namespace {

Result<std::shared_ptr<ssl::context>> make_context(const TlsFiles& files) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    // RFC 8996 / RFC 8314 §4.1: nothing older than TLS 1.2.
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(files.cert.string(), ec);
    if (ec) return fail("TLS certificate " + files.cert.string() + ": " + ec.message());
    ctx->use_private_key_file(files.key.string(), ssl::context::pem, ec);
    if (ec) return fail("TLS key " + files.key.string() + ": " + ec.message());
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        return fail("TLS key " + files.key.string() + " does not match the certificate");
    return ctx;
}

}  // namespace

Result<std::unique_ptr<TlsManager>> TlsManager::load(TlsFiles files) {
    auto ctx = make_context(files);
    if (!ctx) return std::unexpected(ctx.error());
    auto m = std::make_unique<TlsManager>();
    m->files_ = std::move(files);
    m->context_ = std::move(*ctx);
    return m;
}

std::shared_ptr<ssl::context> TlsManager::context() const {
    std::lock_guard lock(mutex_);
    return context_;
}

Result<void> TlsManager::reload() {
    auto ctx = make_context(files_);
    if (!ctx) return std::unexpected(ctx.error());
    std::lock_guard lock(mutex_);
    context_ = std::move(*ctx);
    return {};
}

}  // namespace tern::net
