// See dsn.hpp. The wording of part 1 follows Postfix's bounce templates (what users have seen for
// decades); the structure is RFC 6522 / RFC 3464, built with mime/builder so every line is CRLF
// and at most 998 octets. Client-supplied text (ENVID, ORCPT) and servers' replies are cleaned
// before they enter a header-like field: no CR/LF can forge a field, no line can grow too long.
#include "delivery/dsn.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "mime/builder.hpp"

namespace tern::delivery {
namespace {

using Action = DsnRecipient::Action;

constexpr std::size_t kMaxField = 900;            // addresses, host names, ids: longer is refused/omitted
constexpr std::size_t kMaxReply = 2000;           // a server's reply, as quoted (longer is cut)
constexpr std::size_t kMaxLine = 998;             // RFC 5322 §2.1.1
constexpr std::uint64_t kMaxHeaders = 256 * 1024;  // header section returned at most

bool has_8bit(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// One line of printable text: CR, LF and TAB become spaces (runs of spaces collapse), other
// controls '?', and octets >= 0x80 stay only when `utf8` allows and they form valid UTF-8.
std::string clean_text(std::string_view s, bool utf8, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && out.size() < max;) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u == '\r' || u == '\n' || u == '\t' || u == ' ') {
            if (!out.empty() && out.back() != ' ') out += ' ';
            ++i;
        } else if (u < 0x20 || u == 0x7f) {
            out += '?';
            ++i;
        } else if (u < 0x80) {
            out += s[i++];
        } else {
            std::size_t n = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
            if (utf8 && i + n <= s.size() && mime::valid_utf8(s.substr(i, n))) {
                out += s.substr(i, n);
                i += n;
            } else {
                out += '?';
                ++i;
            }
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() >= max) out += " ...";
    return out;
}

bool usable_host(std::string_view h) {
    if (h.empty() || h.size() > 255) return false;
    return std::all_of(h.begin(), h.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '.' ||
               c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
    });
}

bool usable_address(std::string_view a, bool utf8) {
    if (a.empty() || a.size() > kMaxField || has_control(a)) return false;
    return !has_8bit(a) || (utf8 && mime::valid_utf8(a));
}

// A client-supplied value (ENVID, an ORCPT address) fit for a field: as it is when it is printable
// (UTF-8 only in global mode), else xtext-encoded as it came over the wire (RFC 3461 §4);
// "" when it is too long even so.
std::string field_value(std::string_view v, bool utf8) {
    std::string out = usable_address(v, utf8) && v.find(' ') == std::string_view::npos ? std::string(v)
                                                                                        : smtp::xtext_encode(v);
    return out.size() > kMaxField ? std::string() : out;
}

const char* action_name(Action a) {
    switch (a) {  // RFC 3464 §2.3.3
        case Action::Failed: return "failed";
        case Action::Delayed: return "delayed";
        case Action::Delivered: return "delivered";
        case Action::Relayed: return "relayed";
        case Action::Expanded: return "expanded";
    }
    return "failed";
}

// "mx.example.net [192.0.2.7]" -> "mx.example.net"; "[192.0.2.7]" stays.
std::string mta_name(std::string_view remote) {
    auto sp = remote.find(' ');
    return std::string(sp == std::string_view::npos || sp == 0 ? remote : remote.substr(0, sp));
}

// Greedy word wrap to `width` columns; continuation lines start with `indent`. A word too long
// for a line is cut, so no line exceeds kMaxLine. Lines end in CRLF.
std::string wrap(std::string_view text, std::size_t width, std::string_view indent) {
    std::string out, line;
    std::size_t i = 0;
    auto flush = [&] {
        out += line;
        out += "\r\n";
        line = std::string(indent);
    };
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        std::size_t w = i;
        while (i < text.size() && text[i] != ' ') ++i;
        std::string_view word = text.substr(w, i - w);
        if (word.empty()) break;
        bool at_start = line.size() <= indent.size();
        if (!at_start && line.size() + 1 + word.size() > width) flush();
        if (line.size() > indent.size()) line += ' ';
        while (line.size() + word.size() > kMaxLine - 2) {
            std::size_t take = kMaxLine - 2 - line.size();
            line += word.substr(0, take);
            word.remove_prefix(take);
            flush();
        }
        line += word;
    }
    if (line.size() > indent.size() || out.empty()) out += line + "\r\n";
    return out;
}

