// Rendering a message for reading (see render.hpp): the part tree decides what is body text
// (attachments.cpp's roles), multipart/alternative picks one alternative, text parts are decoded
// and converted, HTML goes through html_text, uuencoded blocks become a one-line marker, and
// encapsulated messages become forwarded blocks. Recursion follows the part tree, whose depth
// ParseLimits caps (20). Must never show a control character or invalid UTF-8.
#include "mua/render.hpp"

#include <algorithm>
#include <cctype>

#include "mime/charset.hpp"
#include "mime/encoded_word.hpp"
#include "mime/section.hpp"
#include "mime/uuencode.hpp"
#include "mua/html_text.hpp"
#include "mua/json.hpp"

namespace tern::mua {
namespace {

// One display line: RFC 2047 decoded elsewhere; here control characters go and line breaks,
// tabs and runs of blanks become single spaces.
std::string one_line(std::string_view s) {
    std::string c = clean_display_text(s);
    std::string out;
    bool sp = false;
    for (char ch : c) {
        if (ch == '\n' || ch == '\t' || ch == ' ' || ch == '\r') {
            sp = !out.empty();
            continue;
        }
        if (sp) out += ' ';
        sp = false;
        out += ch;
    }
    return out;
}

std::string decoded_line(std::string_view raw) { return one_line(mime::decode_words(raw)); }

void add_mailbox(const mime::Mailbox& m, std::vector<RenderedAddress>& list, std::vector<std::string>& shown) {
    RenderedAddress a;
    a.name = decoded_line(m.display_name);
    a.address = one_line(m.domain.empty() ? m.local_part : m.addr_spec());
    shown.push_back(a.name.empty() || a.name == a.address ? a.address : a.name + " <" + a.address + ">");
    list.push_back(std::move(a));
}

std::string addresses(const mime::EnvelopeAddresses& e, std::vector<RenderedAddress>& list) {
    if (!e.present) return {};
    if (!e.parsed && e.list.empty()) {
        list.push_back({decoded_line(e.raw), ""});
        return decoded_line(e.raw);
    }
    std::vector<std::string> shown;
    for (const mime::Address& a : e.list) {
        if (const auto* m = std::get_if<mime::Mailbox>(&a)) {
            add_mailbox(*m, list, shown);
        } else {
            const auto& g = std::get<mime::Group>(a);
            std::vector<std::string> members;
            std::vector<RenderedAddress> ignored;
            for (const mime::Mailbox& m : g.members) add_mailbox(m, list, members);
            std::string s = decoded_line(g.display_name) + ":";
            for (std::size_t i = 0; i < members.size(); ++i) s += (i ? ", " : " ") + members[i];
            shown.push_back(s + ";");
        }
    }
    std::string out;
    for (std::size_t i = 0; i < shown.size(); ++i) out += (i ? ", " : "") + shown[i];
    if (!e.parsed) out += out.empty() ? decoded_line(e.raw) : " (and text that did not parse)";
    return out;
}

RenderedHeader make_header(const mime::Envelope& env) {
    RenderedHeader h;
    h.from = addresses(env.from, h.from_list);
    h.to = addresses(env.to, h.to_list);
    h.cc = addresses(env.cc, h.cc_list);
    if (env.date) h.date = one_line(*env.date);
    if (env.subject) h.subject = decoded_line(*env.subject);
    if (env.message_id) h.message_id = one_line(*env.message_id);
    return h;
}

// "Name: value" folded at ", " to the width, continuation lines indented.
void header_line(std::string& out, std::string_view prefix, std::string_view name, const std::string& value,
                 std::size_t width) {
    if (value.empty()) return;
    std::string line = std::string(prefix) + std::string(name) + ": ";
    std::size_t col = display_width(line);
    std::size_t start = 0;
    bool first = true;
    while (start <= value.size()) {
        std::size_t comma = value.find(", ", start);
        std::string_view piece(value.data() + start,
                               (comma == std::string::npos ? value.size() : comma + 1) - start);
        std::size_t w = display_width(piece);
        if (!first && width > 0 && col + 1 + w > width) {
            out += line + "\n";
            line = std::string(prefix) + "    ";
            col = display_width(line);
        } else if (!first) {
            line += ' ';
            ++col;
        }
        line += piece;
        col += w;
        first = false;
        if (comma == std::string::npos) break;
        start = comma + 2;
    }
    out += line + "\n";
}

void header_block(std::string& out, std::string_view prefix, const RenderedHeader& h, std::size_t width) {
    header_line(out, prefix, "From", h.from, width);
    header_line(out, prefix, "To", h.to, width);
    header_line(out, prefix, "Cc", h.cc, width);
    header_line(out, prefix, "Date", h.date, width);
    header_line(out, prefix, "Subject", h.subject, width);
}

// <meta charset="x"> or <meta http-equiv=Content-Type content="text/html; charset=x"> in the
// first 4 KiB (HTML §13.2.3.2 prescan, simplified): the charset of an HTML part that names none.
std::string meta_charset(std::string_view html) {
    std::string head(html.substr(0, 4096));
    for (char& c : head)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    for (std::size_t m = head.find("<meta"); m != std::string::npos; m = head.find("<meta", m + 5)) {
        std::size_t end = head.find('>', m);
        std::string_view tag(head.data() + m, (end == std::string::npos ? head.size() : end) - m);
        std::size_t c = tag.find("charset");
        if (c == std::string::npos) continue;
        std::size_t i = c + 7;
        while (i < tag.size() && (tag[i] == ' ' || tag[i] == '=' || tag[i] == '"' || tag[i] == '\'')) ++i;
        std::size_t b = i;
        while (i < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[i])) || tag[i] == '-' || tag[i] == '_' ||
                                  tag[i] == '.' || tag[i] == ':'))
            ++i;
        if (i > b) return std::string(tag.substr(b, i - b));
    }
    return {};
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = mime::utf8_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Greedy wrap of one logical line at `width` columns (0: none), breaking only at spaces.
void wrap_into(std::string& out, std::string_view prefix, std::string_view line, std::size_t width) {
    std::size_t pw = display_width(prefix);
    std::size_t avail = width == 0 ? 0 : (width > pw + 20 ? width - pw : 20);
    std::string cur;
    std::size_t cur_w = 0;
    auto emit = [&] {
        out += prefix;
        out += cur;
        out += '\n';
        cur.clear();
        cur_w = 0;
    };
    if (avail == 0 || display_width(line) <= avail) {
        cur = std::string(line);
        emit();
        return;
    }
    for (std::size_t b = 0; b <= line.size();) {
        std::size_t e = line.find(' ', b);
        if (e == std::string_view::npos) e = line.size();
        std::string_view w = line.substr(b, e - b);
        std::size_t ww = display_width(w);
        if (!cur.empty() && cur_w + 1 + ww > avail) emit();
        if (!cur.empty()) {
            cur += ' ';
            ++cur_w;
        }
        cur += w;
        cur_w += ww;
        b = e + 1;
    }
    if (!cur.empty()) emit();
}

