// Composing (see compose.hpp): addresses parsed with mime/address and written with
// mime/builder's phrases, the body 7bit or quoted-printable, attachments typed by libmagic and
// encoded straight into the message (each file is held once while it is encoded, so a message
// costs about its encoded size plus its largest file). Must never write Bcc into the header,
// never let a part's octets contain the multipart boundary, and never trust a path as a name.
#include "mua/compose.hpp"

#include <magic.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>
#include <system_error>

#include "base/bytes.hpp"
#include "mime/address.hpp"
#include "mime/builder.hpp"
#include "mime/charset.hpp"
#include "mime/encoded_word.hpp"
#include "mime/envelope.hpp"
#include "mime/filename.hpp"
#include "mime/header.hpp"
#include "mime/part_reader.hpp"
#include "mime/part_tree.hpp"

namespace tern::mua {
namespace {

constexpr std::size_t kMaxLine = 998;  // RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6 (without CRLF)

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

bool is_ascii(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Line ends made CRLF (RFC 5322 §2.1, RFC 2046 §4.1.1 canonical text): LF, CR and CRLF alike.
std::string to_crlf(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 32 + 2);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += "\r\n";
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else if (s[i] == '\n') {
            out += "\r\n";
        } else {
            out += s[i];
        }
    }
    return out;
}

std::size_t longest_line(std::string_view crlf_text) {
    std::size_t longest = 0;
    for (std::size_t pos = 0; pos < crlf_text.size();) {
        std::size_t e = crlf_text.find("\r\n", pos);
        if (e == std::string_view::npos) e = crlf_text.size();
        longest = std::max(longest, e - pos);
        pos = e + 2;
    }
    return longest;
}

bool has_bare_cr(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
    return false;
}

// --- addresses ---

struct Addr {
    std::string name;       // UTF-8 display name (RFC 2047 words decoded)
    std::string addr_spec;  // local@domain
    std::string domain;
};

// "The same address" for deduplication and for finding the user's own: case-blind as a whole.
// RFC 5321 §2.4 lets a local part be case-sensitive, but no mailbox provider makes Bob and bob
// two people, and a user's own address in any spelling must not be copied back to them.
std::string addr_key(std::string_view addr_spec) { return lower(addr_spec); }

Addr to_addr(const mime::Mailbox& m) {
    std::string name = mime::decode_words(m.display_name);
    for (auto& c : name)  // control characters cannot be typed back (or shown): blanks
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return {std::move(name), m.addr_spec(), m.domain};
}

Result<std::vector<Addr>> parse_entries(std::string_view field, const std::vector<std::string>& entries) {
    std::vector<Addr> out;
    for (const auto& entry : entries) {
        std::string_view e = trim(entry);
        if (e.empty()) continue;
        auto list = mime::parse_address_list(e);  // RFC 5322 §3.4
        if (!list)
            return fail(std::string(field) + ": \"" + std::string(e) + "\" is not a valid address (" +
                        list.error().message + " at character " + std::to_string(list.error().offset + 1) + ")");
        for (const auto& m : mime::mailboxes(*list)) {
            if (m.local_part.empty() || m.domain.empty())
                return fail(std::string(field) + ": \"" + std::string(e) + "\" is not a valid address (no domain)");
            out.push_back(to_addr(m));
        }
    }
    return out;
}

std::string header_list(const std::vector<Addr>& list) {
    std::string v;
    for (const auto& a : list) {
        if (!v.empty()) v += ", ";
        v += mime::format_mailbox(a.name, a.addr_spec);
    }
    return v;
}

// A mailbox as a user would type it, for a Draft: the name quoted when it has specials.
std::string typed_mailbox(const Addr& a) {
    if (a.name.empty()) return a.addr_spec;
    bool quote = a.name.find_first_of("()<>[]:;@\\,.\"") != std::string::npos;
    if (!quote) return a.name + " <" + a.addr_spec + ">";
    std::string q = "\"";
    for (char c : a.name) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\" <" + a.addr_spec + ">";
}

// --- message ids (RFC 5322 §3.6.4) ---

// "<" printable ASCII ">" (RFC 5322 §3.6.4 msg-id, leniently: obs-id-left forms and ids without
// "@" exist); nothing that could not stand in a header as it is.
bool is_msg_id(std::string_view id) {
    if (id.size() < 3 || id.size() > 900 || id.front() != '<' || id.back() != '>') return false;
    return std::all_of(id.begin() + 1, id.end() - 1, [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && c != '<' && c != '>';
    });
}

std::vector<std::string> msg_ids(std::string_view v) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while ((i = v.find('<', i)) != std::string_view::npos) {
        std::size_t e = v.find('>', i);
        if (e == std::string_view::npos) break;
        std::string_view id = v.substr(i, e - i + 1);
        if (is_msg_id(id)) out.emplace_back(id);
        i = e + 1;
    }
    return out;
}



