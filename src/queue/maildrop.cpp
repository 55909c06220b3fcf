// The maildrop file format and the pure preparation of a local submission (see maildrop.hpp).
// Must never copy a line end from envelope text into a header, nor accept an unbounded envelope.
#include "queue/maildrop.hpp"

#include <cerrno>
#include <charconv>
#include <set>

#include "mime/address.hpp"
#include "mime/header.hpp"
#include "proto/message/date.hpp"
#include "proto/sasl/sasl.hpp"
#include "proto/smtp/address.hpp"

namespace tern::queue::maildrop {

namespace {

bool one_line(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool valid_notify(std::string_view v) {
    if (v.empty() || v == "never") return true;
    std::set<std::string_view> seen;
    while (!v.empty()) {
        auto comma = v.find(',');
        auto word = v.substr(0, comma);
        if ((word != "success" && word != "delay" && word != "failure") || !seen.insert(word).second) return false;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
        if (v.empty()) return false;
    }
    return true;
}

// Printable text for a header comment or phrase: no controls, no comment delimiters.
std::string sanitize(std::string_view s, std::size_t max) {
    std::string r;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f && c != '(' && c != ')' && c != '\\') r += c;
    }
    return r.substr(0, max);
}

// A display name for From:: an atom phrase as is, other ASCII quoted, UTF-8 as an RFC 2047
// encoded-word (at most 45 octets of it, cut at a character boundary, to stay within 75 columns).
std::string display_name(std::string_view raw) {
    std::string name = sanitize(raw, 200);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (name.empty()) return "";
    bool ascii = true, atoms = true;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) ascii = false;
        bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view("!#$%&'*+-/=?^_`{|}~ ").find(c) != std::string_view::npos;
        if (!atext) atoms = false;
    }
    if (ascii && atoms) return name;
    if (ascii) {
        std::string q = "\"";
        for (char c : name) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return q + "\"";
    }
    std::size_t cut = std::min<std::size_t>(name.size(), 45);
    while (cut > 0 && cut < name.size() && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return "=?UTF-8?B?" + sasl::base64_encode(name.substr(0, cut)) + "?=";
}

bool non_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

}  // namespace

Result<std::string> format(const DropEnvelope& e) {
    std::string out(kMagic);
    out += '\n';
    auto line = [&](std::string_view key, std::string_view value) -> bool {
        if (!one_line(value) || key.size() + 1 + value.size() > kMaxEnvelopeLine) return false;
        out.append(key).append(" ").append(value).append("\n");
        return true;
    };
    bool ok = line("uid", std::to_string(e.uid)) && line("user", e.user);
    if (e.sender) ok = ok && line("sender", *e.sender);
    if (!e.full_name.empty()) ok = ok && line("name", e.full_name);
    if (e.extract) out += "extract\n";
    if (e.eight_bit) out += "8bit\n";
    if (!e.notify.empty()) ok = ok && valid_notify(e.notify) && line("notify", e.notify);
    if (!e.ret.empty()) ok = ok && (e.ret == "full" || e.ret == "hdrs") && line("ret", e.ret);
    if (!e.envid.empty()) ok = ok && line("envid", e.envid);
    if (e.recipients.size() > kMaxRecipients) return fail("more than " + std::to_string(kMaxRecipients) + " recipients", EINVAL);
    for (const auto& r : e.recipients) ok = ok && !r.empty() && line("rcpt", r);
    if (!ok) return fail("an envelope value holds a line end or is too long", EINVAL);
    out += '\n';
    if (out.size() > kMaxEnvelope) return fail("envelope larger than " + std::to_string(kMaxEnvelope) + " octets", EINVAL);
    return out;
}

