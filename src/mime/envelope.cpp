// ENVELOPE fields from a header section (see envelope.hpp). Must never decode RFC 2047 words (IMAP
// sends them encoded) and never guess addresses that are not in the field.
#include "mime/envelope.hpp"

namespace tern::mime {
namespace {

std::string trim(std::string s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t b = 0, e = s.size();
    while (b < e && ws(s[b])) ++b;
    while (e > b && ws(s[e - 1])) --e;
    return s.substr(b, e - b);
}

std::optional<std::string> text_field(const HeaderSection& h, std::string_view name) {
    const HeaderField* f = h.find(name);
    if (!f) return std::nullopt;
    return trim(f->value());
}

EnvelopeAddresses addresses(const HeaderSection& h, std::string_view name) {
    EnvelopeAddresses a;
    const HeaderField* f = h.find(name);
    if (!f) return a;
    a.raw = trim(f->value());
    if (a.raw.empty()) return a;
    a.present = true;
    if (auto list = parse_address_list(a.raw)) {
        a.list = std::move(*list);
        return a;
    }
    // Lenient: the pieces between commas that parse on their own (a comma inside a quoted
    // display name splits it wrongly, but such a list did not parse whole anyway).
    a.parsed = false;
    std::string_view rest = a.raw;
    while (!rest.empty()) {
        std::size_t comma = rest.find(',');
        std::string_view piece = rest.substr(0, comma);
        if (auto list = parse_address_list(piece))
            for (auto& x : *list) a.list.push_back(std::move(x));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return a;
}

}  // namespace

Envelope make_envelope(const HeaderSection& h) {
    Envelope e;
    e.date = text_field(h, "Date");
    e.subject = text_field(h, "Subject");
    e.from = addresses(h, "From");
    e.sender = addresses(h, "Sender");
    e.reply_to = addresses(h, "Reply-To");
    e.to = addresses(h, "To");
    e.cc = addresses(h, "Cc");
    e.bcc = addresses(h, "Bcc");
    e.in_reply_to = text_field(h, "In-Reply-To");
    e.message_id = text_field(h, "Message-ID");
    // RFC 9051 §7.5.2: "If the Sender or Reply-To header lines are absent in the [RFC-5322]
    // header, or are present but empty, the server sets the corresponding member of the envelope
    // to be the same value as the from member".
    if (!e.sender.present) {
        e.sender = e.from;
        e.sender.defaulted = true;
    }
    if (!e.reply_to.present) {
        e.reply_to = e.from;
        e.reply_to.defaulted = true;
    }
    return e;
}

}  // namespace tern::mime
