// uuencoded blocks in text (mime/uuencode.hpp) and safe file names (mime/filename.hpp): decoding
// to the original octets, prose that only looks like "begin", and hostile names kept inside DIR.
#include "mime/uuencode.hpp"

#include <gtest/gtest.h>

#include "mime/filename.hpp"

namespace tern::mime {
namespace {

// The POSIX uuencode of "Cat\n" and of 50 octets 0..49, as `uuencode` writes them.
std::string encode(std::string_view data) {
    std::string out;
    auto ch = [](unsigned v) { return static_cast<char>(v == 0 ? '`' : v + 0x20); };
    for (std::size_t i = 0; i < data.size(); i += 45) {
        std::string_view line = data.substr(i, 45);
        out += ch(static_cast<unsigned>(line.size()));
        for (std::size_t j = 0; j < line.size(); j += 3) {
            unsigned v = 0;
            for (std::size_t k = 0; k < 3; ++k)
                v = v << 8 | (j + k < line.size() ? static_cast<unsigned char>(line[j + k]) : 0u);
            for (int s = 18; s >= 0; s -= 6) out += ch((v >> s) & 63);
        }
        out += "\r\n";
    }
    out += "`\r\n";
    return out;
}

TEST(Uuencode, DecodesToTheOriginalOctets) {
    std::string data;
    for (int i = 0; i < 200; ++i) data += static_cast<char>(i * 7);
    std::string text = "Hi, the file:\r\n\r\nbegin 644 report.bin\r\n" + encode(data) + "end\r\nBye\r\n";
    auto blocks = find_uuencoded(text);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].data, data);
    EXPECT_EQ(blocks[0].name, "report.bin");
    EXPECT_EQ(blocks[0].mode, 0644u);
    EXPECT_FALSE(blocks[0].damaged);
    EXPECT_EQ(text.substr(blocks[0].begin, 6), "begin ");
    EXPECT_EQ(text.substr(blocks[0].end), "Bye\r\n");
    // "Cat" as the classic uuencode writes it.
    auto cat = find_uuencoded("begin 644 cat.txt\n#0V%T\n`\nend\n");
    ASSERT_EQ(cat.size(), 1u);
    EXPECT_EQ(cat[0].data, "Cat");
}

TEST(Uuencode, ProseAndMissingEnd) {
    EXPECT_TRUE(find_uuencoded("begin 644 is how you start\nthe letter.\n").empty());
    auto b = find_uuencoded("begin 600 x\n#0V%T\n");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_TRUE(b[0].damaged);
    EXPECT_EQ(b[0].data, "Cat");
}

TEST(Uuencode, HostileNamesStayInsideTheDirectory) {
    auto b = find_uuencoded("begin 644 ../../etc/passwd\n#0V%T\n`\nend\n");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].name, "passwd");
    EXPECT_EQ(b[0].raw_name, "../../etc/passwd");
}

TEST(SafeFilename, NeverAPathOutsideTheTargetDir) {
    EXPECT_EQ(safe_filename("../../x"), "x");
    EXPECT_EQ(safe_filename("/etc/passwd"), "passwd");
    EXPECT_EQ(safe_filename("..\\..\\boot.ini"), "boot.ini");
    EXPECT_EQ(safe_filename(".."), "_.");
    EXPECT_EQ(safe_filename("."), "_");
    EXPECT_EQ(safe_filename(".bashrc"), "_bashrc");
    EXPECT_EQ(safe_filename("a/"), "attachment");
    EXPECT_EQ(safe_filename(std::string("ev\0il\x01\x7f.txt", 12)), "evil.txt");
    EXPECT_EQ(safe_filename("\xC2\x85x"), "x");  // C1 control
    EXPECT_EQ(safe_filename("  r\xC3\xA9sum\xC3\xA9.pdf "), "r\xC3\xA9sum\xC3\xA9.pdf");
    EXPECT_EQ(safe_filename("C:evil"), "C_evil");
    std::string longname(300, 'a');
    longname += "\xC3\xA9";
    EXPECT_EQ(safe_filename(longname).size(), 255u);
    std::string utf(200, 'b');
    for (int i = 0; i < 40; ++i) utf += "\xE2\x82\xAC";
    std::string s = safe_filename(utf);
    EXPECT_LE(s.size(), 255u);
    EXPECT_EQ(s.size(), 254u);  // cut before a character that would not fit whole
}

}  // namespace
}  // namespace tern::mime
