// The embedded Directory backend: <data>/directory.db (SQLite, WAL), shared with admin CLI processes.
// Recipient resolutions are cached, and an admin change applies to the next lookup: every write
// bumps a change counter in <data>/directory.db-gen that all processes map. Must never
// store or log a password in clear (the APOP secret is the one recoverable secret, and only because the
// protocol needs it), and never let alias expansion loop or fan out without bound.
#include <crypt.h>
#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "base/ascii.hpp"
#include "base/log.hpp"
#include "directory/directory.hpp"
#include "directory/login_cache.hpp"
#include "proto/sasl/sasl.hpp"
#include "sqlite/db.hpp"

namespace tern::directory {

std::string canonical_address(std::string_view address) {
    // RFC 5321 §2.4: local parts are case-sensitive in general, but the receiving host may treat its
    // own local parts case-insensitively; Tern does so for every local domain. Non-ASCII bytes
    // (SMTPUTF8) are left as they are.
    return ascii::to_lower(address);
}

namespace {

using namespace tern::sqlite;

// 1: domains, users (yescrypt), aliases. 2: users.scram and users.apop_secret (migrated in place).
constexpr int kSchemaVersion = 2;
constexpr std::size_t kMaxApopSecret = 255;  // octets; RFC 1939 §7 sets no limit, this is ours
constexpr int kMaxAliasDepth = 8;           // nested aliases on one expansion path
constexpr int kMaxAliasTargets = 1000;      // targets visited in one resolve()
constexpr char kSubaddressSeparator = '+';  // RFC 5233 §1: user+detail

constexpr const char* kSchema = R"sql(
CREATE TABLE domains(
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE users(
    address       TEXT PRIMARY KEY,
    domain        TEXT NOT NULL REFERENCES domains(name),
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL,
    scram         TEXT,
    apop_secret   TEXT
) WITHOUT ROWID;
CREATE INDEX users_domain ON users(domain);
CREATE TABLE aliases(
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    domain TEXT NOT NULL REFERENCES domains(name),
    PRIMARY KEY(source, target)
) WITHOUT ROWID;
CREATE INDEX aliases_domain ON aliases(domain);
PRAGMA user_version = 2;
)sql";

// Schema 1 -> 2. Existing users get NULL credentials: SCRAM-SHA-256 works for them once their password is
// set again (the server never sees a password it could derive them from), and they have no APOP secret.
constexpr const char* kMigrate1To2 = R"sql(
ALTER TABLE users ADD COLUMN scram TEXT;
ALTER TABLE users ADD COLUMN apop_secret TEXT;
PRAGMA user_version = 2;
)sql";

#define TRY(expr)                                                                     \
    do {                                                                              \
        if (auto tern_r_ = (expr); !tern_r_) return std::unexpected(tern_r_.error()); \
    } while (0)

std::unexpected<Error> invalid(std::string what) {
    return fail(std::move(what), EINVAL);
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Domain names as LDH labels (RFC 1035 §2.3.1, RFC 5321 §4.1.2 "Domain"); internationalised names
// must be given as A-labels. Expects lower case.
bool valid_domain(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    std::size_t start = 0;
    while (start <= d.size()) {
        std::size_t end = std::min(d.find('.', start), d.size());
        std::string_view label = d.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
        }
        start = end + 1;
    }
    return true;
}

// A local part we are willing to store: RFC 5321 §4.5.3.1.1 length, no controls, spaces or characters
// that would need quoting. UTF-8 (RFC 6531) is allowed.
bool valid_local(std::string_view l) {
    if (l.empty() || l.size() > 64) return false;
    for (char c : l) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
        if (std::string_view("\"(),:;<>@[\\]").find(c) != std::string_view::npos) return false;
    }
    return true;
}

struct Parts {
    std::string local;  // empty for a catch-all source "@domain"
    std::string domain;
};

Result<Parts> split_address(std::string_view address, bool allow_catch_all) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos) return invalid("not an address (no @): " + std::string(address));
    Parts p{std::string(address.substr(0, at)), canonical_address(address.substr(at + 1))};
    if (!valid_domain(p.domain)) return invalid("invalid domain: " + p.domain);
    if (p.local.empty() && allow_catch_all) return p;
    if (!valid_local(p.local)) return invalid("invalid local part: " + p.local);
    return p;
}

