// The streaming MIME part-tree builder (see part_tree.hpp). One pass over the lines: each line
// keeps only its first kPrefix octets (enough to recognise a boundary delimiter) plus, while a
// header section is open, the header's bytes up to the limit. A stack of open parts and of active
// boundaries decides where each part ends. Must never keep a body byte past its line, never scan a line twice,
// and never recurse.
#include "mime/part_tree.hpp"

#include <algorithm>
#include <cstring>

#include "base/ascii.hpp"
#include "mime/header.hpp"

namespace tern::mime {
namespace {

// RFC 2046 §5.1.1: a boundary is 1 to 70 characters; longer ones are seen in the wild, so up to
// kMaxBoundary are accepted; "--" + boundary + "--" + padding must fit in the line prefix.
constexpr std::size_t kMaxBoundary = 200;
constexpr std::size_t kPrefix = kMaxBoundary + 8;

constexpr bool is_pad(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string trimmed(std::string s, std::size_t max) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_pad(s[b])) ++b;
    while (e > b && is_pad(s[e - 1])) --e;
    return s.substr(b, std::min(e - b, max));
}

class ViewSource final : public base::ByteSource {
public:
    explicit ViewSource(std::string_view v) : v_(v) {}
    std::uint64_t size() const override { return v_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= v_.size()) return std::size_t{0};
        std::size_t n = std::min<std::size_t>(out.size(), v_.size() - static_cast<std::size_t>(offset));
        std::memcpy(out.data(), v_.data() + offset, n);
        return n;
    }

private:
    std::string_view v_;
};

struct Bound {
    std::string boundary;
    std::uint32_t part;  // the multipart it delimits
};

class Builder {
public:
    Builder(const ParseLimits& l, std::uint64_t size) : lim_(l) {
        tree_.size = size;
        tree_.parts.emplace_back();
        MimePart& root = tree_.parts.back();
        root.is_message = true;
        open_.push_back(0);
        begin_lf_.push_back(0);
        in_header_ = true;
        prefix_.reserve(kPrefix);
    }

    void feed(std::string_view chunk) {
        std::size_t pos = 0;
        while (pos < chunk.size()) {
            const void* nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
            std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - chunk.data()) + 1 : chunk.size();
            segment(chunk.substr(pos, end - pos));
            if (nl) line_done(true);
            pos = end;
        }
        note_peak();
    }

    PartTree finish(std::size_t read_buffer) {
        if (line_len_ > 0) line_done(false);
        const std::uint64_t end = tree_.size;
        // Every multipart still waiting for its close delimiter ends here (RFC 2046 §5.1.1 requires
        // one; like Dovecot, a missing one ends the part with its parent, here the message).
        for (const Bound& b : bounds_) tree_.parts[b.part].missing_close = true;
        while (!open_.empty()) close_top(end, /*at_eof=*/true);
        tree_.stats.peak_buffer_bytes = peak_ + read_buffer;
        return std::move(tree_);
    }