// --- content types (libmagic) ---

struct Detected {
    std::string type = "application/octet-stream";  // lower-cased type/subtype
    std::string charset;                            // libmagic's guess for text, "" if none
};

// One libmagic cookie for the process, opened on first use; calls are serialised (a cookie is not
// thread-safe). Without the magic database every attachment is application/octet-stream.
Detected detect(std::string_view data) {
    static std::mutex mu;
    static magic_t cookie = nullptr;
    static bool opened = false;
    Detected d;
    if (data.empty()) return d;
    std::lock_guard lock(mu);
    if (!opened) {
        opened = true;
        cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING);
        if (cookie && magic_load(cookie, nullptr) != 0) {
            magic_close(cookie);
            cookie = nullptr;
        }
    }
    if (!cookie) return d;
    const char* r = magic_buffer(cookie, data.data(), data.size());
    if (!r) return d;
    std::string_view s(r);  // "text/plain; charset=utf-8"
    std::string type = lower(trim(s.substr(0, s.find(';'))));
    auto slash = type.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == type.size() || type.starts_with("inode/") ||
        type == "application/x-empty")
        return d;
    d.type = type;
    if (auto cs = s.find("charset="); cs != std::string_view::npos) {
        std::string c = lower(trim(s.substr(cs + 8)));
        if (c != "binary" && c != "unknown-8bit") d.charset = c;
    }
    return d;
}

bool valid_type(std::string_view t) {
    auto slash = t.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        auto c = static_cast<unsigned char>(t[i]);
        if (i == slash) continue;
        if (c <= 0x20 || c >= 0x7f || std::string_view("()<>@,;:\\\"/[]?=").find(t[i]) != std::string_view::npos)
            return false;
    }
    return true;
}

// --- parts ---

