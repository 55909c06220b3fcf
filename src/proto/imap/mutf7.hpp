// Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3, RFC 9051 §5.1.3): UTF-8 <-> mUTF-7.
// Pure; the decoder is strict and must never accept a form the encoder would not produce
// (unterminated '&', bad base64, leftover bits, encoded printable ASCII, split runs, lone surrogates).
#pragma once
#include <expected>
#include <string>
#include <string_view>

namespace tern::imap {

// UTF-8 in (must be valid UTF-8) -> the one modified UTF-7 form.
std::expected<std::string, std::string> mutf7_encode(std::string_view utf8);

// Modified UTF-7 in -> UTF-8, or why the input is malformed.
std::expected<std::string, std::string> mutf7_decode(std::string_view mutf7);

}  // namespace tern::imap
