// RFC 2047 encoded-word decoding for header text (Subject:, display names, the filename
// parameters Outlook writes): "=?charset?B|Q?text?=" to UTF-8, adjacent words joined (§6.2), raw
// 8-bit text taken as UTF-8 or else Latin-1. Lenient like Thunderbird and Dovecot, bounded, linear.
// Must never return invalid UTF-8, and never decode text that is not an encoded-word.
#pragma once
#include <string>
#include <string_view>

namespace tern::mime {

struct WordsReport {
    bool had_words = false;  // at least one encoded-word was decoded
    bool fallback = false;   // some word's charset was unknown (decoded as UTF-8, else Latin-1)
    bool replaced = false;   // invalid octets became U+FFFD
    bool damaged = false;    // a B word with broken base64
};

// Decodes the encoded-words in an (unfolded or folded) unstructured header value. White space
// between two adjacent encoded-words is dropped (RFC 2047 §6.2); adjacent words in the same charset
// are joined before charset conversion, so a character split across two words (a common encoder
// bug) comes out whole. Words inside other text ("abc=?utf-8?q?x?=") are decoded too, as MUAs do,
// though §5 does not require it. An encoded-text longer than 1000 octets is not taken as a word.
std::string decode_words(std::string_view value, WordsReport* report = nullptr);

}  // namespace tern::mime
