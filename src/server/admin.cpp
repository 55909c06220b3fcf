// Admin commands (`ternd domain|user|alias|import|export|mailbox ...`). They open the same
// databases the running server uses; SQLite's locking makes that safe and the server reads the
// directory afresh on every lookup. Must never print or log a password.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "directory/directory.hpp"
#include "mbox/mbox.hpp"
#include "net/control.hpp"
#include "queue/control.hpp"
#include "queue/inspect.hpp"
#include "server/queue_control.hpp"
#include "server/server.hpp"
#include "store/store.hpp"

namespace tern::server::admin {
namespace {

namespace fs = std::filesystem;

int report(const Result<void>& r, const std::string& done) {
    if (!r) {
        std::cerr << "ternd: " << r.error().message << "\n";
        return 1;
    }
    if (!done.empty()) std::cout << done << "\n";
    return 0;
}

template <class T>
bool check(const Result<T>& r) {
    if (!r) std::cerr << "ternd: " << r.error().message << "\n";
    return r.has_value();
}

Result<std::unique_ptr<directory::Directory>> open_dir(const fs::path& data) {
    if (auto r = prepare_data_dir(data); !r) return std::unexpected(r.error());
    return directory::open_sqlite_directory(data);
}

// An admin command's writes wait their turn behind the server's delivery batches (a large batch
// holds the write lock for seconds) instead of failing after SQLite's usual 5 s; reads never wait.
constexpr auto kAdminBusyTimeout = std::chrono::seconds(60);

Result<std::unique_ptr<store::MailStore>> open_store(const fs::path& data) {
    if (auto r = prepare_data_dir(data); !r) return std::unexpected(r.error());
    store::SqliteOptions options;
    options.busy_timeout = kAdminBusyTimeout;
    options.on_slow_lock = [] {
        std::cerr << "ternd: store.db is busy: waiting for the server's delivery to finish (up to "
                  << kAdminBusyTimeout.count() << " s)\n";
    };
    auto s = store::open_sqlite_store(data, std::move(options));
    if (!s && s.error().code == EBUSY)
        return fail("the mail store stayed locked by another writer (the server's delivery?) for " +
                        std::to_string(kAdminBusyTimeout.count()) + " s; nothing was changed, try again (" +
                        s.error().message + ")",
                    EBUSY);
    return s;
}

// A store write that failed because the lock never came free gets the same plain explanation.
template <class T>
Result<T> explain_busy(Result<T> r) {
    if (!r && r.error().code == EBUSY)
        return fail("the mail store stayed locked by another writer (the server's delivery?) for " +
                        std::to_string(kAdminBusyTimeout.count()) + " s; try again (" + r.error().message + ")",
                    EBUSY);
    return r;
}

}  // namespace

int domain_add(const fs::path& data, const std::string& domain) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    return report((*d)->add_domain(domain), "domain " + domain + " added");
}

int domain_remove(const fs::path& data, const std::string& domain) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    return report((*d)->remove_domain(domain), "domain " + domain + " removed");
}

int domain_list(const fs::path& data) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto list = (*d)->list_domains();
    if (!check(list)) return 1;
    for (auto& x : *list) std::cout << x << "\n";
    return 0;
}

int user_add(const fs::path& data, const std::string& address, const std::string& password) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto s = open_store(data);
    if (!check(s)) return 1;
    if (auto r = (*d)->add_user(address, password); !r) return report(r, "");
    return report(explain_busy((*s)->create_account(directory::canonical_address(address))),
                  "user " + directory::canonical_address(address) + " added");
}

int user_remove(const fs::path& data, const std::string& address) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto s = open_store(data);
    if (!check(s)) return 1;
    if (auto r = (*d)->remove_user(address); !r) return report(r, "");
    return report(explain_busy((*s)->delete_account(directory::canonical_address(address))),
                  "user " + directory::canonical_address(address) + " and its mail removed");
}

int user_passwd(const fs::path& data, const std::string& address, const std::string& password) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    return report((*d)->set_password(address, password), "password of " + address + " changed");
}

