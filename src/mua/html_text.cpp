// HTML to text (see html_text.hpp). Three steps, each bounded: normalize_html() re-tokenizes the
// markup so gumbo only ever sees tags we counted (nesting and element count capped, attributes
// reduced to the few we use, which also lets the HTML5 "Noah's Ark" clause cap the active
// formatting elements); gumbo parses that with an allocator that records every block, so the tree
// is freed without gumbo's recursive destroy; a loop with an explicit stack lays the tree out.
// Must never recurse on the document, never fetch a URL, never emit a control character.
#include "mua/html_text.hpp"

#include <gumbo.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "mime/charset.hpp"

namespace tern::mua {
namespace {

// ------------------------------------------------------------------ small helpers

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = lower(c);
    return r;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

template <std::size_t N>
bool one_of(std::string_view name, const std::string_view (&set)[N]) {
    return std::find(std::begin(set), std::end(set), name) != std::end(set);
}

// ------------------------------------------------------------------ normalize_html

// HTML Living Standard §13.2.4.2 "special" elements (they stop the li/dd/dt implied-end search).
constexpr std::string_view kSpecial[] = {
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound", "blockquote",
    "body", "br", "button", "caption", "center", "col", "colgroup", "dd", "details", "dir", "div",
    "dl", "dt", "embed", "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "iframe", "img",
    "input", "keygen", "li", "link", "listing", "main", "marquee", "menu", "meta", "nav", "noembed",
    "noframes", "noscript", "object", "ol", "p", "param", "plaintext", "pre", "script", "search",
    "section", "select", "source", "style", "summary", "table", "tbody", "td", "template",
    "textarea", "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp",
    "foreignobject", "desc", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"};
// §13.2.4.2 "has an element in scope" boundaries (HTML and the foreign integration points).
constexpr std::string_view kScope[] = {"applet", "caption", "html", "table", "td", "th", "marquee",
                                       "object", "template", "mi", "mo", "mn", "ms", "mtext",
                                       "annotation-xml", "foreignobject", "desc", "title"};
constexpr std::string_view kTableScope[] = {"html", "table", "template"};
constexpr std::string_view kVoid[] = {"area", "br", "col", "embed", "hr", "img", "image", "input",
                                      "keygen", "param", "source", "track", "wbr", "frame"};
constexpr std::string_view kDropped[] = {"base", "basefont", "bgsound", "link", "meta"};
// Elements whose content the tokenizer takes as text (§13.2.5 RAWTEXT / RCDATA / script data).
constexpr std::string_view kRawText[] = {"script", "style", "title", "noscript", "iframe",
                                         "noembed", "noframes", "xmp", "textarea", "plaintext"};
// Formatting elements (§13.2.4.3): closed by the adoption agency, not by popping blocks.
constexpr std::string_view kFormatting[] = {"a", "b", "big", "code", "em", "font", "i", "nobr",
                                            "s", "small", "strike", "strong", "tt", "u"};
// Start tags that close an open p (§13.2.6.4.7 "close a p element").
constexpr std::string_view kClosesP[] = {
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main", "menu", "nav", "ol",
    "p", "search", "section", "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
    "listing", "form", "li", "dd", "dt", "xmp", "plaintext", "table"};
// Start tags that leave foreign (SVG/MathML) content (§13.2.6.5).
constexpr std::string_view kBreakout[] = {
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu",
    "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub",
    "sup", "table", "tt", "u", "ul", "var"};
constexpr std::string_view kIntegration[] = {"foreignobject", "desc", "title", "mi", "mo", "mn",
                                             "ms", "mtext", "annotation-xml"};

struct Attr {
    std::string name;
    std::string_view value;
};

struct Tag {
    std::string name;
    std::vector<Attr> attrs;
    bool self_closing = false;
    bool complete = false;  // ended by ">" (a tag cut by the end of input is dropped, §13.2.5.x EOF)
    std::size_t end = 0;    // one past the ">"
};

// The tag whose name starts at s[pos] (§13.2.5.6 tag name state onwards).
Tag read_tag(std::string_view s, std::size_t pos, bool keep_attrs) {
    Tag t;
    std::size_t n = s.size();
    std::size_t b = pos;
    while (pos < n && !is_ws(s[pos]) && s[pos] != '/' && s[pos] != '>') ++pos;
    t.name.reserve(pos - b);
    for (std::size_t i = b; i < pos; ++i)
        if (s[i] != '\0') t.name += lower(s[i]);
    while (pos < n) {
        char c = s[pos];
        if (is_ws(c)) {
            ++pos;
            continue;
        }
        if (c == '>') {
            t.complete = true;
            t.end = pos + 1;
            return t;
        }
        if (c == '/') {
            if (pos + 1 < n && s[pos + 1] == '>') {
                t.self_closing = true;
                t.complete = true;
                t.end = pos + 2;
                return t;
            }
            ++pos;
            continue;
        }
        std::size_t nb = pos++;  // the first character may be "=" (§13.2.5.32)
        while (pos < n && !is_ws(s[pos]) && s[pos] != '/' && s[pos] != '>' && s[pos] != '=') ++pos;
        std::string_view name = s.substr(nb, pos - nb);
        while (pos < n && is_ws(s[pos])) ++pos;
        std::string_view value;
        if (pos < n && s[pos] == '=') {
            ++pos;
            while (pos < n && is_ws(s[pos])) ++pos;
            if (pos < n && (s[pos] == '"' || s[pos] == '\'')) {
                char q = s[pos++];
                std::size_t e = s.find(q, pos);
                if (e == std::string_view::npos) break;  // EOF inside the value
                value = s.substr(pos, e - pos);
                pos = e + 1;
            } else {
                std::size_t vb = pos;
                while (pos < n && !is_ws(s[pos]) && s[pos] != '>') ++pos;
                value = s.substr(vb, pos - vb);
            }
        }
        if (keep_attrs && t.attrs.size() < 64) t.attrs.push_back({lowered(name), value});
    }
    t.end = n;
    return t;
}

enum : std::uint8_t {
    kBScope = 1,        // "has an element in scope" boundary
    kBTable = 2,        // table scope boundary (html, table, template)
    kBList = 4,         // list item scope adds ol, ul
    kBButton = 8,       // button scope adds button
    kBSpecial = 16,
    kBFormatting = 32,
    kBIntegration = 64, // SVG/MathML integration point
};

std::uint8_t flags_for(std::string_view name) {
    std::uint8_t f = 0;
    if (one_of(name, kScope)) f |= kBScope;
    if (one_of(name, kTableScope)) f |= kBTable;
    if (name == "ol" || name == "ul") f |= kBList;
    if (name == "button") f |= kBButton;
    if (one_of(name, kSpecial)) f |= kBSpecial;
    if (one_of(name, kFormatting)) f |= kBFormatting;
    if (one_of(name, kIntegration)) f |= kBIntegration;
    return f;
}

// The normalizer's model of the open elements, with a count per name so that the common
// "is there an open p?" question costs nothing when there is none.
class OpenStack {
public:
    struct Entry {
        std::string name;
        bool foreign = false;  // in the SVG or MathML namespace
        std::uint8_t flags = 0;
    };
    void push(const std::string& name, bool foreign) {
        v_.push_back({name, foreign, flags_for(name)});
        ++counts_[name];
    }
    void pop_back() {
        if (--counts_[v_.back().name] == 0) counts_.erase(v_.back().name);
        v_.pop_back();
    }
    void resize(std::size_t n) {
        while (v_.size() > n) pop_back();
    }
    void erase(std::size_t i) {
        if (--counts_[v_[i].name] == 0) counts_.erase(v_[i].name);
        v_.erase(v_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    std::size_t size() const { return v_.size(); }
    bool empty() const { return v_.empty(); }
    const Entry& back() const { return v_.back(); }
    const Entry& operator[](std::size_t i) const { return v_[i]; }
    bool has(const std::string& name) const { return counts_.count(name) != 0; }
    // Index of `name` searching from the top, npos when an element with a `boundary` flag comes
    // first (HTML §13.2.4.2 "has an element in ... scope").
    std::size_t find(const std::string& name, std::uint8_t boundary) const {
        if (!has(name)) return std::string::npos;
        for (std::size_t i = v_.size(); i-- > 0;) {
            if (v_[i].name == name) return i;
            if (v_[i].flags & boundary) return std::string::npos;
        }
        return std::string::npos;
    }

private:
    std::vector<Entry> v_;
    std::unordered_map<std::string, std::size_t> counts_;
};

class Normalizer {
public:
    Normalizer(std::string_view s, const HtmlTextOptions& o) : s_(s), o_(o) {}

    std::string run() {
        out_.reserve(std::min(s_.size(), o_.max_parse) + 64);
        std::size_t n = s_.size();
        std::size_t pos = 0;
        while (pos < n) {
            if (out_.size() >= o_.max_parse) {
                truncated_ = true;
                break;
            }
            std::size_t lt = s_.find('<', pos);
            std::size_t text_end = lt == std::string_view::npos ? n : lt;
            if (text_end - pos > o_.max_parse) text_end = pos + o_.max_parse;  // checked on the next turn
            text(s_.substr(pos, text_end - pos));
            if (text_end < n && lt != text_end) {
                pos = text_end;
                continue;
            }
            if (lt == std::string_view::npos) break;
            pos = lt;
            char next = pos + 1 < n ? s_[pos + 1] : '\0';
            if (is_alpha(next)) {
                Tag t = read_tag(s_, pos + 1, true);
                if (!t.complete) break;
                pos = start_tag(t);
            } else if (next == '/') {
                if (pos + 2 < n && is_alpha(s_[pos + 2])) {
                    Tag t = read_tag(s_, pos + 2, false);
                    if (!t.complete) break;
                    end_tag(t.name);
                    pos = t.end;
                } else if (pos + 2 < n && s_[pos + 2] == '>') {
                    pos += 3;  // "</>" is ignored (§13.2.5.7)
                } else if (pos + 2 >= n) {
                    out_ += "&lt;/";
                    pos = n;
                } else {
                    pos = skip_to_gt(pos + 2);  // bogus comment
                }
            } else if (next == '!') {
                if (s_.substr(pos + 2, 2) == "--")
                    pos = skip_comment(pos + 4);
                else
                    pos = skip_to_gt(pos + 2);  // DOCTYPE, CDATA, bogus comment: dropped
            } else if (next == '?') {
                pos = skip_to_gt(pos + 2);
            } else {
                out_ += "&lt;";
                ++pos;
            }
        }
        return std::move(out_);
    }

    bool truncated() const { return truncated_; }

private:
    std::string_view s_;
    const HtmlTextOptions& o_;
    std::string out_;
    OpenStack stack_;
    std::size_t elements_ = 0;
    bool truncated_ = false;

    std::size_t skip_to_gt(std::size_t from) {
        std::size_t gt = s_.find('>', from);
        return gt == std::string_view::npos ? s_.size() : gt + 1;
    }

    // §13.2.5.43-52: "<!-->" and "<!--->" end at once; otherwise the first "-->" or "--!>".
    std::size_t skip_comment(std::size_t j) {
        std::size_t n = s_.size();
        if (j < n && s_[j] == '>') return j + 1;
        if (s_.substr(j, 2) == "->") return j + 2;
        for (std::size_t e = s_.find("--", j); e != std::string_view::npos; e = s_.find("--", e + 1)) {
            if (e + 2 < n && s_[e + 2] == '>') return e + 3;
            if (s_.substr(e + 2, 2) == "!>") return e + 4;
        }
        return n;
    }

    void text(std::string_view t) {
        for (char c : t)
            if (c != '\0') out_ += c;
    }

    void escaped(std::string_view t, bool amp) {
        for (char c : t) {
            if (c == '<')
                out_ += "&lt;";
            else if (c == '&' && amp)
                out_ += "&amp;";
            else if (c != '\0')
                out_ += c;
        }
    }

    bool top_foreign() const { return !stack_.empty() && stack_.back().foreign; }

    std::size_t in_scope(const std::string& name, std::uint8_t boundary) const { return stack_.find(name, boundary); }

    // Closes the elements from the top down to index i, each with an explicit end tag: gumbo then
    // sees well-nested markup, so no formatting element is left "active" to be reconstructed
    // later (HTML §13.2.4.3), which on misnested input ("<div><b></div>x" repeated) would nest
    // deeper at every step while this model stays flat.
    void pop_to(std::size_t i) {
        while (stack_.size() > i) pop_one();
    }
    void pop_one() {
        out_ += "</";
        out_ += stack_.back().name;
        out_ += '>';
        stack_.pop_back();
    }

    // li/dd/dt (§13.2.6.4.7): an open one is closed unless a special element other than address,
    // div and p lies between.
    void close_list_item(std::initializer_list<std::string_view> names) {
        bool any = false;
        for (std::string_view n : names) any = any || stack_.has(std::string(n));
        if (!any) return;
        for (std::size_t i = stack_.size(); i-- > 0;) {
            const std::string& e = stack_[i].name;
            if (std::find(names.begin(), names.end(), e) != names.end()) {
                pop_to(i);
                return;
            }
            if ((stack_[i].flags & kBSpecial) && e != "address" && e != "div" && e != "p") return;
        }
    }

    void implied_ends(const std::string& name) {
        if (top_foreign() && one_of(name, kBreakout)) {
            while (!stack_.empty() && stack_.back().foreign && !(stack_.back().flags & kBIntegration))
                pop_one();
        }
        if (top_foreign()) return;
        if (name == "li") close_list_item({"li"});
        if (name == "dd" || name == "dt") close_list_item({"dd", "dt"});
        if (one_of(name, kClosesP) && name != "table") {
            std::size_t p = in_scope("p", kBScope | kBButton);
            if (p != std::string::npos) pop_to(p);
        }
        if (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !stack_.empty()) {
            const std::string& t = stack_.back().name;
            if (t.size() == 2 && t[0] == 'h' && t[1] >= '1' && t[1] <= '6') pop_one();
        }
        if (name == "td" || name == "th") {
            std::size_t a = in_scope("td", kBTable), b = in_scope("th", kBTable);
            std::size_t i = a == std::string::npos ? b : (b == std::string::npos ? a : std::max(a, b));
            if (i != std::string::npos) pop_to(i);
        }
        if (name == "tr") {
            std::size_t i = in_scope("tr", kBTable);
            if (i != std::string::npos) pop_to(i);
        }
        if (name == "tbody" || name == "thead" || name == "tfoot") {
            for (const char* g : {"tbody", "thead", "tfoot"}) {
                std::size_t i = in_scope(g, kBTable);
                if (i != std::string::npos) pop_to(i);
            }
        }
        if (name == "option" || name == "optgroup") {
            if (!stack_.empty() && stack_.back().name == "option") pop_one();
            if (name == "optgroup" && !stack_.empty() && stack_.back().name == "optgroup") pop_one();
        }
        if (name == "button") {
            std::size_t i = in_scope("button", kBScope);
            if (i != std::string::npos) pop_to(i);
        }
        if (name == "a" || name == "nobr") {  // §13.2.6.4.7: a second <a> runs the adoption agency
            std::size_t i = in_scope(name, kBScope);
            if (i != std::string::npos) stack_.erase(i);
        }
    }

    bool may_add(bool nests) {
        if (elements_ >= o_.max_elements || (nests && stack_.size() >= o_.max_depth)) {
            truncated_ = true;
            return false;
        }
        ++elements_;
        return true;
    }

    std::size_t start_tag(const Tag& t) {
        const std::string& name = t.name;
        if (one_of(name, kRawText)) return raw_text(t);
        if (name == "html" || name == "head" || name == "body") {
            out_ += '<';
            out_ += name;
            out_ += '>';
            return t.end;
        }
        if (one_of(name, kDropped) || name.empty()) return t.end;
        bool is_void = one_of(name, kVoid);
        if (!is_void) implied_ends(name);
        bool foreign = name == "svg" || name == "math" ||
                       (top_foreign() && !(stack_.back().flags & kBIntegration));
        bool opens = !is_void && !(t.self_closing && foreign);
        if (!may_add(opens)) return t.end;
        out_ += '<';
        out_ += name;
        bool hidden = false;
        std::vector<std::string_view> seen;
        for (const Attr& a : t.attrs) {
            if (std::find(seen.begin(), seen.end(), a.name) != seen.end()) continue;  // first wins
            seen.push_back(a.name);
            bool keep = (a.name == "href" && name == "a") || (a.name == "alt" && (name == "img" || name == "image")) ||
                        (a.name == "start" && name == "ol");
            if (a.name == "hidden") hidden = true;
            if (a.name == "style") {
                std::string st;
                for (char c : a.value)
                    if (!is_ws(c)) st += lower(c);
                if (st.find("display:none") != std::string::npos) hidden = true;
            }
            if (!keep) continue;
            out_ += ' ';
            out_ += a.name;
            out_ += "=\"";
            for (char c : a.value) {
                if (c == '"')
                    out_ += "&quot;";
                else if (c != '\0')
                    out_ += c;
            }
            out_ += '"';
        }
        if (hidden) out_ += " hidden";
        if (t.self_closing) out_ += '/';
        out_ += '>';
        if (opens) stack_.push(name, foreign);
        return t.end;
    }

    std::size_t raw_text(const Tag& t) {
        const std::string& name = t.name;
        std::size_t n = s_.size();
        std::size_t content_end = n, resume = n;
        if (name != "plaintext") {
            for (std::size_t i = t.end;;) {
                std::size_t k = s_.find("</", i);
                if (k == std::string_view::npos) break;
                std::size_t after = k + 2 + name.size();
                if (iequals(s_.substr(k + 2, name.size()), name) &&
                    (after >= n || is_ws(s_[after]) || s_[after] == '/' || s_[after] == '>')) {
                    content_end = k;
                    Tag e = read_tag(s_, k + 2, false);
                    resume = e.complete ? e.end : n;
                    break;
                }
                i = k + 2;
            }
        }
        if (t.self_closing && foreign_context()) return t.end;
        std::string_view content = s_.substr(t.end, content_end - t.end);
        if (name == "xmp" || name == "textarea" || name == "plaintext") {
            bool wrap = may_add(true);
            if (wrap) out_ += "<pre>";
            escaped(content, name != "textarea");  // RCDATA (textarea) decodes entities
            if (wrap) out_ += "</pre>";
        }
        return resume;  // script, style, title, noscript, iframe, noembed, noframes: dropped
    }

    bool foreign_context() const { return top_foreign() && !(stack_.back().flags & kBIntegration); }

    void end_tag(const std::string& name) {
        if (name == "br") {  // §13.2.6.4.7: "</br>" is a <br>
            if (may_add(false)) out_ += "<br>";
            return;
        }
        if (name == "html" || name == "head" || name == "body" || name.empty()) return;
        std::size_t i;
        bool table_part = name == "table" || name == "tbody" || name == "thead" || name == "tfoot" ||
                          name == "tr" || name == "td" || name == "th" || name == "caption";
        if (table_part)
            i = in_scope(name, kBTable);
        else if (name == "li")
            i = in_scope(name, kBScope | kBList);
        else if (name == "p")
            i = in_scope(name, kBScope | kBButton);
        else
            i = in_scope(name, kBScope);
        if (i == std::string::npos) return;  // nothing to close: dropped
        bool only_formatting_above = true;
        for (std::size_t j = i + 1; j < stack_.size(); ++j)
            if (!(stack_[j].flags & kBFormatting)) only_formatting_above = false;
        if (one_of(name, kFormatting) && !only_formatting_above) {
            stack_.erase(i);  // the adoption agency (§13.2.6.4.7) keeps the blocks above it open
            out_ += "</";
            out_ += name;
            out_ += '>';
        } else {
            pop_to(i);  // with the end tags of what was open above it
        }
    }
};

// ------------------------------------------------------------------ UTF-8 output hygiene

// Appends `s` to `out` as clean UTF-8: invalid octets become U+FFFD, C0 controls other than LF
// and TAB, DEL and C1 controls are dropped, invisible padding (soft hyphen, zero-width space and
// non-joiner, word joiner, BOM, combining grapheme joiner) too, and no-break spaces become spaces.
void append_clean(std::string& out, std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = mime::utf8_len(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (n == 1) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
                ++i;
                continue;
            }
            out += s[i];
            ++i;
            continue;
        }
        std::string_view ch = s.substr(i, n);
        i += n;
        if (n == 2 && c == 0xc2 && static_cast<unsigned char>(ch[1]) < 0xa0) continue;  // C1
        if (ch == "\xC2\xA0") {
            out += ' ';
            continue;
        }
        if (ch == "\xC2\xAD" || ch == "\xCD\x8F" || ch == "\xE2\x80\x8B" || ch == "\xE2\x80\x8C" ||
            ch == "\xE2\x81\xA0" || ch == "\xEF\xBB\xBF")
            continue;
        out += ch;
    }
}

std::uint32_t code_point(std::string_view s, std::size_t i, std::size_t n) {
    auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k])); };
    switch (n) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
        case 3: return ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
        default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
    }
}

