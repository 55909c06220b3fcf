// IMAP response writing helpers (RFC 9051 §4 data formats, §7 responses): the atom / quoted /
// literal choice, NIL, number and flag lists, tagged, untagged and continuation lines. Pure;
// must never emit a CR or LF inside a line except as a literal's announced octets.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/imap/sequence.hpp"

namespace tern::imap {

// Quoted strings longer than this are sent as literals (easier on clients, no escaping cost).
inline constexpr std::size_t kMaxQuoted = 1024;

// A string: quoted when every octet is TEXT-CHAR and 7-bit (or valid UTF-8 when `utf8`, RFC 9051
// §9 utf8-quoted, after ENABLE IMAP4rev2/UTF8=ACCEPT) and it is at most kMaxQuoted long; a
// literal "{n}\r\n..." otherwise (CR, LF, 8-bit for rev1, long). `s` must hold no NUL (RFC 9051
// §4.3): binary data goes through append_literal8.
void append_string(std::string& out, std::string_view s, bool utf8 = false);
// An astring: a bare atom when it is one (and not "NIL"), else as append_string.
void append_astring(std::string& out, std::string_view s, bool utf8 = false);
// NIL for no value (RFC 9051 §4.5), else append_string.
void append_nstring(std::string& out, std::optional<std::string_view> s, bool utf8 = false);
void append_literal(std::string& out, std::string_view s);
void append_literal8(std::string& out, std::string_view s);  // RFC 3516 "~{n}" for BINARY[]
// "1 2 3" (SEARCH, RFC 9051 §7.2.5 of rev1 SEARCH responses) — no surrounding parentheses.
void append_numbers(std::string& out, std::span<const std::uint32_t> numbers);
// "(\Seen $Junk)" — flags are atoms already checked by the grammar or the store.
// `recent`: \Recent first (RFC 3501 §2.3.2; a session flag, never stored).
void append_flag_list(std::string& out, std::span<const std::string> flags, bool recent = false);
// Sorted UIDs as ranges: "1:3,7" (RFC 9051 §9 sequence-set; UIDPLUS, ESEARCH ALL, VANISHED).
inline std::string uid_set(std::span<const std::uint32_t> uids) { return compress_numbers(uids); }

// Whole lines, CRLF included. `code` is a response code without brackets ("" for none);
// `text` has any CR/LF replaced by spaces so no line can be split by data.
std::string tagged(std::string_view tag, std::string_view status, std::string_view code, std::string_view text);
std::string untagged(std::string_view text);
std::string continuation(std::string_view text);

}  // namespace tern::imap
