// SMTP command line parser (RFC 5321 §4.1, RFC 1870 SIZE, 6152 8BITMIME, 6531 SMTPUTF8,
// 3030 CHUNKING, 3461 DSN, 4954 AUTH). Pure: takes one command line, returns a Command or an error
// reply. Must never read a socket, and never accept a line containing CR, LF or NUL.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.hpp"
#include "proto/smtp/address.hpp"

namespace tern::smtp {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Help, Vrfy, Expn, StartTls, Auth };

// RFC 3461 §4.3 RET, §4.1 NOTIFY.
enum class DsnRet { Unspecified, Full, Hdrs };
struct DsnNotify {
    bool specified = false;  // NOTIFY= was given
    bool never = false, success = false, failure = false, delay = false;
    bool operator==(const DsnNotify&) const = default;
};
// RFC 6152 / RFC 3030 BODY=.
enum class BodyType { Unspecified, SevenBit, EightBitMime, BinaryMime };

struct MailParams {
    std::optional<std::uint64_t> size;  // SIZE= (RFC 1870)
    BodyType body = BodyType::Unspecified;
    bool smtputf8 = false;              // SMTPUTF8 (RFC 6531 §3.4)
    DsnRet ret = DsnRet::Unspecified;   // RET= (RFC 3461 §4.3)
    std::string envid;                  // ENVID=, xtext-decoded (RFC 3461 §4.4)
    std::string auth;                   // AUTH=, xtext-decoded (RFC 4954 §5)
};
struct RcptParams {
    DsnNotify notify;                   // NOTIFY= (RFC 3461 §4.1)
    std::string orcpt;                  // ORCPT=, "addr-type;" + xtext-decoded address (RFC 3461 §4.2)
};

struct Command {
    Verb verb{};
    std::string arg;           // raw text after the verb, surrounding SPs trimmed (HELO/EHLO domain, VRFY/HELP
                               // arg, AUTH args; for MAIL/RCPT the whole "FROM:<...> params" text)
    Path path;                 // MAIL FROM / RCPT TO path; bare RCPT TO:<postmaster> gives
                               // Mailbox{"postmaster", ""} (RFC 5321 §4.5.1)
    MailParams mail;           // MAIL parameters
    RcptParams rcpt;           // RCPT parameters
    std::uint64_t chunk_size = 0;  // BDAT size
    bool last_chunk = false;       // BDAT ... LAST
    bool helo_lenient = false;     // HELO/EHLO name accepted although not an RFC 5321 Domain
                                   // ("my_host", "host.example."): worth a log line, not a refusal
};

// A protocol error ready to be sent: e.g. {501, "5.5.4", "Syntax: MAIL FROM:<address>"}.
struct ReplyError {
    int code;
    std::string enhanced;  // RFC 3463 status, e.g. "5.5.2"
    std::string text;
};

// Parses one command line (without its CRLF). `smtputf8_allowed`: accept UTF-8 in paths (pass false
// unless SMTPUTF8 is advertised; for RCPT pass whether the transaction's MAIL carried SMTPUTF8).
// A UTF-8 MAIL FROM path without the SMTPUTF8 parameter is refused with 553 5.6.7 (RFC 6531 §3.4).
// HELO/EHLO names that are host-name-like but not RFC 5321 Domains are accepted with
// Command::helo_lenient set (RFC 5321 §4.1.4).
// Errors: 500 5.5.2 unknown verb or CR/LF/NUL in the line; 501 5.5.4 syntax; 501 5.1.7 bad sender;
// 501 5.1.3 bad or null recipient; 555 5.5.4 unknown MAIL/RCPT parameter.
std::expected<Command, ReplyError> parse_command(std::string_view line, bool smtputf8_allowed = true);

// RFC 3461 §4 xtext decoding ("+XX" hex escapes). nullopt on malformed input.
std::optional<std::string> xtext_decode(std::string_view in);
std::string xtext_encode(std::string_view in);

}  // namespace tern::smtp