Result<ParsedDrop> parse(std::string_view file) {
    ParsedDrop p;
    DropEnvelope& e = p.envelope;
    bool have_uid = false, have_user = false;
    std::size_t pos = 0;
    for (std::size_t n = 0;; ++n) {
        std::size_t nl = file.find('\n', pos);
        if (nl == std::string_view::npos || nl - pos > kMaxEnvelopeLine || nl >= kMaxEnvelope) {
            if (nl != std::string_view::npos || file.size() - pos > kMaxEnvelopeLine)
                return fail("envelope line " + std::to_string(n + 1) + " too long", EINVAL);
            return fail("the envelope does not end (no empty line)", EINVAL);
        }
        std::string_view line = file.substr(pos, nl - pos);
        pos = nl + 1;
        if (n == 0) {
            if (line != kMagic) return fail("not a Tern maildrop file (no \"" + std::string(kMagic) + "\" line)", EINVAL);
            continue;
        }
        if (line.empty()) break;
        if (!one_line(line)) return fail("envelope line " + std::to_string(n + 1) + " holds CR or NUL", EINVAL);
        auto space = line.find(' ');
        std::string_view key = line.substr(0, space);
        std::string_view value = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        auto once = [&](bool& seen) -> Result<void> {
            if (seen) return fail("envelope line \"" + std::string(key) + "\" given twice", EINVAL);
            seen = true;
            return {};
        };
        if (key == "uid") {
            if (auto r = once(have_uid); !r) return std::unexpected(r.error());
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), e.uid);
            if (ec != std::errc() || end != value.data() + value.size() || value.empty())
                return fail("bad uid \"" + std::string(value) + "\"", EINVAL);
        } else if (key == "user") {
            if (auto r = once(have_user); !r) return std::unexpected(r.error());
            e.user = value;
        } else if (key == "sender") {
            if (e.sender) return fail("envelope line \"sender\" given twice", EINVAL);
            e.sender = std::string(value);
        } else if (key == "name") {
            if (!e.full_name.empty()) return fail("envelope line \"name\" given twice", EINVAL);
            e.full_name = value;
        } else if (key == "extract" && value.empty() && space == std::string_view::npos) {
            e.extract = true;
        } else if (key == "8bit" && value.empty() && space == std::string_view::npos) {
            e.eight_bit = true;
        } else if (key == "notify") {
            if (!e.notify.empty() || value.empty() || !valid_notify(value)) return fail("bad notify \"" + std::string(value) + "\"", EINVAL);
            e.notify = value;
        } else if (key == "ret") {
            if (!e.ret.empty() || (value != "full" && value != "hdrs")) return fail("bad ret \"" + std::string(value) + "\"", EINVAL);
            e.ret = value;
        } else if (key == "envid") {
            if (!e.envid.empty() || value.empty()) return fail("bad envid", EINVAL);
            e.envid = value;
        } else if (key == "rcpt") {
            if (value.empty()) return fail("empty rcpt", EINVAL);
            if (e.recipients.size() >= kMaxRecipients) return fail("more than " + std::to_string(kMaxRecipients) + " recipients", EINVAL);
            e.recipients.emplace_back(value);
        } else {
            return fail("unknown envelope line \"" + std::string(line.substr(0, 40)) + "\"", EINVAL);
        }
    }
    if (!have_uid || !have_user) return fail("the envelope lacks its uid or user line", EINVAL);
    p.message_offset = pos;
    return p;
}

bool InputReader::feed(std::string_view chunk, std::string& out) {
    if (ended_) return false;
    if (!dot_ends_) {
        out.append(chunk);
        return true;
    }
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        char c = chunk[i];
        if (!held_.empty()) {
            // "." at a line start so far: a line end now ends the input; anything else was text.
            if (c == '\n') {
                held_.clear();
                ended_ = true;
                return false;
            }
            if (c == '\r' && held_ == ".") {
                held_ += c;
                continue;
            }
            out += held_;
            held_.clear();
            at_line_start_ = false;
            // fall through: `c` is ordinary text (or a CR/LF ending the line that began with ".")
        } else if (at_line_start_ && c == '.') {
            held_ = ".";
            continue;
        }
        out += c;
        at_line_start_ = c == '\n';
    }
    return true;
}

void InputReader::finish(std::string&) {
    // A "." (or ".\r") alone on the last line, without its line end, ends the input the same way.
    held_.clear();
}

void CrlfWriter::feed(std::string_view chunk, std::string& out) {
    out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 2);
    for (char c : chunk) {
        if (static_cast<unsigned char>(c) >= 0x80) eight_bit_ = true;
        if (pending_cr_) {
            pending_cr_ = false;
            out += "\r\n";
            if (c == '\n') continue;  // CRLF
        }
        if (c == '\r') pending_cr_ = true;
        else if (c == '\n') out += "\r\n";
        else out += c;
    }
}

void CrlfWriter::finish(std::string& out) {
    if (pending_cr_) out += "\r\n";
    pending_cr_ = false;
}