// RFC 3676 format=flowed: quote depth from leading ">", space-stuffing removed (§4.4), a line
// ending in a space continues on the next line of the same depth (§4.2; DelSp=yes drops that
// space, §4.3), "-- " stays a signature separator (§4.3); paragraphs rewrapped at `width`.
std::string unflow(std::string_view text, bool delsp, std::size_t width) {
    std::string out, para;
    std::size_t para_depth = 0;
    bool open = false;
    auto flush = [&] {
        if (!open) return;
        std::string prefix;
        for (std::size_t k = 0; k < para_depth; ++k) prefix += '>';
        if (para_depth) prefix += ' ';
        wrap_into(out, prefix, para, width);
        para.clear();
        open = false;
    };
    for (std::size_t b = 0; b < text.size();) {
        std::size_t e = text.find('\n', b);
        if (e == std::string_view::npos) e = text.size();
        std::string_view line = text.substr(b, e - b);
        b = e + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::size_t depth = 0;
        while (depth < line.size() && line[depth] == '>') ++depth;
        line.remove_prefix(depth);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);  // space-stuffing
        if (open && depth != para_depth) flush();
        bool sig = line == "-- ";
        bool flowed = !sig && !line.empty() && line.back() == ' ';
        if (flowed && delsp) line.remove_suffix(1);
        if (sig) flush();
        para += line;
        para_depth = depth;
        open = true;
        if (!flowed) flush();
    }
    flush();
    return out;
}