bool contains_nul(std::string_view s) {
    return s.find('\0') != std::string_view::npos;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

// crypt(3) with `setting` (a salt from crypt_gensalt, or a stored hash to verify against).
// Returns an empty string on failure. The work area is wiped because it held the password.
std::string run_crypt(const std::string& password, const char* setting) {
    auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_rn expects; ~32 KiB so not on the stack
    const char* h = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
    std::string out = (h && h[0] != '*') ? std::string(h) : std::string();
    explicit_bzero(data.get(), sizeof *data);
    return out;
}

// RFC 5803 text of fresh SCRAM-SHA-256 credentials (random salt, sasl::kScramIterations) for a password
// that hash_password() accepted. Slow (PBKDF2): call it before taking the lock.
Result<std::string> scram_text(std::string_view password) {
    auto creds = sasl::new_scram_credentials(password);
    if (!creds) return std::unexpected(creds.error());
    return sasl::format_scram(*creds);
}

Result<std::string> hash_password(std::string_view password) {
    if (password.empty()) return invalid("empty password");
    if (contains_nul(password)) return invalid("password contains NUL");
    // yescrypt with libxcrypt's default cost; the salt comes from the OS random source.
    char* salt = crypt_gensalt_ra("$y$", 0, nullptr, 0);
    if (!salt) return fail("crypt_gensalt_ra($y$) failed", errno);
    std::string pw(password);
    std::string hash = run_crypt(pw, salt);
    std::free(salt);
    explicit_bzero(pw.data(), pw.size());
    if (hash.empty()) return fail("crypt_rn failed", EIO);
    return hash;
}

// A yescrypt hash of a random password, made once per process: verifying an unknown user costs the
// same as verifying a known one, so response time does not reveal which users exist.
const std::string& dummy_hash() {
    static const std::string hash = [] {
        std::random_device rd;
        std::string pw = "dummy-" + std::to_string(rd()) + std::to_string(rd());
        auto h = hash_password(pw);
        return h ? *h
                 : std::string("$y$j9T$AAAAAAAAAAAAAAAAAAAAA.$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    }();
    return hash;
}

// A counter shared by every process that opens the directory: 8 bytes at the start of
// <data>/directory.db-gen, mapped MAP_SHARED and changed with atomic operations. Each write
// through SqliteDirectory bumps it after its commit, so a reader whose counter has not moved
// knows, with one memory load, that no such write happened since it last looked; otherwise
// (or when the file cannot be mapped) it asks SQLite with a read transaction.
class ChangeCounter {
public:
    static std::unique_ptr<ChangeCounter> open(const std::filesystem::path& path) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return nullptr;
        struct stat st {};
        void* map = MAP_FAILED;
        if (::fstat(fd, &st) == 0 && (st.st_size >= kBytes || ::ftruncate(fd, kBytes) == 0))
            map = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);  // the mapping keeps the file
        if (map == MAP_FAILED) return nullptr;
        return std::unique_ptr<ChangeCounter>(new ChangeCounter(static_cast<std::uint64_t*>(map)));
    }
    ChangeCounter(const ChangeCounter&) = delete;
    ChangeCounter& operator=(const ChangeCounter&) = delete;
    ~ChangeCounter() { ::munmap(value_, kBytes); }

    std::uint64_t load() const { return std::atomic_ref<std::uint64_t>(*value_).load(std::memory_order_acquire); }
    void bump() { std::atomic_ref<std::uint64_t>(*value_).fetch_add(1, std::memory_order_acq_rel); }

private:
    static constexpr off_t kBytes = 8;
    explicit ChangeCounter(std::uint64_t* value) : value_(value) {}
    std::uint64_t* value_;  // page-aligned (mmap), so atomic_ref's alignment holds
};

class SqliteDirectory final : public Directory {
public:
    SqliteDirectory(Db db, const DirectoryOptions& options, std::unique_ptr<ChangeCounter> changes)
        : logins_(options.login_cache_ttl, options.login_cache_entries),
          recheck_(options.recheck_interval),
          changes_(std::move(changes)),
          db_(std::move(db)) {}

    Result<void> init_schema() {
        std::lock_guard lock(mu_);
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto schema = db_.integer("PRAGMA user_version");
        if (!schema) return std::unexpected(schema.error());
        const std::int64_t version = *schema;
        if (version == 0) {
            TRY(db_.exec(kSchema));
        } else if (version == 1) {
            TRY(db_.exec(kMigrate1To2));  // in the same write transaction: all or nothing
            log::info("directory.db migrated from schema 1 to 2 (SCRAM and APOP columns)");
        } else if (version != kSchemaVersion) {
            return fail("directory.db has schema version " + std::to_string(version) + ", this build knows " +
                            std::to_string(kSchemaVersion),
                        EPROTO);
        }
        return tx->commit();
    }

    // --- domains ---

    Result<void> add_domain(std::string_view domain) override {
        const std::string d = canonical_address(domain);
        if (!valid_domain(d)) return invalid("invalid domain: " + d);
        auto lock = write_lock();
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto local = domain_is_local(d);
        if (!local) return std::unexpected(local.error());
        if (*local) return fail("domain already exists: " + d, EEXIST);
        TRY(run("INSERT INTO domains(name) VALUES(?1)", d));
        return tx->commit();
    }

    Result<void> remove_domain(std::string_view domain) override {
        const std::string d = canonical_address(domain);
        auto lock = write_lock();
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto local = domain_is_local(d);
        if (!local) return std::unexpected(local.error());
        if (!*local) return fail("no such domain: " + d, ENOENT);
        auto users = count("SELECT COUNT(*) FROM users WHERE domain = ?1", d);
        if (!users) return std::unexpected(users.error());
        auto aliases = count("SELECT COUNT(DISTINCT source) FROM aliases WHERE domain = ?1", d);
        if (!aliases) return std::unexpected(aliases.error());
        if (*users > 0 || *aliases > 0) {
            return fail("domain " + d + " still has " + std::to_string(*users) + " user(s) and " +
                            std::to_string(*aliases) + " alias(es); remove them first",
                        ENOTEMPTY);
        }
        TRY(run("DELETE FROM domains WHERE name = ?1", d));
        return tx->commit();
    }

    Result<std::vector<std::string>> list_domains() override {
        std::lock_guard lock(mu_);
        return column("SELECT name FROM domains ORDER BY name", "");
    }

    Result<bool> is_local_domain(std::string_view domain) override {
        std::lock_guard lock(mu_);
        return domain_is_local(canonical_address(domain));
    }

    // --- users ---

    Result<void> add_user(std::string_view address, std::string_view password) override {
        const std::string a = canonical_address(address);
        auto parts = split_address(a, false);
        if (!parts) return std::unexpected(parts.error());
        auto hash = hash_password(password);  // slow: done before taking the lock
        if (!hash) return std::unexpected(hash.error());
        auto scram = scram_text(password);
        if (!scram) return std::unexpected(scram.error());
        auto lock = write_lock();
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto local = domain_is_local(parts->domain);
        if (!local) return std::unexpected(local.error());
        if (!*local) return fail("domain " + parts->domain + " is not a local domain; add it first", ENOENT);
        auto exists = user_row_exists(a);
        if (!exists) return std::unexpected(exists.error());
        if (*exists) return fail("user already exists: " + a, EEXIST);
        auto targets = alias_targets(a);
        if (!targets) return std::unexpected(targets.error());
        if (!targets->empty()) return fail("an alias with this address exists: " + a, EEXIST);
        {
            auto q = Query::make(db_,
                                 "INSERT INTO users(address, domain, password_hash, created, scram) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5)");
            if (!q) return std::unexpected(q.error());
            q->bind(1, a).bind(2, parts->domain).bind(3, *hash).bind(4, now_seconds()).bind(5, *scram);
            TRY(q->run());
        }
        return tx->commit();
    }

    Result<void> remove_user(std::string_view address) override {
        const std::string a = canonical_address(address);
        auto lock = write_lock();
        TRY(run("DELETE FROM users WHERE address = ?1", a));
        if (sqlite3_changes(db_.raw()) == 0) return fail("no such user: " + a, ENOENT);
        return {};
    }

    Result<void> set_password(std::string_view address, std::string_view password) override {
        const std::string a = canonical_address(address);
        auto hash = hash_password(password);
        if (!hash) return std::unexpected(hash.error());
        auto scram = scram_text(password);
        if (!scram) return std::unexpected(scram.error());
        auto lock = write_lock();
        {
            // One statement: the yescrypt hash and the SCRAM keys always come from the same password.
            auto q = Query::make(db_, "UPDATE users SET password_hash = ?2, scram = ?3 WHERE address = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, a).bind(2, *hash).bind(3, *scram).run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return fail("no such user: " + a, ENOENT);
        return {};
    }

    Result<std::vector<std::string>> list_users() override {
        std::lock_guard lock(mu_);
        return column("SELECT address FROM users ORDER BY address", "");
    }

    Result<bool> user_exists(std::string_view address) override {
        std::lock_guard lock(mu_);
        return user_row_exists(canonical_address(address));
    }

    Result<bool> verify_password(std::string_view address, std::string_view password) override {
        std::string stored;
        bool found = false;
        {
            std::lock_guard lock(mu_);  // only the read; hashing below runs unlocked
            auto q = Query::make(db_, "SELECT password_hash FROM users WHERE address = ?1");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, canonical_address(address)).step();
            if (!row) return std::unexpected(row.error());
            if (*row) {
                stored = q->text(0);
                found = true;
            }
        }
        // Same work for every outcome: unknown users and malformed passwords are checked against the
        // dummy hash. Only a success may be answered from the cache (see login_cache.hpp).
        const bool usable = found && !password.empty() && !contains_nul(password);
        const std::string user = canonical_address(address);
        if (usable && logins_.hit(user, stored, password)) return true;
        const std::string& setting = usable ? stored : dummy_hash();
        std::string pw(password.substr(0, password.find('\0')));
        const std::string computed = run_crypt(pw, setting.c_str());
        explicit_bzero(pw.data(), pw.size());
        const bool match = !computed.empty() && constant_time_equal(computed, setting);
        if (usable && match) logins_.remember(user, stored, password);
        return usable && match;
    }

    Result<std::optional<sasl::ScramCredentials>> scram_credentials(std::string_view address) override {
        const std::string a = canonical_address(address);
        std::string text;
        {
            std::lock_guard lock(mu_);
            auto q = Query::make(db_, "SELECT COALESCE(scram, '') FROM users WHERE address = ?1");
            if (!q) return std::unexpected(q.error());
            auto row = q->bind(1, a).step();
            if (!row) return std::unexpected(row.error());
            if (!*row) return std::nullopt;  // no such user
            text = q->text(0);
        }
        if (text.empty()) return std::nullopt;  // user from schema 1 whose password was not set since
        auto creds = sasl::parse_scram(text);
        if (!creds) return fail("stored SCRAM credentials of " + a + " are malformed", EIO);  // not the value
        return creds;
    }

    // APOP (RFC 1939 §7) digests the timestamp with the shared secret itself, so the server must keep the
    // secret in recoverable form: unlike the password it cannot be hashed. That is why it is a separate
    // secret in its own column, set explicitly and never derived from or equal to the login password by
    // default. It is never logged or put in an error message.
    Result<void> set_apop_secret(std::string_view address, std::string_view secret) override {
        const std::string a = canonical_address(address);
        if (secret.size() > kMaxApopSecret) return invalid("APOP secret longer than 255 octets");
        for (char c : secret) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) return invalid("APOP secret contains a control character");
        }
        auto lock = write_lock();
        {
            // An empty secret removes it: APOP is then refused for this user.
            auto q = Query::make(db_, "UPDATE users SET apop_secret = NULLIF(?2, '') WHERE address = ?1");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, a).bind(2, secret).run());
        }
        if (sqlite3_changes(db_.raw()) == 0) return fail("no such user: " + a, ENOENT);
        return {};
    }

    Result<std::optional<std::string>> apop_secret(std::string_view address) override {
        std::lock_guard lock(mu_);
        auto q = Query::make(db_, "SELECT COALESCE(apop_secret, '') FROM users WHERE address = ?1");
        if (!q) return std::unexpected(q.error());
        auto row = q->bind(1, canonical_address(address)).step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return std::nullopt;
        std::string secret = q->text(0);
        if (secret.empty()) return std::nullopt;
        return secret;
    }

    // --- aliases ---

    Result<void> add_alias(std::string_view source, const std::vector<std::string>& targets) override {
        const std::string src = canonical_address(source);
        auto parts = split_address(src, true);
        if (!parts) return std::unexpected(parts.error());
        if (targets.empty()) return invalid("an alias needs at least one target");
        std::vector<std::string> norm;
        for (const auto& t : targets) {
            auto tp = split_address(t, false);
            if (!tp) return std::unexpected(tp.error());
            norm.push_back(tp->local + "@" + tp->domain);
        }
        auto lock = write_lock();
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        auto local = domain_is_local(parts->domain);
        if (!local) return std::unexpected(local.error());
        if (!*local) return fail("domain " + parts->domain + " is not a local domain; add it first", ENOENT);
        auto user = user_row_exists(src);
        if (!user) return std::unexpected(user.error());
        if (*user) return fail("a user with this address exists: " + src, EEXIST);
        auto existing = alias_targets(src);
        if (!existing) return std::unexpected(existing.error());
        for (auto& t : norm) {
            TRY(normalize_target(t));
            if (canonical_address(t) == src) return invalid("an alias cannot point to itself: " + src);
            if (std::find(existing->begin(), existing->end(), t) != existing->end()) {
                return fail("alias " + src + " -> " + t + " already exists", EEXIST);
            }
            existing->push_back(t);  // also catches a target given twice
            auto q = Query::make(db_, "INSERT INTO aliases(source, target, domain) VALUES(?1, ?2, ?3)");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, src).bind(2, t).bind(3, parts->domain).run());
        }
        return tx->commit();
    }

    Result<void> remove_alias(std::string_view source, const std::vector<std::string>& targets) override {
        const std::string src = canonical_address(source);
        auto lock = write_lock();
        auto tx = Tx::begin(db_, true);
        if (!tx) return std::unexpected(tx.error());
        if (targets.empty()) {
            TRY(run("DELETE FROM aliases WHERE source = ?1", src));
            if (sqlite3_changes(db_.raw()) == 0) return fail("no such alias: " + src, ENOENT);
            return tx->commit();
        }
        for (const auto& target : targets) {
            auto tp = split_address(target, false);
            if (!tp) return std::unexpected(tp.error());
            std::string t = tp->local + "@" + tp->domain;
            TRY(normalize_target(t));
            auto q = Query::make(db_, "DELETE FROM aliases WHERE source = ?1 AND target = ?2");
            if (!q) return std::unexpected(q.error());
            TRY(q->bind(1, src).bind(2, t).run());
            if (sqlite3_changes(db_.raw()) == 0) return fail("no such alias: " + src + " -> " + t, ENOENT);
        }
        return tx->commit();
    }

    Result<std::vector<Alias>> list_aliases() override {
        std::lock_guard lock(mu_);
        auto q = Query::make(db_, "SELECT source, target FROM aliases ORDER BY source, target");
        if (!q) return std::unexpected(q.error());
        std::vector<Alias> out;
        for (;;) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            std::string source = q->text(0);
            if (out.empty() || out.back().source != source) out.push_back(Alias{std::move(source), {}});
            out.back().targets.push_back(q->text(1));
        }
        return out;
    }

    // --- resolution ---
    //
    // Precedence for a recipient in a local domain (first match wins, and a match is final even if it
    // expands to nothing):
    //   1. a user with exactly this address;
    //   2. an alias with exactly this source;
    //   3. plus-addressing (RFC 5233): "user+tag@d" is tried as "user@d" by rules 1 and 2;
    //   4. the catch-all alias "@d".
    // Alias targets are resolved with rules 1-3 (never the catch-all: a typo in an alias must not land
    // in the catch-all box); unknown local targets are skipped; targets in other domains are forwarded.
    // Expansion is bounded by kMaxAliasDepth nested aliases and kMaxAliasTargets targets in total;
    // exceeding either is an error (a misconfiguration, not an unknown user). An alias met again on
    // its own expansion path is a cycle and contributes nothing more.
    Result<Resolution> resolve(std::string_view address) override {
        const std::string a = canonical_address(address);
        Resolution res;
        auto at = a.rfind('@');
        if (at == std::string::npos || at == 0) {
            res.kind = Resolution::Kind::Unknown;
            return res;
        }
        std::lock_guard lock(mu_);
        // Every RCPT and every delivery asks; the answers change only when the directory does.
        // This object's own writes clear the cache (write_lock()). Another connection's commit
        // (an admin command) changes PRAGMA data_version; asking costs a read transaction, so it
        // is asked only when the shared change counter moved (every write through this class
        // bumps it after committing) or recheck_ has passed (writes by other means).
        const std::uint64_t changes = changes_ ? changes_->load() : 0;  // before data_version: see bump()
        const auto now = std::chrono::steady_clock::now();
        if (!changes_ || changes != seen_changes_ || now - checked_ >= recheck_) {
            auto version = data_version();
            if (!version) return std::unexpected(version.error());
            if (*version != resolved_version_) {
                resolved_.clear();
                resolved_version_ = *version;
            }
            seen_changes_ = changes;
            checked_ = now;
        }
        if (auto hit = resolved_.find(a); hit != resolved_.end()) return hit->second;
        auto fresh = resolve_uncached(a, at);
        if (!fresh) return fresh;
        if (resolved_.size() >= kResolvedEntries) resolved_.clear();  // bounded: start over
        resolved_.emplace(a, *fresh);
        return fresh;
    }

