// `ternd serve`: bind the listeners, drop root, open the data directory (lock, databases, spool
// replay, TLS material), start the scheduler and serve until SIGTERM/SIGINT. Must never start
// serving before the spool has been replayed, never open data as root, and never exit before
// the spool writer has committed what it acknowledged.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "base/durable.hpp"
#include "base/log.hpp"
#include "base/thread.hpp"
#include "delivery/local.hpp"
#include "delivery/scheduler.hpp"
#include "directory/directory.hpp"
#include "net/server.hpp"
#include "queue/spool.hpp"
#include "relay/relay.hpp"
#include "server/host.hpp"
#include "search/indexer.hpp"
#include "server/imap_host.hpp"
#include "session/imap/search_match.hpp"
#include "session/imap/summary.hpp"
#include "server/pop3_host.hpp"
#include "server/pickup.hpp"
#include "server/privileges.hpp"
#include "server/queue_control.hpp"
#include "server/server.hpp"
#include "store/store.hpp"

namespace tern::server {

Result<void> prepare_data_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("cannot create data directory " + dir.string() + ": " + ec.message());
    // Mail is private: the data directory is readable by its owner only. 0711, not 0700: local
    // users pass through it to the maildrop (`ternd sendmail`, see server/pickup.cpp); every
    // other entry keeps its owner-only mode (ternd runs with umask 077).
    ::chmod(dir.c_str(), 0711);
    return {};
}

namespace {

// Password checks run on the worker pool: yescrypt takes ~20 ms of CPU, and a burst of logins
// must not hold up the I/O threads' replies (see base/thread.hpp).
void auth_thread() {
    static thread_local const bool once = [] {
        base::name_this_thread("tern-auth");
        base::lower_this_thread_priority(5);
        return true;
    }();
    (void)once;
}

std::string machine_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
    return buf;
}

log::Level parse_level(const std::string& s) {
    if (s == "debug") return log::Level::Debug;
    if (s == "warn") return log::Level::Warn;
    if (s == "error") return log::Level::Error;
    return log::Level::Info;
}

// A per-installation secret kept in the data directory (mode 0600): it keys the fake SCRAM salts
// of unknown users, which must stay the same across restarts like real users' salts do.
std::string persistent_secret(const std::filesystem::path& file);

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0'), out;
    std::ifstream("/dev/urandom", std::ios::binary).read(raw.data(), static_cast<std::streamsize>(bytes));
    for (unsigned char b : raw) {
        out += "0123456789abcdef"[b >> 4];
        out += "0123456789abcdef"[b & 15];
    }
    return out;
}

std::string persistent_secret(const std::filesystem::path& file) {
    std::string secret;
    if (std::ifstream in(file); in && std::getline(in, secret) && secret.size() >= 32) return secret;
    secret = random_hex(32);
    // Whole or not at all, and its directory entry durable: a crash must not leave a short secret
    // (which would be replaced, changing every unknown user's fake SCRAM salt).
    if (auto r = base::write_file_durably(file, secret + "\n"); !r) log::warn(r.error().message);
    return secret;
}

int failed(const std::string& what) {
    std::cerr << "ternd: " << what << "\n";
    return 1;
}

