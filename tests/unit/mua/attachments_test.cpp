// Attachments (src/mua/attachments): which parts are listed, decoded names and sizes, uuencoded
// blocks byte for byte, and saving: hostile names stay inside DIR, nothing is overwritten without
// force, a symlink already in DIR is never followed, and force replaces atomically.
#include "mua/attachments.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

namespace fs = std::filesystem;
using tern::mua::Attachment;
using tern::mua::list_attachments;
using tern::mua::save_attachments;

namespace {

std::string b64(std::string_view in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
        if (out.size() % 78 == 76) out += "\r\n";
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += {k[v >> 18], k[(v >> 12) & 63], i + 1 < in.size() ? k[(v >> 6) & 63] : '=', '='};
    }
    return out;
}

// POSIX uuencode of `data` as the block named `name`.
std::string uuencode(std::string_view data, const std::string& name) {
    auto enc = [](unsigned v) { return v == 0 ? '`' : static_cast<char>(v + 0x20); };
    std::string out = "begin 644 " + name + "\n";
    for (std::size_t i = 0; i < data.size(); i += 45) {
        std::string_view line = data.substr(i, 45);
        out += enc(static_cast<unsigned>(line.size()));
        for (std::size_t j = 0; j < line.size(); j += 3) {
            unsigned char a = line[j], b = j + 1 < line.size() ? line[j + 1] : 0, c = j + 2 < line.size() ? line[j + 2] : 0;
            out += {enc(a >> 2), enc(((a << 4) | (b >> 4)) & 63), enc(((b << 2) | (c >> 6)) & 63), enc(c & 63)};
        }
        out += "\n";
    }
    return out + "`\nend\n";
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

std::string part(const std::string& headers, const std::string& body) { return "--BB\r\n" + headers + "\r\n\r\n" + body + "\r\n"; }

std::string mixed(const std::vector<std::string>& parts) {
    std::string m = "From: a@example.com\r\nSubject: t\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n";
    for (const std::string& p : parts) m += p;
    return m + "--BB--\r\n";
}

std::string attach(const std::string& filename_param, const std::string& data, const std::string& type = "application/octet-stream") {
    return part("Content-Type: " + type + "\r\nContent-Disposition: attachment; " + filename_param +
                    "\r\nContent-Transfer-Encoding: base64",
                b64(data));
}

struct TempDir {
    fs::path root;  // the test's private directory; DIR is root/"out"
    fs::path dir;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "tern-att-XXXXXX").string();
        root = ::mkdtemp(tmpl.data());
        dir = root / "out";
        fs::create_directory(dir);
    }
    ~TempDir() { fs::remove_all(root); }
};

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

std::set<std::string> entries(const fs::path& d) {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(d)) s.insert(e.path().filename().string());
    return s;
}

TEST(Attachments, ListsPartsWithDecodedNamesAndSizes) {
    std::string pdf = "%PDF-1.4 fake";
    std::string m = mixed({part("Content-Type: text/plain", "Hello"),
                           attach("filename=\"report.pdf\"", pdf, "application/pdf"),
                           attach("filename*=utf-8''%C3%A9t%C3%A9.txt", "summer"),
                           attach("filename=\"=?utf-8?B?0J/RgNC40LLQtdGCLmRvYw==?=\"", "x"),
                           part("Content-Type: image/png\r\nContent-Transfer-Encoding: base64", b64("PNGDATA")),
                           part("Content-Type: application/pgp-signature", "-----BEGIN PGP SIGNATURE-----")});
    std::vector<Attachment> l = list_attachments(m);
    ASSERT_EQ(l.size(), 5u);
    EXPECT_EQ(l[0].name, "report.pdf");
    EXPECT_EQ(l[0].size, pdf.size());
    EXPECT_EQ(l[0].content_type, "application/pdf");
    EXPECT_EQ(l[0].section, "2");
    EXPECT_EQ(l[1].name, "\xC3\xA9t\xC3\xA9.txt");
    EXPECT_EQ(l[2].name, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82.doc");
    EXPECT_EQ(l[3].name, "");  // an inline image without a name
    EXPECT_EQ(l[3].save_name, "attachment-4.png");
    EXPECT_TRUE(l[3].inline_part);
    EXPECT_EQ(l[3].size, 7u);
    EXPECT_EQ(l[4].content_type, "application/pgp-signature");
    for (std::size_t i = 0; i < l.size(); ++i) EXPECT_EQ(l[i].index, i + 1);
}

TEST(Attachments, SameNameTwiceGetsDistinctNames) {
    std::string m = mixed({attach("filename=a.txt", "one"), attach("filename=a.txt", "two"), attach("filename=a.txt", "3"),
                           attach("filename=noext", "4"), attach("filename=noext", "5")});
    std::vector<Attachment> l = list_attachments(m);
    ASSERT_EQ(l.size(), 5u);
    EXPECT_EQ(l[0].save_name, "a.txt");
    EXPECT_EQ(l[1].save_name, "a (2).txt");
    EXPECT_EQ(l[2].save_name, "a (3).txt");
    EXPECT_EQ(l[3].save_name, "noext");
    EXPECT_EQ(l[4].save_name, "noext (2)");
}

TEST(Attachments, UuencodedBlockDecodesByteForByte) {
    std::string data = random_bytes(5000, 7);
    std::string m = "From: old@example.com\r\nSubject: uu\r\n\r\nThe file:\n\n" + uuencode(data, "blob.bin") + "\nbye\n";
    std::vector<Attachment> l = list_attachments(m);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_TRUE(l[0].uuencoded);
    EXPECT_EQ(l[0].name, "blob.bin");
    EXPECT_EQ(l[0].size, data.size());
    EXPECT_FALSE(l[0].damaged);
    tern::mime::PartTree tree = tern::mime::parse_message(m);
    auto bytes = tern::mua::attachment_data(m, tree, l[0]);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, data);

    TempDir t;
    auto saved = save_attachments(m, {}, t.dir);
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->size(), 1u);
    EXPECT_FALSE((*saved)[0].error);
    EXPECT_EQ(slurp(t.dir / "blob.bin"), data);
}