std::string quoted(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

// Content-Type name= for clients that predate RFC 2231: RFC 2047 words inside the quotes for a
// non-ASCII name (not allowed by RFC 2047 §5, but what they read; Thunderbird writes the same).
std::string legacy_name_param(std::string_view name) {
    if (is_ascii(name)) return "name=" + quoted(name);
    return "name=\"" + mime::encode_phrase(name) + "\"";
}

struct LeafSpec {
    std::string type;     // type/subtype, lower-cased
    std::string charset;  // for text
    std::string name;     // safe file name or ""
    bool inline_disposition = false;
};

void part_header(std::string& out, const LeafSpec& spec, std::string_view cte, std::string_view charset) {
    std::string ct = spec.type;
    if (!charset.empty()) ct += "; charset=" + std::string(charset);
    if (!spec.name.empty() && !spec.type.starts_with("message/")) ct += "; " + legacy_name_param(spec.name);
    out += mime::header_field("Content-Type", ct);
    // RFC 2183 §2: Content-Disposition with the RFC 2231 filename parameter.
    std::string disp = spec.inline_disposition ? "inline" : "attachment";
    if (!spec.name.empty()) disp += "; " + mime::mime_param("filename", spec.name);
    out += mime::header_field("Content-Disposition", disp);
    out += mime::header_field("Content-Transfer-Encoding", cte);
    out += "\r\n";
}

// Writes one attachment leaf: header fields, the empty line, the encoded body. `avoid` is the
// boundary its octets must not contain when written as they are.
void write_leaf(std::string& out, LeafSpec spec, std::string_view data, std::string_view boundary, Built& built) {
    if (spec.type == "message/rfc822" || spec.type == "message/global") {
        // RFC 2046 §5.2.1: no encoding other than 7bit, 8bit or binary for message/rfc822. The
        // message is written in canonical form (CRLF) as it is; one that cannot travel that way
        // (NUL, lines over 998 octets) goes as application/octet-stream in base64 instead.
        std::string canon = to_crlf(data);
        bool nul = canon.find('\0') != std::string::npos;
        if (!nul && longest_line(canon) <= kMaxLine && canon.find(boundary) == std::string::npos) {
            bool ascii = is_ascii(canon);
            if (!ascii) built.needs_8bitmime = true;
            part_header(out, spec, ascii ? "7bit" : "8bit", "");
            out += canon;
            return;
        }
        spec.type = "application/octet-stream";
        if (spec.name.empty()) spec.name = "forwarded.eml";
    }
    if (spec.type.starts_with("text/") && mime::valid_utf8(data) && data.find('\0') == std::string_view::npos &&
        !has_bare_cr(data)) {
        std::string canon = to_crlf(data);  // RFC 2046 §4.1.1: CRLF line breaks in canonical text
        bool ascii = is_ascii(canon);
        std::string charset = ascii ? "us-ascii" : "utf-8";
        if (ascii && longest_line(canon) <= kMaxLine && canon.find(boundary) == std::string::npos) {
            part_header(out, spec, "7bit", charset);
            out += canon;
        } else {
            part_header(out, spec, "quoted-printable", charset);
            mime::append_quoted_printable(out, canon);
        }
        return;
    }
    part_header(out, spec, "base64", spec.type.starts_with("text/") ? spec.charset : "");
    mime::append_base64_lines(out, data);
}

Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("attachment " + path.string() + ": cannot open it");
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) return fail("attachment " + path.string() + ": " + ec.message());
    if (size > max) return fail("attachment " + path.string() + ": over the attachment size limit");
    std::string data(size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uint64_t>(in.gcount()) != size) return fail("attachment " + path.string() + ": short read");
    if (in.peek() != std::char_traits<char>::eof())
        return fail("attachment " + path.string() + ": the file grew while it was read");
    return data;
}

std::string size_text(std::uint64_t n) {  // "26300000 bytes (25.08 MiB)"
    std::string s = std::to_string(n) + " bytes";
    if (n >= (1u << 20)) {
        std::uint64_t hundredths = n * 100 / (1u << 20);
        std::string frac = std::to_string(hundredths % 100);
        s += " (" + std::to_string(hundredths / 100) + "." + (frac.size() < 2 ? "0" : "") + frac + " MiB)";
    }
    return s;
}

// Header fields build_message writes itself (RFC 5322 §3.6 allows each once).
bool reserved_field(std::string_view name) {
    static constexpr std::string_view kOwn[] = {"date", "from", "to", "cc", "bcc", "subject", "message-id",
                                                "in-reply-to", "references", "mime-version", "content-type",
                                                "content-transfer-encoding", "content-disposition"};
    std::string l = lower(name);
    return std::find(std::begin(kOwn), std::end(kOwn), l) != std::end(kOwn);
}

bool valid_field_name(std::string_view name) {  // RFC 5322 §2.2 ftext
    if (name.empty() || name.size() > 76) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 33 && u <= 126 && c != ':';
    });
}

}  // namespace