std::string duration_text(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    auto unit = [](std::int64_t n, const char* what) {
        return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    if (seconds >= 2 * 86400) return unit(seconds / 86400, "day");
    if (seconds >= 2 * 3600) return unit(seconds / 3600, "hour");
    if (seconds >= 120) return unit(seconds / 60, "minute");
    return unit(seconds, "second");
}

// Lines fit to travel unchanged inside a message/rfc822 part: CRLF only, <= 998 octets, no NUL.
bool transportable(std::string_view s) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\0') return false;
        if (c == '\r') {
            if (i + 1 >= s.size() || s[i + 1] != '\n') return false;
            ++i;
            line = 0;
        } else if (c == '\n') {
            return false;
        } else if (++line > kMaxLine) {
            return false;
        }
    }
    return true;
}

// The header lines made transportable: any line end becomes CRLF, NUL a space, a line longer
// than 998 octets is folded (these are header fields, so the fold is a continuation).
std::string normalise_headers(std::string_view h) {
    std::string out;
    out.reserve(h.size() + 16);
    std::size_t line = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        char c = h[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < h.size() && h[i + 1] == '\n') ++i;
            out += "\r\n";
            line = 0;
            continue;
        }
        if (line >= kMaxLine) {
            out += "\r\n ";
            line = 1;
        }
        out += c == '\0' ? ' ' : c;
        ++line;
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    return out;
}

struct Returned {
    std::string content;
    bool full = false;
    std::string note;  // why less than the whole message came back, for part 1
};

// The header section of the original: up to its empty line (RFC 5322 §2.1), at most kMaxHeaders.
Result<Returned> read_headers(const base::ByteSource& src) {
    Returned r;
    std::string buf;
    std::array<char, 16384> chunk;
    std::uint64_t off = 0;
    const std::uint64_t size = src.size();
    std::size_t scanned = 0;  // the end was not found before here (less 3 octets of overlap)
    while (true) {
        if (buf.starts_with("\r\n") || buf.starts_with("\n")) {
            buf.clear();
            break;
        }
        std::size_t from = scanned >= 3 ? scanned - 3 : 0;
        scanned = buf.size();
        std::size_t end = buf.find("\r\n\r\n", from), lf = buf.find("\n\n", from);
        if (end != std::string::npos && (lf == std::string::npos || end + 1 <= lf)) {
            buf.resize(end + 2);
            break;
        }
        if (lf != std::string::npos) {
            buf.resize(lf + 1);
            break;
        }
        if (off >= size) break;  // no body: the whole message is its header
        if (buf.size() >= kMaxHeaders) {
            auto cut = buf.rfind('\n', kMaxHeaders);
            buf.resize(cut == std::string::npos ? kMaxHeaders : cut + 1);
            r.note = "Its header section is longer than " + std::to_string(kMaxHeaders) +
                     " octets; only the first part of it is attached.";
            break;
        }
        auto n = src.read(off, std::span<char>(chunk.data(), chunk.size()));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) break;
        buf.append(chunk.data(), *n);
        off += *n;
    }
    r.content = normalise_headers(buf);
    return r;
}

Result<Returned> read_returned(const base::ByteSource& src, bool want_full, std::uint64_t limit) {
    std::string note;
    if (want_full) {
        if (src.size() <= limit) {
            auto all = base::read_all(src);
            if (!all) return std::unexpected(all.error());
            if (transportable(*all)) return Returned{std::move(*all), true, {}};
            note = "The message has lines that cannot be returned unchanged (longer than 998 octets, or "
                   "not ended by CRLF); only its header section is attached.";
        } else {
            note = "The message is " + std::to_string(src.size()) + " octets, more than the " +
                   std::to_string(limit) + " returned in full; only its header section is attached.";
        }
    }
    auto h = read_headers(src);
    if (!h) return h;
    if (!note.empty()) h->note = note + (h->note.empty() ? "" : " " + h->note);
    return h;
}