int user_apop_secret(const fs::path& data, const std::string& address, const std::string& secret) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    if (secret.empty()) {
        std::cerr << "ternd: empty APOP secret\n";
        return 1;
    }
    return report((*d)->set_apop_secret(address, secret), "APOP secret of " + address + " set");
}

int user_list(const fs::path& data) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto list = (*d)->list_users();
    if (!check(list)) return 1;
    for (auto& x : *list) std::cout << x << "\n";
    return 0;
}

int alias_add(const fs::path& data, const std::string& alias, const std::vector<std::string>& targets) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    return report((*d)->add_alias(alias, targets), "alias " + alias + " added");
}

int alias_remove(const fs::path& data, const std::string& alias, const std::vector<std::string>& targets) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    return report((*d)->remove_alias(alias, targets), "alias " + alias + " removed");
}

int alias_list(const fs::path& data) {
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto list = (*d)->list_aliases();
    if (!check(list)) return 1;
    for (auto& a : *list) {
        std::cout << a.source;
        for (auto& t : a.targets) std::cout << " " << t;
        std::cout << "\n";
    }
    return 0;
}

int import_mbox(const fs::path& data, const fs::path& file, const std::string& address, const std::string& folder) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::cerr << "ternd: cannot open " << file.string() << "\n";
        return 1;
    }
    auto d = open_dir(data);
    if (!check(d)) return 1;
    auto exists = (*d)->user_exists(address);
    if (!check(exists)) return 1;
    if (!*exists) {
        std::cerr << "ternd: no such user: " << address << "\n";
        return 1;
    }
    auto s = open_store(data);
    if (!check(s)) return 1;
    std::string account = directory::canonical_address(address);
    if (!check(explain_busy((*s)->create_account(account)))) return 1;
    if (!(*s)->mailbox(account, folder) && !check(explain_busy((*s)->create_mailbox(account, folder, store::SpecialUse::None))))
        return 1;

    mbox::Reader reader(in);
    std::vector<store::NewMessage> batch;
    std::size_t total = 0;
    auto flush = [&]() -> bool {
        if (batch.empty()) return true;
        auto r = explain_busy((*s)->append(batch));
        if (!check(r)) return false;
        total += batch.size();
        batch.clear();
        return true;
    };
    for (;;) {
        auto entry = reader.next();
        if (!check(entry)) {
            std::cerr << "ternd: stopped after " << total + batch.size() << " messages; nothing after that was imported\n";
            flush();
            return 1;
        }
        if (!*entry) break;
        store::NewMessage m;
        m.account = account;
        m.mailbox = folder;
        m.data = std::move((*entry)->message);
        m.internal_date = (*entry)->date;
        m.envelope_from = (*entry)->sender == "MAILER-DAEMON" ? "" : (*entry)->sender;
        batch.push_back(std::move(m));
        if (batch.size() >= 500 && !flush()) return 1;
    }
    if (!flush()) return 1;
    std::cerr << "imported " << total << " messages into " << account << " " << folder << "\n";
    return 0;
}

int export_mbox(const fs::path& data, const std::string& address, const std::string& folder) {
    auto s = open_store(data);
    if (!check(s)) return 1;
    std::string account = directory::canonical_address(address);
    auto list = (*s)->list_messages(account, folder);
    if (!check(list)) return 1;
    std::ios::sync_with_stdio(false);
    for (const auto& info : *list) {
        auto body = (*s)->read_message(account, folder, info.uid);
        if (!check(body)) return 1;
        mbox::Entry e;
        e.sender = info.envelope_from.empty() ? "MAILER-DAEMON" : info.envelope_from;
        e.date = info.internal_date;
        e.message = std::move(*body);
        mbox::write_entry(std::cout, e);
    }
    std::cout.flush();
    return std::cout ? 0 : 1;
}

int mailbox_list(const fs::path& data, const std::string& address) {
    auto s = open_store(data);
    if (!check(s)) return 1;
    auto list = (*s)->list_mailboxes(directory::canonical_address(address));
    if (!check(list)) return 1;
    for (auto& m : *list) std::cout << m.name << "\t" << m.messages << "\t" << m.uidvalidity << "\t" << m.uidnext << "\n";
    return 0;
}

