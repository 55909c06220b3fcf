// Building MIME messages (RFC 5322, RFC 2045-2047): header fields folded to legal line lengths,
// RFC 2047 encoded-words for non-ASCII header text, multipart bodies with a boundary that occurs
// in none of their parts, Date: and Message-ID: values. Used by the DSN generator and the client.
// Pure: the caller supplies the time and the random bits. Must never emit a bare CR or LF of its own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tern::mime {

// RFC 5322 §3.3 date-time at `utc_offset_minutes` east of UTC (-1439..1439):
// format_date(0, 60) == "Thu, 01 Jan 1970 01:00:00 +0100". English names whatever the locale.
std::string format_date(std::int64_t unix_seconds, int utc_offset_minutes = 0);

// RFC 5322 §3.6.4 msg-id "<id-left@host>": id-left is dot-atom-text made of the time and `unique`
// (random bits from the caller, which keeps this pure). `host` should be a domain name.
std::string make_message_id(std::int64_t unix_seconds, std::uint64_t unique, std::string_view host);

// RFC 2047 for an unstructured value (Subject:, Comments:, a display name's words): printable
// ASCII words stay as they are; each run of words with other octets becomes UTF-8 "B"
// encoded-words (RFC 2047 §4.1) of at most 75 characters, each holding whole UTF-8 characters
// (§5). Words that look like an encoded-word ("=?...?=") are encoded too, so a decoder never
// misreads them. The result has no line breaks; fold it with header_field().
std::string encode_words(std::string_view utf8);

// One header field "Name: value" CRLF, folded (RFC 5322 §2.2.3: CRLF before a WSP) so that lines
// stay within 78 octets where the value has whitespace to fold at, and never exceed 998 octets:
// a run with no whitespace too long for that is broken by a fold anyway (unfolding then shows a
// space there). CR, LF and NUL in the value become spaces (they cannot be in a header). The name
// is written as given (the caller's constant).
std::string header_field(std::string_view name, std::string_view value);

// RFC 2046 §5.1.1: a boundary (at most 70 characters, bchars only) that occurs in none of
// `contents` (so no "--boundary" line can appear in them). `seed` picks the first candidate;
// equal inputs give equal boundaries.
std::string choose_boundary(std::span<const std::string_view> contents, std::uint64_t seed);

struct Part {
    std::string headers;  // the part's header fields, each ending in CRLF; may be empty (text/plain)
    std::string body;     // CRLF line ends; written unchanged
};

// RFC 2046 §5.1.1 multipart body: for each part "--boundary" CRLF headers CRLF body, then
// CRLF "--boundary--" CRLF. The CRLF before each delimiter belongs to the delimiter, so a part's
// body comes back exactly as given. `preamble` (CRLF lines, may be empty) goes before the first.
std::string multipart_body(std::string_view boundary, std::span<const Part> parts, std::string_view preamble = {});

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values over U+10FFFF).
bool valid_utf8(std::string_view s);

// --- Building blocks for the client's composer (mua/compose) ---

// RFC 2047 §5 (3) for a display name in an address (a phrase): a name that needs encoding
// (non-ASCII, or something that looks like an encoded-word) becomes UTF-8 "B" encoded-words as a
// whole, so no ASCII special ("," "." "(") is left bare between them; printable ASCII names come
// back as atoms or as one RFC 5322 quoted-string. Empty for an empty name.
std::string encode_phrase(std::string_view utf8);

// An RFC 5322 §3.4 mailbox for a header: "phrase <addr-spec>" (encode_phrase) or the bare
// addr-spec when there is no name. `addr_spec` is written as given (the parser's addr_spec()).
std::string format_mailbox(std::string_view display_name_utf8, std::string_view addr_spec);

// One MIME parameter "attr=value" for Content-Type / Content-Disposition (RFC 2045 §5.1): a token,
// else a quoted-string; a non-ASCII value as an RFC 2231 §4 extended value ("attr*=utf-8''%C3%9C");
// a value whose "attr=..." would not fit a 78-octet line split into RFC 2231 §3 sections
// ("attr*0*=...; attr*1*=..."), never inside a %XX triple, a quoted pair or a UTF-8 character.
// Join several with "; " and let header_field() fold at the blanks.
std::string mime_param(std::string_view attr, std::string_view utf8_value);

// RFC 2045 §6.8 base64 of `data`, appended to `out` in lines of 76 characters, each ending CRLF.
void append_base64_lines(std::string& out, std::string_view data);

// RFC 2045 §6.7 quoted-printable of text whose lines end in CRLF (a last line without one is
// ended with one): every output line at most 76 characters ("=" soft breaks), "=", controls and
// 8-bit octets as =XX (a UTF-8 character never split by a soft break), a space or tab that ends a
// line as =20 / =09 (rule 3), and at the start of an output line a "." as =2E and the "F" of
// "From " as =46, so neither SMTP's lone dot nor an mbox "From " line can appear.
void append_quoted_printable(std::string& out, std::string_view text);

// Streaming multipart_body(): the delimiter before a part ("--boundary" CRLF, with the CRLF that
// belongs to it in front unless `first`), and the close delimiter CRLF "--boundary--" CRLF. A
// caller writes each part's header fields, an empty line and its body in between.
void append_delimiter(std::string& out, std::string_view boundary, bool first);
void append_close_delimiter(std::string& out, std::string_view boundary);

}  // namespace tern::mime
