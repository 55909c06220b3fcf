// Attachments: which parts are attachments, their decoded names and sizes, and saving them (see
// attachments.hpp). Saving works only through a directory descriptor and openat/renameat with
// plain names from safe_filename(), so no name can reach outside the directory or through a
// symlink. Must never follow a symlink, never overwrite without `force`, never leave a temp file.
#include "mua/attachments.hpp"

#include <fcntl.h>
#include <magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include "mime/charset.hpp"
#include "mime/decode.hpp"
#include "mime/filename.hpp"
#include "mime/part_reader.hpp"
#include "mime/section.hpp"
#include "mime/uuencode.hpp"
#include "mua/html_text.hpp"
#include "mua/json.hpp"

namespace tern::mua {
namespace {

// A ByteSource over bytes the caller keeps alive (no copy).
class ViewSource final : public base::ByteSource {
public:
    explicit ViewSource(std::string_view v) : v_(v) {}
    std::uint64_t size() const override { return v_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= v_.size()) return 0;
        std::size_t n = std::min<std::uint64_t>(out.size(), v_.size() - offset);
        std::memcpy(out.data(), v_.data() + offset, n);
        return n;
    }

private:
    std::string_view v_;
};

std::string disposition_type(const mime::MimePart& p) { return p.disposition ? p.disposition->type : std::string(); }

bool in_alternative(const mime::PartTree& tree, const mime::MimePart& p) {
    return p.parent != mime::kNoPart && tree.parts[p.parent].content_type.is("multipart", "alternative");
}

// "type/subtype" for display: RFC 2045 §5.1 tokens are printable ASCII; anything else becomes "?".
std::string type_of(const mime::MimePart& p) {
    std::string t = p.content_type.type + "/" + p.content_type.subtype;
    for (char& c : t)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return t;
}

// Text parts scanned for uuencoded blocks: body text/plain (what a 1990s client would have sent).
bool may_hold_uuencode(const mime::PartTree& tree, std::uint32_t i) {
    const mime::MimePart& p = tree.parts[i];
    return p.kind == mime::PartKind::Leaf && p.content_type.is("text", "plain") && shown_inline(tree, i);
}

constexpr std::size_t kMaxUuText = 64u << 20;  // text scanned for uuencode per part

std::string sniff(std::string_view data) {
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF);
    if (!m) return {};
    std::string type;
    if (magic_load(m, nullptr) == 0) {
        const char* r = magic_buffer(m, data.data(), std::min<std::size_t>(data.size(), 1u << 20));
        if (r) type = r;
    }
    magic_close(m);
    return type;
}

std::string extension_for(std::string_view type) {
    static const std::pair<std::string_view, std::string_view> kExt[] = {
        {"image/png", ".png"},   {"image/jpeg", ".jpg"},        {"image/gif", ".gif"},
        {"image/webp", ".webp"}, {"application/pdf", ".pdf"},   {"text/plain", ".txt"},
        {"text/html", ".html"},  {"text/calendar", ".ics"},     {"message/rfc822", ".eml"},
        {"message/global", ".eml"}, {"application/zip", ".zip"}, {"application/pgp-signature", ".asc"},
        {"application/pkcs7-signature", ".p7s"}, {"text/csv", ".csv"}};
    for (const auto& [t, e] : kExt)
        if (t == type) return std::string(e);
    return ".bin";
}

// "name (2).ext" for the second use of a name in one message; the result stays within 255 octets.
std::string unique_name(const std::string& name, std::set<std::string>& used) {
    if (used.insert(name).second) return name;
    std::size_t dot = name.rfind('.');
    if (dot == 0 || dot == std::string::npos) dot = name.size();
    std::string stem = name.substr(0, dot), ext = name.substr(dot);
    for (int k = 2;; ++k) {
        std::string suffix = " (" + std::to_string(k) + ")" + ext;
        std::string s = stem;
        if (s.size() + suffix.size() > 255) {
            std::size_t e = suffix.size() < 255 ? 255 - suffix.size() : 0;
            while (e > 0 && (static_cast<unsigned char>(s[e]) & 0xc0) == 0x80) --e;
            s.resize(e);
        }
        std::string cand = s + suffix;
        if (used.insert(cand).second) return cand;
    }
}

}  // namespace

std::string decoded_part(std::string_view message, const mime::MimePart& p, std::size_t max, bool* damaged,
                         bool* truncated) {
    std::string out;
    bool cut = false;
    ViewSource src(message);
    auto r = mime::read_decoded(src, p, [&](std::string_view piece) {
        std::size_t room = max - std::min(max, out.size());
        if (piece.size() > room) cut = true;
        out.append(piece.substr(0, room));
        return !cut;
    });
    if (damaged) *damaged = r && r->damaged;
    if (truncated) *truncated = cut;
    return out;
}

