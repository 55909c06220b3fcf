// Turning a name taken from a message (a MIME filename/name parameter, a uuencode "begin" line)
// into a plain file name that is safe to create inside a directory the user chose. Pure. Must
// never return a name that becomes a path outside the target directory: no "/", no "\", no "..",
// no ".", no control characters, never empty.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tern::mime {

struct MimePart;

// Keeps the last path component (after any "/" or "\"), drops control characters (C0, DEL, C1 and
// NUL), turns a leading "." into "_" (no hidden files, no "." or ".."), trims white space, limits
// the result to 255 octets at a UTF-8 character boundary, and returns `fallback` when nothing is
// left. The input should already be UTF-8 (param_utf8, decode_words); invalid octets are dropped.
std::string safe_filename(std::string_view name, std::string_view fallback = "attachment");

// The name a part asks to be saved under, as UTF-8 (RFC 2183 §2.3 Content-Disposition filename,
// else the Content-Type name parameter; RFC 2231 or RFC 2047 decoded), not yet made safe; nullopt
// when it names none.
std::optional<std::string> part_filename(const MimePart& part);

}  // namespace tern::mime