std::size_t columns(std::uint32_t cp) {
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
        (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

// ------------------------------------------------------------------ layout

struct Prefix {
    std::string first, rest;  // the first line of a list item carries its marker
    bool used = false;
};

struct ListCtx {
    bool ordered = false;
    long counter = 0;
};

struct LinkCtx {
    std::string href;
    std::size_t start = 0;       // para_ offset where the link text begins
    std::uint64_t generation = 0;  // flushes_ when it began
    std::uint64_t content = 0;     // Layout::content() when it began
};

class Layout {
public:
    explicit Layout(const HtmlTextOptions& o) : o_(o) {}

    bool truncated = false;

    // Collapsible text (CSS white-space: normal).
    void text(std::string_view t) {
        if (pre_ > 0) {
            for (char c : t) {
                if (c == '\r') continue;
                if (c != '\n' && c != '\t' && c != ' ') {
                    before_content();
                    ++content_;
                }
                para_ += c;
            }
            return;
        }
        for (char c : t) {
            if (is_ws(c)) {
                if (!para_.empty() && para_.back() != '\n') space_ = true;
                continue;
            }
            before_content();
            if (space_) {
                para_ += ' ';
                space_ = false;
            }
            para_ += c;
            ++content_;
        }
    }

    // An inline piece that is not collapsed ("[image: x]").
    void word(std::string_view w) {
        before_content();
        if (space_) {
            para_ += ' ';
            space_ = false;
        }
        para_ += w;
        ++content_;
    }

    void hard_break() {
        para_ += '\n';
        space_ = false;
    }

    // A line break between blocks: the paragraph so far is laid out.
    void flush() {
        ++flushes_;
        space_ = false;
        cell_sep_ = false;
        if (para_.empty()) return;
        std::vector<std::string_view> segs;
        std::string_view p = para_;
        for (std::size_t b = 0;;) {
            std::size_t e = p.find('\n', b);
            segs.push_back(p.substr(b, (e == std::string_view::npos ? p.size() : e) - b));
            if (e == std::string_view::npos) break;
            b = e + 1;
        }
        if (segs.size() >= 2 && segs.back().empty()) segs.pop_back();
        for (std::string_view s : segs) {
            if (pre_ > 0) {
                line(s, true);
                continue;
            }
            while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
            while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
            if (s.empty())
                line("", false);
            else
                wrap(s);
        }
        para_.clear();
    }

    void blank() {
        std::size_t d = prefixes_.size();
        if (!blank_ || d < blank_depth_) blank_depth_ = d;
        blank_ = true;
    }

    void push_prefix(std::string first, std::string rest) { prefixes_.push_back({std::move(first), std::move(rest)}); }
    void pop_prefix() {
        if (!prefixes_.empty()) prefixes_.pop_back();
        if (blank_ && blank_depth_ > prefixes_.size()) blank_depth_ = prefixes_.size();
    }
    void pre_begin() { ++pre_; }
    void pre_end() {
        if (pre_ > 0) --pre_;
    }

    // A table cell: " | " goes before its first visible content when the row has content.
    void cell() { cell_sep_ = true; }

    void rule() {
        std::size_t w = o_.width == 0 ? 40 : std::min<std::size_t>(o_.width, 78);
        std::size_t pw = prefix_width();
        line(std::string(w > pw + 10 ? w - pw : 10, '-'), true);
    }

    std::vector<LinkCtx> links;
    std::size_t para_size() const { return para_.size(); }
    std::uint64_t flushes() const { return flushes_; }
    std::string_view para_from(std::size_t b) const { return std::string_view(para_).substr(std::min(b, para_.size())); }

    // "[n]" after a link's text; when the text went out with an earlier line, at that line's end.
    void link_marker(const std::string& marker, bool same_paragraph) {
        if (same_paragraph || !para_.empty()) {
            if (!para_.empty() && para_.back() != ' ' && para_.back() != '\n') para_ += ' ';
            para_ += marker;
            return;
        }
        for (std::size_t end = out_.size(); end > 0;) {
            std::size_t nl = end - 1;  // the '\n' that ends this line
            std::size_t start = nl == 0 ? 0 : out_.rfind('\n', nl - 1);
            start = (nl == 0 || start == std::string::npos) ? 0 : start + 1;
            std::string_view ln(out_.data() + start, nl - start);
            if (ln.find_first_not_of("> ") != std::string_view::npos) {
                out_.insert(nl, " " + marker);
                return;
            }
            end = start;
        }
    }

    std::uint64_t content() const { return content_; }

    std::string finish() {
        flush();
        return std::move(out_);
    }

private:
    const HtmlTextOptions& o_;
    std::string out_;
    std::string para_;
    bool space_ = false;
    bool cell_sep_ = false;
    std::size_t pre_ = 0;
    std::vector<Prefix> prefixes_;
    bool blank_ = false;
    std::size_t blank_depth_ = 0;
    bool last_blank_ = true;  // nothing written yet counts as blank: no blank lines at the top
    std::uint64_t flushes_ = 0;
    std::uint64_t content_ = 0;  // visible characters added so far

    void before_content() {
        if (!cell_sep_) return;
        cell_sep_ = false;
        while (!para_.empty() && para_.back() == ' ') para_.pop_back();
        if (!para_.empty() && para_.back() != '\n') {
            para_ += " | ";
            space_ = false;
        }
    }

    std::size_t prefix_limit() const { return o_.width == 0 ? 40 : std::max<std::size_t>(o_.width / 2, 8); }

    std::size_t prefix_width() const {
        std::size_t w = 0;
        for (const Prefix& p : prefixes_) w += display_width(p.rest);
        return std::min(w, prefix_limit());
    }

    std::string take_prefix(std::size_t count, bool mark) {
        std::string s;
        for (std::size_t i = 0; i < count && i < prefixes_.size(); ++i) {
            Prefix& p = prefixes_[i];
            s += (p.used || !mark) ? p.rest : p.first;
            if (mark) p.used = true;
        }
        if (s.size() > prefix_limit()) s.resize(prefix_limit());  // prefixes are ASCII
        return s;
    }

    void put(std::string_view prefix, std::string_view content) {
        if (out_.size() >= o_.max_output) {
            truncated = true;
            return;
        }
        std::size_t before = out_.size();
        out_ += prefix;
        append_clean(out_, content);
        while (out_.size() > before && out_.back() == ' ') out_.pop_back();
        out_ += '\n';
    }

    void line(std::string_view content, bool verbatim) {
        if (blank_) {
            blank_ = false;
            bool inside_new_item = false;  // a blank asked for inside an item/quote not yet begun
            for (std::size_t i = 0; i < blank_depth_ && i < prefixes_.size(); ++i)
                if (!prefixes_[i].used) inside_new_item = true;
            if (!inside_new_item && !last_blank_) {
                put(take_prefix(blank_depth_, false), "");
                last_blank_ = true;
            }
        }
        bool empty = content.find_first_not_of(' ') == std::string_view::npos;
        if (empty && last_blank_ && !verbatim) return;
        put(take_prefix(prefixes_.size(), true), content);
        last_blank_ = empty;
    }

    void wrap(std::string_view s) {
        if (o_.width == 0) {
            line(s, false);
            return;
        }
        std::size_t avail = o_.width > prefix_width() + 20 ? o_.width - prefix_width() : 20;
        std::string cur;
        std::size_t cur_w = 0;
        for (std::size_t b = 0; b < s.size();) {
            std::size_t e = s.find(' ', b);
            if (e == std::string_view::npos) e = s.size();
            std::string_view w = s.substr(b, e - b);
            b = e + 1;
            if (w.empty()) continue;
            std::size_t ww = display_width(w);
            if (!cur.empty() && cur_w + 1 + ww > avail) {
                line(cur, false);
                cur.clear();
                cur_w = 0;
            }
            if (!cur.empty()) {
                cur += ' ';
                ++cur_w;
            }
            cur += w;
            cur_w += ww;
        }
        if (!cur.empty()) line(cur, false);
    }
};

// ------------------------------------------------------------------ the tree walk

// Every block gumbo allocates, linked through a 16-octet header, so the whole tree is freed in
// one loop (gumbo_destroy_output recurses on the tree's depth) and a free costs O(1).
struct Block {
    Block* prev;
    Block* next;
};
static_assert(sizeof(Block) == 16);  // keeps malloc's 16-octet alignment for the caller's part

struct AllocTracker {
    Block head{&head, &head};
    AllocTracker() = default;
    AllocTracker(const AllocTracker&) = delete;
    AllocTracker& operator=(const AllocTracker&) = delete;
    ~AllocTracker() {
        for (Block* b = head.next; b != &head;) {
            Block* n = b->next;
            std::free(b);
            b = n;
        }
    }
};

void* track_alloc(void* ud, std::size_t n) {
    auto* t = static_cast<AllocTracker*>(ud);
    auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + n));
    if (!b) std::abort();  // gumbo does not check for NULL
    b->prev = &t->head;
    b->next = t->head.next;
    t->head.next->prev = b;
    t->head.next = b;
    return b + 1;
}