bool is_textual(const mime::MimePart& p) {
    const mime::ContentType& ct = p.content_type;
    return (ct.type == "text" && ct.subtype != "calendar") ||
           ct.is("message", "delivery-status") || ct.is("message", "global-delivery-status") ||
           ct.is("message", "disposition-notification") || ct.is("message", "feedback-report");
}

bool is_attachment(const mime::PartTree& tree, std::uint32_t i) {
    const mime::MimePart& p = tree.parts[i];
    if (p.kind == mime::PartKind::Multipart) return false;
    bool named = mime::part_filename(p).has_value();
    if (disposition_type(p) == "attachment" || named) return true;
    if (p.kind == mime::PartKind::Message) return false;  // shown as a forwarded message
    if (i == 0 && is_textual(p)) return false;
    return !is_textual(p);  // RFC 2046 §4.1.4: text/* is for reading; anything else is a file
}

bool shown_inline(const mime::PartTree& tree, std::uint32_t i) {
    const mime::MimePart& p = tree.parts[i];
    if (p.kind != mime::PartKind::Leaf || !is_textual(p)) return false;
    std::string disp = disposition_type(p);
    if (disp == "attachment") return false;
    if (!mime::part_filename(p)) return true;
    return disp == "inline" || p.is_message || in_alternative(tree, p);
}

std::vector<Attachment> list_attachments(std::string_view message, const mime::PartTree& tree,
                                         const ListOptions& options) {
    std::vector<Attachment> out;
    std::set<std::string> used;
    for (std::uint32_t i = 0; i < tree.parts.size(); ++i) {
        const mime::MimePart& p = tree.parts[i];
        if (is_attachment(tree, i)) {
            Attachment a;
            a.part = i;
            a.section = mime::section_path(tree, i);
            a.content_type = type_of(p);
            a.inline_part = disposition_type(p) != "attachment";
            if (auto n = mime::part_filename(p)) a.name = clean_display_text(*n);
            ViewSource src(message);
            auto r = mime::read_decoded(src, p, [](std::string_view) { return true; });
            if (r) {
                a.size = r->octets;
                a.damaged = r->damaged;
            }
            out.push_back(std::move(a));
        }
        if (may_hold_uuencode(tree, i)) {
            bool damaged = false;
            std::string text = decoded_part(message, p, kMaxUuText, &damaged);
            if (text.find("begin ") == std::string::npos) continue;
            std::vector<mime::UuBlock> blocks = mime::find_uuencoded(text);
            for (std::size_t k = 0; k < blocks.size(); ++k) {
                Attachment a;
                a.part = i;
                a.section = mime::section_path(tree, i);
                a.uuencoded = true;
                a.uu_block = k;
                a.inline_part = true;
                a.name = clean_display_text(mime::utf8_or_latin1(blocks[k].raw_name));
                a.size = blocks[k].data.size();
                a.damaged = blocks[k].damaged;
                std::string t = options.sniff_types ? sniff(blocks[k].data) : std::string();
                a.content_type = t.empty() ? "application/octet-stream" : t;
                out.push_back(std::move(a));
            }
        }
    }
    for (std::size_t k = 0; k < out.size(); ++k) {
        Attachment& a = out[k];
        a.index = k + 1;
        std::string fallback = "attachment-" + std::to_string(a.index) + extension_for(a.content_type);
        a.save_name = unique_name(mime::safe_filename(a.name, fallback), used);
    }
    return out;
}

std::vector<Attachment> list_attachments(std::string_view message, const ListOptions& options) {
    mime::PartTree tree = mime::parse_message(message, options.limits);
    return list_attachments(message, tree, options);
}

Result<std::string> attachment_data(std::string_view message, const mime::PartTree& tree, const Attachment& a) {
    if (a.part >= tree.parts.size()) return fail("no such part");
    const mime::MimePart& p = tree.parts[a.part];
    if (!a.uuencoded) {
        std::string out;
        ViewSource src(message);
        auto r = mime::read_decoded(src, p, [&](std::string_view piece) {
            out.append(piece);
            return true;
        });
        if (!r) return std::unexpected(r.error());
        return out;
    }
    std::string text = decoded_part(message, p, kMaxUuText, nullptr);
    std::vector<mime::UuBlock> blocks = mime::find_uuencoded(text);
    if (a.uu_block >= blocks.size()) return fail("uuencoded block not found");
    return std::move(blocks[a.uu_block].data);
}

namespace {

Result<void> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(std::strerror(errno), errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) return fail(std::strerror(errno), errno);
    return {};
}

constexpr int kCreate = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

