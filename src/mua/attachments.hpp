// The attachments of one message, for `tern attachments` and the reader: MIME parts that are
// attachments (Content-Disposition attachment, a file name, or a non-text part that is not body
// text) and uuencoded blocks inside text bodies, each with its decoded name, type and size; and
// saving chosen ones into a directory. Reads only the message bytes it is given (and libmagic's
// database, to type uuencoded data); writes only plain files directly inside the directory asked
// for. Must never follow a symlink, write outside that directory whatever a name says, or
// overwrite a file unless asked to (then atomically, by rename).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mime/part_tree.hpp"

namespace tern::mua {

struct Attachment {
    std::size_t index = 0;         // 1-based: the number `tern attachments N` takes
    std::string name;              // as the message names it, UTF-8 (RFC 2231 / RFC 2047 decoded),
                                   // control characters removed; "" when it names none
    std::string save_name;         // safe_filename() of it (or a made-up one), unique in the message
    std::string content_type;      // "image/png"; for uuencoded data what libmagic says
    std::uint64_t size = 0;        // decoded octets
    std::uint32_t part = 0;        // index in PartTree::parts (uuencoded: the text part holding it)
    std::string section;           // IMAP section number of that part ("2.1")
    bool uuencoded = false;        // a "begin 644 name" block inside a text body
    std::size_t uu_block = 0;      // which block of that part
    bool inline_part = false;      // no "attachment" disposition (an inline image, a signature...)
    bool damaged = false;          // the transfer encoding (or uuencoding) was broken
};

struct ListOptions {
    bool sniff_types = true;       // type uuencoded data with libmagic (else application/octet-stream)
    mime::ParseLimits limits;
};

// Part roles shared with the renderer. A text part "shown inline" is body text; an attachment is
// listed. A text part with a file name and an explicit inline disposition is both.
bool is_attachment(const mime::PartTree& tree, std::uint32_t part);
bool shown_inline(const mime::PartTree& tree, std::uint32_t part);
// text/* and the textual message/* leaves (delivery-status, disposition-notification).
bool is_textual(const mime::MimePart& part);

std::vector<Attachment> list_attachments(std::string_view message, const mime::PartTree& tree,
                                         const ListOptions& options = {});
std::vector<Attachment> list_attachments(std::string_view message, const ListOptions& options = {});

// A part's body with its Content-Transfer-Encoding undone (no charset conversion), at most `max`
// octets (`truncated` says when more were there).
std::string decoded_part(std::string_view message, const mime::MimePart& part, std::size_t max,
                         bool* damaged = nullptr, bool* truncated = nullptr);

// The decoded octets of one listed attachment.
Result<std::string> attachment_data(std::string_view message, const mime::PartTree& tree, const Attachment& a);

struct SaveOptions {
    bool force = false;  // replace an existing file (temp file + rename; a symlink is replaced, not followed)
};

struct Saved {
    std::size_t index = 0;
    std::filesystem::path path;      // dir / save_name
    std::uint64_t size = 0;
    bool replaced = false;           // an existing file was replaced (force)
    std::optional<std::string> error;  // why this one was not saved
};

// Saves the attachments numbered `indices` (all when empty) of `message` into `dir`, which must
// exist. Each file is created with openat(O_CREAT|O_EXCL|O_NOFOLLOW) relative to the opened dir;
// an existing name is an error for that item unless options.force. Errors only when the directory
// cannot be opened; per-item failures are in Saved::error.
Result<std::vector<Saved>> save_attachments(std::string_view message, const std::vector<std::size_t>& indices,
                                            const std::filesystem::path& dir, const SaveOptions& options = {});

std::string attachments_json(const std::vector<Attachment>& list);

// "12.3 KiB"
std::string human_size(std::uint64_t bytes);

}  // namespace tern::mua