void track_free(void*, void* p) {
    if (!p) return;
    Block* b = static_cast<Block*>(p) - 1;
    b->prev->next = b->next;
    b->next->prev = b->prev;
    std::free(b);
}

std::string_view attr(const GumboNode* n, const char* name) {
    const GumboAttribute* a = gumbo_get_attribute(&n->v.element.attributes, name);
    return a ? std::string_view(a->value) : std::string_view();
}

std::string collapse(std::string_view s) {
    std::string r;
    bool sp = false;
    for (char c : s) {
        if (is_ws(c)) {
            sp = !r.empty();
            continue;
        }
        if (sp) r += ' ';
        sp = false;
        r += c;
    }
    return r;
}

// Link text and URL say the same thing ("example.com" for "https://example.com/").
bool same_url(std::string_view text, std::string_view href) {
    auto norm = [](std::string_view u) {
        std::string s = lowered(u);
        for (std::string_view scheme : {"mailto:", "https://", "http://"})
            if (s.starts_with(scheme)) s.erase(0, scheme.size());
        while (!s.empty() && s.back() == '/') s.pop_back();
        return s;
    };
    return norm(text) == norm(href);
}

class Walker {
public:
    Walker(const HtmlTextOptions& o, HtmlText& result) : o_(o), r_(result), lay_(o) {}