Result<std::string> qualify(std::string_view address, std::string_view hostname) {
    while (!address.empty() && (address.front() == ' ' || address.front() == '\t')) address.remove_prefix(1);
    while (!address.empty() && (address.back() == ' ' || address.back() == '\t')) address.remove_suffix(1);
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') address = address.substr(1, address.size() - 2);
    if (address.empty()) return fail("empty address", EINVAL);
    std::string text(address);
    // A bare name ("root", as cron writes it) is a user of this host (Postfix's myorigin).
    if (text.find('@') == std::string::npos || (text.front() == '"' && text.rfind('@') < text.rfind('"')))
        text += "@" + std::string(hostname);
    auto m = smtp::parse_mailbox(text, true);
    if (!m) return fail("bad address \"" + std::string(address.substr(0, 100)) + "\": " + m.error().message, EINVAL);
    return m->str();
}

Result<Prepared> prepare(const DropEnvelope& drop, std::string_view head, const Origin& origin, bool whole_message) {
    Prepared p;
    Envelope& env = p.envelope;
    // The sender: -f as given ("" is <>), else the submitting user at this host.
    if (drop.sender) {
        if (!drop.sender->empty() && *drop.sender != "<>") {
            auto s = qualify(*drop.sender, origin.hostname);
            if (!s) return fail("sender: " + s.error().message, EINVAL);
            env.mail_from = *s;
        }
    } else {
        auto s = qualify(origin.user, origin.hostname);
        if (!s) s = qualify("uid" + std::to_string(origin.uid), origin.hostname);
        if (!s) return fail("sender: " + s.error().message, EINVAL);
        env.mail_from = *s;
    }

    // Postfix's sendmail drops a leading mbox "From " line; so do we.
    std::size_t start = 0;
    if (head.starts_with("From ")) {
        auto nl = head.find('\n');
        if (nl == std::string_view::npos) {
            if (!whole_message) return fail("first line longer than " + std::to_string(kMaxHeader) + " octets", EINVAL);
            start = head.size();
        } else {
            start = nl + 1;
        }
    }
    std::string_view message = head.substr(start);
    auto section = mime::parse_header_section(message);
    if (!section) return fail("header: " + section.error().message, EINVAL);
    // The header section ends at the empty line, or (Postfix's cleanup does the same) at the first
    // line that is not a header field: an empty line is put before it, so the text is body.
    std::size_t cut = section->has_separator ? section->body_offset : message.size();
    std::size_t body = cut;
    bool junk_cut = false;
    if (!section->junk_lines.empty() && section->junk_lines.front() < cut &&
        message.find('\n', section->junk_lines.front()) != std::string_view::npos) {
        cut = body = section->junk_lines.front();
        junk_cut = true;
    }
    if (!junk_cut && !section->has_separator && !whole_message)
        return fail("header section longer than " + std::to_string(kMaxHeader) + " octets", EINVAL);
    p.body_offset = start + body;

    // Which fields name the recipients for -t: the Resent-* ones when there are any (RFC 5322 §3.6.6).
    bool resent = false;
    for (const auto& f : section->fields)
        if (f.offset < cut && (f.is("Resent-To") || f.is("Resent-Cc") || f.is("Resent-Bcc"))) resent = true;

    std::vector<std::string> recipients;
    std::set<std::string> seen;
    auto add = [&](std::string r) -> Result<void> {
        if (!seen.insert(r).second) return {};
        if (recipients.size() >= kMaxRecipients) return fail("more than " + std::to_string(kMaxRecipients) + " recipients", EINVAL);
        recipients.push_back(std::move(r));
        return {};
    };
    for (const auto& r : drop.recipients) {
        auto q = qualify(r, origin.hostname);
        if (!q) return fail("recipient: " + q.error().message, EINVAL);
        if (auto a = add(*q); !a) return std::unexpected(a.error());
    }

    bool has_date = false, has_id = false, has_from = false;
    std::string kept;
    CrlfWriter crlf;
    for (const auto& f : section->fields) {
        if (f.offset >= cut) break;
        if (f.is("Date")) has_date = true;
        if (f.is("Message-ID")) has_id = true;
        if (f.is("From")) has_from = true;
        bool to = resent ? (f.is("Resent-To") || f.is("Resent-Cc") || f.is("Resent-Bcc"))
                         : (f.is("To") || f.is("Cc") || f.is("Bcc"));
        if (drop.extract && to) {
            auto list = mime::parse_address_list(f.value());
            if (!list) {
                // Not RFC 5322 (group syntax with no member, "undisclosed-recipients:;", is): perhaps
                // bare user names ("To: root", as local tools write), which qualify as on the command
                // line. Anything else skips the field.
                std::vector<std::string> bare;
                std::string value = f.value();
                bool usable = true;
                for (std::size_t from = 0; usable && from <= value.size();) {
                    auto comma = std::min(value.find(',', from), value.size());
                    std::string piece = value.substr(from, comma - from);
                    from = comma + 1;
                    if (piece.find_first_not_of(" \t") == std::string::npos) continue;
                    auto q = qualify(piece, origin.hostname);
                    if (q) bare.push_back(*q);
                    else usable = false;
                }
                if (!usable || bare.empty()) {
                    p.notes.push_back(std::string(f.name) + ": " + list.error().message + "; field skipped");
                } else {
                    for (auto& b : bare)
                        if (auto a = add(std::move(b)); !a) return std::unexpected(a.error());
                }
            } else {
                for (const auto& m : mime::mailboxes(*list)) {
                    auto q = qualify(m.addr_spec(), origin.hostname);
                    if (!q) {
                        p.notes.push_back(std::string(f.name) + ": " + q.error().message);
                        continue;
                    }
                    if (auto a = add(*q); !a) return std::unexpected(a.error());
                }
            }
        }
        // RFC 5322 §3.6.3: blind copies are not shown to the other recipients.
        if (f.is("Bcc") || f.is("Resent-Bcc")) continue;
        std::string field;
        crlf.feed(message.substr(f.offset, std::min(f.length, cut - f.offset)), field);
        crlf.finish(field);
        if (!field.ends_with("\r\n")) field += "\r\n";
        kept += field;
    }
    if (recipients.empty())
        return fail(drop.extract ? "no recipient addresses found in the message header" : "no recipients", EINVAL);

    env.recipients.reserve(recipients.size());
    smtp::DsnNotify notify;
    if (!drop.notify.empty()) {
        notify.specified = true;
        notify.never = drop.notify == "never";
        notify.success = drop.notify.find("success") != std::string::npos;
        notify.delay = drop.notify.find("delay") != std::string::npos;
        notify.failure = drop.notify.find("failure") != std::string::npos;
    }
    for (auto& r : recipients) {
        if (non_ascii(r)) env.smtputf8 = true;
        env.recipients.push_back(Recipient{std::move(r), notify, {}});
    }
    if (non_ascii(env.mail_from)) env.smtputf8 = true;
    env.ret = drop.ret == "full" ? smtp::DsnRet::Full : drop.ret == "hdrs" ? smtp::DsnRet::Hdrs : smtp::DsnRet::Unspecified;
    env.envid = drop.envid;
    env.body = drop.eight_bit ? smtp::BodyType::EightBitMime : smtp::BodyType::Unspecified;
    env.helo = "localhost";
    env.client_ip = "127.0.0.1";
    env.received_at = origin.now;

    // RFC 5322 §3.6.7 trace field; the local id is the maildrop file's name, which the log ties
    // to the queue id.
    std::string user = sanitize(origin.user, 64);
    std::string date = message::rfc5322_date(origin.now);
    p.head = "Received: from local user " + (user.empty() ? std::string("?") : user) + " (uid " + std::to_string(origin.uid) +
             ")\r\n\tby " + origin.hostname + " (Tern) with local id " + origin.drop_id + ";\r\n\t" + date + "\r\n";
    p.head += kept;
    // RFC 6409 §8.2, §8.3: a submission server may add a missing Date: and Message-ID:; RFC 5322
    // §3.6 requires From:, which the local user's address supplies (as Postfix's cleanup does).
    if (!has_date) p.head += "Date: " + date + "\r\n";
    if (!has_id) p.head += "Message-ID: <" + origin.drop_id + "@" + origin.hostname + ">\r\n";
    if (!has_from) {
        std::string address = env.mail_from;
        if (address.empty()) {
            auto q = qualify(origin.user, origin.hostname);
            address = q ? *q : "MAILER-DAEMON@" + origin.hostname;
        }
        std::string name = display_name(drop.full_name);
        p.head += "From: " + (name.empty() ? address : name + " <" + address + ">") + "\r\n";
    }
    p.head += "\r\n";
    return p;
}

}  // namespace tern::queue::maildrop