// CRLF and lone CR to LF, then terminal hygiene; the text ends with "\n" unless empty.
std::string tidy_text(std::string_view s) {
    std::string lf;
    lf.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            lf += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            lf += s[i];
        }
    }
    std::string out = clean_display_text(lf);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) out.pop_back();
    std::size_t b = 0;
    while (b < out.size() && out[b] == '\n') ++b;
    out.erase(0, b);
    if (!out.empty()) out += '\n';
    return out;
}

class Renderer {
public:
    Renderer(std::string_view msg, const RenderOptions& o, Rendered& r) : msg_(msg), o_(o), r_(r) {}

    void run() {
        ListOptions lo;
        lo.sniff_types = o_.sniff_types;
        tree_ = mime::parse_message(msg_, lo.limits);
        r_.attachments = list_attachments(msg_, tree_, lo);
        if (tree_.root().envelope) r_.header = make_header(*tree_.root().envelope);
        part(0, 0);
        if (tree_.root().content_type.is("multipart", "encrypted"))  // RFC 1847 §2.2
            r_.notes.push_back("the message is encrypted (" + one_line(type_param("protocol")) + "); not decrypted");
        else if (r_.blocks.empty())
            r_.notes.push_back("no text to show; see the attachments");
        if (tree_.truncated) r_.notes.push_back("the message has more parts than are shown");
        compose_text();
    }

private:
    std::string_view msg_;
    const RenderOptions& o_;
    Rendered& r_;
    mime::PartTree tree_;

    const mime::MimePart& p(std::uint32_t i) const { return tree_.parts[i]; }

    std::string type_param(std::string_view name) const {
        const mime::Param* v = tree_.root().content_type.params.find(name);
        return v ? v->value : std::string();
    }

    // Does the subtree at i (not entering encapsulated messages) hold a shown leaf of this type?
    bool holds(std::uint32_t i, std::string_view subtype, bool nonempty) const {
        std::vector<std::uint32_t> st{i};
        while (!st.empty()) {
            std::uint32_t k = st.back();
            st.pop_back();
            const mime::MimePart& q = p(k);
            if (q.kind == mime::PartKind::Leaf) {
                if (shown_inline(tree_, k) && q.content_type.is("text", subtype) && (!nonempty || q.body_size() > 2))
                    return true;
            } else if (q.kind == mime::PartKind::Multipart) {
                for (std::uint32_t c : q.children) st.push_back(c);
            }
        }
        return false;
    }

    // RFC 2046 §5.1.4: alternatives in increasing order of faithfulness; we prefer plain text
    // (unless asked for HTML), and the last of equals.
    std::optional<std::uint32_t> choose(const mime::MimePart& alt) const {
        std::optional<std::uint32_t> plain, html, any;
        for (std::uint32_t c : alt.children) {
            if (holds(c, "plain", true)) plain = c;
            if (holds(c, "html", false)) html = c;
            if (holds(c, "*", false) || p(c).kind == mime::PartKind::Message) any = c;
        }
        if (o_.prefer_html && html) return html;
        if (plain) return plain;
        if (html) return html;
        return any;
    }

    void part(std::uint32_t i, unsigned quote) {
        const mime::MimePart& q = p(i);
        switch (q.kind) {
            case mime::PartKind::Multipart:
                if (q.content_type.is("multipart", "alternative")) {
                    if (auto c = choose(q)) part(*c, quote);
                } else {
                    for (std::uint32_t c : q.children) part(c, quote);
                }
                break;
            case mime::PartKind::Message: {
                if (q.children.empty()) break;
                BodyBlock b;
                b.kind = BodyBlock::Kind::Forwarded;
                b.quote_depth = quote;
                b.part = i;
                b.section = mime::section_path(tree_, i);
                std::uint32_t inner = q.children.front();
                if (p(inner).envelope) b.header = make_header(*p(inner).envelope);
                r_.blocks.push_back(std::move(b));
                part(inner, quote + 1);
                break;
            }
            case mime::PartKind::Leaf:
                if (shown_inline(tree_, i)) text_part(i, quote);
                break;
        }
    }

