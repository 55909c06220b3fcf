// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502: all messages or none), UIDPLUS's
// APPENDUID (RFC 4315 §3) and literal8 (RFC 3516 §4.4). Must never store part of a MULTIAPPEND and
// never report a message appended before the store made it durable.
#include <cerrno>

#include <ctime>

#include "base/ascii.hpp"
#include "proto/imap/response.hpp"
#include "session/imap/binary_append.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"
#include "session/imap/summary.hpp"

namespace tern::imap {
namespace {

// Messages are stored with CRLF line ends (RFC 5322 §2.3); clients that send bare LF get them
// converted, as Dovecot does, so RFC822.SIZE and BODY[] agree with what every reader sees.
std::string crlf(std::string data) {
    std::size_t bare = 0;
    for (std::size_t i = 0; i < data.size(); ++i)
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) ++bare;
    if (!bare) return data;
    std::string out;
    out.reserve(data.size() + bare);
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) out += '\r';
        out += data[i];
    }
    return out;
}

}  // namespace

void Session::cmd_append(ParsedCommand& c, std::string& out) {
    auto& a = std::get<AppendArgs>(c.args);
    auto name = mailbox_arg(a.mailbox, c.tag, out);
    if (!name) return;
    std::vector<store::NewMessage> batch;
    batch.reserve(a.messages.size());
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    for (auto& m : a.messages) {
        if (m.data.empty()) return say(out, tagged(c.tag, "NO", "CANNOT", "An empty message cannot be appended"));
        // RFC 6855 §4: UTF8 (literal8) only once UTF8=ACCEPT is enabled.
        if (m.utf8 && !utf8_accept_) return bad(out, c.tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT");
        // RFC 3516 §4.4: a NUL is only allowed inside literal8.
        if (!m.binary && m.data.find('\0') != std::string::npos)
            return say(out, tagged(c.tag, "NO", "CANNOT", "NUL octets need a literal8 (~{n})"));
        for (const auto& f : m.flags)
            if (ascii::to_lower(f) == "\\recent")
                return say(out, tagged(c.tag, "BAD", "", "\\Recent cannot be set"));
        store::NewMessage n;
        n.account = account_;
        n.mailbox = *name;
        // RFC 3516 §4.4: binary parts of a literal8 message are kept base64-encoded (BODY[] may
        // not carry NULs; BINARY[] decodes them back), before line ends are made CRLF, which
        // would otherwise change the binary octets.
        n.data = crlf(m.binary ? encode_binary_parts(m.data) : std::move(m.data));
        n.flags = m.flags;
        n.internal_date = m.date ? m.date->unix_seconds() : now;  // RFC 9051 §6.3.12
        if (config_.summaries) {
            // The message is in memory here: its summary costs a parse now instead of a read and
            // a parse at its first FETCH (summary.hpp).
            if (auto blob = encode_summary(make_summary(n.data)); blob.size() <= kMaxSummaryBytes)
                n.summary = std::move(blob);
        }
        batch.push_back(std::move(n));
    }
    auto r = store_.append(batch);
    if (!r) {
        // RFC 9051 §6.3.12: TRYCREATE when the mailbox does not exist.
        if (r.error().code == ENOENT) return say(out, tagged(c.tag, "NO", "TRYCREATE", "No such mailbox"));
        if (r.error().code == EINVAL) return say(out, tagged(c.tag, "NO", "CANNOT", r.error().message));
        return say(out, store_error(c.tag, r.error(), "APPEND"));
    }
    std::vector<std::uint32_t> uids;
    for (const auto& x : *r) uids.push_back(x.uid);
    const std::uint32_t uidvalidity = r->empty() ? 0 : r->front().uidvalidity;
    sync(out, true);
    if (state_ == State::Logout) return;
    // RFC 4315 §3: APPENDUID uidvalidity uid-set (MULTIAPPEND: the UIDs in order).
    say(out, tagged(c.tag, "OK", "APPENDUID " + std::to_string(uidvalidity) + " " + uid_set(uids), "APPEND completed"));
}

}  // namespace tern::imap
