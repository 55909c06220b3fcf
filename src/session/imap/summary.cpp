// The per-message summary (see summary.hpp): built from the part tree with proto/imap/fetch_data's
// formatters and SEARCH's Date: parser, and its binary form (LEB128 lengths and numbers). Must
// never read past the blob, accept trailing bytes, or let a length overflow.
#include "session/imap/summary.hpp"

#include <algorithm>
#include <variant>

#include "mime/header.hpp"
#include "proto/imap/fetch_data.hpp"
#include "session/imap/search_match.hpp"

namespace tern::imap {
namespace {

enum Present : std::uint8_t {
    kSent = 1, kSubject = 2, kFrom = 4, kTo = 8, kCc = 16, kMessageId = 32, kInReplyTo = 64, kReferences = 128,
};

void put_uint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

void put_str(std::string& out, std::string_view s) {
    put_uint(out, s.size());
    out += s;
}

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool uint(std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at_ >= in_.size()) return false;
            const auto b = static_cast<std::uint8_t>(in_[at_++]);
            if (shift == 63 && (b & 0x7e)) return false;  // more than 64 bits
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return b != 0 || shift == 0;  // minimal form only: one encoding per value
        }
        return false;
    }
    bool str(std::string& s) {
        std::uint64_t n = 0;
        if (!uint(n) || n > in_.size() - at_) return false;
        s.assign(in_.substr(at_, static_cast<std::size_t>(n)));
        at_ += static_cast<std::size_t>(n);
        return true;
    }
    bool byte(std::uint8_t& b) {
        if (at_ >= in_.size()) return false;
        b = static_cast<std::uint8_t>(in_[at_++]);
        return true;
    }
    bool done() const { return at_ == in_.size(); }

private:
    std::string_view in_;
    std::size_t at_ = 0;
};

std::optional<SummaryAddress> first_mailbox(const mime::EnvelopeAddresses& a) {
    for (const auto& m : mime::mailboxes(a.list))
        return SummaryAddress{m.display_name, m.local_part, m.domain};
    return std::nullopt;
}

std::string trim(std::string s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && ws(s.back())) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && ws(s[b])) ++b;
    return s.substr(b);
}

}  // namespace

std::string encode_summary(const MessageSummary& s) {
    std::string out;
    out.reserve(s.envelope.size() + s.body.size() + s.bodystructure.size() + 64);
    out += static_cast<char>(kSummaryVersion);
    std::uint8_t present = 0;
    if (s.sent) present |= kSent;
    if (s.subject) present |= kSubject;
    if (s.from) present |= kFrom;
    if (s.to) present |= kTo;
    if (s.cc) present |= kCc;
    if (s.message_id) present |= kMessageId;
    if (s.in_reply_to) present |= kInReplyTo;
    if (s.references) present |= kReferences;
    out += static_cast<char>(present);
    put_str(out, s.envelope);
    put_str(out, s.body);
    put_str(out, s.bodystructure);
    if (s.sent) {  // zigzag: dates before 1970 stay short
        const auto v = static_cast<std::uint64_t>(*s.sent);
        put_uint(out, (v << 1) ^ static_cast<std::uint64_t>(*s.sent >> 63));
    }
    if (s.subject) put_str(out, *s.subject);
    for (const auto* a : {&s.from, &s.to, &s.cc})
        if (*a) {
            put_str(out, (*a)->name);
            put_str(out, (*a)->mailbox);
            put_str(out, (*a)->host);
        }
    for (const auto* f : {&s.message_id, &s.in_reply_to, &s.references})
        if (*f) put_str(out, **f);
    put_uint(out, s.header_size);
    return out;
}