// relay.* -> relay::Options (issue 8). The smarthost password is read here, after root is dropped.
Result<relay::Options> relay_options(const config::Config& cfg, const std::string& hostname) {
    relay::Options o;
    o.helo_name = cfg.relay_helo_name.empty() ? hostname : cfg.relay_helo_name;
    o.self_names = {hostname};
    if (cfg.relay_smarthost) o.smarthost = delivery::HostPort{cfg.relay_smarthost->host, cfg.relay_smarthost->port};
    o.smarthost_tls = relay::parse_tls_policy(cfg.relay_smarthost_tls).value_or(relay::TlsPolicy::Opportunistic);
    o.tls = relay::parse_tls_policy(cfg.relay_tls).value_or(relay::TlsPolicy::Opportunistic);
    for (const auto& [domain, h] : cfg.relay_routes) o.routes[domain] = delivery::HostPort{h.host, h.port};
    if (!cfg.relay_smarthost_user.empty()) {
        if (cfg.relay_smarthost_password_file.empty())
            return fail("relay.smarthost_user needs relay.smarthost_password_file");
        std::ifstream in(cfg.relay_smarthost_password_file);
        std::string password;
        if (!in || !std::getline(in, password))
            return fail("cannot read relay.smarthost_password_file " + cfg.relay_smarthost_password_file);
        if (!password.empty() && password.back() == '\r') password.pop_back();
        o.smarthost_user = cfg.relay_smarthost_user;
        o.smarthost_password = std::move(password);
    }
    o.port = static_cast<std::uint16_t>(cfg.relay_port);
    o.source_address = cfg.relay_source_address;
    o.ipv4_only = cfg.relay_ipv4_only;
    o.connections = cfg.relay_connections;
    o.connections_per_destination = cfg.relay_connections_per_destination;
    o.connect_timeout = std::chrono::seconds(cfg.relay_connect_timeout);
    o.idle_reuse = std::chrono::seconds(cfg.relay_idle_reuse);
    // RFC 5321 §4.5.3.2's timeouts; the 354 (2 min) and data blocks (3 min) never wait longer
    // than the RFC's values, and shorter when the configured ones are shorter (tests).
    const auto command = std::chrono::seconds(cfg.relay_command_timeout);
    const auto data = std::chrono::seconds(cfg.relay_data_timeout);
    o.timeouts.greeting = command;
    o.timeouts.command = command;
    o.timeouts.data_start = std::min<std::chrono::milliseconds>(command, std::chrono::minutes(2));
    o.timeouts.data_block = std::min<std::chrono::milliseconds>(data, std::chrono::minutes(3));
    o.timeouts.data_end = data;
    o.resolver = cfg.dns_resolver;
    return o;
}

}  // namespace

