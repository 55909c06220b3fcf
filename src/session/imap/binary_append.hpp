// APPEND of a literal8 message (RFC 3516 §4.4): body parts sent with Content-Transfer-Encoding
// binary are stored base64-encoded, as Dovecot's binary converter does, so that BODY[] and
// BODY[n] never carry NUL octets (RFC 9051 §4.3: a literal holds no NUL) while BINARY[n] still
// gives back the octets the client sent. Pure. Must never change a part that is not binary.
#pragma once
#include <string>
#include <string_view>

namespace tern::imap {

// `message` with every leaf part whose transfer encoding is "binary" re-encoded as base64 (its
// Content-Transfer-Encoding field replaced, its body as 76-column lines); unchanged otherwise.
// Multipart and message/* parts are left alone (RFC 2045 §6.4: only leaves may be encoded).
std::string encode_binary_parts(std::string_view message);

}  // namespace tern::imap
