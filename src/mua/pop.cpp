// The POP3 download (see pop.hpp), driving client/pop3's session over a Connection. Each RETR
// streams into a cache Writer; the copy and its UIDL are committed together when the message's
// last chunk arrives, and only committed messages are DELE'd.
#include "mua/pop.hpp"

#include <map>
#include <optional>
#include <set>

#include "client/pop3/session.hpp"
#include "mua/drive.hpp"

namespace tern::mua {

namespace pop3 = client::pop3;

namespace {

std::string method_name(pop3::LoginMethod m) {
    switch (m) {
        case pop3::LoginMethod::Apop: return "APOP";
        case pop3::LoginMethod::Scram: return "SCRAM-SHA-256";
        case pop3::LoginMethod::Plain: return "PLAIN";
        case pop3::LoginMethod::UserPass: return "USER/PASS";
        default: return "";
    }
}

std::string end_reason(const pop3::Session& s) {
    std::string why = s.end_status().text;
    switch (s.end()) {
        case pop3::ConnectionEnd::GreetingRefused: return "the server refused the connection: " + why;
        case pop3::ConnectionEnd::TlsUnavailable: return "the server offers no TLS (STLS): " + why;
        case pop3::ConnectionEnd::TlsFailed: return "TLS failed: " + why;
        case pop3::ConnectionEnd::AuthFailed: return "login failed: " + why;
        case pop3::ConnectionEnd::Dropped: return "the connection was lost: " + why;
        case pop3::ConnectionEnd::ProtocolError: return "the server's answer made no sense: " + why;
        default: return why;
    }
}

}  // namespace

Result<PopReport> pop_download(const Account& account, Cache& cache, const PopOptions& options) {
    if (!account.pop3) return fail("account '" + account.name + "' has no POP3 server (tern account add --pop3 HOST:PORT)");
    const Endpoint& ep = *account.pop3;
    auto password = account_password(account);
    if (!password) return std::unexpected(password.error());
    if (auto l = cache.lock_for_writing(); !l) return std::unexpected(l.error());
    auto folder = cache.folder(options.folder);
    if (!folder) return std::unexpected(folder.error());

    pop3::Options so;
    so.user = account.user();
    so.password = *password;
    so.use_apop = account.apop;
    so.implicit_tls = ep.tls == Tls::Implicit;
    so.tls_possible = ep.tls != Tls::None;
    so.require_tls = ep.tls == Tls::StartTls;  // asked for STARTTLS: never fall back to clear text
    so.allow_plaintext_password = account.allow_plaintext;

    // Messages being received: msg number -> its cache writer; errors stop the download.
    std::map<std::uint32_t, Cache::Writer> writers;
    std::map<std::uint32_t, std::string> uidl_of;
    std::set<std::uint32_t> committed;
    std::optional<Error> failure;
    PopReport report;
    auto sink = [&](const pop3::Chunk& c) {
        if (failure) return;
        auto it = writers.find(c.msg);
        if (it == writers.end()) {
            auto w = cache.begin(*folder);
            if (!w) {
                failure = w.error();
                return;
            }
            it = writers.emplace(c.msg, std::move(*w)).first;
        }
        if (!c.last) {
            if (auto r = it->second.write(c.data); !r) failure = r.error();
            return;
        }
        NewMessage meta;
        meta.pop_uidl = uidl_of[c.msg];
        auto id = it->second.commit(meta);
        writers.erase(it);
        if (!id) failure = id.error();
        else {
            committed.insert(c.msg);
            ++report.downloaded;
        }
    };
    pop3::Session s(so, sink);

    auto conn = Connection::open(ep, TlsTrust{account.ca_file, account.fingerprint});
    if (!conn) return std::unexpected(conn.error());
    auto mask = [](std::string_view out) { return pop3::mask_secrets(out); };
    auto run = [&] { return drive(s, **conn, options.trace, mask); };

    if (run() == pop3::Session::Next::Close) return fail(end_reason(s));
    report.tls = s.tls_active();
    report.login = method_name(s.login_method());

    // Which messages there are, by UIDL (RFC 1939 §7); LIST when the server has no UIDL.
    auto uidl_id = s.uidl();
    if (run() == pop3::Session::Next::Close) return fail(end_reason(s));
    std::vector<pop3::ListEntry> entries;
    bool have_uidl = false;
    for (auto& o : s.take_outcomes()) {
        if (o.id == uidl_id && o.ok) {
            entries = std::move(o.entries);
            have_uidl = true;
        }
    }
    if (!have_uidl) {
        if (options.keep)
            return fail("the server has no UIDL, so --keep cannot tell downloaded messages from new ones");
        auto list_id = s.list();
        if (run() == pop3::Session::Next::Close) return fail(end_reason(s));
        for (auto& o : s.take_outcomes())
            if (o.id == list_id && o.ok) entries = std::move(o.entries);
    }
    report.on_server = entries.size();

    std::vector<std::uint32_t> to_delete;
    std::vector<std::string> present;
    for (auto& e : entries) {
        if (have_uidl) {
            present.push_back(e.uid);
            auto seen = cache.pop_downloaded(e.uid);
            if (!seen) return std::unexpected(seen.error());
            if (*seen) {
                ++report.skipped;
                if (!options.keep) to_delete.push_back(e.msg);  // downloaded before, DELE failed or was skipped
                continue;
            }
            uidl_of[e.msg] = e.uid;
        }
        s.retr(e.msg);
    }
    if (run() == pop3::Session::Next::Close || failure) {
        if (failure) return fail("saving a message failed, nothing was deleted: " + failure->message);
        return fail(end_reason(s) + " (" + std::to_string(report.downloaded) + " messages saved, nothing deleted)");
    }
    for (auto& o : s.take_outcomes())
        if (o.command == pop3::Command::Retr && !o.ok)
            return fail("RETR " + std::to_string(o.msg) + " failed: " + o.text + " (nothing deleted)");
    if (!options.keep) {
        for (auto m : committed) to_delete.push_back(m);
        for (auto m : to_delete) s.dele(m);
    }
    s.quit();
    run();
    if (!options.keep) {
        if (s.update_confirmed()) {
            report.deleted = to_delete.size();
        } else {
            return fail("the server did not confirm QUIT, so the " + std::to_string(to_delete.size()) +
                        " deletions may not have happened (" + end_reason(s) + "); " +
                        std::to_string(report.downloaded) + " messages were saved and will not be downloaded again");
        }
    }
    // UIDLs of messages no longer on the server can go (keeps the table the maildrop's size); the
    // ones deleted now go next time, once the listing shows the server really dropped them.
    if (have_uidl && s.update_confirmed()) {
        if (auto r = cache.forget_pop_uidls_except(present); !r) return std::unexpected(r.error());
    }
    return report;
}

}  // namespace tern::mua