    void run(const GumboNode* root) {
        struct Frame {
            const GumboNode* node;
            unsigned next;
        };
        std::vector<Frame> st;
        st.push_back({root, 0});
        while (!st.empty()) {
            const GumboNode* node = st.back().node;
            const GumboVector* kids = node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children
                                                                         : &node->v.element.children;
            if (st.back().next < kids->length) {
                const auto* child = static_cast<const GumboNode*>(kids->data[st.back().next++]);
                switch (child->type) {
                    case GUMBO_NODE_TEXT:
                    case GUMBO_NODE_WHITESPACE:
                    case GUMBO_NODE_CDATA: lay_.text(child->v.text.text); break;
                    case GUMBO_NODE_ELEMENT:
                        if (enter(child)) st.push_back({child, 0});
                        break;
                    default: break;  // comments, templates
                }
            } else {
                if (node->type == GUMBO_NODE_ELEMENT) leave(node);
                st.pop_back();
            }
        }
        r_.text = lay_.finish();
        r_.truncated = r_.truncated || lay_.truncated;
        if (o_.link_list && !r_.links.empty()) {
            r_.text += '\n';
            for (std::size_t i = 0; i < r_.links.size(); ++i) {
                r_.text += '[' + std::to_string(i + 1) + "] ";
                append_clean(r_.text, r_.links[i]);
                r_.text += '\n';
            }
        }
    }

private:
    const HtmlTextOptions& o_;
    HtmlText& r_;
    Layout lay_;
    std::vector<ListCtx> lists_;
    std::map<std::string, std::size_t> link_numbers_;