private:
    const ParseLimits& lim_;
    PartTree tree_;
    std::vector<std::uint32_t> open_;      // the chain of open parts, root first
    std::vector<std::uint64_t> begin_lf_;  // per open part: LFs before its body_begin
    std::vector<Bound> bounds_;            // active boundaries, outermost first
    std::size_t total_header_ = 0;

    // The current line.
    std::uint64_t line_start_ = 0;
    std::uint64_t line_len_ = 0;
    std::string prefix_;       // its first kPrefix octets
    bool tail_pad_ = true;     // every octet after the prefix is white space or CR/LF
    char last_ = 0, before_last_ = 0;

    // The previous line.
    std::uint64_t prev_eol_ = 0;      // 0 (no line yet), 1 (LF) or 2 (CRLF)

    std::uint64_t lf_ = 0;  // LFs before the current line

    bool in_header_ = false;      // open_.back() is reading its header section
    std::string header_;          // that header section's bytes so far (at most max_header_bytes)
    bool header_over_ = false;
    std::size_t header_line_mark_ = 0;  // header_.size() when the current line began
    std::size_t peak_ = 0;

    void note_peak() { peak_ = std::max(peak_, header_.capacity() + prefix_.capacity()); }

    void segment(std::string_view s) {
        if (s.empty()) return;
        if (in_header_) append_header(s);  // cut back in close_top if this line is a delimiter
        if (s.size() >= 2) {
            before_last_ = s[s.size() - 2];
        } else {
            before_last_ = last_;
        }
        last_ = s.back();
        line_len_ += s.size();
        if (prefix_.size() < kPrefix) {
            std::size_t take = std::min(kPrefix - prefix_.size(), s.size());
            prefix_.append(s.substr(0, take));
            s.remove_prefix(take);
        }
        if (!s.empty() && tail_pad_ && prefix_[0] == '-' && prefix_[1] == '-') {
            for (char c : s)
                if (!is_pad(c)) {
                    tail_pad_ = false;
                    break;
                }
        }
    }

    void append_header(std::string_view s) {
        if (header_over_) return;
        if (header_.size() + s.size() > lim_.max_header_bytes) {
            header_over_ = true;
            return;
        }
        header_.append(s);
    }

    // Called at each line end, and at the end of input for a last line without LF.
    void line_done(bool has_lf) {
        const std::uint64_t start = line_start_;
        const std::uint64_t len = line_len_;
        const std::uint64_t eol = has_lf ? (len >= 2 && before_last_ == '\r' ? 2 : 1) : 0;
        const std::uint64_t content = len - eol;

        bool handled = false;
        if (!bounds_.empty() && prefix_.size() >= 2 && prefix_[0] == '-' && prefix_[1] == '-' && tail_pad_) {
            std::string_view l = prefix_;
            l.remove_prefix(2);
            while (!l.empty() && is_pad(l.back())) l.remove_suffix(1);  // RFC 2046 §5.1.1 transport padding
            // Innermost first (RFC 2046 §5.1.2: an inner part may not use an outer boundary, so
            // the innermost reading is the right one when two could match). Exact match only:
            // Dovecot also takes a line that merely starts with a boundary ("--abcX" for "abc");
            // RFC 2046 §5.1.1 allows only transport padding after it, so that line is body text here.
            for (std::size_t k = bounds_.size(); k-- > 0;) {
                const std::string& b = bounds_[k].boundary;
                bool delim = l == b;
                bool close = !delim && l.size() == b.size() + 2 && l.substr(0, b.size()) == b && l.substr(b.size()) == "--";
                if (delim || close) {
                    on_boundary(start, len, k, close);
                    handled = true;
                    break;
                }
            }
        }
        if (!handled && in_header_) {
            // (This line's bytes are already in header_, appended as they streamed.)
            if (content == 0 && has_lf) {
                end_header(start + len, lf_ + 1);  // RFC 5322 §2.1: the empty line ends the header
            }
        }
        lf_ += has_lf ? 1 : 0;
        prev_eol_ = eol;
        line_start_ = start + len;
        line_len_ = 0;
        prefix_.clear();
        tail_pad_ = true;
        last_ = before_last_ = 0;
        header_line_mark_ = header_.size();
    }

    void on_boundary(std::uint64_t start, std::uint64_t len, std::size_t k, bool close) {
        const std::uint32_t mp = bounds_[k].part;
        // The CRLF before the delimiter is part of it (RFC 2046 §5.1.1).
        const std::uint64_t end = prev_eol_ > 0 ? start - prev_eol_ : start;
        for (std::size_t j = k + 1; j < bounds_.size(); ++j) tree_.parts[bounds_[j].part].missing_close = true;
        bounds_.resize(k + 1);
        // A part never ends before its last child: when the empty line that ended a child's header
        // is also the line before the delimiter, the child's (empty) body starts after it.
        std::uint64_t e = end;
        while (open_.back() != mp) e = close_top(e, false);
        if (close) {
            bounds_.pop_back();  // RFC 2046 §5.1.1: what follows is the epilogue, in no part
            return;
        }
        start_child(mp, start + len, lf_ + 1, /*encapsulated=*/false);
    }

    bool may_add_part() {
        if (tree_.parts.size() >= lim_.max_parts || total_header_ >= lim_.max_total_header_bytes) {
            tree_.truncated = true;
            return false;
        }
        return true;
    }

    void start_child(std::uint32_t parent, std::uint64_t begin, std::uint64_t lf_before, bool encapsulated) {
        if (!may_add_part()) {
            tree_.parts[parent].children_truncated = true;
            return;
        }
        auto idx = static_cast<std::uint32_t>(tree_.parts.size());
        tree_.parts.emplace_back();
        MimePart& c = tree_.parts.back();
        MimePart& p = tree_.parts[parent];
        c.parent = parent;
        c.depth = p.depth + 1;
        c.is_message = encapsulated;
        c.header_begin = c.header_end = c.body_begin = c.body_end = begin;
        p.children.push_back(idx);
        open_.push_back(idx);
        begin_lf_.push_back(lf_before);
        in_header_ = true;
        header_.clear();
        header_over_ = false;
        header_line_mark_ = 0;
    }

    // Closes open_.back() at `end` (or later, where its body begins); returns its body_end.
    std::uint64_t close_top(std::uint64_t end, bool at_eof) {
        const std::uint32_t idx = open_.back();
        MimePart& p = tree_.parts[idx];
        if (in_header_) {
            // The header never ended with an empty line: it runs to here, the body is empty.
            p.header_unterminated = true;
            p.header_end = p.body_begin = std::max(end, p.header_begin);
            // The delimiter line's own bytes were collected with the header: cut them off.
            if (!at_eof) header_.resize(std::min(header_.size(), header_line_mark_));
            apply_header(idx);
            in_header_ = false;
            p.kind = PartKind::Leaf;  // no body to descend into
        }
        p.body_end = std::max(end, p.body_begin);
        // Lines are the LFs in the body, as Dovecot counts them (BODYSTRUCTURE body-fld-lines,
        // RFC 9051 §7.5.2); the LF of the line before a delimiter belongs to the delimiter.
        if (p.body_end > p.body_begin) {
            // body_end is either the end of the line before the current one (its LF excluded) or
            // the current line's start (an empty line ending a header right before a delimiter).
            std::uint64_t lfs_before_end = p.body_end >= line_start_ ? lf_ : lf_ - (prev_eol_ > 0 ? 1 : 0);
            p.lines = lfs_before_end - begin_lf_.back();
        }
        open_.pop_back();
        begin_lf_.pop_back();
        return p.body_end;
    }

    void end_header(std::uint64_t body_begin, std::uint64_t lf_before_body) {
        const std::uint32_t idx = open_.back();
        {
            MimePart& p = tree_.parts[idx];
            p.header_end = p.body_begin = body_begin;
            begin_lf_.back() = lf_before_body;
        }
        apply_header(idx);
        in_header_ = false;
        MimePart& p = tree_.parts[idx];
        const bool deep = p.depth + 1 >= lim_.max_depth;
        if (p.content_type.type == "multipart") {
            const Param* b = p.content_type.params.find("boundary");
            if (!b || b->value.empty() || b->value.size() > kMaxBoundary) {
                p.bad_boundary = true;  // RFC 2046 §5.1.1: the boundary parameter is required
            } else if (deep) {
                p.depth_limited = true;
            } else {
                p.kind = PartKind::Multipart;
                std::string bv = b->value;
                // Trailing spaces are not allowed in a boundary (§5.1.1 bcharsnospace); they are
                // dropped as the delimiter line's are, so the two still compare equal.
                while (!bv.empty() && is_pad(bv.back())) bv.pop_back();
                if (bv.empty()) {
                    p.kind = PartKind::Leaf;
                    p.bad_boundary = true;
                } else {
                    bounds_.push_back(Bound{std::move(bv), idx});
                }
            }
        } else if (p.content_type.type == "message" &&
                   (p.content_type.subtype == "rfc822" || p.content_type.subtype == "global")) {
            // RFC 2046 §5.2.1: only 7bit, 8bit or binary are permitted; an encoded one (seen in
            // the wild) is left a leaf, as Dovecot does.
            const std::string& te = p.transfer_encoding;
            if (te != "7bit" && te != "8bit" && te != "binary") {
                // leaf
            } else if (deep) {
                p.depth_limited = true;
            } else {
                p.kind = PartKind::Message;
                start_child(idx, body_begin, lf_before_body, /*encapsulated=*/true);
                // `p` may have moved; with no room for the child the part stays a leaf.
                if (tree_.parts[idx].children.empty()) tree_.parts[idx].kind = PartKind::Leaf;
            }
        }
    }

    void apply_header(std::uint32_t idx) {
        note_peak();
        MimePart& p = tree_.parts[idx];
        p.header_truncated = header_over_;
        total_header_ += header_.size();
        HeaderLimits hl;
        hl.max_fields = lim_.max_header_fields;
        hl.max_field_bytes = lim_.max_header_bytes + 1;
        auto h = parse_header_section(header_, hl);
        // RFC 2046 §5.1.5: in a multipart/digest the default is message/rfc822.
        bool digest = p.parent != kNoPart && tree_.parts[p.parent].content_type.is("multipart", "digest") &&
                      !p.is_message;
        if (!h) {
            p.header_truncated = true;  // over max_header_fields: treated as having no fields
        }
        bool have_ct = false;
        if (h) {
            for (const HeaderField& f : h->fields) {
                if (!ascii::istarts_with(f.name, "content-")) continue;
                std::string v = f.value();
                if (f.is("Content-Type") && !have_ct) {
                    have_ct = true;
                    p.content_type = parse_content_type(v, lim_.params);
                } else if (f.is("Content-Transfer-Encoding")) {
                    p.transfer_encoding = parse_transfer_encoding(v);
                } else if (f.is("Content-Disposition") && !p.disposition) {
                    p.disposition = parse_disposition(v, lim_.params);
                } else if (f.is("Content-ID") && !p.content_id) {
                    p.content_id = trimmed(std::move(v), lim_.max_value_bytes);
                } else if (f.is("Content-Description") && !p.description) {
                    p.description = trimmed(std::move(v), lim_.max_value_bytes);
                } else if (f.is("Content-Location") && !p.location) {
                    p.location = trimmed(std::move(v), lim_.max_value_bytes);
                } else if (f.is("Content-MD5") && !p.md5) {
                    p.md5 = trimmed(std::move(v), lim_.max_value_bytes);
                } else if (f.is("Content-Language") && p.languages.empty()) {
                    // RFC 3282 §2: Language-Header = "Content-Language" ":" 1#Language-tag
                    std::string tag;
                    for (char c : v) {
                        if (c == ',' || is_pad(c)) {
                            if (!tag.empty() && p.languages.size() < 32) p.languages.push_back(tag);
                            tag.clear();
                        } else if (tag.size() < 64) {
                            tag += c;
                        }
                    }
                    if (!tag.empty() && p.languages.size() < 32) p.languages.push_back(tag);
                }
            }
            if (p.is_message) p.envelope = make_envelope(*h);
        }
        if (!have_ct || !p.content_type.valid) {
            ParamList keep = std::move(p.content_type.params);
            p.content_type = ContentType{};
            p.content_type.present = have_ct;
            p.content_type.valid = !have_ct;
            if (digest) {
                p.content_type.type = "message";
                p.content_type.subtype = "rfc822";
            } else {
                // RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii" by default; a charset
                // that did parse from a broken field is kept.
                p.content_type.params = std::move(keep);
                if (!p.content_type.params.find("charset"))
                    p.content_type.params.items.push_back(Param{"charset", "us-ascii", {}, {}, false, {}});
            }
        }
        header_.clear();
        header_.shrink_to_fit();  // a big header section's buffer is not kept for the whole parse
        header_over_ = false;
    }

};

}  // namespace

Result<PartTree> parse_message(const base::ByteSource& source, const ParseLimits& limits) {
    const std::uint64_t size = source.size();
    Builder b(limits, size);
    std::string buf(std::max<std::size_t>(limits.chunk_bytes, 1), '\0');
    std::uint64_t off = 0;
    while (off < size) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
        auto n = source.read(off, std::span<char>(buf.data(), want));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("message source ended early at " + std::to_string(off) + " of " + std::to_string(size), EIO);
        b.feed(std::string_view(buf.data(), *n));
        off += *n;
    }
    return b.finish(buf.size());
}

PartTree parse_message(std::string_view message, const ParseLimits& limits) {
    ViewSource src(message);
    auto t = parse_message(src, limits);
    return std::move(*t);  // a view never fails to read
}

}  // namespace tern::mime
