// Composing mail in the client: a Draft (what the user typed, files to attach, the parts of a
// forward) becomes the message octets (RFC 5322 + MIME, CRLF) and its SMTP envelope; replies and
// forwards are drafted from an original message. Pure apart from reading attachment files: no
// network, no clock, no randomness (date and Message-ID bits come in the Draft). Must never put
// Bcc in the header, never write a line over 998 octets, never base64-encode message/rfc822, and
// never name an attachment by more than its base name.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tern::mua {

// A file to attach, read when the message is built.
struct FileAttachment {
    std::filesystem::path path;
    std::string name;  // the name shown to the recipient (UTF-8); empty: the path's base name
};

// A part whose octets are already in memory: a forwarded message (message/rfc822), or a part of
// an original message re-attached to an inline forward. `data` is decoded (no transfer encoding).
struct DataPart {
    std::string content_type;  // "type/subtype" without parameters; empty: from the content (libmagic)
    std::string data;
    std::string name;          // file name (UTF-8); may be empty
    bool inline_disposition = false;  // Content-Disposition: inline instead of attachment
};

struct Draft {
    std::string from;       // "Name <addr>" or a bare address, as typed
    std::string from_name;  // optional display name (UTF-8); replaces the one in `from`
    std::vector<std::string> to, cc, bcc;  // each "Name <addr>", a bare address, or several with ","
    std::string subject;    // UTF-8
    std::string body;       // UTF-8 text; LF, CRLF or CR line ends
    std::vector<DataPart> parts;          // attached first, in order
    std::vector<FileAttachment> attachments;  // then these files, in order
    std::string in_reply_to;              // "<id@host>" or empty
    std::vector<std::string> references;  // "<id@host>" each, oldest first
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields (name, UTF-8 value)
    std::int64_t date = 0;         // unix seconds
    int utc_offset_minutes = 0;    // east of UTC, for the Date: field
    std::uint64_t unique = 0;      // random bits for the Message-ID
    std::string host;              // Message-ID's right side; empty: the From domain
};

struct BuildOptions {
    std::uint64_t max_attachment_bytes = 25ull << 20;  // all attachments and parts together
};

struct Built {
    std::string message;                  // CRLF line ends, no line over 998 octets
    std::string sender;                   // envelope MAIL FROM: the From address
    std::vector<std::string> recipients;  // To + Cc + Bcc addresses, each once, in that order
    std::string message_id;               // "<...>" as written in the Message-ID field
    bool needs_8bitmime = false;          // an 8bit part (a forwarded 8-bit message)
    bool needs_smtputf8 = false;          // a non-ASCII address (RFC 6531)
};

// Builds the message: RFC 5322 header (Date, From, To, Cc, Subject, Message-ID, In-Reply-To,
// References, extra fields, MIME-Version), a text/plain body (7bit or quoted-printable), and
// with attachments multipart/mixed with the text first. Errors for unparsable addresses, no
// recipient, a body that is not UTF-8, unreadable files, attachments over the limit, and extra
// header fields that are malformed or that this function writes itself.
Result<Built> build_message(const Draft& draft, const BuildOptions& options = {});

// A reply to `original` (its octets). `rendered_text` is its text as the reader shows it (plain
// text, UTF-8). `account` is the user's address ("Name <addr>" or bare), left out of the
// recipients; with `all` the original's To and Cc become the Cc. From is the account; date and
// Message-ID fields are left for the caller.
Draft reply_draft(std::string_view original, std::string_view rendered_text, std::string_view account, bool all);

// A forward of `original`: as a message/rfc822 attachment, or inline (a "Forwarded message"
// block, then the text, with the original's attachments attached again). From, recipients,
// date and Message-ID fields are left for the caller.
Draft forward_draft(std::string_view original, std::string_view rendered_text, bool as_attachment);

// Quotes text for a reply: "> " before each line, ">" alone for an empty line, ">" before a line
// already quoted (so "> x" becomes ">> x"). LF line ends in and out.
std::string quote_text(std::string_view text);

}  // namespace tern::mua
