// The classic "one text file per account" format: messages separated by "From " lines, with
// mboxrd quoting (">From " lines gain one '>' on export and lose one on import). Pure: reads from
// an istream, writes to an ostream. Must never split a message on a line that is not a
// "From " separator, and never lose a byte of a message in a round trip.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::mbox {

struct Entry {
    std::string sender;        // the address on the "From " line ("MAILER-DAEMON" for the null sender)
    std::int64_t date = 0;     // unix seconds, from the asctime() date on the "From " line (UTC);
                               // 0 when the line has no readable date (the store reads 0 as "now")
    std::string message;       // the message with CRLF line ends, mboxrd quoting removed
};

// Streams entries out of an mbox file. The separator is a line starting "From " at the start of
// the file or after an empty line; the empty line before a separator belongs to the format, not
// to the message. Lines end in LF; CRs right before an LF are part of the line end (CRLF files read
// like LF files). A last line without LF is read as if it had one. Lines matching ^>+From  lose
// one '>' (mboxrd). Leading empty lines are skipped; anything else before the first "From " line
// is an error. An entry's message is empty or ends in CRLF and never holds a bare LF.
class Reader {
public:
    explicit Reader(std::istream& in) : in_(in) {}
    // The next entry, nullopt at end of input, or an error (e.g. the file does not start with "From ").
    Result<std::optional<Entry>> next();

private:
    std::istream& in_;
    std::optional<std::string> pending_from_;  // separator line read ahead
    bool started_ = false;
};

// Writes one entry: "From sender asctime-date\n", the message with LF line ends and mboxrd
// quoting, then an empty line. import(export(x)) == x and export(import(f)) == f for a file
// written in this canonical form. A message whose last line has no line end gets one (an mbox
// cannot say "no newline at end"), so it reads back with a final CRLF; RFC 5322 messages end in
// CRLF anyway. Blanks/CR/LF in the sender become '_' and an empty sender is "MAILER-DAEMON", so
// the separator stays "From <one token> <date>".
void write_entry(std::ostream& out, const Entry& entry);

// asctime-style date used on "From " lines: "Sat Nov 21 11:21:27 2026" (UTC).
std::string from_line_date(std::int64_t unix_seconds);
std::optional<std::int64_t> parse_from_line_date(std::string_view text);

}  // namespace tern::mbox
