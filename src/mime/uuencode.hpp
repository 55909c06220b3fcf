// uuencoded blocks inside text bodies ("begin 644 name" ... "end", POSIX uuencode), which the
// client lists and saves as attachments. Pure and bounded. Must never let a block's name become a
// path outside the target dir (the name is passed through safe_filename: no "/", no "..", no
// control characters), and never decode more than max_bytes per block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct UuBlock {
    std::string name;          // safe_filename() of the name on the begin line
    std::string raw_name;      // as written (for display only; never a path)
    unsigned mode = 0644;      // octal mode from the begin line (informational; never applied as is)
    std::size_t begin = 0;     // offset of the "begin" line in the text
    std::size_t end = 0;       // one past the "end" line (or the end of the text if it is missing)
    std::string data;          // decoded octets
    bool damaged = false;      // a line's length character disagreed with its data, bad characters,
                               // or no "end" line
    bool truncated = false;    // more than max_bytes: cut
};

struct UuLimits {
    std::size_t max_blocks = 100;
    std::size_t max_bytes = 64u << 20;  // per block
};

// Finds and decodes every "begin <octal mode> <name>" ... "end" block whose begin line starts a
// line of `text` (decoded body text, CRLF or LF lines). A begin line must be followed by a
// uuencoded line, or it is taken for prose. A block without "end" runs to the end of the text.
std::vector<UuBlock> find_uuencoded(std::string_view text, const UuLimits& limits = {});

}  // namespace tern::mime