std::optional<MessageSummary> decode_summary(std::string_view blob) {
    Reader r(blob);
    MessageSummary s;
    std::uint8_t version = 0, present = 0;
    if (!r.byte(version) || version != kSummaryVersion || !r.byte(present)) return std::nullopt;
    if (!r.str(s.envelope) || !r.str(s.body) || !r.str(s.bodystructure)) return std::nullopt;
    if (present & kSent) {
        std::uint64_t z = 0;
        if (!r.uint(z)) return std::nullopt;
        s.sent = static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
    }
    if (present & kSubject) {
        if (!r.str(s.subject.emplace())) return std::nullopt;
    }
    const std::pair<std::uint8_t, std::optional<SummaryAddress>*> addrs[] = {
        {kFrom, &s.from}, {kTo, &s.to}, {kCc, &s.cc}};
    for (auto [bit, a] : addrs)
        if (present & bit) {
            auto& v = a->emplace();
            if (!r.str(v.name) || !r.str(v.mailbox) || !r.str(v.host)) return std::nullopt;
        }
    const std::pair<std::uint8_t, std::optional<std::string>*> fields[] = {
        {kMessageId, &s.message_id}, {kInReplyTo, &s.in_reply_to}, {kReferences, &s.references}};
    for (auto [bit, f] : fields)
        if (present & bit) {
            if (!r.str(f->emplace())) return std::nullopt;
        }
    if (!r.uint(s.header_size) || !r.done()) return std::nullopt;
    return s;
}

namespace {

// `header`: the root's header section as read, at most kMaxFieldsHeaderBytes of it.
MessageSummary build(const mime::PartTree& tree, std::string header) {
    MessageSummary s;
    const auto& root = tree.root();
    const mime::Envelope none;
    const mime::Envelope& env = root.envelope ? *root.envelope : none;
    // Exactly what cmd_fetch sends to a session without UTF-8.
    append_envelope(s.envelope, env, false);
    append_bodystructure(s.body, tree, 0, false, false);
    append_bodystructure(s.bodystructure, tree, 0, true, false);
    // RFC 5256 §2.2: the sent date is the Date: header's; an unparsable one counts as absent.
    if (env.date)
        if (auto d = parse_sent_date(*env.date)) s.sent = d->unix_seconds();
    s.subject = env.subject;
    s.from = first_mailbox(env.from);
    s.to = first_mailbox(env.to);
    s.cc = first_mailbox(env.cc);
    s.message_id = env.message_id;
    s.in_reply_to = env.in_reply_to;
    s.header_size = root.header_size();
    // References: (RFC 5256 §3 REFERENCES) is not part of ENVELOPE: read from the header section.
    if (header.size() < root.header_size()) {  // cut at the last whole line
        auto nl = header.rfind('\n');
        header.resize(nl == std::string::npos ? 0 : nl + 1);
    }
    if (auto h = mime::parse_header_section(header))
        if (const auto* f = h->find("References")) s.references = trim(f->value());
    return s;
}

std::size_t header_bytes(const mime::PartTree& tree) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(tree.root().header_size(), kMaxFieldsHeaderBytes));
}

}  // namespace

Result<MessageSummary> make_summary(const mime::PartTree& tree, const base::ByteSource& source) {
    const std::size_t want = header_bytes(tree);
    std::string header(want, '\0');
    std::size_t got = 0;
    while (got < want) {
        auto n = source.read(tree.root().header_begin + got, std::span<char>(header.data() + got, want - got));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) break;
        got += *n;
    }
    header.resize(got);
    return build(tree, std::move(header));
}

MessageSummary make_summary(std::string_view message) {
    auto tree = mime::parse_message(message);
    const auto begin = static_cast<std::size_t>(std::min<std::uint64_t>(tree.root().header_begin, message.size()));
    return build(tree, std::string(message.substr(begin, header_bytes(tree))));
}

Result<std::optional<std::string>> summary_blob(const base::ByteSource& message) {
    auto tree = mime::parse_message(message);
    if (!tree) return std::unexpected(tree.error());
    auto made = make_summary(*tree, message);
    if (!made) return std::unexpected(made.error());
    auto blob = encode_summary(*made);
    if (blob.size() > kMaxSummaryBytes) return std::nullopt;
    return blob;
}

}  // namespace tern::imap