Result<Built> build_message(const Draft& draft, const BuildOptions& options) {
    Built built;
    // From: exactly one mailbox (RFC 5322 §3.6.2 without Sender:).
    auto from = mime::parse_single_mailbox(trim(draft.from));
    if (!from || from->local_part.empty() || from->domain.empty())
        return fail("From: \"" + std::string(trim(draft.from)) + "\" is not a valid address" +
                    (from ? std::string(" (no domain)") : " (" + from.error().message + ")"));
    Addr sender = to_addr(*from);
    if (!draft.from_name.empty()) sender.name = draft.from_name;
    auto to = parse_entries("To", draft.to);
    if (!to) return std::unexpected(to.error());
    auto cc = parse_entries("Cc", draft.cc);
    if (!cc) return std::unexpected(cc.error());
    auto bcc = parse_entries("Bcc", draft.bcc);
    if (!bcc) return std::unexpected(bcc.error());

    built.sender = sender.addr_spec;
    std::vector<std::string> seen;
    for (const auto* list : {&*to, &*cc, &*bcc})
        for (const auto& a : *list) {
            auto key = addr_key(a.addr_spec);
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
            seen.push_back(key);
            built.recipients.push_back(a.addr_spec);
        }
    if (built.recipients.empty()) return fail("no recipients: give at least one To, Cc or Bcc address");
    built.needs_smtputf8 = !is_ascii(built.sender) ||
                           std::any_of(built.recipients.begin(), built.recipients.end(),
                                       [](const std::string& r) { return !is_ascii(r); });

    if (!mime::valid_utf8(draft.body)) return fail("the body is not valid UTF-8");
    if (!mime::valid_utf8(draft.subject)) return fail("the subject is not valid UTF-8");
    if (!draft.in_reply_to.empty() && !is_msg_id(draft.in_reply_to))
        return fail("In-Reply-To: \"" + draft.in_reply_to + "\" is not a message id (<id@host>)");
    for (const auto& r : draft.references)
        if (!is_msg_id(r)) return fail("References: \"" + r + "\" is not a message id (<id@host>)");
    for (const auto& [name, value] : draft.headers) {
        if (!valid_field_name(name)) return fail("header field name \"" + name + "\" is not valid");
        if (reserved_field(name)) return fail("header field " + name + ": set by the composer, not as an extra field");
        if (!mime::valid_utf8(value)) return fail("header field " + name + ": the value is not valid UTF-8");
    }

    // Attachment size, before any file is read (policy, not an RFC: what submission servers take).
    std::uint64_t total = 0;
    for (const auto& p : draft.parts) {
        if (!p.content_type.empty() && !valid_type(p.content_type))
            return fail("attached part: \"" + p.content_type + "\" is not a content type");
        total += p.data.size();
    }
    for (const auto& a : draft.attachments) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(a.path, ec))
            return fail("attachment " + a.path.string() + ": " + (ec ? ec.message() : "not a regular file"));
        auto size = std::filesystem::file_size(a.path, ec);
        if (ec) return fail("attachment " + a.path.string() + ": " + ec.message());
        total += size;
    }
    if (total > options.max_attachment_bytes)
        return fail("attachments too large: " + size_text(total) + " in all, the limit is " +
                    size_text(options.max_attachment_bytes));

    // Body: RFC 2045 §2.7 7bit data (ASCII, no NUL, lines within 998 octets), else quoted-printable.
    std::string body = to_crlf(draft.body);
    if (!body.empty() && !body.ends_with("\r\n")) body += "\r\n";
    const bool body_ascii = is_ascii(body);
    const bool body_7bit = body_ascii && body.find('\0') == std::string::npos && longest_line(body) <= kMaxLine;
    const bool multipart = !draft.parts.empty() || !draft.attachments.empty();
    std::string boundary;
    if (multipart) {
        // RFC 2046 §5.1.1: a boundary in none of the parts written as they are. Base64 and
        // quoted-printable never contain "=_", which starts every boundary; files are checked
        // when they are written (and fall back to quoted-printable in the unlikely case).
        std::vector<std::string_view> contents{body};
        for (const auto& p : draft.parts) contents.push_back(p.data);
        boundary = mime::choose_boundary(contents, draft.unique ^ static_cast<std::uint64_t>(draft.date));
    }

    std::string& out = built.message;
    std::string host = draft.host.empty() ? sender.domain : draft.host;
    built.message_id = mime::make_message_id(draft.date, draft.unique, host);
    out += mime::header_field("Date", mime::format_date(draft.date, draft.utc_offset_minutes));  // RFC 5322 §3.6.1
    out += mime::header_field("From", mime::format_mailbox(sender.name, sender.addr_spec));     // §3.6.2
    if (!to->empty()) out += mime::header_field("To", header_list(*to));                          // §3.6.3
    if (!cc->empty()) out += mime::header_field("Cc", header_list(*cc));
    if (to->empty() && cc->empty()) out += mime::header_field("To", "undisclosed-recipients:;");  // Bcc only
    // RFC 5322 §3.6.3: Bcc recipients are in the envelope only, never in the header.
    if (!draft.subject.empty()) out += mime::header_field("Subject", mime::encode_words(draft.subject));  // RFC 2047
    out += mime::header_field("Message-ID", built.message_id);  // §3.6.4
    if (!draft.in_reply_to.empty()) out += mime::header_field("In-Reply-To", draft.in_reply_to);
    if (!draft.references.empty()) {
        std::string refs;
        for (const auto& r : draft.references) refs += (refs.empty() ? "" : " ") + r;
        out += mime::header_field("References", refs);
    }
    for (const auto& [name, value] : draft.headers) out += mime::header_field(name, mime::encode_words(value));
    out += mime::header_field("MIME-Version", "1.0");  // RFC 2045 §4

    auto text_headers = [&](std::string& o) {
        o += mime::header_field("Content-Type", std::string("text/plain; charset=") + (body_ascii ? "us-ascii" : "utf-8"));
        o += mime::header_field("Content-Transfer-Encoding", body_7bit ? "7bit" : "quoted-printable");
    };
    auto text_body = [&](std::string& o) {
        if (body_7bit)
            o += body;
        else
            mime::append_quoted_printable(o, body);
    };
    if (!multipart) {
        text_headers(out);
        out += "\r\n";
        text_body(out);
        return built;
    }

    out += mime::header_field("Content-Type", "multipart/mixed; " + mime::mime_param("boundary", boundary));
    // The multipart's own encoding is the widest of its parts' (RFC 2045 §6.4): 8bit only for an
    // 8-bit message/rfc822 part, inserted here once the parts are written (no second copy).
    const std::size_t cte_at = out.size();
    out += "\r\n";
    std::string& parts = out;
    mime::append_delimiter(parts, boundary, true);
    text_headers(parts);
    parts += "\r\n";
    text_body(parts);
    std::uint64_t budget = options.max_attachment_bytes;
    for (const auto& p : draft.parts) {
        LeafSpec spec;
        if (p.content_type.empty()) {
            Detected d = detect(p.data);
            spec.type = d.type;
            spec.charset = d.charset;
        } else {
            spec.type = lower(p.content_type);
        }
        if (!p.name.empty()) spec.name = mime::safe_filename(p.name);
        spec.inline_disposition = p.inline_disposition;
        mime::append_delimiter(parts, boundary, false);
        write_leaf(parts, spec, p.data, boundary, built);
        budget -= std::min<std::uint64_t>(budget, p.data.size());
    }
    for (const auto& a : draft.attachments) {
        auto data = read_file(a.path, budget);
        if (!data) return std::unexpected(data.error());
        budget -= data->size();
        Detected d = detect(*data);
        LeafSpec spec{d.type, d.charset, {}, false};
        // Only the base name travels (never the directories the sender keeps it in).
        std::string name = a.name.empty() ? a.path.filename().string() : a.name;
        spec.name = mime::safe_filename(name, "attachment");
        mime::append_delimiter(parts, boundary, false);
        write_leaf(parts, spec, *data, boundary, built);
    }
    mime::append_close_delimiter(parts, boundary);
    if (built.needs_8bitmime) out.insert(cte_at, mime::header_field("Content-Transfer-Encoding", "8bit"));
    return built;
}