    bool in_link() const { return !lay_.links.empty(); }

    // Returns false to skip the element's content.
    bool enter(const GumboNode* n) {
        if (gumbo_get_attribute(&n->v.element.attributes, "hidden")) return false;
        switch (n->v.element.tag) {
            case GUMBO_TAG_HEAD: case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_TEMPLATE:
            case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TITLE: case GUMBO_TAG_IFRAME: case GUMBO_TAG_SVG:
            case GUMBO_TAG_MATH: case GUMBO_TAG_SELECT: case GUMBO_TAG_DATALIST: case GUMBO_TAG_NOFRAMES:
            case GUMBO_TAG_NOEMBED: case GUMBO_TAG_OPTION:
                return false;
            case GUMBO_TAG_BR: lay_.hard_break(); return false;
            case GUMBO_TAG_HR:
                lay_.flush();
                lay_.blank();
                lay_.rule();
                lay_.blank();
                return false;
            case GUMBO_TAG_IMG:
            case GUMBO_TAG_IMAGE: {
                std::string alt = collapse(attr(n, "alt"));
                if (!alt.empty())
                    lay_.word("[image: " + alt + "]");
                else if (in_link())
                    lay_.word("[image]");
                return false;
            }
            case GUMBO_TAG_P: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
            case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_DL: case GUMBO_TAG_FIGURE:
                lay_.flush();
                lay_.blank();
                return true;
            case GUMBO_TAG_BLOCKQUOTE:
                lay_.flush();
                lay_.blank();
                lay_.push_prefix("> ", "> ");
                return true;
            case GUMBO_TAG_PRE: case GUMBO_TAG_LISTING: case GUMBO_TAG_XMP: case GUMBO_TAG_PLAINTEXT:
                lay_.flush();
                lay_.blank();
                lay_.pre_begin();
                return true;
            case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_DIR: case GUMBO_TAG_MENU: {
                lay_.flush();
                if (lists_.empty()) lay_.blank();
                ListCtx l;
                l.ordered = n->v.element.tag == GUMBO_TAG_OL;
                std::string_view start = attr(n, "start");
                if (l.ordered && !start.empty()) {
                    long v = std::strtol(std::string(start.substr(0, 9)).c_str(), nullptr, 10);
                    l.counter = v - 1;
                }
                lists_.push_back(l);
                return true;
            }
            case GUMBO_TAG_LI: {
                lay_.flush();
                std::string marker = "* ";
                if (!lists_.empty() && lists_.back().ordered) marker = std::to_string(++lists_.back().counter) + ". ";
                lay_.push_prefix(marker, std::string(marker.size(), ' '));
                return true;
            }
            case GUMBO_TAG_DD:
                lay_.flush();
                lay_.push_prefix("    ", "    ");
                return true;
            case GUMBO_TAG_TR: lay_.flush(); return true;
            case GUMBO_TAG_TD: case GUMBO_TAG_TH: lay_.cell(); return true;
            case GUMBO_TAG_A: lay_.links.push_back({std::string(attr(n, "href")), lay_.para_size(), lay_.flushes(), lay_.content()}); return true;
            case GUMBO_TAG_Q: lay_.word("\""); return true;
            default:
                if (is_block(n->v.element.tag)) lay_.flush();
                return true;
        }
    }