private:
    static constexpr std::size_t kResolvedEntries = 10000;

    // With mu_ held. `a` is canonical, `at` the position of its last '@'.
    Result<Resolution> resolve_uncached(const std::string& a, std::size_t at) {
        Resolution res;
        auto tx = Tx::begin(db_, false);  // one consistent snapshot for the whole expansion
        if (!tx) return std::unexpected(tx.error());
        auto local = domain_is_local(a.substr(at + 1));
        if (!local) return std::unexpected(local.error());
        if (!*local) {
            res.kind = Resolution::Kind::NotLocal;
            return res;
        }
        Expansion ex;
        auto known = expand(ex, a, 0, true);
        if (!known) return std::unexpected(known.error());
        TRY(tx->commit());
        res.accounts = std::move(ex.accounts);
        res.remote = std::move(ex.remote);
        res.kind =
            res.accounts.empty() && res.remote.empty() ? Resolution::Kind::Unknown : Resolution::Kind::Ok;
        return res;
    }

    Result<std::int64_t> data_version() { return db_.integer("PRAGMA data_version"); }

    // For every method that writes: holds mu_, forgets cached resolutions (this connection's own
    // commits do not change its data_version) and, on the way out, after the method's
    // transaction has committed or rolled back, bumps the shared change counter. A reader loads
    // the counter before it asks SQLite, so a commit it did not see always leaves a later bump.
    struct WriteGuard {
        std::unique_lock<std::mutex> lock;
        ChangeCounter* changes;
        ~WriteGuard() {
            if (changes) changes->bump();
        }
    };
    WriteGuard write_lock() {
        std::unique_lock lock(mu_);
        resolved_.clear();
        return WriteGuard{std::move(lock), changes_.get()};
    }