std::string plural(std::size_t n, const char* one, const char* many) { return n == 1 ? one : many; }

}  // namespace

std::string dsn_status(const DsnRecipient& r) {
    std::string_view s = r.reply;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    auto cls = [&](char c) { return c == '2' || c == '4' || c == '5'; };
    if (s.size() >= 3 && cls(s[0]) && digit(s[1]) && digit(s[2]) && (s.size() == 3 || s[3] == ' ' || s[3] == '-')) {
        // RFC 3463 §2: status-code = class "." subject "." detail; subject, detail 1*3digit.
        std::string_view e = s.size() > 4 ? s.substr(4) : std::string_view{};
        std::size_t i = 0;
        auto number = [&](std::size_t max) {
            std::size_t start = i;
            while (i < e.size() && digit(e[i]) && i - start < max + 1) ++i;
            return i > start && i - start <= max;
        };
        if (!e.empty() && cls(e[0]) && e.size() > 1 && e[1] == '.') {
            i = 2;
            if (number(3) && i < e.size() && e[i] == '.') {
                ++i;
                if (number(3) && (i == e.size() || e[i] == ' ')) return std::string(e.substr(0, i));
            }
        }
        return std::string(1, s[0]) + ".0.0";  // RFC 3463 §3.1 X.0.0: other or undefined status
    }
    switch (r.action) {
        case Action::Failed: return "5.0.0";
        case Action::Delayed: return "4.0.0";
        default: return "2.0.0";
    }
}

bool should_notify(const smtp::DsnNotify& n, Action action) {
    // RFC 3461 §4.1: NEVER excludes the others; no NOTIFY means "FAILURE" or "FAILURE,DELAY".
    if (n.never) return false;
    if (!n.specified) return action == Action::Failed || action == Action::Delayed;
    switch (action) {
        case Action::Failed: return n.failure;
        case Action::Delayed: return n.delay;
        case Action::Delivered:
        case Action::Relayed:   // RFC 3461 §5.2.2
        case Action::Expanded:  // RFC 3461 §5.2.7
            return n.success;
    }
    return false;
}