    static bool is_block(GumboTag t) {
        switch (t) {
            case GUMBO_TAG_DIV: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER:
            case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV: case GUMBO_TAG_ASIDE: case GUMBO_TAG_MAIN:
            case GUMBO_TAG_CENTER: case GUMBO_TAG_FORM: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_FIGCAPTION:
            case GUMBO_TAG_ADDRESS: case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_CAPTION:
            case GUMBO_TAG_DT: case GUMBO_TAG_LEGEND: case GUMBO_TAG_HGROUP: case GUMBO_TAG_TABLE:
            case GUMBO_TAG_BODY: case GUMBO_TAG_HTML: case GUMBO_TAG_TEXTAREA:
                return true;
            default: return false;
        }
    }

    void leave(const GumboNode* n) {
        switch (n->v.element.tag) {
            case GUMBO_TAG_P: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
            case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_DL: case GUMBO_TAG_FIGURE:
                lay_.flush();
                lay_.blank();
                break;
            case GUMBO_TAG_BLOCKQUOTE:
                lay_.flush();
                lay_.pop_prefix();
                lay_.blank();
                break;
            case GUMBO_TAG_PRE: case GUMBO_TAG_LISTING: case GUMBO_TAG_XMP: case GUMBO_TAG_PLAINTEXT:
                lay_.flush();
                lay_.pre_end();
                lay_.blank();
                break;
            case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_DIR: case GUMBO_TAG_MENU:
                lay_.flush();
                if (!lists_.empty()) lists_.pop_back();
                if (lists_.empty()) lay_.blank();
                break;
            case GUMBO_TAG_LI: case GUMBO_TAG_DD:
                lay_.flush();
                lay_.pop_prefix();
                break;
            case GUMBO_TAG_TR: lay_.flush(); break;
            case GUMBO_TAG_A: end_link(); break;
            case GUMBO_TAG_Q: lay_.word("\""); break;
            default:
                if (is_block(n->v.element.tag)) lay_.flush();
                break;
        }
    }