// New file `name` in dirfd; never opens an existing entry (O_EXCL: not even through a symlink).
Result<void> create_new(int dirfd, const std::string& name, std::string_view data) {
    int fd = ::openat(dirfd, name.c_str(), kCreate, 0666);
    if (fd < 0) {
        if (errno == EEXIST) return fail("exists (use --force to replace it)", EEXIST);
        return fail(std::strerror(errno), errno);
    }
    auto w = write_all(fd, data);
    ::close(fd);
    if (!w) ::unlinkat(dirfd, name.c_str(), 0);
    return w;
}

// Replaces `name` atomically: a temp file in the same directory, then renameat() over the name
// (rename replaces a symlink itself, never its target).
Result<bool> replace(int dirfd, const std::string& name, std::string_view data) {
    struct stat st {};
    bool existed = ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (existed && S_ISDIR(st.st_mode)) return fail("is a directory", EISDIR);
    std::random_device rd;
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        char buf[32];
        std::snprintf(buf, sizeof buf, ".tern-save-%08x%08x", rd(), rd());
        tmp = buf;
        fd = ::openat(dirfd, tmp.c_str(), kCreate, 0666);
        if (fd < 0 && errno != EEXIST) return fail(std::strerror(errno), errno);
    }
    if (fd < 0) return fail("cannot create a temporary file");
    auto w = write_all(fd, data);
    ::close(fd);
    if (!w) {
        ::unlinkat(dirfd, tmp.c_str(), 0);
        return std::unexpected(w.error());
    }
    if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
        int e = errno;
        ::unlinkat(dirfd, tmp.c_str(), 0);
        return fail(std::strerror(e), e);
    }
    ::fsync(dirfd);
    return existed;
}

}  // namespace

Result<std::vector<Saved>> save_attachments(std::string_view message, const std::vector<std::size_t>& indices,
                                            const std::filesystem::path& dir, const SaveOptions& options) {
    int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return fail(dir.string() + ": " + std::strerror(errno), errno);
    mime::PartTree tree = mime::parse_message(message);
    std::vector<Attachment> list = list_attachments(message, tree, ListOptions{.sniff_types = false, .limits = {}});
    std::vector<std::size_t> want = indices;
    if (want.empty())
        for (const Attachment& a : list) want.push_back(a.index);
    std::vector<std::size_t> seen;
    std::vector<Saved> out;
    for (std::size_t idx : want) {
        if (std::find(seen.begin(), seen.end(), idx) != seen.end()) continue;
        seen.push_back(idx);
        Saved s;
        s.index = idx;
        if (idx == 0 || idx > list.size()) {
            s.error = "no attachment " + std::to_string(idx) + " (the message has " + std::to_string(list.size()) + ")";
            out.push_back(std::move(s));
            continue;
        }
        const Attachment& a = list[idx - 1];
        const std::string& name = a.save_name;
        s.path = dir / name;
        // safe_filename() guarantees a plain name; checked again here, as this is the last step
        // before the file system.
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
            name.find('\0') != std::string::npos) {
            s.error = "unsafe file name";
            out.push_back(std::move(s));
            continue;
        }
        auto data = attachment_data(message, tree, a);
        if (!data) {
            s.error = data.error().message;
            out.push_back(std::move(s));
            continue;
        }
        s.size = data->size();
        if (options.force) {
            auto r = replace(dirfd, name, *data);
            if (r)
                s.replaced = *r;
            else
                s.error = r.error().message;
        } else {
            auto r = create_new(dirfd, name, *data);
            if (!r) s.error = r.error().message;
        }
        out.push_back(std::move(s));
    }
    ::close(dirfd);
    return out;
}

std::string attachments_json(const std::vector<Attachment>& list) {
    std::string out = "[";
    for (const Attachment& a : list) {
        if (out.size() > 1) out += ',';
        out += "{\"index\":" + std::to_string(a.index) + ",\"name\":" + json_string(a.name) +
               ",\"save_name\":" + json_string(a.save_name) + ",\"type\":" + json_string(a.content_type) +
               ",\"size\":" + std::to_string(a.size) + ",\"section\":" + json_string(a.section) +
               ",\"uuencoded\":" + (a.uuencoded ? "true" : "false") +
               ",\"inline\":" + (a.inline_part ? "true" : "false") +
               ",\"damaged\":" + (a.damaged ? "true" : "false") + "}";
    }
    out += "]";
    return out;
}

std::string human_size(std::uint64_t b) {
    char buf[32];
    if (b < 1024) return std::to_string(b) + " B";
    if (b < 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
    else if (b < 1024ull * 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1024 * 1024));
    else
        std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(b) / (1024.0 * 1024 * 1024));
    return buf;
}

}  // namespace tern::mua