// --- replies and forwards ---

std::string quote_text(std::string_view text) {
    std::string t;
    for (char c : text)
        if (c != '\r') t += c;
    while (!t.empty() && t.back() == '\n') t.pop_back();
    std::string out;
    std::size_t pos = 0;
    while (pos <= t.size() && !t.empty()) {
        std::size_t e = t.find('\n', pos);
        if (e == std::string::npos) e = t.size();
        std::string_view line(t.data() + pos, e - pos);
        if (line.empty())
            out += ">";
        else if (line.front() == '>')
            out += ">" + std::string(line);  // already quoted: one level deeper
        else
            out += "> " + std::string(line);
        out += '\n';
        pos = e + 1;
    }
    return out;
}

namespace {

struct Original {
    mime::Envelope env;
    std::optional<std::string> references;
    std::string subject;  // decoded
};

Original read_original(std::string_view message) {
    Original o;
    auto hs = mime::parse_header_section(message);
    if (!hs) return o;
    o.env = mime::make_envelope(*hs);
    if (const auto* f = hs->find("References")) o.references = f->value();
    if (o.env.subject) o.subject = std::string(trim(mime::decode_words(*o.env.subject)));
    return o;
}

std::vector<Addr> addrs(const mime::EnvelopeAddresses& a) {
    std::vector<Addr> out;
    for (const auto& m : mime::mailboxes(a.list)) out.push_back(to_addr(m));
    return out;
}

// Appends the addresses of `from` not already in `into` and not in `skip` (keys).
void merge(std::vector<Addr>& into, const std::vector<Addr>& from, const std::vector<std::string>& skip) {
    for (const auto& a : from) {
        auto key = addr_key(a.addr_spec);
        if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
        if (std::any_of(into.begin(), into.end(), [&](const Addr& b) { return addr_key(b.addr_spec) == key; }))
            continue;
        into.push_back(a);
    }
}

constexpr std::size_t kMaxReferences = 20;

}  // namespace