TEST(Attachments, HostileNamesStayInsideDir) {
    std::vector<std::string> names = {
        "filename=\"../../escape.txt\"", "filename=\"/etc/passwd\"", "filename=\"..\"", "filename=\".\"",
        "filename=\"....\"", "filename=\"a\\\\..\\\\..\\\\win.ini\"", "filename=\"ctl\x01\x1b[31m.txt\"",
        "filename*=utf-8''nul%00byte%2F..%2Fx", "filename=\"" + std::string(600, 'L') + ".txt\"",
        "filename=\".hidden\"", "filename=\"   \"", "filename*=utf-8''..%2F..%2Fup"};
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < names.size(); ++i) parts.push_back(attach(names[i], "data" + std::to_string(i)));
    std::string m = mixed(parts);
    TempDir t;
    auto saved = save_attachments(m, {}, t.dir);
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->size(), names.size());
    std::set<std::string> expect;
    for (const auto& s : *saved) {
        ASSERT_FALSE(s.error) << *s.error;
        fs::path canon = fs::weakly_canonical(s.path);
        EXPECT_EQ(canon.parent_path(), fs::canonical(t.dir)) << s.path;
        std::string fn = s.path.filename().string();
        EXPECT_NE(fn, ".");
        EXPECT_NE(fn, "..");
        EXPECT_NE(fn[0], '.');
        EXPECT_LE(fn.size(), 255u);
        for (char c : fn) EXPECT_GE(static_cast<unsigned char>(c), 0x20u) << fn;
        EXPECT_EQ(slurp(s.path), "data" + std::to_string(s.index - 1));
        expect.insert(fn);
    }
    EXPECT_EQ(entries(t.dir), expect);                      // nothing else in DIR
    EXPECT_EQ(entries(t.root), std::set<std::string>{"out"});  // nothing beside it
}

TEST(Attachments, NoOverwriteWithoutForceThenAtomicReplace) {
    std::string m = mixed({attach("filename=notes.txt", "new content")});
    TempDir t;
    { std::ofstream(t.dir / "notes.txt") << "precious"; }
    auto saved = save_attachments(m, {1}, t.dir);
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->size(), 1u);
    ASSERT_TRUE((*saved)[0].error);
    EXPECT_NE((*saved)[0].error->find("exists"), std::string::npos);
    EXPECT_EQ(slurp(t.dir / "notes.txt"), "precious");

    tern::mua::SaveOptions force;
    force.force = true;
    saved = save_attachments(m, {1}, t.dir, force);
    ASSERT_TRUE(saved);
    EXPECT_FALSE((*saved)[0].error);
    EXPECT_TRUE((*saved)[0].replaced);
    EXPECT_EQ(slurp(t.dir / "notes.txt"), "new content");
    EXPECT_EQ(entries(t.dir), std::set<std::string>{"notes.txt"});  // no temp file left
}

TEST(Attachments, SymlinkInDirIsNotFollowed) {
    std::string m = mixed({attach("filename=link.txt", "attacker data")});
    TempDir t;
    fs::path victim = t.root / "victim";
    { std::ofstream(victim) << "victim"; }
    fs::create_symlink(victim, t.dir / "link.txt");
    auto saved = save_attachments(m, {}, t.dir);
    ASSERT_TRUE(saved);
    EXPECT_TRUE((*saved)[0].error);
    EXPECT_EQ(slurp(victim), "victim");

    tern::mua::SaveOptions force;
    force.force = true;
    saved = save_attachments(m, {}, t.dir, force);
    ASSERT_TRUE(saved);
    EXPECT_FALSE((*saved)[0].error);
    EXPECT_EQ(slurp(victim), "victim");  // the link was replaced, its target untouched
    EXPECT_FALSE(fs::is_symlink(t.dir / "link.txt"));
    EXPECT_EQ(slurp(t.dir / "link.txt"), "attacker data");
    // A dangling symlink is not followed either (O_EXCL refuses it).
    fs::remove(t.dir / "link.txt");
    fs::create_symlink(t.root / "created-through-link", t.dir / "link.txt");
    saved = save_attachments(m, {}, t.dir);
    ASSERT_TRUE(saved);
    EXPECT_TRUE((*saved)[0].error);
    EXPECT_FALSE(fs::exists(t.root / "created-through-link"));
}

TEST(Attachments, BadIndexAndMissingDir) {
    std::string m = mixed({attach("filename=a.txt", "x")});
    TempDir t;
    auto saved = save_attachments(m, {7}, t.dir);
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->size(), 1u);
    EXPECT_TRUE((*saved)[0].error);
    EXPECT_TRUE(entries(t.dir).empty());
    EXPECT_FALSE(save_attachments(m, {}, t.dir / "missing"));
}

}  // namespace