namespace {

std::string age_text(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 120) return std::to_string(seconds) + "s";
    if (seconds < 2 * 3600) return std::to_string(seconds / 60) + "m";
    if (seconds < 2 * 86400) return std::to_string(seconds / 3600) + "h" + std::to_string(seconds % 3600 / 60) + "m";
    return std::to_string(seconds / 86400) + "d" + std::to_string(seconds % 86400 / 3600) + "h";
}

std::string state_text(const queue::RecipientState& s, std::int64_t now) {
    using Status = queue::RecipientState::Status;
    std::string t;
    switch (s.status) {
        case Status::Pending: t = "pending"; break;
        case Status::Delivered: t = "delivered"; break;
        case Status::Failed: t = "failed"; break;
        case Status::Deferred: t = "deferred"; break;
        case Status::Held: t = "on hold"; break;
    }
    if (s.attempts > 0) t += ", " + std::to_string(s.attempts) + (s.attempts == 1 ? " attempt" : " attempts");
    if ((s.status == Status::Deferred || s.status == Status::Pending) && s.next_attempt > now)
        t += ", next in " + age_text(s.next_attempt - now);
    return t;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int queue_list(const fs::path& data) {
    auto snap = queue::inspect_queue(data / "spool");
    if (!check(snap)) return 1;
    for (const auto& p : snap->problems) std::cerr << "ternd: warning: damaged spool record skipped: " << p << "\n";
    const std::int64_t now = unix_now();
    std::uint64_t bytes = 0, waiting = 0;
    for (const auto& m : snap->waiting) {
        bytes += m.size;
        std::cout << queue::format_queue_id(m.id) << "  " << age_text(now - m.envelope.received_at) << "  " << m.size
                  << "  <" << m.envelope.mail_from << ">\n";
        for (std::size_t r = 0; r < m.states.size(); ++r) {
            const auto& s = m.states[r];
            std::cout << "    " << m.envelope.recipients[r].address << "  (" << state_text(s, now) << ")";
            if (!s.last_reply.empty()) std::cout << "  " << s.last_reply;
            std::cout << "\n";
            if (s.status != queue::RecipientState::Status::Delivered && s.status != queue::RecipientState::Status::Failed)
                ++waiting;
        }
    }
    std::cout << "-- " << snap->waiting.size() << (snap->waiting.size() == 1 ? " message, " : " messages, ") << waiting
              << (waiting == 1 ? " recipient" : " recipients") << " waiting, " << bytes << " octets\n";
    return 0;
}

int queue_show(const fs::path& data, const std::string& text) {
    auto id = queue::parse_queue_id(text);
    if (!id) {
        std::cerr << "ternd: not a queue id: " << text << " (16 hexadecimal digits, as in \"queued as ...\")\n";
        return 1;
    }
    auto snap = queue::inspect_queue(data / "spool");
    if (!check(snap)) return 1;
    auto it = std::find_if(snap->waiting.begin(), snap->waiting.end(), [&](const auto& m) { return m.id == *id; });
    if (it == snap->waiting.end()) {
        std::cerr << "ternd: no message " << queue::format_queue_id(*id) << " waiting in the queue\n";
        return 1;
    }
    const auto& m = *it;
    const auto& e = m.envelope;
    const std::int64_t now = unix_now();
    std::cout << "id: " << queue::format_queue_id(m.id) << "\nsize: " << m.size << "\nreceived: "
              << age_text(now - e.received_at) << " ago from " << e.helo << " [" << e.client_ip << "]"
              << (e.auth_user.empty() ? "" : " as " + e.auth_user) << "\nsender: <" << e.mail_from << ">\n";
    if (!e.envid.empty()) std::cout << "envid: " << e.envid << "\n";
    for (std::size_t r = 0; r < m.states.size(); ++r) {
        const auto& s = m.states[r];
        std::cout << "recipient: " << e.recipients[r].address << " (" << state_text(s, now) << ")"
                  << (s.last_reply.empty() ? "" : " " + s.last_reply) << "\n";
    }
    auto headers = queue::inspect_headers(data / "spool", m.id);
    if (!check(headers)) return 1;
    std::cout << "\n" << *headers;
    return 0;
}

namespace {

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string done_text(queue::QueueOp op) {
    switch (op) {
        case queue::QueueOp::Retry: return "due now";
        case queue::QueueOp::Hold: return "held";
        case queue::QueueOp::Release: return "released";
        case queue::QueueOp::Delete: return "deleted";
    }
    return "?";
}

// No server runs (we hold ternd.lock): the spool is ours to edit, as the scheduler would.
Result<std::size_t> apply_offline(const fs::path& data, const ControlRequest& request) {
    queue::SpoolOptions options;
    options.dir = data / "spool";
    auto spool = queue::Spool::open(options);
    if (!spool) return std::unexpected(spool.error());
    const std::int64_t now = unix_now();
    std::size_t changed = 0;
    bool found = false;
    for (auto& m : (*spool)->recovered()) {
        if (request.id && m.id != *request.id) continue;
        found = true;
        auto changes = queue::apply(request.op, m, now);
        for (auto& [r, state] : changes) (*spool)->update(m.id, r, state);
        if (!changes.empty()) ++changed;
    }
    auto flushed = (*spool)->flush();
    (*spool)->close();
    if (!flushed) return std::unexpected(flushed.error());
    if (request.id && !found) return fail("no message " + queue::format_queue_id(*request.id) + " waiting in the queue", ENOENT);
    return changed;
}

}  // namespace

int queue_change(const fs::path& data, queue::QueueOp op, const std::optional<std::string>& text) {
    ControlRequest request{op, std::nullopt};
    if (text) {
        auto id = queue::parse_queue_id(*text);
        if (!id || text->size() != 16) {
            std::cerr << "ternd: not a queue id: " << *text << " (16 hexadecimal digits, as in \"queued as ...\")\n";
            return 1;
        }
        request.id = *id;
    }
    // What will change, from a read-only look at the spool (also while a server runs): an unknown
    // id is refused here, and the recipients counted for the message below.
    auto snap = queue::inspect_queue(data / "spool");
    if (!check(snap)) return 1;
    const std::int64_t now = unix_now();
    std::size_t recipients = 0, messages = 0;
    for (const auto& m : snap->waiting) {
        if (request.id && m.id != *request.id) continue;
        ++messages;
        recipients += queue::apply(op, m, now).size();
    }
    if (request.id && messages == 0) {
        std::cerr << "ternd: no message " << queue::format_queue_id(*request.id) << " waiting in the queue\n";
        return 1;
    }

    // Who applies it: a running server (it holds ternd.lock) through its control socket, where its
    // scheduler changes its own view and the spool together; else this command, holding the lock
    // for the moment it edits the spool (a server started in that moment refuses to start, as it
    // does beside another server: one owner of the spool at a time).
    int lock_fd = ::open((data / "ternd.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        std::cerr << "ternd: cannot open " << (data / "ternd.lock").string() << ": " << std::strerror(errno) << "\n";
        return 1;
    }
    Result<std::size_t> changed = 0;
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
        changed = apply_offline(data, request);
        ::close(lock_fd);
    } else {
        ::close(lock_fd);
        auto socket = data / "control.sock";
        auto reply = net::control_request(socket, format_control_request(request));
        if (!reply) {
            std::cerr << "ternd: a server holds " << (data / "ternd.lock").string() << " but its control socket "
                      << socket.string() << " does not answer (" << reply.error().message
                      << "): nothing was changed; is it still starting? try again\n";
            return 1;
        }
        changed = parse_control_reply(*reply);
    }
    if (!changed) {
        std::cerr << "ternd: " << changed.error().message << "\n";
        return 1;
    }
    if (request.id) {
        if (*changed == 0 || recipients == 0)
            std::cout << "ternd: " << queue::format_queue_id(*request.id) << ": nothing to change (no recipient to "
                      << queue::op_name(op) << ")\n";
        else
            std::cout << "ternd: " << queue::format_queue_id(*request.id) << ": " << done_text(op) << " ("
                      << plural(recipients, "recipient", "recipients") << ")\n";
    } else {
        std::cout << "ternd: " << done_text(op) << ": " << plural(*changed, "message", "messages") << "\n";
    }
    return 0;
}

}  // namespace tern::server::admin