    void end_link() {
        if (lay_.links.empty()) return;
        LinkCtx l = std::move(lay_.links.back());
        lay_.links.pop_back();
        if (!o_.link_list) return;
        std::string href = collapse(l.href);
        href.erase(std::remove(href.begin(), href.end(), ' '), href.end());
        if (href.empty() || href[0] == '#' || starts_with_ci(href, "javascript:") ||
            starts_with_ci(href, "vbscript:") || starts_with_ci(href, "data:"))
            return;
        bool same = lay_.flushes() == l.generation;
        std::string text = collapse(same ? lay_.para_from(l.start) : lay_.para_from(0));
        if (lay_.content() == l.content) return;  // nothing visible to mark
        if (same_url(text, href)) return;
        auto [it, added] = link_numbers_.try_emplace(href, r_.links.size() + 1);
        if (added) r_.links.push_back(href);
        lay_.link_marker("[" + std::to_string(it->second) + "]", same);
    }
};

}  // namespace

std::string clean_display_text(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    append_clean(out, utf8);
    return out;
}

std::size_t display_width(std::string_view s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = mime::utf8_len(s, i);
        if (n == 0) {
            ++w;
            ++i;
            continue;
        }
        w += columns(code_point(s, i, n));
        i += n;
    }
    return w;
}

std::string normalize_html(std::string_view html, const HtmlTextOptions& options, bool* truncated) {
    bool cut = false;
    if (html.size() > options.max_input) {
        html = html.substr(0, options.max_input);
        cut = true;
    }
    Normalizer n(html, options);
    std::string out = n.run();
    if (truncated) *truncated = cut || n.truncated();
    return out;
}

HtmlText html_to_text(std::string_view html, const HtmlTextOptions& options) {
    HtmlText result;
    std::string clean = normalize_html(html, options, &result.truncated);
    AllocTracker tracker;
    GumboOptions go = kGumboDefaultOptions;
    go.allocator = track_alloc;
    go.deallocator = track_free;
    go.userdata = &tracker;
    go.max_errors = 0;  // parse errors are not wanted: do not collect them
    GumboOutput* out = gumbo_parse_with_options(&go, clean.data(), clean.size());
    // Never gumbo_destroy_output(): it recurses on the tree's depth. The tracker frees every block.
    Walker w(options, result);
    w.run(out->document);
    return result;
}

}  // namespace tern::mua