private:
    struct Expansion {
        std::vector<std::string> accounts, remote;
        std::set<std::string> seen_accounts, seen_remote;
        std::vector<std::string> path;  // aliases being expanded, outermost first
        std::set<std::string> done;     // aliases already fully expanded (diamonds)
        int targets = 0;
    };

    // True when `addr` (canonical, local domain) matched a rule, even if it contributed nothing.
    Result<bool> expand(Expansion& ex, const std::string& addr, int depth, bool allow_catch_all) {
        auto direct = expand_exact(ex, addr, depth);
        if (!direct || *direct) return direct;
        const auto at = addr.rfind('@');
        const auto plus = addr.find(kSubaddressSeparator);
        if (plus != std::string::npos && plus > 0 && plus < at) {
            auto base = expand_exact(ex, addr.substr(0, plus) + addr.substr(at), depth);
            if (!base || *base) return base;
        }
        if (allow_catch_all) return expand_alias(ex, addr.substr(at), depth);
        return false;
    }

    // Rules 1 and 2: exact user, exact alias.
    Result<bool> expand_exact(Expansion& ex, const std::string& addr, int depth) {
        auto user = user_row_exists(addr);
        if (!user) return std::unexpected(user.error());
        if (*user) {
            if (ex.seen_accounts.insert(addr).second) ex.accounts.push_back(addr);
            return true;
        }
        return expand_alias(ex, addr, depth);
    }

    Result<bool> expand_alias(Expansion& ex, const std::string& source, int depth) {
        auto targets = alias_targets(source);  // read fully before recursing: statements are shared
        if (!targets) return std::unexpected(targets.error());
        if (targets->empty()) return false;
        if (std::find(ex.path.begin(), ex.path.end(), source) != ex.path.end()) {
            log::warn("alias cycle through ", source, " (path starts at ", ex.path.front(), ")");
            return true;
        }
        if (ex.done.contains(source)) return true;
        if (depth + 1 > kMaxAliasDepth) {
            return fail(
                "alias expansion deeper than " + std::to_string(kMaxAliasDepth) + " levels at " + source,
                ELOOP);
        }
        ex.path.push_back(source);
        for (const auto& t : *targets) {
            if (++ex.targets > kMaxAliasTargets) {
                return fail("alias expansion exceeds " + std::to_string(kMaxAliasTargets) + " targets",
                            E2BIG);
            }
            const auto at = t.rfind('@');
            auto local = domain_is_local(t.substr(at + 1));
            if (!local) return std::unexpected(local.error());
            if (!*local) {
                if (ex.seen_remote.insert(t).second) ex.remote.push_back(t);
                continue;
            }
            auto known = expand(ex, canonical_address(t), depth + 1, false);
            if (!known) return std::unexpected(known.error());
            if (!*known) log::debug("alias ", source, ": skipping unknown local target ", t);
        }
        ex.path.pop_back();
        ex.done.insert(source);
        return true;
    }

    // Targets in local domains are stored canonical; elsewhere the local part keeps its case
    // (RFC 5321 §2.4: only the destination host may fold it).
    Result<void> normalize_target(std::string& target) {
        auto at = target.rfind('@');
        auto local = domain_is_local(target.substr(at + 1));
        if (!local) return std::unexpected(local.error());
        if (*local) target = canonical_address(target);
        return {};
    }

    Result<bool> domain_is_local(const std::string& d) {
        auto q = Query::make(db_, "SELECT 1 FROM domains WHERE name = ?1");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, d).step();
    }

    Result<bool> user_row_exists(const std::string& a) {
        auto q = Query::make(db_, "SELECT 1 FROM users WHERE address = ?1");
        if (!q) return std::unexpected(q.error());
        return q->bind(1, a).step();
    }

    Result<std::vector<std::string>> alias_targets(const std::string& source) {
        return column("SELECT target FROM aliases WHERE source = ?1 ORDER BY target", source);
    }

    // First column of every row; a non-empty `arg` is bound to ?1.
    Result<std::vector<std::string>> column(const char* sql, const std::string& arg) {
        auto q = Query::make(db_, sql);
        if (!q) return std::unexpected(q.error());
        if (!arg.empty()) q->bind(1, arg);
        std::vector<std::string> out;
        for (;;) {
            auto row = q->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            out.push_back(q->text(0));
        }
        return out;
    }

    Result<std::int64_t> count(const char* sql, const std::string& arg) {
        auto q = Query::make(db_, sql);
        if (!q) return std::unexpected(q.error());
        auto row = q->bind(1, arg).step();
        if (!row) return std::unexpected(row.error());
        return *row ? q->int64(0) : 0;
    }

    Result<void> run(const char* sql, const std::string& arg) {
        auto q = Query::make(db_, sql);
        if (!q) return std::unexpected(q.error());
        return q->bind(1, arg).run();
    }

    LoginCache logins_;
    std::unordered_map<std::string, Resolution> resolved_;  // guarded by mu_
    std::int64_t resolved_version_ = -1;
    std::chrono::milliseconds recheck_;
    std::unique_ptr<ChangeCounter> changes_;  // null when the file cannot be mapped: always ask
    std::uint64_t seen_changes_ = 0;
    std::chrono::steady_clock::time_point checked_{};
    std::mutex mu_;
    Db db_;
};

}  // namespace

Result<std::unique_ptr<Directory>> open_sqlite_directory(const std::filesystem::path& data_dir,
                                                         const DirectoryOptions& options) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return fail("cannot create " + data_dir.string() + ": " + ec.message(), ec.value());
    auto db = Db::open(data_dir / "directory.db");
    if (!db) return std::unexpected(db.error());
    auto changes = ChangeCounter::open(data_dir / "directory.db-gen");
    if (!changes) log::warn("directory: cannot map ", (data_dir / "directory.db-gen").string(), ": ",
                            std::strerror(errno), "; every lookup will ask the database");
    auto dir = std::make_unique<SqliteDirectory>(std::move(*db), options, std::move(changes));
    if (auto r = dir->init_schema(); !r) return std::unexpected(r.error());
    (void)dummy_hash();  // pay for it at startup, not on the first failed login
    return std::unique_ptr<Directory>(std::move(dir));
}

}  // namespace tern::directory
