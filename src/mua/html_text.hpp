// HTML mail to readable text for `tern read`: Debian's libgumbo (an HTML5 parser) builds the tree,
// a non-recursive walk lays it out as lines (paragraphs, "* " / "1. " lists, "> " quotes, pre
// verbatim, table cells joined by " | ", links as "text [1]" with the URLs listed at the end,
// images as "[image: alt]"), wrapped at a width without ever breaking a word or URL.
// Must never fetch anything (no remote content), recurse on the document's nesting, return
// invalid UTF-8 or a control character other than LF/TAB, or cost more than the limits below.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mua {

struct HtmlTextOptions {
    std::size_t width = 78;                 // wrap paragraphs at this many columns; 0: never wrap
    bool link_list = true;                  // "[n]" after link texts and the URLs at the end
    // Bounds (a hostile document must cost neither stack nor unbounded memory or time):
    std::size_t max_input = 16u << 20;      // HTML octets read; the rest is dropped (truncated)
    std::size_t max_parse = 2u << 20;       // octets of normalized markup handed to gumbo (its tree
                                            // costs ~30x that); the rest is dropped (truncated)
    std::size_t max_depth = 200;            // open elements kept nested; deeper start tags are
                                            // dropped before parsing (their text is kept)
    std::size_t max_elements = 100000;      // start tags kept; later ones dropped (text kept)
    std::size_t max_output = 16u << 20;     // octets of text produced; the rest cut (truncated)
};

struct HtmlText {
    std::string text;                // UTF-8 lines, each ending in "\n"; the link list included
    std::vector<std::string> links;  // the URLs, links[0] is "[1]"
    bool truncated = false;          // a bound above was reached
};

// `html` should be UTF-8 (the caller converts the part's charset); invalid octets become U+FFFD.
HtmlText html_to_text(std::string_view html, const HtmlTextOptions& options = {});

// What html_to_text() hands to gumbo (exposed for tests): the markup re-tokenized into a canonical
// form: comments, doctype, script/style/title/noscript/iframe content dropped; tags rewritten with
// only the attributes the renderer uses (href, alt, start, hidden); nesting deeper than max_depth
// or tags beyond max_elements dropped; a "<" that starts no tag escaped.
std::string normalize_html(std::string_view html, const HtmlTextOptions& options, bool* truncated = nullptr);

// Text made safe for a terminal: invalid UTF-8 becomes U+FFFD; control characters other than LF
// and TAB (C0, DEL, C1: no escape sequences), and invisible padding characters are dropped.
std::string clean_display_text(std::string_view utf8);

// Display columns of UTF-8 text (wide East Asian characters count 2, combining marks 0).
std::size_t display_width(std::string_view utf8);

}  // namespace tern::mua