    void text_part(std::uint32_t i, unsigned quote) {
        const mime::MimePart& q = p(i);
        BodyBlock b;
        b.quote_depth = quote;
        b.part = i;
        b.section = mime::section_path(tree_, i);
        b.content_type = one_line(q.content_type.type + "/" + q.content_type.subtype);
        if (const mime::Param* cs = q.content_type.params.find("charset")) b.charset = mime::param_utf8(*cs);
        bool cut = false;
        std::string bytes = decoded_part(msg_, q, o_.max_part_text, &b.damaged, &cut);
        b.from_html = q.content_type.is("text", "html");
        if (b.from_html && b.charset.empty()) b.charset = meta_charset(bytes);
        // No charset (RFC 2046 §4.1.2: then US-ASCII) or US-ASCII: 8-bit octets are outside it
        // anyway; when they form valid UTF-8 (RFC 6532 mail, sloppy senders) they are read as
        // UTF-8, else as windows-1252 (what us-ascii means to mime::to_utf8).
        std::string charset = b.charset;
        std::string lc = one_line(charset);
        for (char& c : lc) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lc.empty() || lc == "us-ascii" || lc == "ascii") charset = valid_utf8(bytes) ? "utf-8" : "us-ascii";
        std::string utf8;
        std::size_t next_uu = 0;
        auto convert = [&](std::string_view piece) {
            mime::Utf8Text t = mime::to_utf8(piece, charset, o_.max_part_text);
            b.charset_fallback = b.charset_fallback || t.fallback;
            b.charset_replaced = b.charset_replaced || t.replaced;
            cut = cut || t.truncated;
            utf8 += t.text;
        };
        if (!b.from_html && bytes.find("begin ") != std::string::npos && q.content_type.is("text", "plain")) {
            // uuencoded blocks: a one-line marker each, numbered as list_attachments() does.
            std::size_t from = 0;
            for (const mime::UuBlock& u : mime::find_uuencoded(bytes)) {
                convert(std::string_view(bytes).substr(from, u.begin - from));
                while (next_uu < r_.attachments.size() &&
                       !(r_.attachments[next_uu].uuencoded && r_.attachments[next_uu].part == i))
                    ++next_uu;
                std::string num = next_uu < r_.attachments.size() ? std::to_string(r_.attachments[next_uu++].index) : "?";
                utf8 += "[uuencoded attachment " + num + ": " + clean_display_text(mime::utf8_or_latin1(u.raw_name)) +
                        ", " + human_size(u.data.size()) + "]\n";
                from = u.end;
            }
            convert(std::string_view(bytes).substr(from));
        } else {
            convert(bytes);
        }
        if (b.from_html && !o_.html_raw) {
            HtmlTextOptions ho;
            ho.width = o_.width;
            HtmlText h = html_to_text(utf8, ho);
            b.text = tidy_text(h.text);
            b.links = std::move(h.links);
            cut = cut || h.truncated;
        } else if (const mime::Param* f = q.content_type.params.find("format");
                   f && iequal(f->value, "flowed") && q.content_type.is("text", "plain")) {
            const mime::Param* d = q.content_type.params.find("delsp");
            b.text = tidy_text(unflow(utf8, d && iequal(d->value, "yes"), o_.width));
        } else {
            b.text = tidy_text(utf8);
        }
        b.truncated = cut;
        std::string where = "part " + (b.section.empty() ? std::string("1") : b.section);
        if (b.charset_fallback)
            r_.notes.push_back(where + ": unknown charset \"" + one_line(b.charset) +
                               "\", shown as UTF-8 where valid, else Latin-1");
        else if (b.charset_replaced)
            r_.notes.push_back(where + ": octets invalid in " + one_line(b.charset.empty() ? "us-ascii" : b.charset) +
                               " shown as U+FFFD");
        if (b.damaged) r_.notes.push_back(where + ": damaged " + one_line(q.transfer_encoding) + " encoding");
        if (b.truncated) r_.notes.push_back(where + ": text cut short (too long)");
        r_.blocks.push_back(std::move(b));
    }

    void compose_text() {
        std::string& out = r_.text;
        header_block(out, "", r_.header, o_.width);
        out += "\n";
        bool first = true;
        for (const BodyBlock& b : r_.blocks) {
            std::string prefix;
            for (unsigned k = 0; k < b.quote_depth; ++k) prefix += "> ";
            std::string bare = prefix;
            while (!bare.empty() && bare.back() == ' ') bare.pop_back();
            if (!first) out += bare + "\n";
            first = false;
            if (b.kind == BodyBlock::Kind::Forwarded) {
                out += prefix + "----- Forwarded message -----\n";
                header_block(out, prefix + "> ", b.header, o_.width);
                continue;
            }
            for (std::size_t s = 0; s < b.text.size();) {
                std::size_t e = b.text.find('\n', s);
                if (e == std::string::npos) e = b.text.size();
                std::string_view ln(b.text.data() + s, e - s);
                out += (ln.empty() ? bare : prefix);
                out += ln;
                out += '\n';
                s = e + 1;
            }
        }
        if (!r_.notes.empty()) {
            out += "\n";
            for (const std::string& n : r_.notes) out += "[" + n + "]\n";
        }
        if (!r_.attachments.empty()) {
            out += "\nAttachments:\n";
            for (const Attachment& a : r_.attachments)
                out += "  [" + std::to_string(a.index) + "] " + (a.name.empty() ? a.save_name : one_line(a.name)) +
                       "  " + a.content_type + "  " + human_size(a.size) + "\n";
        }
    }
};

