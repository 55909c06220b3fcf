// IMAP client session (see session.hpp): capabilities, STARTTLS, login choice, ENABLE, the request
// queue with its pipelining rule, the routing of untagged data to requests or the updates queue,
// and literals (synchronizing or not). Must never write a password before TLS unless allowed,
// never act on bytes that arrived before a TLS handshake, and never mark a request done without
// its tagged response.
#include "client/imap/session.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "proto/imap/mutf7.hpp"
#include "proto/imap/sequence.hpp"
#include "proto/sasl/sasl.hpp"
#include "proto/sasl/scram_client.hpp"

namespace tern::client::imap {

namespace {

constexpr std::size_t kMaxQuoted = 1024;
constexpr std::size_t kLiteralMinus = 4096;  // RFC 7888 §4: LITERAL- non-synchronizing bound

bool safe_line(std::string_view s) {  // nothing that could end or split a command line
    return !s.empty() && s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool atom_char(char c) {
    // RFC 9051 §9: ATOM-CHAR = any CHAR except atom-specials ( ) { SP CTL % * " \ ]
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    return std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
}

bool is_atom(std::string_view s) {
    if (s.empty() || s.size() > kMaxQuoted) return false;
    for (char c : s)
        if (!atom_char(c)) return false;
    return upper(s) != "NIL";
}

bool valid_flag(std::string_view f) {
    // flag = "\" atom / keyword (RFC 9051 §9)
    if (f.starts_with('\\')) f.remove_prefix(1);
    return is_atom(f) || f == "*";
}

bool valid_set(std::string_view s) {
    auto r = tern::imap::parse_sequence_set(s);
    return r && !r->saved;
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::vector<std::string> uppers(const std::vector<std::string>& v) {
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& s : v) out.push_back(upper(s));
    return out;
}

std::string flag_list(const std::vector<std::string>& flags) {
    std::string out = "(";
    for (std::size_t i = 0; i < flags.size(); ++i) out += (i ? " " : "") + flags[i];
    return out + ")";
}

}  // namespace

bool Capabilities::has(std::string_view cap) const {
    const std::string u = upper(cap);
    return std::find(list.begin(), list.end(), u) != list.end();
}

// ---- trace masking ---------------------------------------------------------------------------

std::string mask_secrets(std::string_view text) {
    static constexpr std::array<std::string_view, 26> kVerbs = {
        "CAPABILITY", "STARTTLS", "NOOP", "LOGOUT", "ENABLE", "LIST", "LSUB", "STATUS", "SELECT",
        "EXAMINE", "UID", "EXPUNGE", "APPEND", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
        "IDLE", "CLOSE", "UNSELECT", "NAMESPACE", "ID", "FETCH", "STORE", "SEARCH"};
    std::string out;
    bool in_login = false;  // the rest of a LOGIN command after one of its literals
    while (!text.empty()) {
        const auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf == std::string_view::npos ? text.size() : lf + 1);
        text.remove_prefix(line.size());
        std::string_view eol;
        const auto end = line.find_first_of("\r\n");
        if (end != std::string_view::npos) {
            eol = line.substr(end);
            line = line.substr(0, end);
        }
        const auto sp = line.find(' ');
        const auto sp2 = sp == std::string_view::npos ? sp : line.find(' ', sp + 1);
        const std::string verb =
            sp == std::string_view::npos ? "" : upper(line.substr(sp + 1, sp2 == std::string_view::npos ? sp2 : sp2 - sp - 1));
        bool secret_literals = false;
        if (in_login) {
            secret_literals = true;  // what follows a LOGIN literal: more arguments, all hidden
        } else if (verb == "LOGIN") {
            // tag LOGIN user password: the user kept when it is an atom or quoted on this line
            std::string_view rest = sp2 == std::string_view::npos ? "" : line.substr(sp2 + 1);
            std::string kept(line.substr(0, sp2 == std::string_view::npos ? line.size() : sp2));
            if (!rest.empty() && !rest.starts_with('{')) {
                std::size_t user_end = 0;
                if (rest.starts_with('"')) {
                    user_end = 1;
                    while (user_end < rest.size() && rest[user_end] != '"') user_end += rest[user_end] == '\\' ? 2 : 1;
                    user_end = std::min(rest.size(), user_end + 1);
                } else {
                    user_end = std::min(rest.size(), rest.find(' '));
                }
                kept += " " + std::string(rest.substr(0, user_end));
            }
            out += kept + " ****";
            secret_literals = true;
        } else if (verb == "AUTHENTICATE") {
            std::string_view rest = sp2 == std::string_view::npos ? "" : line.substr(sp2 + 1);
            const auto msp = rest.find(' ');
            out += std::string(line.substr(0, sp2)) + " " + std::string(rest.substr(0, msp));
            if (msp != std::string_view::npos) out += " ****";
        } else if (std::find(kVerbs.begin(), kVerbs.end(), verb) != kVerbs.end()) {
            out += line;
        } else if (line.empty() || line == "*" || upper(line) == "DONE") {
            out += line;
        } else {
            out += "****";  // a SASL response, or literal octets sent after a "+"
        }
        out += eol;
        // A literal announced at the end of this line follows at once (non-synchronizing, or the
        // "+" came in between): copied, or hidden when it belongs to LOGIN.
        if (line.ends_with('}')) {
            const auto open = line.rfind('{');
            std::string_view digits = open == std::string_view::npos ? "" : line.substr(open + 1, line.size() - open - 2);
            if (digits.ends_with('+')) digits.remove_suffix(1);
            std::size_t n = 0;
            if (!digits.empty() && digits.size() < 12 &&
                std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
                n = std::stoull(std::string(digits));
            n = std::min(n, text.size());
            if (n > 0 && digits.size() > 0) {
                out += secret_literals ? "****" : std::string(text.substr(0, n));
                text.remove_prefix(n);
            }
            in_login = secret_literals;
        } else {
            in_login = false;
        }
    }
    return out;
}

// ---- construction and requests ------------------------------------------------------------------

Status Session::made_up(std::string text) {
    Status s;
    s.kind = Status::Kind::No;
    s.text = std::move(text);
    return s;
}

Session::Session(Options options, ChunkSink sink)
    : options_(std::move(options)), sink_(std::move(sink)), reader_(options_.limits) {
    tls_active_ = options_.implicit_tls;
    Pending p;
    p.expect = Expect::Greeting;  // RFC 9051 §7.1: the server speaks first
    pending_.push_back(std::move(p));
}

Session::~Session() = default;

bool Session::enabled(std::string_view ext) const {
    return std::find(enabled_.begin(), enabled_.end(), upper(ext)) != enabled_.end();
}

std::uint64_t Session::add(Request r) {
    r.id = next_id_++;
    if (logout_queued_ || end_ != ConnectionEnd::Open) {
        Outcome o;
        o.id = r.id;
        o.command = r.command;
        o.text = logout_queued_ ? "request after LOGOUT" : "connection is over";
        outcomes_.push_back(std::move(o));
        return r.id;
    }
    if (r.command == Command::Logout) logout_queued_ = true;
    r.pipelinable = r.command == Command::Fetch || r.command == Command::Search || r.command == Command::Store;
    const auto id = r.id;
    queue_.push_back(std::move(r));
    return id;
}

bool Session::nonsync(std::uint64_t size) const {
    // RFC 7888 §3/§4: "{n+}" with LITERAL+, or with LITERAL- for up to 4096 octets.
    return caps_.has("LITERAL+") || (caps_.has("LITERAL-") && size <= kLiteralMinus);
}

void Session::put_astring(std::vector<Part>& parts, std::string_view s) const {
    auto put = [&](std::string_view t) {
        if (parts.empty() || parts.back().source) parts.push_back(Part{});
        parts.back().text += t;
    };
    if (is_atom(s)) return put(s);
    const bool eight = enabled("UTF8=ACCEPT");  // RFC 6855 §3: utf8-quoted
    bool quotable = s.size() <= kMaxQuoted;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n' || c == '\0' || (u >= 0x80 && !eight)) quotable = false;
    }
    if (quotable) return put(quote(s));
    // RFC 9051 §4.3: a literal; synchronizing unless LITERAL+/LITERAL- allow otherwise.
    const bool ns = nonsync(s.size());
    put("{" + std::to_string(s.size()) + (ns ? "+" : "") + "}\r\n");
    parts.push_back(Part{std::string(s), !ns, nullptr});
}

bool Session::put_mailbox(std::vector<Part>& parts, std::string_view name, std::string& error) const {
    if (name.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        error = "mailbox name holds CR, LF or NUL";
        return false;
    }
    std::string wire(name);
    if (upper(name) == "INBOX") {
        wire = "INBOX";
    } else if (!enabled("UTF8=ACCEPT")) {
        // RFC 9051 §5.1.3 (RFC 3501 §5.1.3): modified UTF-7 unless UTF8=ACCEPT is on (RFC 6855 §3).
        auto e = tern::imap::mutf7_encode(name);
        if (!e) {
            error = "mailbox name is not valid UTF-8: " + e.error();
            return false;
        }
        wire = std::move(*e);
    }
    put_astring(parts, wire);
    return true;
}

#define TERN_PUT(parts, t)                                                        \
    do {                                                                          \
        if ((parts).empty() || (parts).back().source) (parts).push_back(Part{}); \
        (parts).back().text += (t);                                               \
    } while (0)

std::uint64_t Session::list(std::string_view reference, std::string_view pattern, bool special_use) {
    Request r;
    r.command = Command::List;
    r.build = [this, ref = std::string(reference), pat = std::string(pattern), special_use](std::vector<Part>& p,
                                                                                              std::string& err) {
        TERN_PUT(p, "LIST ");
        if (ref.empty()) TERN_PUT(p, "\"\"");
        else if (!put_mailbox(p, ref, err)) return false;
        TERN_PUT(p, " ");
        if (pat.empty()) TERN_PUT(p, "\"\"");
        else if (!put_mailbox(p, pat, err)) return false;
        // RFC 6154 §5.1: ask for the special-use attributes when the server has them.
        if (special_use && caps_.has("SPECIAL-USE")) TERN_PUT(p, " RETURN (SPECIAL-USE)");
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::status(std::string_view mailbox, std::string_view items) {
    Request r;
    r.command = Command::Status;
    r.build = [this, box = std::string(mailbox), items = std::string(items)](std::vector<Part>& p, std::string& err) {
        if (!safe_line(items) || items.find_first_of("()") != std::string::npos) {
            err = "bad STATUS items";
            return false;
        }
        TERN_PUT(p, "STATUS ");
        if (!put_mailbox(p, box, err)) return false;
        TERN_PUT(p, " (" + items + ")");
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::select(std::string_view mailbox, SelectOptions o) {
    Request r;
    r.command = Command::Select;
    r.mailbox = std::string(mailbox);
    r.build = [this, box = std::string(mailbox), o](std::vector<Part>& p, std::string& err) {
        TERN_PUT(p, "SELECT ");
        if (!put_mailbox(p, box, err)) return false;
        if (o.qresync) {
            // RFC 7162 §3.2.5: only once QRESYNC is enabled.
            if (!enabled("QRESYNC")) {
                err = "QRESYNC is not enabled";
                return false;
            }
            if (o.qresync->uidvalidity == 0 || o.qresync->modseq == 0 ||
                (!o.qresync->known_uids.empty() && !valid_set(o.qresync->known_uids))) {
                err = "bad QRESYNC parameters";
                return false;
            }
            TERN_PUT(p, " (QRESYNC (" + std::to_string(o.qresync->uidvalidity) + " " + std::to_string(o.qresync->modseq) +
                            (o.qresync->known_uids.empty() ? "" : " " + o.qresync->known_uids) + "))");
        } else if (o.condstore) {
            if (!caps_.has("CONDSTORE")) {
                err = "the server has no CONDSTORE";
                return false;
            }
            TERN_PUT(p, " (CONDSTORE)");  // RFC 7162 §3.1.8
        }
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::examine(std::string_view mailbox, SelectOptions o) {
    const auto id = select(mailbox, o);
    for (auto& q : queue_) {
        if (q.id != id) continue;
        q.command = Command::Examine;
        auto inner = std::move(q.build);
        q.build = [inner = std::move(inner)](std::vector<Part>& p, std::string& err) {
            if (!inner(p, err)) return false;
            p.front().text.replace(0, 6, "EXAMINE");
            return true;
        };
    }
    return id;
}

std::uint64_t Session::fetch(std::string_view uids, std::string_view items, FetchOptions o) {
    Request r;
    r.command = Command::Fetch;
    r.build = [this, set = std::string(uids), items = std::string(items), o](std::vector<Part>& p, std::string& err) {
        if (!valid_set(set) || !safe_line(items)) {
            err = "bad UID set or FETCH items";
            return false;
        }
        std::string line = "UID FETCH " + set + " " + items;
        if (o.changed_since) {
            // RFC 7162 §3.1.4.1 CHANGEDSINCE; §3.2.6 VANISHED needs QRESYNC enabled.
            if (o.vanished && !enabled("QRESYNC")) {
                err = "VANISHED needs QRESYNC enabled";
                return false;
            }
            line += " (CHANGEDSINCE " + std::to_string(*o.changed_since) + (o.vanished ? " VANISHED)" : ")");
        }
        TERN_PUT(p, line);
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::search(std::string_view criteria) {
    Request r;
    r.command = Command::Search;
    r.build = [c = std::string(criteria)](std::vector<Part>& p, std::string& err) {
        if (!safe_line(c)) {
            err = "bad SEARCH criteria";
            return false;
        }
        TERN_PUT(p, "UID SEARCH " + c);
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::store(std::string_view uids, StoreOptions o) {
    Request r;
    r.command = Command::Store;
    r.build = [set = std::string(uids), o](std::vector<Part>& p, std::string& err) {
        if (!valid_set(set) || !std::all_of(o.flags.begin(), o.flags.end(), valid_flag)) {
            err = "bad UID set or flag";
            return false;
        }
        std::string line = "UID STORE " + set;
        if (o.unchanged_since) line += " (UNCHANGEDSINCE " + std::to_string(*o.unchanged_since) + ")";  // RFC 7162 §3.1.3
        line += o.mode == StoreMode::Add ? " +FLAGS" : o.mode == StoreMode::Remove ? " -FLAGS" : " FLAGS";
        if (o.silent) line += ".SILENT";
        TERN_PUT(p, line + " " + flag_list(o.flags));
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::copy(std::string_view uids, std::string_view mailbox) {
    Request r;
    r.command = Command::Copy;
    r.build = [this, set = std::string(uids), box = std::string(mailbox)](std::vector<Part>& p, std::string& err) {
        if (!valid_set(set)) {
            err = "bad UID set";
            return false;
        }
        TERN_PUT(p, "UID COPY " + set + " ");
        return put_mailbox(p, box, err);
    };
    return add(std::move(r));
}

std::uint64_t Session::move(std::string_view uids, std::string_view mailbox) {
    Request r;
    r.command = Command::Move;
    r.uids = std::string(uids);
    r.dest = std::string(mailbox);
    r.build = [this, set = std::string(uids), box = std::string(mailbox)](std::vector<Part>& p, std::string& err) {
        if (!valid_set(set)) {
            err = "bad UID set";
            return false;
        }
        // RFC 6851 §3.2 UID MOVE; without MOVE: UID COPY first (the rest in finish()).
        TERN_PUT(p, (caps_.has("MOVE") ? "UID MOVE " : "UID COPY ") + set + " ");
        return put_mailbox(p, box, err);
    };
    return add(std::move(r));
}

std::uint64_t Session::uid_expunge(std::string_view uids) {
    Request r;
    r.command = Command::UidExpunge;
    r.build = [this, set = std::string(uids)](std::vector<Part>& p, std::string& err) {
        if (!caps_.has("UIDPLUS")) {  // RFC 4315 §2.1
            err = "the server has no UIDPLUS (UID EXPUNGE)";
            return false;
        }
        if (!valid_set(set)) {
            err = "bad UID set";
            return false;
        }
        TERN_PUT(p, "UID EXPUNGE " + set);
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::expunge() {
    Request r;
    r.command = Command::Expunge;
    r.build = [](std::vector<Part>& p, std::string&) {
        TERN_PUT(p, "EXPUNGE");
        return true;
    };
    return add(std::move(r));
}

std::uint64_t Session::append(std::string_view mailbox, base::ByteSourceRef message, AppendOptions o) {
    Request r;
    r.command = Command::Append;
    r.build = [this, box = std::string(mailbox), message, o](std::vector<Part>& p, std::string& err) {
        if (!message || !std::all_of(o.flags.begin(), o.flags.end(), valid_flag) ||
            (!o.date.empty() && (o.date.size() > 64 || o.date.find_first_of("\"\\\r\n") != std::string::npos))) {
            err = "bad APPEND arguments";
            return false;
        }
        TERN_PUT(p, "APPEND ");
        if (!put_mailbox(p, box, err)) return false;
        if (!o.flags.empty()) TERN_PUT(p, " " + flag_list(o.flags));
        if (!o.date.empty()) TERN_PUT(p, " \"" + o.date + "\"");
        // RFC 9051 §6.3.12: the message is a literal; sent in chunks from the source.
        const std::uint64_t size = message->size();
        const bool ns = nonsync(size);
        TERN_PUT(p, " {" + std::to_string(size) + (ns ? "+" : "") + "}\r\n");
        p.push_back(Part{"", !ns, message});
        return true;
    };
    return add(std::move(r));
}

#define TERN_MAILBOX_COMMAND(fn, cmd, verb)                                                       \
    std::uint64_t Session::fn(std::string_view mailbox) {                                         \
        Request r;                                                                                \
        r.command = cmd;                                                                          \
        r.build = [this, box = std::string(mailbox)](std::vector<Part>& p, std::string& err) {    \
            TERN_PUT(p, verb " ");                                                                \
            return put_mailbox(p, box, err);                                                      \
        };                                                                                        \
        return add(std::move(r));                                                                 \
    }
TERN_MAILBOX_COMMAND(create, Command::Create, "CREATE")
TERN_MAILBOX_COMMAND(remove, Command::Delete, "DELETE")
TERN_MAILBOX_COMMAND(subscribe, Command::Subscribe, "SUBSCRIBE")
TERN_MAILBOX_COMMAND(unsubscribe, Command::Unsubscribe, "UNSUBSCRIBE")
#undef TERN_MAILBOX_COMMAND

std::uint64_t Session::rename(std::string_view from, std::string_view to) {
    Request r;
    r.command = Command::Rename;
    r.build = [this, a = std::string(from), b = std::string(to)](std::vector<Part>& p, std::string& err) {
        TERN_PUT(p, "RENAME ");
        if (!put_mailbox(p, a, err)) return false;
        TERN_PUT(p, " ");
        return put_mailbox(p, b, err);
    };
    return add(std::move(r));
}

#define TERN_BARE_COMMAND(fn, cmd, verb)                       \
    std::uint64_t Session::fn() {                              \
        Request r;                                             \
        r.command = cmd;                                       \
        r.build = [](std::vector<Part>& p, std::string&) {     \
            TERN_PUT(p, verb);                                 \
            return true;                                       \
        };                                                     \
        return add(std::move(r));                              \
    }
TERN_BARE_COMMAND(noop, Command::Noop, "NOOP")
TERN_BARE_COMMAND(logout, Command::Logout, "LOGOUT")
#undef TERN_BARE_COMMAND

std::uint64_t Session::idle() {
    Request r;
    r.command = Command::Idle;
    r.build = [this](std::vector<Part>& p, std::string& err) {
        if (!caps_.has("IDLE")) {  // RFC 2177 §3
            err = "the server has no IDLE";
            return false;
        }
        TERN_PUT(p, "IDLE");
        return true;
    };
    return add(std::move(r));
}

void Session::done() {
    const auto is_idle = [](const auto& x) { return x.command == Command::Idle; };
    bool idle_asked = std::any_of(queue_.begin(), queue_.end(), is_idle);
    for (const auto& p : pending_) idle_asked |= p.expect == Expect::Request && is_idle(p.request);
    if (!idle_asked) return;  // no IDLE to end: a later one must not end at once
    done_wanted_ = true;
    if (idling_) {
        deferred_ += "DONE\r\n";  // RFC 2177 §3
        idling_ = false;
    }
}

// ---- the engine ---------------------------------------------------------------------------------

void Session::receive(std::string_view bytes) {
    // RFC 9051 §6.2.1: nothing received between STARTTLS's OK and the handshake is used.
    if (waiting_tls_ || tls_due_ || end_ != ConnectionEnd::Open) return;
    reader_.feed(bytes);
}

Session::Action Session::advance() {
    budget_ = std::max<std::size_t>(1, options_.write_chunk);
    std::string out = std::exchange(deferred_, {});
    // Everything already received is handled before new requests go out: bytes that arrived
    // before a command was sent are never taken for part of its answer.
    for (;;) {
        while (end_ == ConnectionEnd::Open && !tls_due_ && step(out)) {
        }
        if (end_ != ConnectionEnd::Open || tls_due_) break;
        const std::size_t before = pending_.size();
        if (sending_ && !sending_->waiting) pump(out);
        if (ready_ && end_ == ConnectionEnd::Open) send_requests(out);
        if (pending_.size() == before || reader_.buffered() == 0) break;
    }
    out += std::exchange(deferred_, {});
    if (end_ != ConnectionEnd::Open) return {std::move(out), Next::Close};
    if (tls_due_) {
        tls_due_ = false;
        waiting_tls_ = true;
        return {std::move(out), Next::StartTls};
    }
    if (sending_ && !sending_->waiting) return {std::move(out), Next::Write};
    if (ready_ && pending_.empty() && queue_.empty()) return {std::move(out), Next::Idle};
    return {std::move(out), Next::Read};
}

void Session::tls_started() {
    if (!waiting_tls_) return;
    waiting_tls_ = false;
    tls_active_ = true;
    // RFC 9051 §6.2.1: discard what was buffered and the cached capabilities; ask again.
    reader_.discard();
    caps_ = Capabilities{};
    send_line(deferred_, Expect::Capability, "CAPABILITY");
}

void Session::tls_failed(std::string_view why) {
    waiting_tls_ = false;
    end_with(ConnectionEnd::TlsFailed, made_up("TLS handshake failed: " + std::string(why)));
}

void Session::connection_lost(std::string_view why) {
    end_with(ConnectionEnd::Dropped, made_up("connection lost: " + std::string(why)));
}

std::vector<Outcome> Session::take_outcomes() { return std::exchange(outcomes_, {}); }
std::vector<Update> Session::take_updates() { return std::exchange(updates_, {}); }

Session::Pending* Session::front_request() {
    if (pending_.empty() || pending_.front().expect != Expect::Request) return nullptr;
    return &pending_.front();
}

bool Session::step(std::string& out) {
    if (waiting_tls_) return false;
    Response r;
    BodyChunk bc;
    const auto res = reader_.next(r, bc);
    if (res == ResponseReader::Result::Incomplete) return false;
    if (res == ResponseReader::Result::Error) {
        end_with(ConnectionEnd::ProtocolError, made_up(reader_.error()));
        return false;
    }
    if (res == ResponseReader::Result::Chunk) {
        Pending* p = front_request();
        const bool mine = p && p->request.command == Command::Fetch;
        if (mine) p->outcome.octets += bc.data.size();
        if (sink_) sink_(Chunk{mine ? p->request.id : 0, bc.seq, bc.uid, bc.section, bc.offset, bc.size, bc.data, false});
        return true;
    }
    dispatch(r, out);
    return true;
}

void Session::dispatch(Response& r, std::string& out) {
    using K = Response::Kind;
    Pending* p = front_request();
    const Command cmd = p ? p->request.command : Command::Noop;
    const bool selecting = p && (cmd == Command::Select || cmd == Command::Examine) && !p->request.old_open;
    auto too_many = [&](std::size_t n) {
        if (n < options_.max_results) return false;
        end_with(ConnectionEnd::ProtocolError, made_up("more results than max_results"));
        return true;
    };
    switch (r.kind) {
        case K::Continuation: return on_continuation(r.text, out);
        case K::Status:
            if (!r.status.tag.empty()) return on_tagged(r.status, out);
            return on_untagged_status(r.status, out);
        case K::Capability:
            caps_.known = true;
            caps_.list = uppers(r.atoms);
            return;
        case K::Enabled:
            for (auto& a : r.atoms) {
                auto u = upper(a);
                if (!enabled(u)) enabled_.push_back(u);
                if (u == "UTF8=ACCEPT") reader_.set_utf8(true);  // RFC 6855 §3: names in UTF-8 from now
            }
            return;
        case K::Flags:
            if (selecting) p->outcome.mailbox->flags = std::move(r.atoms);
            else if (!too_many(updates_.size())) updates_.push_back(Update{Update::Kind::Flags, 0, {}, {}, std::move(r.atoms), {}});
            return;
        case K::List:
            if (p && cmd == Command::List && !too_many(p->outcome.list.size())) p->outcome.list.push_back(std::move(r.list));
            return;
        case K::MailboxStatus:
            if (p && cmd == Command::Status) p->outcome.mailbox_status = std::move(r.mailbox_status);
            return;
        case K::Exists:
            if (selecting) p->outcome.mailbox->exists = r.number;
            else if (!too_many(updates_.size())) updates_.push_back(Update{Update::Kind::Exists, r.number, {}, {}, {}, {}});
            return;
        case K::Recent:
        case K::Other: return;
        case K::Expunge:
            if (!too_many(updates_.size())) updates_.push_back(Update{Update::Kind::Expunge, r.number, {}, {}, {}, {}});
            return;
        case K::Vanished:
            // RFC 7162 §3.2.10: VANISHED (EARLIER) answers SELECT (QRESYNC) or UID FETCH (VANISHED);
            // without EARLIER it reports expunges now, like EXPUNGE.
            if (r.earlier && selecting) p->outcome.mailbox->vanished.push_back(std::move(r.set));
            else if (r.earlier && p && cmd == Command::Fetch) p->outcome.vanished.push_back(std::move(r.set));
            else if (!too_many(updates_.size())) updates_.push_back(Update{Update::Kind::Vanished, 0, std::move(r.set), {}, {}, {}});
            return;
        case K::Search:
            if (p && cmd == Command::Search) {
                if (too_many(p->outcome.uids.size() + r.numbers.size())) return;
                p->outcome.uids.insert(p->outcome.uids.end(), r.numbers.begin(), r.numbers.end());
                if (r.modseq) p->outcome.modseq = r.modseq;
            }
            return;
        case K::ESearch: {
            Pending* target = nullptr;
            for (auto& q : pending_)
                if (q.expect == Expect::Request && q.request.command == Command::Search &&
                    (r.esearch.tag.empty() ? &q == p : q.tag == r.esearch.tag))
                    target = &q;
            if (!target) return;
            target->outcome.uid_set = r.esearch.all ? std::move(*r.esearch.all) : SequenceSet{};
            if (r.esearch.modseq) target->outcome.modseq = r.esearch.modseq;
            return;
        }
        case K::Fetch: return on_fetch(r.fetch);
    }
}

void Session::on_fetch(FetchData& f) {
    Pending* p = front_request();
    const Command cmd = p ? p->request.command : Command::Noop;
    const bool mine = p && cmd == Command::Fetch;
    std::size_t k = 0;
    for (const auto& b : f.bodies) {
        if (b.nil) continue;
        Chunk c{mine ? p->request.id : 0, f.seq, f.uid.value_or(0), b.section, 0, b.size, {}, false};
        if (!b.streamed && k < f.body_data.size()) {
            c.data = f.body_data[k++];
            if (mine) p->outcome.octets += c.data.size();
            if (sink_ && !c.data.empty()) sink_(c);
            c.data = {};
        }
        c.offset = b.size;
        c.last = true;
        if (sink_) sink_(c);
    }
    f.body_data.clear();  // never kept: the sink has them
    std::vector<FetchData>* into = nullptr;
    if (p && (cmd == Command::Select || cmd == Command::Examine) && !p->request.old_open)
        into = &p->outcome.mailbox->changed;
    else if (p && (cmd == Command::Fetch || cmd == Command::Store)) into = &p->outcome.fetched;
    if (into) {
        if (into->size() >= options_.max_results) {
            return end_with(ConnectionEnd::ProtocolError, made_up("more FETCH replies than max_results"));
        }
        into->push_back(std::move(f));
        return;
    }
    // RFC 9051 §7.5.2: a FETCH nobody asked for reports a change (flags, modseq) of the mailbox.
    if (updates_.size() >= options_.max_results) return end_with(ConnectionEnd::ProtocolError, made_up("too many updates"));
    Update u;
    u.kind = Update::Kind::Fetch;
    u.number = f.seq;
    u.fetch = std::move(f);
    updates_.push_back(std::move(u));
}

void Session::on_untagged_status(const Status& s, std::string& out) {
    if (!pending_.empty() && pending_.front().expect == Expect::Greeting) return on_greeting(s, out);
    if (s.kind == Status::Kind::Bye) {
        // RFC 9051 §7.1.5: expected as LOGOUT's answer; otherwise the server is closing.
        for (const auto& p : pending_)
            if (p.expect == Expect::Request && p.request.command == Command::Logout) return;
        return end_with(ConnectionEnd::Bye, s);
    }
    if (s.kind == Status::Kind::Preauth) return end_with(ConnectionEnd::ProtocolError, made_up("PREAUTH after the greeting"));
    const Code& c = s.code;
    if (c.name == "CAPABILITY") {
        caps_.known = true;
        caps_.list = uppers(c.list);
    }
    if (c.name == "ALERT" && updates_.size() < options_.max_results)  // RFC 9051 §7.1: shown to the user
        updates_.push_back(Update{Update::Kind::Alert, 0, {}, {}, {}, s.text});
    Pending* p = front_request();
    if (!p) return;
    const Command cmd = p->request.command;
    if ((cmd == Command::Select || cmd == Command::Examine) && c.name == "CLOSED") p->request.old_open = false;
    if ((cmd == Command::Select || cmd == Command::Examine) && s.kind == Status::Kind::Ok && !p->request.old_open) {
        // RFC 9051 §6.3.2 / RFC 7162 §3.1.2: the untagged OKs of SELECT carry the mailbox state.
        auto& m = *p->outcome.mailbox;
        if (c.name == "UIDVALIDITY" && c.number <= 0xffffffffu) m.uidvalidity = static_cast<std::uint32_t>(c.number);
        else if (c.name == "UIDNEXT" && c.number <= 0xffffffffu) m.uidnext = static_cast<std::uint32_t>(c.number);
        else if (c.name == "UNSEEN" && c.number <= 0xffffffffu) m.unseen = static_cast<std::uint32_t>(c.number);
        else if (c.name == "HIGHESTMODSEQ") m.highestmodseq = c.number;
        else if (c.name == "NOMODSEQ") m.nomodseq = true;
        else if (c.name == "PERMANENTFLAGS") m.permanent_flags = c.list;
    }
    if (c.name == "COPYUID" && (cmd == Command::Move || cmd == Command::Copy)) p->outcome.copyuid = c;  // RFC 6851 §4.3
}

void Session::on_continuation(const std::string& text, std::string& out) {
    if (sending_ && sending_->waiting) {
        // RFC 9051 §7.5: the server is ready for the literal.
        sending_->waiting = false;
        sending_->got_plus = true;
        pump(out);
        return;
    }
    if (!pending_.empty() && pending_.back().expect == Expect::Login &&
        (used_method_ == LoginMethod::Scram || used_method_ == LoginMethod::Plain))
        return auth_step(text, out);
    for (auto& p : pending_) {
        if (p.expect == Expect::Request && p.request.command == Command::Idle && !idle_started_) {
            // RFC 2177 §3: idling until DONE; one "+" per IDLE.
            idle_started_ = true;
            idling_ = true;
            if (done_wanted_ || !queue_.empty()) {
                out += "DONE\r\n";
                idling_ = false;
                done_wanted_ = true;
            }
            return;
        }
    }
    end_with(ConnectionEnd::ProtocolError, made_up("unexpected continuation request"));
}

void Session::on_tagged(const Status& s, std::string& out) {
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.tag == s.tag; });
    if (it == pending_.end()) return end_with(ConnectionEnd::ProtocolError, made_up("tagged response to no command"));
    if (sending_ && sending_->tag == s.tag) {
        if (!sending_->waiting) {
            // The command ended while its non-synchronizing literal is still going out: the server
            // must read it whole (RFC 7888 §3), so the rest is sent before anything else.
        } else {
            sending_.reset();
        }
    }
    Pending p = std::move(*it);
    pending_.erase(it);
    switch (p.expect) {
        case Expect::Greeting: return end_with(ConnectionEnd::ProtocolError, made_up("tagged response before the greeting"));
        case Expect::Capability:
            caps_.known = true;
            return after_capability(out);
        case Expect::StartTls:
            if (s.kind == Status::Kind::Ok) {
                tls_due_ = true;
                return;
            }
            if (options_.require_tls) return end_with(ConnectionEnd::TlsUnavailable, s);
            return login(out);
        case Expect::Login: return after_login(s, out);
        case Expect::Enable:
            ready_ = true;
            return;
        case Expect::Request: return finish(p, s, out);
    }
}

void Session::on_greeting(const Status& s, std::string& out) {
    pending_.pop_front();
    // RFC 9051 §7.1.1 (OK), §7.1.4 (PREAUTH), §7.1.5 (BYE).
    if (s.kind == Status::Kind::Bye) return end_with(ConnectionEnd::GreetingRefused, s);
    if (s.kind != Status::Kind::Ok && s.kind != Status::Kind::Preauth)
        return end_with(ConnectionEnd::ProtocolError, made_up("greeting is not OK, PREAUTH or BYE"));
    if (s.code.name == "CAPABILITY") {
        caps_.known = true;
        caps_.list = uppers(s.code.list);
    }
    if (s.kind == Status::Kind::Preauth) {
        // RFC 9051 §6.2.1: a client that needs TLS must not go on with PREAUTH in clear text.
        if (!tls_active_ && options_.require_tls)
            return end_with(ConnectionEnd::TlsUnavailable, made_up("PREAUTH without TLS"));
        authenticated_ = true;
    }
    if (!caps_.known) return send_line(out, Expect::Capability, "CAPABILITY");
    after_capability(out);
}

void Session::after_capability(std::string& out) {
    if (authenticated_) return enable(out);
    if (!tls_active_) {
        if (caps_.has("STARTTLS") && options_.tls_possible) return send_line(out, Expect::StartTls, "STARTTLS");
        if (options_.require_tls)
            return end_with(ConnectionEnd::TlsUnavailable, made_up("TLS required but the server offers no STARTTLS"));
    }
    login(out);
}

void Session::login(std::string& out) {
    const auto bad = std::string_view("\r\n\0", 3);
    if (options_.user.empty() || options_.user.find_first_of(bad) != std::string::npos ||
        options_.password.find_first_of(bad) != std::string::npos)
        return end_with(ConnectionEnd::AuthFailed, made_up("user name or password unusable in a command"));
    const bool clear_ok = tls_active_ || options_.allow_plaintext_password;  // RFC 9051 §11.1
    const bool login_ok = !caps_.has("LOGINDISABLED");                      // RFC 9051 §6.2.3
    LoginMethod m = options_.method;
    if (m == LoginMethod::Auto) {
        if (caps_.auth("SCRAM-SHA-256")) m = LoginMethod::Scram;
        else if (caps_.auth("PLAIN") && clear_ok) m = LoginMethod::Plain;
        else if (login_ok && clear_ok) m = LoginMethod::Login;
        else if (!clear_ok && (login_ok || caps_.auth("PLAIN")))
            return end_with(ConnectionEnd::AuthFailed, made_up("refusing to send the password without TLS"));
        else return end_with(ConnectionEnd::AuthFailed, made_up("no login method in common with the server"));
    }
    if ((m == LoginMethod::Plain || m == LoginMethod::Login) && !clear_ok)
        return end_with(ConnectionEnd::AuthFailed, made_up("refusing to send the password without TLS"));
    if (m == LoginMethod::Login && !login_ok)
        return end_with(ConnectionEnd::AuthFailed, made_up("the server disabled LOGIN (LOGINDISABLED)"));
    used_method_ = m;
    const bool ir = caps_.has("SASL-IR");  // RFC 4959 §3
    switch (m) {
        case LoginMethod::Scram: {
            scram_ = std::make_unique<sasl::ScramClient>(options_.user, options_.password, options_.scram_nonce);
            auto first = scram_->first();
            if (!first) return end_with(ConnectionEnd::AuthFailed, made_up(first.error().message));
            if (ir) return send_line(out, Expect::Login, "AUTHENTICATE SCRAM-SHA-256 " + sasl::base64_encode(*first));
            sasl_initial_ = sasl::base64_encode(*first);
            return send_line(out, Expect::Login, "AUTHENTICATE SCRAM-SHA-256");
        }
        case LoginMethod::Plain: {
            // RFC 4616 §2: [authzid] NUL authcid NUL passwd
            std::string msg = sasl::base64_encode(std::string("\0", 1) + options_.user + std::string("\0", 1) + options_.password);
            if (ir) return send_line(out, Expect::Login, "AUTHENTICATE PLAIN " + msg);
            sasl_initial_ = std::move(msg);
            return send_line(out, Expect::Login, "AUTHENTICATE PLAIN");
        }
        case LoginMethod::Login:
        case LoginMethod::Auto: {
            std::vector<Part> parts{Part{"LOGIN ", false, nullptr}};
            put_astring(parts, options_.user);
            TERN_PUT(parts, " ");
            put_astring(parts, options_.password);
            return send(out, Expect::Login, std::move(parts));
        }
    }
}

void Session::auth_step(const std::string& text, std::string& out) {
    // RFC 9051 §6.2.2: each "+" carries a base64 challenge; "*" cancels the exchange.
    auto cancel = [&](std::string why) {
        if (auth_error_.empty()) auth_error_ = std::move(why);
        out += "*\r\n";
    };
    if (!auth_error_.empty()) return cancel(auth_error_);
    if (!sasl_initial_.empty()) {
        if (!text.empty()) return cancel("non-empty challenge before the initial response");
        out += std::exchange(sasl_initial_, {}) + "\r\n";
        return;
    }
    if (used_method_ != LoginMethod::Scram || !scram_) return cancel("unexpected SASL challenge");
    auto data = sasl::base64_decode(text);
    if (!data) return cancel("SASL challenge is not base64");
    if (!scram_sent_final_) {
        auto fin = scram_->final(*data);
        if (!fin) return cancel(fin.error().message);
        scram_sent_final_ = true;
        out += sasl::base64_encode(*fin) + "\r\n";
        return;
    }
    if (sasl_done_) return cancel("unexpected SASL challenge after the server's proof");
    auto v = scram_->verify(*data);
    if (!v) return cancel(v.error().message);
    sasl_done_ = true;
    out += "\r\n";  // RFC 4422 §5: an empty response acknowledges the success data
}

void Session::after_login(const Status& s, std::string& out) {
    if (s.kind != Status::Kind::Ok) {
        if (!auth_error_.empty()) return end_with(ConnectionEnd::AuthFailed, made_up(auth_error_));
        return end_with(ConnectionEnd::AuthFailed, s);
    }
    // RFC 5802 §5: the server must prove it knows the password too.
    if (used_method_ == LoginMethod::Scram && !sasl_done_)
        return end_with(ConnectionEnd::AuthFailed, made_up("SCRAM: the server did not prove its identity"));
    authenticated_ = true;
    scram_.reset();
    // RFC 9051 §6.2.2/§6.2.3: capabilities may change at login; the OK may carry them.
    if (s.code.name == "CAPABILITY") {
        caps_.known = true;
        caps_.list = uppers(s.code.list);
        return enable(out);
    }
    caps_ = Capabilities{};
    send_line(out, Expect::Capability, "CAPABILITY");
}

void Session::enable(std::string& out) {
    std::string exts;
    // RFC 7162 §3.2.3 (QRESYNC implies CONDSTORE), §3.1; RFC 6855 §3.
    if (options_.enable_condstore && caps_.has("CONDSTORE")) exts += " CONDSTORE";
    if (options_.enable_qresync && caps_.has("QRESYNC")) exts += " QRESYNC";
    if (options_.enable_utf8 && caps_.has("UTF8=ACCEPT")) exts += " UTF8=ACCEPT";
    if (exts.empty() || !caps_.has("ENABLE")) {
        ready_ = true;
        return;
    }
    send_line(out, Expect::Enable, "ENABLE" + exts);
}

void Session::finish(Pending& p, const Status& s, std::string& out) {
    Outcome& o = p.outcome;
    const bool ok = s.kind == Status::Kind::Ok;
    o.ok = ok;
    o.from_server = true;
    o.status = s.kind;
    o.code = s.code;
    o.text = s.text;
    switch (p.request.command) {
        case Command::Select:
        case Command::Examine:
            // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
            if (ok) {
                selected_ = p.request.mailbox;
                // RFC 7162 §3.1.2.1: the tagged OK may carry HIGHESTMODSEQ too.
                if (s.code.name == "HIGHESTMODSEQ") o.mailbox->highestmodseq = s.code.number;
                o.mailbox->read_only = s.code.name == "READ-ONLY" ||
                                       (p.request.command == Command::Examine && s.code.name != "READ-WRITE");
            } else {
                selected_.reset();
                o.mailbox.reset();
            }
            break;
        case Command::Store:
            if (s.code.name == "MODIFIED") o.modified = s.code.set;  // RFC 7162 §3.1.3
            break;
        case Command::Copy:
            if (s.code.name == "COPYUID") o.copyuid = s.code;
            break;
        case Command::Append:
            if (s.code.name == "APPENDUID") o.appenduid = s.code;  // RFC 4315 §3
            break;
        case Command::Idle:
            idling_ = false;
            idle_started_ = false;
            done_wanted_ = false;
            break;
        case Command::Move:
            if (s.code.name == "COPYUID") o.copyuid = s.code;
            if (!caps_.has("MOVE") || p.request.step > 0) {
                // RFC 6851 §3.3's fallback: UID COPY, UID STORE +FLAGS.SILENT (\Deleted), then UID
                // EXPUNGE of just those UIDs when UIDPLUS allows (never a plain EXPUNGE).
                o.move_emulated = true;
                Request next = std::move(p.request);
                if (ok && next.step == 0) {
                    next.step = 1;
                    std::vector<Part> parts{Part{"UID STORE " + next.uids + " +FLAGS.SILENT (\\Deleted)", false, nullptr}};
                    return send(out, Expect::Request, std::move(parts), std::move(next), std::move(o));
                }
                if (ok && next.step == 1 && caps_.has("UIDPLUS")) {
                    next.step = 2;
                    std::vector<Part> parts{Part{"UID EXPUNGE " + next.uids, false, nullptr}};
                    return send(out, Expect::Request, std::move(parts), std::move(next), std::move(o));
                }
                if (ok && next.step == 1) o.text = "copied and flagged \\Deleted; not expunged (no UIDPLUS)";
                if (!ok && next.step == 1) o.text = "copied, but flagging the originals failed: " + s.text;
                if (next.step == 2) {
                    o.move_expunged = ok;
                    if (!ok) o.text = "copied and flagged \\Deleted, but UID EXPUNGE failed: " + s.text;
                }
            } else {
                o.move_expunged = ok;
            }
            break;
        default: break;
    }
    const bool logout = p.request.command == Command::Logout;
    outcomes_.push_back(std::move(o));
    if (logout) end_with(ConnectionEnd::Logout, s);
}

void Session::send(std::string& out, Expect e, std::vector<Part> parts, Request r, Outcome o) {
    Pending p;
    p.expect = e;
    p.tag = "A" + std::to_string(next_tag_++);
    if (parts.empty()) parts.push_back(Part{});
    parts.front().text.insert(0, p.tag + " ");
    if (parts.back().source) parts.push_back(Part{});
    parts.back().text += "\r\n";
    p.request = std::move(r);
    p.outcome = std::move(o);
    sending_ = Sending{p.tag, std::move(parts), 0, 0, false, false, false};
    pending_.push_back(std::move(p));
    pump(out);
}

void Session::send(std::string& out, Expect e, std::vector<Part> parts) {
    send(out, e, std::move(parts), Request{}, Outcome{});
}

void Session::send_line(std::string& out, Expect e, std::string line) {
    std::vector<Part> parts;
    parts.push_back(Part{std::move(line), false, nullptr});
    send(out, e, std::move(parts));
}

bool Session::pump(std::string& out) {
    while (sending_) {
        Sending& s = *sending_;
        if (s.index >= s.parts.size()) {
            sending_.reset();
            return true;
        }
        Part& part = s.parts[s.index];
        if (part.wait && !s.got_plus) {
            s.waiting = true;  // RFC 9051 §4.3: a synchronizing literal waits for "+"
            return false;
        }
        if (!s.text_done) {
            out += part.text;
            s.text_done = true;
        }
        if (part.source) {
            const std::uint64_t size = part.source->size();
            std::string buf;
            while (s.offset < size) {
                if (budget_ == 0) return false;
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size - s.offset, budget_));
                buf.resize(n);
                auto got = part.source->read(s.offset, std::span<char>(buf.data(), n));
                if (!got || *got == 0) {
                    // Mid-literal: the only way out is to drop the connection.
                    end_with(ConnectionEnd::ProtocolError,
                             made_up("APPEND source read failed: " + (got ? std::string("short read") : got.error().message)));
                    return false;
                }
                out.append(buf.data(), *got);
                s.offset += *got;
                budget_ -= *got;
                for (auto& q : pending_)
                    if (q.tag == s.tag) q.outcome.octets += *got;
            }
        }
        ++s.index;
        s.offset = 0;
        s.text_done = false;
        s.got_plus = false;
    }
    return true;
}

void Session::send_requests(std::string& out) {
    if (idling_ && !queue_.empty()) done();  // RFC 2177 §3: leave IDLE for the next request
    out += std::exchange(deferred_, {});
    while (!queue_.empty() && !sending_ && end_ == ConnectionEnd::Open) {
        Request& r = queue_.front();
        if (!pending_.empty()) {
            // RFC 9051 §5.5: only UID FETCH/STORE/SEARCH go together, in the selected state, up
            // to the window; everything else waits for the connection to be quiet.
            const bool all = std::all_of(pending_.begin(), pending_.end(), [](const Pending& q) {
                return q.expect == Expect::Request && q.request.pipelinable;
            });
            if (!(r.pipelinable && selected_ && all && pending_.size() < std::max<std::size_t>(1, options_.pipeline_window)))
                break;
        }
        Request req = std::move(r);
        queue_.pop_front();
        send_request(out, std::move(req));
    }
}

void Session::send_request(std::string& out, Request r) {
    Outcome o;
    o.id = r.id;
    o.command = r.command;
    std::string err;
    std::vector<Part> parts;
    const bool needs_mailbox = r.command == Command::Fetch || r.command == Command::Search ||
                               r.command == Command::Store || r.command == Command::Copy ||
                               r.command == Command::Move || r.command == Command::UidExpunge ||
                               r.command == Command::Expunge;
    if (needs_mailbox && !selected_) err = "no mailbox selected";
    else if (!r.build(parts, err) && err.empty()) err = "refused";
    if (!err.empty()) {
        o.text = std::move(err);
        outcomes_.push_back(std::move(o));
        return;
    }
    if (r.command == Command::Select || r.command == Command::Examine) {
        o.mailbox = MailboxState{};
        o.mailbox->name = r.mailbox;
        o.mailbox->read_only = r.command == Command::Examine;
        r.old_open = selected_.has_value() && enabled("QRESYNC");
        selected_.reset();  // RFC 9051 §6.3.2: SELECT deselects the current mailbox first
    }
    send(out, Expect::Request, std::move(parts), std::move(r), std::move(o));
}

void Session::end_with(ConnectionEnd e, Status why) {
    if (end_ != ConnectionEnd::Open) return;
    end_ = e;
    end_status_ = why;
    scram_.reset();
    sending_.reset();
    idling_ = false;
    // A refused login or missing TLS still ends politely (RFC 9051 §6.1.3).
    if (e == ConnectionEnd::AuthFailed || e == ConnectionEnd::TlsUnavailable)
        deferred_ += "A" + std::to_string(next_tag_++) + " LOGOUT\r\n";
    for (auto& p : pending_) {
        if (p.expect != Expect::Request) continue;
        p.outcome.ok = false;
        p.outcome.from_server = false;
        p.outcome.code = why.code;
        p.outcome.text = why.text;
        outcomes_.push_back(std::move(p.outcome));
    }
    pending_.clear();
    for (auto& r : queue_) {
        Outcome o;
        o.id = r.id;
        o.command = r.command;
        o.code = why.code;
        o.text = why.text;
        outcomes_.push_back(std::move(o));
    }
    queue_.clear();
}

}  // namespace tern::client::imap