Draft reply_draft(std::string_view original, std::string_view rendered_text, std::string_view account, bool all) {
    Draft d;
    d.from = std::string(trim(account));
    Original o = read_original(original);

    // Subject: "Re: " once (RFC 5322 §3.6.5), tested on the decoded text.
    d.subject = starts_with_ci(o.subject, "re:") ? o.subject : "Re: " + o.subject;

    std::vector<std::string> own;
    if (auto me = mime::parse_single_mailbox(d.from)) own.push_back(addr_key(me->addr_spec()));
    else own.push_back(addr_key(d.from));

    // RFC 5322 §3.6.3: replies go to Reply-To when present, else From (make_envelope defaults it).
    std::vector<Addr> to;
    merge(to, addrs(o.env.reply_to), own);
    if (to.empty()) merge(to, addrs(o.env.to), own);  // a reply to one's own message: its recipients
    if (to.empty()) merge(to, addrs(o.env.reply_to), {});  // ... and when that was oneself: oneself
    std::vector<Addr> cc;
    if (all) {
        std::vector<std::string> skip = own;
        for (const auto& a : to) skip.push_back(addr_key(a.addr_spec));
        merge(cc, addrs(o.env.to), skip);
        merge(cc, addrs(o.env.cc), skip);
    }
    for (const auto& a : to) d.to.push_back(typed_mailbox(a));
    for (const auto& a : cc) d.cc.push_back(typed_mailbox(a));

    // RFC 5322 §3.6.4: In-Reply-To the parent's Message-ID; References the parent's References
    // (else its In-Reply-To when that holds one id) followed by the parent's Message-ID.
    std::vector<std::string> parent_id = o.env.message_id ? msg_ids(*o.env.message_id) : std::vector<std::string>{};
    if (!parent_id.empty()) d.in_reply_to = parent_id.front();
    std::vector<std::string> refs;
    if (o.references) {
        refs = msg_ids(*o.references);
    } else if (o.env.in_reply_to) {
        auto ids = msg_ids(*o.env.in_reply_to);
        if (ids.size() == 1) refs = ids;
    }
    if (!parent_id.empty()) refs.push_back(parent_id.front());
    for (const auto& r : refs)
        if (std::find(d.references.begin(), d.references.end(), r) == d.references.end()) d.references.push_back(r);
    if (d.references.size() > kMaxReferences) {
        // Keep the thread's root and the most recent ancestors (what threading needs most).
        d.references.erase(d.references.begin() + 1, d.references.end() - (kMaxReferences - 1));
    }

    // Attribution, then the quoted text.
    std::string who;
    auto from = addrs(o.env.from);
    if (!from.empty()) who = from.front().name.empty() ? from.front().addr_spec : from.front().name;
    else who = "someone";
    std::string attribution = o.env.date ? "On " + std::string(trim(*o.env.date)) + ", " + who + " wrote:" : who + " wrote:";
    d.body = attribution + "\n" + quote_text(rendered_text);
    return d;
}