int serve(const config::Config& cfg) {
    log::set_level(parse_level(cfg.log_level));
    log::set_trace(cfg.trace);
    net::Options options;
    options.hostname = cfg.hostname.empty() ? machine_hostname() : cfg.hostname;
    options.smtp_limits.command_line = cfg.command_line;
    options.smtp_limits.message_size = cfg.message_size;
    options.smtp_limits.recipients = cfg.recipients;
    options.smtp_limits.bad_commands = static_cast<unsigned>(cfg.bad_commands);
    options.smtp_limits.idle_timeout_seconds = static_cast<unsigned>(cfg.idle_timeout);
    options.smtp_limits.max_hops = cfg.max_hops;
    options.max_connections = cfg.connections;
    options.io_threads = static_cast<unsigned>(cfg.io_threads);
    options.max_connections_per_ip = cfg.connections_per_ip;
    options.allow_plaintext_auth = cfg.allow_plaintext_auth;
    options.auth_failures_per_ip = static_cast<unsigned>(cfg.auth_failures_per_ip);
    options.min_data_rate = cfg.min_data_rate;
    if (cfg.idle_timeout < 300)
        log::warn("limits.idle_timeout = ", cfg.idle_timeout, " s is below RFC 5321 §4.5.3.2.7's 5 minutes");

    // Every connection is a descriptor: raise the soft limit to the hard one, and say so if the
    // connection limit still does not fit.
    if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
        if (lim.rlim_cur != RLIM_INFINITY && cfg.connections + 64 > lim.rlim_cur)
            log::warn("limits.connections = ", cfg.connections, " does not fit the open-file limit ", lim.rlim_cur);
    }

    // 1. Bind (ports below 1024 need root), 2. drop root, 3. open the data.
    net::Server server(options, {});
    auto listeners = cfg.listeners.empty() ? config::default_listeners() : cfg.listeners;
    if (auto r = server.listen(listeners); !r) return failed(r.error().message);
    std::string run_as = cfg.run_as.empty() ? "tern" : cfg.run_as;
    std::string shown_dir = std::filesystem::absolute(cfg.data_dir).string();
    auto dropped = drop_privileges(run_as, cfg.data_dir);
    if (!dropped) return failed(dropped.error().message);
    bool was_root = *dropped;
    const std::filesystem::path data = was_root ? std::filesystem::path(".") : cfg.data_dir;
    if (auto r = prepare_data_dir(data); !r) return failed(r.error().message);

    // One server per data directory.
    auto lock_path = data / "ternd.lock";
    int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
        return failed("another ternd is already serving " + cfg.data_dir.string() +
                      " (ternd.lock is locked): one server per data directory");

    directory::DirectoryOptions dir_options;
    dir_options.login_cache_ttl = std::chrono::seconds(cfg.login_cache);
    auto dir = directory::open_sqlite_directory(data, dir_options);
    if (!dir) return failed("directory: " + dir.error().message);
    auto store = store::open_sqlite_store(data);
    if (!store) return failed("store: " + store.error().message);
    queue::SpoolOptions spool_options;
    spool_options.dir = data / "spool";
    auto spool = queue::Spool::open(spool_options);
    if (!spool) return failed("spool: " + spool.error().message);

    // TLS: the configured certificate, or a self-signed one made on first start (RFC 8314).
    if (cfg.tls_cert.empty() != cfg.tls_key.empty()) return failed("tls.cert and tls.key go together");
    net::TlsFiles tls_files{cfg.tls_cert, cfg.tls_key};
    if (cfg.tls_cert.empty()) {
        auto generated = net::ensure_self_signed(data, options.hostname);
        if (!generated) return failed(generated.error().message);
        tls_files = *generated;
    }
    auto tls = net::TlsManager::load(tls_files);
    if (!tls) return failed(tls.error().message);
    options.tls = tls->get();
    options.scram_secret = persistent_secret(data / "secret");
    options.spill_dir = spool_options.dir;  // large bodies stream to the spool's file system

    // Remote delivery (issue 8): its own thread "tern-relay"; the scheduler hands it remote jobs.
    auto relay_opts = relay_options(cfg, options.hostname);
    if (!relay_opts) return failed(relay_opts.error().message);
    auto relay = relay::Relay::create(std::move(*relay_opts));
    if (!relay) return failed(relay.error().message);

    delivery::LocalDelivery local(**dir, **store);
    delivery::SchedulerOptions scheduling;
    scheduling.queue_lifetime = static_cast<std::int64_t>(cfg.queue_lifetime);
    scheduling.first_retry = static_cast<std::int64_t>(cfg.queue_first_retry);
    scheduling.retry_interval = static_cast<std::int64_t>(cfg.queue_retry_interval);
    scheduling.delay_warning = static_cast<std::int64_t>(cfg.queue_delay_warning);
    scheduling.bounce_return_limit = cfg.queue_bounce_return_limit;
    scheduling.hostname = options.hostname;
    scheduling.spill_dir = spool_options.dir;
    if (cfg.queue_lifetime < 86400)
        log::warn("queue.lifetime = ", cfg.queue_lifetime, " s is below RFC 5321 §4.5.4.1's 4-5 days");
    delivery::Scheduler scheduler(**spool, local, relay->get(), scheduling);
    DirectoryHost host(**dir);
    host.set_spool_dir(spool_options.dir);
    auto* directory = dir->get();
    net::SmtpServices services;
    services.host = &host;
    services.spool = spool->get();
    services.on_committed = [&scheduler](queue::QueuedMessage m, base::ByteSourceRef body) {
        scheduler.enqueue(std::move(m), std::move(body));
    };
    services.verify_password = [directory](const std::string& user, const std::string& password) {
        auth_thread();
        auto ok = directory->verify_password(user, password);
        return ok && *ok;
    };
    services.scram_credentials = [directory](const std::string& user) -> std::optional<sasl::ScramCredentials> {
        auth_thread();
        auto c = directory->scram_credentials(user);
        if (!c) return std::nullopt;
        return *c;
    };
    options.pop3_idle_timeout = static_cast<unsigned>(cfg.pop3_idle_timeout);
    StoreMaildrop maildrop(**dir, **store);
    DirectoryImapHost imap_host;
    options.imap_idle_timeout = static_cast<unsigned>(cfg.imap_idle_timeout);
    options.imap_summaries = cfg.imap_summaries;
    // Every committed change to an account's mail wakes its IMAP sessions waiting in IDLE. Set
    // before anything writes to the store (the scheduler and the pickup start below); the server
    // outlives both.
    // Issue 9: the search index (<data>/search.db) follows the same notices on its own thread,
    // which also keeps the IMAP summaries of new mail (delivered by SMTP: the session makes them
    // only at APPEND), so that its first FETCH ENVELOPE reads no message; without an index, it
    // runs for the summaries alone.
    std::unique_ptr<search::Indexer> indexer;
    std::unique_ptr<search::Index> index;
    if (cfg.search_index) {
        if (auto ix = search::Index::open(data / "search.db")) index = std::move(*ix);
        else log::warn("search index: ", ix.error().message, " (SEARCH reads every message)");
    }
    search::Summarize summarize;
    if (cfg.imap_summaries)
        summarize = [](const base::ByteSource& m) { return imap::summary_blob(m); };
    if (index || summarize) {
        search::Extract extract = [](const base::ByteSource& m, std::size_t max) -> Result<search::ExtractedText> {
            auto t = imap::index_text(m, max);
            if (!t) return std::unexpected(t.error());
            return search::ExtractedText{std::move(t->text), t->complete};
        };
        indexer = std::make_unique<search::Indexer>(**store, std::move(index), std::move(extract), std::move(summarize));
        if (indexer->has_index()) imap_host.set_indexer(indexer.get());
    }
    (*store)->set_change_listener([&server, idx = indexer.get()](std::string_view account) {
        server.mail_changed(account);
        if (idx) idx->notify(account);
    });
    if (indexer) {
        auto users = (*dir)->list_users();
        if (!indexer->has_index() && users)  // summaries only: what is stored now is left to FETCH
            for (const auto& u : *users) (void)indexer->summaries_from_now(u);
        indexer->start();
        if (indexer->has_index() && users)  // mail stored before the index existed
            for (const auto& u : *users) indexer->notify(u);
    }
    server.configure(options, services, &maildrop, net::ImapServices{store->get(), &imap_host});
    server.on_reload([&tls] {
        if (auto r = (*tls)->reload(); !r) log::error("TLS reload failed, keeping the old certificate: ", r.error().message);
        else log::info("TLS certificate reloaded from ", (*tls)->files().cert.string());
    });
    scheduler.start((*spool)->recovered());
    // `ternd queue retry|hold|release|delete` while we run (server/queue_control.hpp).
    if (auto r = server.serve_control(data / "control.sock", [&scheduler](std::string_view line) {
            return answer_control(line, [&scheduler](queue::QueueOp op, std::optional<queue::QueueId> id) {
                return scheduler.control(op, id);
            });
        });
        !r)
        return failed(r.error().message);
    // `ternd sendmail`: files in <data>/maildrop become submissions, now and as they come.
    if (auto r = prepare_maildrop(data); !r) return failed(r.error().message);
    PickupOptions pickup_options;
    pickup_options.maildrop = data / "maildrop";
    pickup_options.spill_dir = spool_options.dir;
    pickup_options.hostname = options.hostname;
    pickup_options.message_size = cfg.message_size;
    Pickup pickup(pickup_options, **spool, services.on_committed);
    pickup.start();

    std::cout << "ternd " << TERN_VERSION << " serving " << shown_dir
              << " as " << options.hostname << (was_root ? " (running as user " + run_as + ")" : "") << "\n";
    for (const auto& l : listeners) {
        std::cout << "  " << l.proto << std::string(12 - std::min<std::size_t>(l.proto.size(), 11), ' ')
                  << l.address << ":" << l.port << "\n";
    }
    auto fp = net::fingerprint_sha256(tls_files.cert);
    std::string cert_shown = cfg.tls_cert.empty() ? (std::filesystem::path(shown_dir) / "tls" / "cert.pem").string()
                                                  : cfg.tls_cert;
    std::cout << "TLS certificate " << cert_shown << "\n  SHA-256 " << (fp ? *fp : fp.error().message)
              << "\n";
    auto domains = (*dir)->list_domains();
    if (domains && domains->empty()) {
        std::string d = cfg.data_dir.string();
        std::cout << "No domains yet. Add a domain and a user (the password is read from stdin):\n"
                  << "  ternd --data " << d << " domain add example.org\n"
                  << "  echo 'secret' | ternd --data " << d << " user add alice@example.org\n";
    }
    std::cout << std::flush;

    server.run();
    pickup.stop();
    scheduler.stop();
    if (indexer) indexer->stop();
    (*relay)->stop();
    (*spool)->close();
    log::info("stopped");
    ::close(lock_fd);
    return 0;
}

}  // namespace tern::server