Result<Dsn> build_dsn(const DsnInput& in) {
    if (in.recipients.empty()) return fail("DSN without recipients");
    if (in.original_sender.empty()) return fail("no DSN for the null sender (RFC 3461 §6.1)");
    if (!usable_host(in.reporting_mta)) return fail("DSN: unusable reporting host name");
    // RFC 6533: global types when the message needs SMTPUTF8 or an address is not ASCII.
    bool global = in.smtputf8 || has_8bit(in.original_sender);
    for (const auto& r : in.recipients) global = global || has_8bit(r.address);
    if (!usable_address(in.original_sender, global)) return fail("DSN: unusable sender address");
    for (const auto& r : in.recipients)
        if (!usable_address(r.address, global)) return fail("DSN: unusable recipient address");

    bool any_failed = false, any_delayed = false;
    for (const auto& r : in.recipients) {
        any_failed = any_failed || r.action == Action::Failed;
        any_delayed = any_delayed || r.action == Action::Delayed;
    }

    // Part 3. RFC 3461 §4.3: RET applies to failure reports; without a failure, headers only.
    std::optional<Returned> returned;
    if (in.original) {
        bool want_full = any_failed && in.ret != smtp::DsnRet::Hdrs;
        auto r = read_returned(*in.original, want_full, in.return_limit);
        if (!r) return fail("DSN: cannot read the message: " + r.error().message, r.error().code);
        returned = std::move(*r);
    }

    const std::string& host = in.reporting_mta;
    auto addr_text = [&](const std::string& a) { return clean_text(a, global, kMaxField); };
    auto reply_text = [&](const DsnRecipient& r) { return clean_text(r.reply, global, kMaxReply); };

    // Part 1: the human-readable report (RFC 6522 §3 first part).
    std::string text;
    auto para = [&](std::string_view p) { text += wrap(p, 72, "") + "\r\n"; };
    if (!any_failed && any_delayed)
        para("####### THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE. #######");
    para("This is the mail system at host " + host + ".");
    std::size_t failed = 0, delayed = 0, succeeded = 0;
    std::int64_t until = 0;
    for (const auto& r : in.recipients) {
        if (r.action == Action::Failed) ++failed;
        else if (r.action == Action::Delayed) ++delayed, until = std::max(until, r.retry_until);
        else ++succeeded;
    }
    if (failed)
        para("I'm sorry to have to inform you that your message could not be delivered to " +
             std::string(in.recipients.size() == 1 ? "its recipient" : plural(failed, "one recipient", "some recipients")) +
             "." + (returned ? std::string(" It's attached below.") : std::string()));
    if (delayed) {
        std::string p = "Your message could not be delivered " +
                        (in.arrival > 0 ? "for " + duration_text(in.now - in.arrival) : std::string("yet")) +
                        " to " + plural(delayed, "one recipient", "some recipients") + ".";
        if (until > 0) p += " It will be retried until " + mime::format_date(until) + ".";
        para(p);
    }
    if (succeeded)
        para("Your message was successfully delivered to the " + plural(succeeded, "destination", "destinations") +
             " listed below. If the message was delivered to a mailbox you will receive no further "
             "notifications. Otherwise you may still receive notifications of mail delivery errors "
             "from other systems.");
    if (failed) {
        para("For further assistance, please send mail to postmaster.");
        para("If you do so, please include this problem report. You can delete your own text from the "
             "attached returned message.");
    }
    if (returned && !returned->note.empty()) para(returned->note);
    text += "                   The mail system\r\n\r\n";
    for (const auto& r : in.recipients) {
        std::string line = "<" + addr_text(r.address) + ">: ";
        std::string words = reply_text(r);
        switch (r.action) {
            case Action::Failed:
            case Action::Delayed:
                if (!r.remote_mta.empty()) line += "host " + clean_text(r.remote_mta, false, kMaxField) + " said: ";
                line += words.empty() ? std::string("delivery failed") : words;
                break;
            case Action::Delivered:
                line += "delivery successful" + (words.empty() ? std::string() : ": " + words);
                break;
            case Action::Relayed:
                line += "delivered to a system that does not report delivery status";
                if (!r.remote_mta.empty()) line += " (" + clean_text(r.remote_mta, false, kMaxField) + ")";
                if (!words.empty()) line += ": " + words;
                break;
            case Action::Expanded:
                line += "delivered to the members of this list or alias" + (words.empty() ? std::string() : ": " + words);
                break;
        }
        text += wrap(line, 72, "    ") + "\r\n";
    }

    // Part 2: RFC 3464 §2.1 fields, per message then one block per recipient.
    std::string ds;
    std::string envid = in.envid.empty() ? std::string() : field_value(in.envid, global);
    if (!envid.empty()) ds += mime::header_field("Original-Envelope-Id", envid);  // §2.2.1
    ds += mime::header_field("Reporting-MTA", "dns; " + host);                     // §2.2.2
    if (!in.queue_id_text.empty())
        ds += mime::header_field("X-Tern-Queue-ID", clean_text(in.queue_id_text, false, 64));
    ds += mime::header_field("X-Tern-Sender", "rfc822; " + addr_text(in.original_sender));
    if (in.arrival > 0) ds += mime::header_field("Arrival-Date", mime::format_date(in.arrival));  // §2.2.5
    for (const auto& r : in.recipients) {
        ds += "\r\n";
        if (auto semi = r.orcpt.find(';'); !r.orcpt.empty() && semi != std::string::npos && semi > 0) {
            // §2.3.1; the address type as given, the address as ORCPT carried it
            std::string type = r.orcpt.substr(0, semi), value = field_value(r.orcpt.substr(semi + 1), global);
            if (usable_host(type) && !value.empty()) ds += mime::header_field("Original-Recipient", type + ";" + value);
        }
        // §2.3.2; RFC 6533 §3: a non-ASCII address has the type "utf-8"
        ds += mime::header_field("Final-Recipient", std::string(has_8bit(r.address) ? "utf-8; " : "rfc822; ") + r.address);
        ds += mime::header_field("Action", action_name(r.action));  // §2.3.3
        ds += mime::header_field("Status", dsn_status(r));           // §2.3.4
        if (!r.remote_mta.empty()) ds += mime::header_field("Remote-MTA", "dns; " + clean_text(mta_name(r.remote_mta), false, kMaxField));  // §2.3.5
        if (!r.reply.empty()) {  // §2.3.6: "smtp" when a server said it, our own words otherwise
            std::string words = reply_text(r);
            ds += mime::header_field("Diagnostic-Code", (r.remote_mta.empty() ? "X-Tern; " : "smtp; ") + words);
        }
        if (r.last_attempt > 0) ds += mime::header_field("Last-Attempt-Date", mime::format_date(r.last_attempt));  // §2.3.7
        if (r.action == Action::Delayed && r.retry_until > 0)
            ds += mime::header_field("Will-Retry-Until", mime::format_date(r.retry_until));  // §2.3.9
    }

    Dsn out;
    out.smtputf8 = global;
    std::vector<mime::Part> parts;
    parts.push_back({"Content-Description: Notification\r\nContent-Type: text/plain; charset=" +
                         std::string(global ? "utf-8\r\nContent-Transfer-Encoding: 8bit\r\n" : "us-ascii\r\n"),
                     std::move(text)});
    parts.push_back({"Content-Description: Delivery report\r\nContent-Type: " +
                         std::string(global ? "message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n"
                                            : "message/delivery-status\r\n"),
                     std::move(ds)});
    if (returned) {
        bool eight = has_8bit(returned->content);
        std::string h;
        if (returned->full) {
            h = "Content-Description: Undelivered Message\r\nContent-Type: " +
                std::string(global ? "message/global\r\n" : "message/rfc822\r\n");
        } else {
            h = "Content-Description: " + std::string(any_failed ? "Undelivered Message Headers" : "Message Headers") +
                "\r\nContent-Type: " + std::string(global ? "message/global-headers\r\n" : "text/rfc822-headers\r\n");
        }
        if (eight) h += "Content-Transfer-Encoding: 8bit\r\n";  // RFC 2046 §5.2.1: no encoding but 7bit/8bit/binary
        out.content_returned = returned->full;
        parts.push_back({std::move(h), std::move(returned->content)});
    }
    for (const auto& p : parts) out.eight_bit = out.eight_bit || has_8bit(p.headers) || has_8bit(p.body);
    out.eight_bit = out.eight_bit || global;

    std::vector<std::string_view> contents;
    for (const auto& p : parts) {
        contents.push_back(p.headers);
        contents.push_back(p.body);
    }
    std::string boundary = mime::choose_boundary(contents, in.unique ^ static_cast<std::uint64_t>(in.now));

    const char* subject = any_failed    ? "Undelivered Mail Returned to Sender"
                          : any_delayed ? "Delayed Mail (still being retried)"
                                        : "Successful Mail Delivery Report";
    std::string& m = out.message;
    m += mime::header_field("From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
    m += mime::header_field("To", "<" + in.original_sender + ">");
    m += mime::header_field("Subject", subject);
    m += mime::header_field("Date", mime::format_date(in.now));
    std::uint64_t id_bits = in.unique;
    for (char c : in.queue_id_text) id_bits = (id_bits ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    m += mime::header_field("Message-ID", mime::make_message_id(in.now, id_bits, host));
    m += mime::header_field("Auto-Submitted", "auto-replied");  // RFC 3834 §5, RFC 3461 §6.2
    m += "MIME-Version: 1.0\r\n";
    m += mime::header_field("Content-Type", std::string("multipart/report; report-type=") +
                                                (global ? "global-delivery-status" : "delivery-status") +
                                                "; boundary=\"" + boundary + "\"");
    if (out.eight_bit) m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    m += mime::multipart_body(boundary, parts, "This is a MIME-encapsulated message.\r\n");
    return out;
}

}  // namespace tern::delivery