Draft forward_draft(std::string_view original, std::string_view rendered_text, bool as_attachment) {
    Draft d;
    Original o = read_original(original);
    d.subject = starts_with_ci(o.subject, "fwd:") ? o.subject : "Fwd: " + o.subject;
    if (as_attachment) {
        // RFC 2046 §5.2.1: the whole message as message/rfc822, its octets unchanged.
        std::string name = mime::safe_filename(o.subject, "forwarded message");
        if (name.size() > 200) {
            std::size_t e = 200;
            while (e > 0 && (static_cast<unsigned char>(name[e]) & 0xC0) == 0x80) --e;
            name.resize(e);
        }
        d.parts.push_back({"message/rfc822", std::string(original), name + ".eml", false});
        return d;
    }
    auto field = [](const std::optional<std::string>& v) { return v ? mime::decode_words(*v) : std::string(); };
    auto list = [](const mime::EnvelopeAddresses& a) { return a.present ? mime::decode_words(a.raw) : std::string(); };
    std::string block = "---------- Forwarded message ---------\n";
    block += "From: " + list(o.env.from) + "\n";
    block += "Date: " + field(o.env.date) + "\n";
    block += "Subject: " + o.subject + "\n";
    block += "To: " + list(o.env.to) + "\n";
    if (o.env.cc.present) block += "Cc: " + list(o.env.cc) + "\n";
    std::string text;
    for (char c : rendered_text)
        if (c != '\r') text += c;
    d.body = block + "\n" + text;
    if (!d.body.ends_with('\n')) d.body += '\n';

    // The original's attachments, again: each leaf with a file name or an "attachment"
    // disposition (the text the reader rendered has neither), and each attached message whole.
    auto src = base::bytes_from_string(std::string(original));
    mime::PartTree tree = mime::parse_message(original);
    for (std::size_t i = 0; i < tree.parts.size(); ++i) {
        const mime::MimePart& p = tree.parts[i];
        if (p.kind == mime::PartKind::Multipart) continue;
        bool inside_message = false;  // parts of an attached message travel inside it
        for (auto q = p.parent; q != mime::kNoPart && q != 0; q = tree.parts[q].parent)
            if (tree.parts[q].kind == mime::PartKind::Message) inside_message = true;
        if (inside_message || (i == 0 && p.kind == mime::PartKind::Message)) continue;
        auto filename = mime::part_filename(p);
        bool attachment = (p.disposition && p.disposition->type == "attachment") || filename.has_value() ||
                          p.kind == mime::PartKind::Message || (i == 0 && p.content_type.type != "text");
        if (!attachment || (i == 0 && p.content_type.type == "text")) continue;
        DataPart part;
        part.content_type = p.content_type.type + "/" + p.content_type.subtype;
        if (!valid_type(part.content_type)) part.content_type = "application/octet-stream";
        if (filename) part.name = mime::safe_filename(*filename);
        mime::DecodeOptions opt;
        opt.to_utf8 = p.content_type.type == "text";
        auto r = mime::read_decoded(*src, p, [&](std::string_view piece) {
            part.data += piece;
            return true;
        }, opt);
        if (!r) continue;
        d.parts.push_back(std::move(part));
    }
    return d;
}

}  // namespace tern::mua
