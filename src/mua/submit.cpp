// SMTP submission and the outbox (see submit.hpp), driving client/smtp's session over a
// Connection. The trace masks AUTH exchanges: the mechanism is shown, never its data.
#include "mua/submit.hpp"

#include <unistd.h>

#include "client/smtp/session.hpp"
#include "mua/drive.hpp"

namespace tern::mua {

namespace smtp = client::smtp;

namespace {

// Stateful mask for --trace: "AUTH PLAIN <data>" and the SASL lines after it become ****.
struct AuthMask {
    bool in_auth = false;
    std::string operator()(std::string_view out) {
        std::string shown;
        std::size_t i = 0;
        while (i < out.size()) {
            auto nl = out.find('\n', i);
            std::string_view line = out.substr(i, nl == std::string_view::npos ? out.size() - i : nl + 1 - i);
            i += line.size();
            auto verb = [&](std::string_view v) {
                return line.size() >= v.size() && std::equal(v.begin(), v.end(), line.begin(), [](char a, char b) {
                           return (a >= 'a' && a <= 'z' ? a - 32 : a) == (b >= 'a' && b <= 'z' ? b - 32 : b);
                       });
            };
            if (verb("AUTH ")) {
                in_auth = true;
                auto sp = line.find(' ', 5);
                shown += std::string(line.substr(0, sp == std::string_view::npos ? line.find('\r') : sp)) +
                         (sp == std::string_view::npos ? "\r\n" : " ****\r\n");
            } else if (in_auth && !verb("MAIL ") && !verb("QUIT") && !verb("EHLO")) {
                shown += "****\r\n";
            } else {
                in_auth = false;
                shown += line;
            }
        }
        return shown;
    }
};

bool non_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return true;
    return false;
}

std::string describe(const smtp::Status& s) {
    std::string out = std::to_string(s.code);
    if (!s.enhanced.empty()) out += " " + s.enhanced;
    if (!s.text.empty()) out += " " + s.text;
    return out;
}

std::string host_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
    return host;
}

}  // namespace

SubmitOutcome submit(const Account& account, const Envelope& envelope, std::string message, const TraceSink& trace) {
    SubmitOutcome out;
    if (!account.smtp) {
        out.reason = "account '" + account.name + "' has no SMTP server (tern account add --smtp HOST:PORT)";
        return out;
    }
    const Endpoint& ep = *account.smtp;
    auto password = account_password(account);
    if (!password) {
        out.reason = password.error().message;
        return out;
    }
    smtp::Options so;
    so.helo_name = host_name();
    so.implicit_tls = ep.tls == Tls::Implicit;
    so.tls_possible = ep.tls != Tls::None;
    so.require_tls = ep.tls != Tls::None;  // asked for TLS: never fall back to clear text
    so.auth_user = account.user();
    so.auth_password = *password;
    so.auth_without_tls = ep.tls == Tls::None && account.allow_plaintext;
    smtp::Session s(so);
    smtp::Message m;
    m.tag = 1;
    m.sender = envelope.sender;
    m.smtputf8 = non_ascii(envelope.sender);
    for (auto& r : envelope.recipients) {
        m.recipients.push_back({r, "", ""});
        m.smtputf8 = m.smtputf8 || non_ascii(r);
    }
    m.body = base::bytes_from_string(std::move(message));
    s.add(std::move(m));
    s.finish();

    auto conn = Connection::open(ep, TlsTrust{account.ca_file, account.fingerprint});
    if (!conn) {
        out.temporary = true;
        out.reason = conn.error().message;
        return out;
    }
    drive(s, **conn, trace, AuthMask{});
    auto outcomes = s.take_outcomes();
    if (outcomes.empty()) {
        // The connection ended before the transaction did (TLS, AUTH, a drop): nothing was sent.
        auto end = s.end();
        out.temporary = end != smtp::ConnectionEnd::AuthFailed && !s.end_status().permanent();
        out.reason = (end == smtp::ConnectionEnd::AuthFailed ? "login to the SMTP server failed: " : "not sent: ") +
                     describe(s.end_status());
        return out;
    }
    std::size_t accepted = 0, temporary = 0;
    for (auto& r : outcomes.front().recipients) {
        if (r.status.accepted()) ++accepted;
        else {
            if (r.status.temporary()) ++temporary;
            out.refused.push_back(r.address + ": " + describe(r.status));
        }
    }
    out.accepted = accepted > 0;
    out.temporary = accepted == 0 && temporary > 0;
    if (!out.accepted) out.reason = out.refused.empty() ? "not sent" : "refused: " + out.refused.front();
    return out;
}

Result<SendResult> send_or_queue(const Account& account, Cache& cache, const Envelope& envelope,
                                 const std::string& message, const TraceSink& trace) {
    SendResult r;
    r.outcome = submit(account, envelope, message, trace);
    if (r.outcome.accepted) {
        auto special = cache.folder_by_special("\\Sent");  // the server's Sent folder, once synced
        if (!special) return std::unexpected(special.error());
        auto sent = *special ? Result<Folder>(**special) : cache.folder("Sent");
        if (!sent) return std::unexpected(sent.error());
        NewMessage meta;
        meta.flags = "\\Seen";
        auto id = cache.add(*sent, message, meta);
        if (!id) return std::unexpected(id.error());
        r.id = *id;
        return r;
    }
    if (!r.outcome.temporary) return r;  // refused for good: the caller says so and keeps the draft
    auto outbox = cache.folder("Outbox");
    if (!outbox) return std::unexpected(outbox.error());
    NewMessage meta;
    meta.flags = "\\Seen";
    auto id = cache.add(*outbox, message, meta);
    if (!id) return std::unexpected(id.error());
    if (auto q = cache.set_outbox(*id, envelope.sender, envelope.recipients); !q) return std::unexpected(q.error());
    if (auto q = cache.outbox_attempt(*id, r.outcome.reason); !q) return std::unexpected(q.error());
    r.id = *id;
    r.queued = true;
    return r;
}

Result<OutboxReport> flush_outbox(const Account& account, Cache& cache, const TraceSink& trace) {
    OutboxReport report;
    auto entries = cache.outbox();
    if (!entries) return std::unexpected(entries.error());
    auto special = cache.folder_by_special("\\Sent");
    if (!special) return std::unexpected(special.error());
    auto sent = *special ? Result<Folder>(**special) : cache.folder("Sent");
    if (!sent) return std::unexpected(sent.error());
    for (std::size_t i = 0; i < entries->size(); ++i) {
        auto& e = (*entries)[i];
        auto bytes = cache.read(e.id);
        if (!bytes) return std::unexpected(bytes.error());
        auto o = submit(account, Envelope{e.sender, e.recipients}, std::move(*bytes), trace);
        if (o.accepted) {
            if (auto r = cache.move(e.id, *sent); !r) return std::unexpected(r.error());
            ++report.sent;
            for (auto& x : o.refused) report.errors.push_back(x);
            continue;
        }
        if (auto r = cache.outbox_attempt(e.id, o.reason); !r) return std::unexpected(r.error());
        if (o.temporary) {
            report.errors.push_back(o.reason);
            report.left = entries->size() - i;  // no connection: the rest wait for the next sync
            break;
        }
        // Refused for good: moved to Drafts, so the user can see and fix it.
        ++report.refused;
        report.errors.push_back("message " + std::to_string(e.id) + ": " + o.reason);
        auto drafts = cache.folder("Drafts");
        if (!drafts) return std::unexpected(drafts.error());
        if (auto r = cache.move(e.id, *drafts); !r) return std::unexpected(r.error());
    }
    return report;
}

}  // namespace tern::mua
