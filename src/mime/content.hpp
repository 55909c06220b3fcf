// MIME structured header values: Content-Type (RFC 2045 §5), Content-Disposition (RFC 2183) and
// their parameters, with RFC 2231 continuations, charsets and languages ("name*0*=utf-8'en'%E2..."),
// plus Content-Transfer-Encoding (RFC 2045 §6). Pure and bounded by ParamLimits. Must never throw,
// never recurse on comment nesting, and never keep more parameters or octets than the limits.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct ParamLimits {
    std::size_t max_params = 64;         // parameter items (each RFC 2231 section counts); more: ignored
    std::size_t max_value_bytes = 4096;  // one parameter's value after joining its sections; longer: cut
};

struct Param {
    std::string name;      // attribute, lower-cased (RFC 2045 §5.1: case-insensitive), no "*" suffixes
    std::string value;     // sections joined and %XX-decoded (RFC 2231 §3, §4), still in `charset`
    std::string charset;   // RFC 2231 §4 charset of an extended value, as written; empty otherwise
    std::string language;  // RFC 2231 §4 language; empty if none
    bool extended = false; // written as name*= or name*N*= (RFC 2231), so `value` is in `charset`
    // For an extended value: "charset'language'" + the sections' text still %-encoded, joined:
    // what IMAP BODYSTRUCTURE shows as the value of "name*" (Dovecot's rfc2231_parse does the same).
    std::string encoded;
};

struct ParamList {
    std::vector<Param> items;  // in order of first appearance, one per name (sections merged)
    bool truncated = false;    // max_params or max_value_bytes was reached
    bool damaged = false;      // syntax errors were skipped (missing "=", unterminated quote, gaps)
    const Param* find(std::string_view name) const;  // case-insensitive
};

// The value as UTF-8 for display or a file name: an extended value converted from its charset; a
// plain one with RFC 2047 words decoded (not allowed by RFC 2047 §5, written by Outlook and Gmail
// for file names all the same) and raw 8-bit taken as UTF-8 or else Latin-1.
std::string param_utf8(const Param& p);

struct ContentType {
    std::string type = "text";       // lower-cased (RFC 2045 §5.1)
    std::string subtype = "plain";
    ParamList params;
    bool present = false;  // the field was there
    bool valid = true;     // it parsed; if not, the RFC 2045 §5.2 default text/plain; charset=us-ascii applies
    bool is(std::string_view t, std::string_view sub) const;  // case-insensitive; sub "*" matches any
};

struct ContentDisposition {
    std::string type;  // lower-cased: "inline", "attachment", or an extension token (RFC 2183 §2.8)
    ParamList params;
};

// `value` is the unfolded field value after the colon. An invalid Content-Type gives the default
// with valid == false but keeps any parameters that parsed (a charset may still be useful).
ContentType parse_content_type(std::string_view value, const ParamLimits& limits = {});
ContentDisposition parse_disposition(std::string_view value, const ParamLimits& limits = {});
// "; a=b; c*0=..." after the type: exposed for other fields that carry parameters.
ParamList parse_params(std::string_view text, const ParamLimits& limits = {});
// RFC 2045 §6.1 mechanism, lower-cased, CFWS removed; "7bit" when the value is empty.
std::string parse_transfer_encoding(std::string_view value);

}  // namespace tern::mime
