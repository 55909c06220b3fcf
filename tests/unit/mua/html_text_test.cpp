// HTML to text (src/mua/html_text): layout of the common constructs, links, and the bounds on
// hostile documents (deep nesting, huge input). Each test states the exact text expected.
#include "mua/html_text.hpp"

#include <gtest/gtest.h>

#include <string>

using tern::mua::html_to_text;
using tern::mua::HtmlTextOptions;

namespace {

std::string txt(const std::string& html, std::size_t width = 78) {
    HtmlTextOptions o;
    o.width = width;
    return html_to_text(html, o).text;
}

TEST(HtmlText, ParagraphsAndWhitespaceCollapse) {
    EXPECT_EQ(txt("<p>Hello,\n   world  </p><p>Second   <b>bold</b> text.</p>"),
              "Hello, world\n\nSecond bold text.\n");
}

TEST(HtmlText, HeadScriptStyleSkipped) {
    EXPECT_EQ(txt("<html><head><title>T</title><style>p{color:red}</style></head><body>"
                  "<script>alert('x<p>y')</script><noscript>no</noscript><template><p>t</p></template>"
                  "<p>Body</p></body></html>"),
              "Body\n");
}

TEST(HtmlText, Lists) {
    EXPECT_EQ(txt("<ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul><ol start=3><li>three<li>four</ol>"),
              "* one\n* two\n  * inner\n\n3. three\n4. four\n");
}

TEST(HtmlText, Blockquote) {
    EXPECT_EQ(txt("<p>He wrote:</p><blockquote><p>first</p><p>second</p><blockquote>deeper</blockquote></blockquote><p>after</p>"),
              "He wrote:\n\n> first\n>\n> second\n>\n> > deeper\n\nafter\n");
}

TEST(HtmlText, PreKeptVerbatim) {
    EXPECT_EQ(txt("<p>code:</p><pre>  int x;\n    x  = 1;\n</pre><p>end</p>"),
              "code:\n\n  int x;\n    x  = 1;\n\nend\n");
}

TEST(HtmlText, Tables) {
    EXPECT_EQ(txt("<table><tr><th>Name</th><th>Qty</th></tr><tr><td>apple</td><td>3</td></tr>"
                  "<tr><td></td><td>only</td></tr></table>"),
              "Name | Qty\napple | 3\nonly\n");
}

TEST(HtmlText, LinksNumberedOnceAtTheEnd) {
    EXPECT_EQ(txt("<p>See <a href=\"https://a.example/x\">the docs</a>, <a href=\"https://a.example/x\">again</a>, "
                  "<a href=\"https://b.example/\">https://b.example/</a>, <a href=\"javascript:evil()\">js</a> "
                  "and <a href=\"mailto:x@y.example\">x@y.example</a>.</p>"),
              "See the docs [1], again [1], https://b.example/, js and x@y.example.\n\n"
              "[1] https://a.example/x\n");
}

TEST(HtmlText, Entities) {
    EXPECT_EQ(txt("<p>caf&eacute; &amp; cr&#232;me &lt;tag&gt; &euro;5&nbsp;net</p>"),
              "caf\xC3\xA9 & cr\xC3\xA8me <tag> \xE2\x82\xAC" "5 net\n");
}

TEST(HtmlText, Images) {
    EXPECT_EQ(txt("<p>Logo: <img src=\"https://track.example/p.gif\" alt=\"ACME logo\"> <img src=x></p>"),
              "Logo: [image: ACME logo]\n");
}

TEST(HtmlText, BrAndDivs) {
    EXPECT_EQ(txt("<div>line one<br>line two</div><div><br></div><div>after gap</div>"),
              "line one\nline two\n\nafter gap\n");
}

TEST(HtmlText, WrapsAtWidthWithoutBreakingUrls) {
    std::string url = "https://example.com/a/very/long/path/that/goes/on/and/on?with=query&and=more";
    std::string out = txt("<p>word word word word word word " + url + " tail</p>", 40);
    EXPECT_EQ(out, "word word word word word word\n" + url + "\ntail\n");
}

TEST(HtmlText, HiddenPreheaderSkipped) {
    EXPECT_EQ(txt("<div style=\"display: none; max-height:0\">preview junk</div><p>Real</p>"), "Real\n");
}

TEST(HtmlText, ControlCharactersNeverReachTheTerminal) {
    // gumbo turns raw control octets into U+FFFD; &#x1b; is dropped.
    EXPECT_EQ(txt("<p>a\x1b[31mred\x07 b&#x1b;c&#x85;d</p>"), "a\xEF\xBF\xBD[31mred\xEF\xBF\xBD bc\xE2\x80\xA6" "d\n");  // &#x85; is "…" (HTML numeric reference remap)
}

TEST(HtmlText, NestedTenThousandDeep) {
    std::string html;
    for (int i = 0; i < 10000; ++i) html += "<div>";
    html += "deep";
    for (int i = 0; i < 10000; ++i) html += "</div>";
    tern::mua::HtmlText r = html_to_text(html);
    EXPECT_EQ(r.text, "deep\n");
    EXPECT_TRUE(r.truncated);
    std::string quotes;
    for (int i = 0; i < 10000; ++i) quotes += "<blockquote><ul><li><table><tr><td><b id=" + std::to_string(i) + ">x";
    r = html_to_text(quotes);
    EXPECT_TRUE(r.truncated);
    EXPECT_NE(r.text.find("x"), std::string::npos);
}

TEST(HtmlText, HugeInputIsCut) {
    std::string html = "<p>" + std::string(5u << 20, 'a') + "</p>";
    tern::mua::HtmlText r = html_to_text(html);
    EXPECT_TRUE(r.truncated);
    EXPECT_LE(r.text.size(), (2u << 20) + 2);
    EXPECT_GE(r.text.size(), (2u << 20) - 8);
}

// Misnested formatting ("<div><b></div>x" repeated) made gumbo reconstruct the <b> one level
// deeper at every step (HTML §13.2.4.3) while the normalizer's model stayed flat: 4 MiB took
// minutes. The normalizer now closes what it pops with explicit end tags.
TEST(HtmlText, ImplicitlyClosedElementsGetExplicitEndTags) {
    HtmlTextOptions o;
    EXPECT_EQ(tern::mua::normalize_html("<div><b><i></div>x<p>a<li>b<li>c", o),
              "<div><b><i></i></b></div>x<p>a</p><li>b</li><li>c");
    EXPECT_EQ(tern::mua::normalize_html("<table><tr><td>1<td>2<tr><td>3</table>", o),
              "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>");
}

TEST(HtmlText, NormalizerKeepsOnlyUsedAttributesAndDropsRawText) {
    HtmlTextOptions o;
    EXPECT_EQ(tern::mua::normalize_html("<!DOCTYPE html><a href='x\"y' onclick=z>l</a><!-- c --><script>if(a<b)</script>"
                                        "<img src=s alt=\"A\" style=\"display : NONE\"> 1 < 2",
                                        o),
              "<a href=\"x&quot;y\">l</a><img alt=\"A\" hidden> 1 &lt; 2");
}

}  // namespace
