// IMAP mailbox names (RFC 9051 §5.1, RFC 3501 §5.1.3, RFC 6855 UTF8=ACCEPT): wire form <-> UTF-8,
// INBOX case folding, and the validity rules for names. Pure functions. A mailbox name is a key in
// the store, never a file-system path: no code may build a path from one.
#pragma once
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace tern::imap {

inline constexpr char kHierarchyDelimiter = '/';
inline constexpr std::size_t kMaxMailboxName = 1024;   // octets of UTF-8, whole name
inline constexpr std::size_t kMaxMailboxComponent = 255;
inline constexpr std::size_t kMaxMailboxDepth = 32;    // components

// RFC 9051 §5.1: "INBOX" is case-insensitive; "inbox/x" is INBOX's child "INBOX/x".
bool is_inbox(std::string_view name);
std::string fold_inbox(std::string_view name);

// Why a (UTF-8) name may not be created or used: empty, too long, not UTF-8, a control character
// (C0, DEL, C1), an empty component (leading, trailing or doubled "/"), a "." or ".."
// component, a LIST wildcard ('%', '*', RFC 9051 §5.1 SHOULD NOT), too many levels.
// Empty result = valid.
std::string mailbox_name_problem(std::string_view utf8_name);

// The wire form a client sent -> the UTF-8 name, INBOX folded, checked. `utf8` is true once the
// session runs IMAP4rev2 or enabled UTF8=ACCEPT (RFC 9051 §5.1, RFC 6855 §3): then names are
// UTF-8 as sent; else they are modified UTF-7 (RFC 3501 §5.1.3).
std::expected<std::string, std::string> decode_mailbox(std::string_view wire, bool utf8);

// A UTF-8 name -> the wire form for a response.
std::expected<std::string, std::string> encode_mailbox(std::string_view utf8_name, bool utf8);

}  // namespace tern::imap
