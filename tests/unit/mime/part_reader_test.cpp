// Streaming a part's decoded body (mime/part_reader.hpp): base64 and quoted-printable parts out of
// a multipart message, charsets to UTF-8, small chunks, and a sink that stops early.
#include "mime/part_reader.hpp"

#include <gtest/gtest.h>

#include "mime/section.hpp"

namespace tern::mime {
namespace {

const std::string kMsg =
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "caf=E9 cr=E8me=\r\n br=FBl=E9e\r\n"
    "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAwQFBgcICQ==\r\n"
    "--b\r\nContent-Type: text/plain; charset=x-unheard-of\r\n\r\n"
    "r\xE9sum\xC3\xA9\r\n"
    "--b--\r\n";

std::string read(std::string_view path, bool utf8, std::size_t chunk, DecodeSummary* sum = nullptr) {
    auto src = base::bytes_from_string(kMsg);
    PartTree t = parse_message(kMsg);
    auto idx = find_part(t, parse_section_path(path).value()).value();
    std::string out;
    DecodeOptions o;
    o.to_utf8 = utf8;
    o.chunk_bytes = chunk;
    auto r = read_decoded(*src, t.parts[idx], [&](std::string_view piece) {
        EXPECT_FALSE(piece.empty());
        out += piece;
        return true;
    }, o);
    EXPECT_TRUE(r.has_value());
    if (sum) *sum = *r;
    EXPECT_EQ(r->octets, out.size());
    return out;
}

TEST(PartReader, DecodesAndConverts) {
    for (std::size_t chunk : {1u, 3u, 64u, 65536u}) {
        EXPECT_EQ(read("1", false, chunk), "caf\xE9 cr\xE8me br\xFBl\xE9" "e") << chunk;
        EXPECT_EQ(read("1", true, chunk), "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e") << chunk;
        EXPECT_EQ(read("2", false, chunk), std::string("\0\1\2\3\4\5\6\7\x08\x09", 10)) << chunk;
    }
    DecodeSummary s;
    EXPECT_EQ(read("3", true, 5, &s), "r\xC3\xA9sum\xC3\xA9");
    EXPECT_TRUE(s.charset_fallback);
}

TEST(PartReader, SinkCanStop) {
    auto src = base::bytes_from_string(kMsg);
    PartTree t = parse_message(kMsg);
    auto idx = find_part(t, std::vector<std::uint32_t>{1}).value();
    int calls = 0;
    DecodeOptions o;
    o.chunk_bytes = 4;
    auto r = read_decoded(*src, t.parts[idx], [&](std::string_view) { return ++calls < 2; }, o);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->stopped);
    EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace tern::mime