std::string header_json(const RenderedHeader& h) {
    auto list = [](const std::vector<RenderedAddress>& l) {
        std::string s = "[";
        for (const RenderedAddress& a : l) {
            if (s.size() > 1) s += ',';
            s += "{\"name\":" + json_string(a.name) + ",\"address\":" + json_string(a.address) + "}";
        }
        return s + "]";
    };
    return "{\"from\":" + json_string(h.from) + ",\"to\":" + json_string(h.to) + ",\"cc\":" + json_string(h.cc) +
           ",\"date\":" + json_string(h.date) + ",\"subject\":" + json_string(h.subject) +
           ",\"message_id\":" + json_string(h.message_id) + ",\"from_list\":" + list(h.from_list) +
           ",\"to_list\":" + list(h.to_list) + ",\"cc_list\":" + list(h.cc_list) + "}";
}

}  // namespace

Rendered render_message(std::string_view message, const RenderOptions& options) {
    Rendered r;
    Renderer(message, options, r).run();
    return r;
}

std::string render_json(const Rendered& r) {
    auto flag = [](bool b) { return b ? std::string("true") : std::string("false"); };
    std::string out = "{\"header\":" + header_json(r.header) + ",\"body\":[";
    bool first = true;
    for (const BodyBlock& b : r.blocks) {
        if (!first) out += ',';
        first = false;
        out += "{\"kind\":\"" + std::string(b.kind == BodyBlock::Kind::Text ? "text" : "forwarded") +
               "\",\"quote_depth\":" + std::to_string(b.quote_depth) + ",\"section\":" + json_string(b.section);
        if (b.kind == BodyBlock::Kind::Forwarded) {
            out += ",\"header\":" + header_json(b.header) + "}";
            continue;
        }
        out += ",\"type\":" + json_string(b.content_type) + ",\"charset\":" + json_string(b.charset) +
               ",\"html\":" + flag(b.from_html) + ",\"text\":" + json_string(b.text) + ",\"links\":[";
        for (std::size_t i = 0; i < b.links.size(); ++i) out += (i ? "," : "") + json_string(b.links[i]);
        out += "],\"charset_fallback\":" + flag(b.charset_fallback) + ",\"charset_replaced\":" +
               flag(b.charset_replaced) + ",\"damaged\":" + flag(b.damaged) + ",\"truncated\":" + flag(b.truncated) + "}";
    }
    out += "],\"attachments\":" + attachments_json(r.attachments) + ",\"notes\":[";
    for (std::size_t i = 0; i < r.notes.size(); ++i) out += (i ? "," : "") + json_string(r.notes[i]);
    out += "],\"text\":" + json_string(r.text) + "}";
    return out;
}

}  // namespace tern::mua
