// SMTP command-line parser (RFC 5321 §4.1.1 and the ESMTP extensions named in command.hpp).
// Pure: one line in, a Command or a ready-to-send ReplyError out. Must never accept a line with
// CR, LF or NUL, never let a decoded parameter carry control characters, and never throw.
#include "proto/smtp/command.hpp"

#include <array>
#include <initializer_list>
#include <limits>
#include <vector>

#include "proto/smtp/chars.hpp"

namespace tern::smtp {

namespace {

using namespace detail;

ReplyError err(int code, const char* enhanced, std::string text) {
    return ReplyError{code, enhanced, std::move(text)};
}
std::unexpected<ReplyError> bad(int code, const char* enhanced, std::string text) {
    return std::unexpected(err(code, enhanced, std::move(text)));
}

// SP only; RFC 5321 §4.1.1 separates verb and arguments by one SP. We tolerate extra spaces.
std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

struct VerbName {
    std::string_view name;
    Verb verb;
};
constexpr std::array<VerbName, 14> kVerbs{{
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"HELP", Verb::Help}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn},
    {"STARTTLS", Verb::StartTls}, {"AUTH", Verb::Auth},
}};

// RFC 5321 §4.1.1: a run of 1..20 digits; nullopt when empty, too long or not all digits.
// Values that overflow 64 bits saturate when `saturate`, else fail.
std::optional<std::uint64_t> parse_number(std::string_view s, bool saturate) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::uint64_t v = 0;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    for (char c : s) {
        if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (kMax - d) / 10) {
            if (!saturate) return std::nullopt;
            v = kMax;
        } else {
            v = v * 10 + d;
        }
    }
    return v;
}

// Decoded parameter values must be printable (RFC 3461 §4.4 ENVID, §4.2 ORCPT).
bool printable(std::string_view s, bool allow_utf8) { return is_text(s, allow_utf8); }

// Mail-parameters / Rcpt-parameters (RFC 5321 §4.1.2): esmtp-param *(SP esmtp-param),
// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), esmtp-value = 1*(%d33-60 / %d62-126)
// (RFC 6531 §3.3 adds UTF8-non-ascii to the value).
struct Param {
    std::string_view keyword;
    std::optional<std::string_view> value;
};

std::expected<std::vector<Param>, ReplyError> split_params(std::string_view rest) {
    std::vector<Param> out;
    if (!rest.empty() && rest.front() != ' ') return bad(501, "5.5.4", "Syntax error after address");
    rest = trim(rest);
    while (!rest.empty()) {
        std::size_t sp = rest.find(' ');
        std::string_view tok = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp));
        std::size_t eq = tok.find('=');
        Param p{tok.substr(0, eq), std::nullopt};
        if (p.keyword.empty() || !is_alnum(static_cast<unsigned char>(p.keyword.front())))
            return bad(501, "5.5.4", "Syntax error in parameters");
        for (char c : p.keyword)
            if (!is_alnum(static_cast<unsigned char>(c)) && c != '-')
                return bad(501, "5.5.4", "Syntax error in parameters");
        if (eq != std::string_view::npos) {
            std::string_view v = tok.substr(eq + 1);
            if (v.empty() || v.find('=') != std::string_view::npos || !is_text(v, true))
                return bad(501, "5.5.4", "Syntax error in parameter value");
            p.value = v;
        }
        out.push_back(p);
    }
    return out;
}

// Known keywords for a verb; index into a "seen" bitmask. -1 for unknown.
int keyword_index(std::string_view kw, std::initializer_list<std::string_view> known) {
    int i = 0;
    for (auto k : known) {
        if (iequals(kw, k)) return i;
        ++i;
    }
    return -1;
}

// RFC 3461 §4.4 ENVID / RFC 4954 §5 AUTH= values: xtext that decodes to printable ASCII.
std::optional<std::string> decode_printable_xtext(std::string_view v) {
    auto d = xtext_decode(v);
    if (!d || d->empty() || !printable(*d, false)) return std::nullopt;
    return d;
}

std::expected<MailParams, ReplyError> parse_mail_params(std::string_view rest) {
    auto params = split_params(rest);
    if (!params) return std::unexpected(params.error());
    MailParams mp;
    unsigned seen = 0;
    for (const auto& p : *params) {
        int idx = keyword_index(p.keyword, {"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"});
        if (idx < 0) return bad(555, "5.5.4", "Unsupported parameter " + std::string(p.keyword));
        if (seen & (1u << idx)) return bad(501, "5.5.4", "Duplicate parameter " + std::string(p.keyword));
        seen |= 1u << idx;
        std::string_view v = p.value.value_or(std::string_view{});
        bool has = p.value.has_value();
        auto bad_value = [&] { return bad(501, "5.5.4", "Bad value for " + std::string(p.keyword)); };
        switch (idx) {
            case 0: {  // RFC 1870 §3: SIZE=1*20DIGIT; huge values saturate and fail the limit check.
                auto n = has ? parse_number(v, true) : std::nullopt;
                if (!n) return bad_value();
                mp.size = *n;
                break;
            }
            case 1:  // RFC 6152 §2 BODY=7BIT/8BITMIME, RFC 3030 §3 BODY=BINARYMIME
                if (has && iequals(v, "7BIT")) mp.body = BodyType::SevenBit;
                else if (has && iequals(v, "8BITMIME")) mp.body = BodyType::EightBitMime;
                else if (has && iequals(v, "BINARYMIME")) mp.body = BodyType::BinaryMime;
                else return bad_value();
                break;
            case 2:  // RFC 6531 §3.4: SMTPUTF8 takes no value
                if (has) return bad_value();
                mp.smtputf8 = true;
                break;
            case 3:  // RFC 3461 §4.3 RET=FULL/HDRS
                if (has && iequals(v, "FULL")) mp.ret = DsnRet::Full;
                else if (has && iequals(v, "HDRS")) mp.ret = DsnRet::Hdrs;
                else return bad_value();
                break;
            case 4: {  // RFC 3461 §4.4 ENVID=xtext, at most 100 characters
                if (!has || v.size() > 100) return bad_value();
                auto d = decode_printable_xtext(v);
                if (!d) return bad_value();
                mp.envid = std::move(*d);
                break;
            }
            case 5: {  // RFC 4954 §5 AUTH=xtext / "<>"
                if (!has) return bad_value();
                if (v == "<>") {
                    mp.auth = "<>";
                } else {
                    auto d = decode_printable_xtext(v);
                    if (!d) return bad_value();
                    mp.auth = std::move(*d);
                }
                break;
            }
            default:
                break;
        }
    }
    return mp;
}

// RFC 3461 §4.1: NOTIFY="NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY")
std::optional<DsnNotify> parse_notify(std::string_view v) {
    DsnNotify n;
    n.specified = true;
    if (iequals(v, "NEVER")) {
        n.never = true;
        return n;
    }
    for (;;) {
        std::size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        bool* flag = iequals(item, "SUCCESS")   ? &n.success
                     : iequals(item, "FAILURE") ? &n.failure
                     : iequals(item, "DELAY")   ? &n.delay
                                                : nullptr;
        if (!flag || *flag) return std::nullopt;  // unknown, empty, NEVER in a list, or repeated
        *flag = true;
        if (comma == std::string_view::npos) return n;
        v.remove_prefix(comma + 1);
    }
}

// RFC 3461 §4.2: ORCPT=addr-type ";" xtext, at most 500 characters. We accept the "rfc822" type and
// RFC 6533 "utf-8" type; the result is "<lower-case addr-type>;<decoded address>".
std::optional<std::string> parse_orcpt(std::string_view v) {
    if (v.size() > 500) return std::nullopt;
    std::size_t semi = v.find(';');
    if (semi == std::string_view::npos) return std::nullopt;
    std::string_view type = v.substr(0, semi);
    bool utf8_type = iequals(type, "utf-8");
    if (!utf8_type && !iequals(type, "rfc822")) return std::nullopt;
    std::string_view addr = v.substr(semi + 1);
    std::optional<std::string> decoded;
    if (utf8_type) {
        // RFC 6533 §3: the value may carry raw UTF-8 between xtext characters; decode "+XX" runs only.
        std::string out;
        for (std::size_t i = 0; i < addr.size();) {
            auto c = static_cast<unsigned char>(addr[i]);
            if (c >= 0x80) {
                std::size_t n = utf8_seq_len(addr, i);
                if (n == 0) return std::nullopt;
                out.append(addr.substr(i, n));
                i += n;
                continue;
            }
            std::size_t j = i;
            while (j < addr.size() && static_cast<unsigned char>(addr[j]) < 0x80) ++j;
            auto part = xtext_decode(addr.substr(i, j - i));
            if (!part) return std::nullopt;
            out += *part;
            i = j;
        }
        decoded = std::move(out);
        if (decoded->empty() || !printable(*decoded, true)) return std::nullopt;
    } else {
        decoded = decode_printable_xtext(addr);
        if (!decoded) return std::nullopt;
    }
    return std::string(utf8_type ? "utf-8;" : "rfc822;") + *decoded;
}

std::expected<RcptParams, ReplyError> parse_rcpt_params(std::string_view rest) {
    auto params = split_params(rest);
    if (!params) return std::unexpected(params.error());
    RcptParams rp;
    unsigned seen = 0;
    for (const auto& p : *params) {
        int idx = keyword_index(p.keyword, {"NOTIFY", "ORCPT"});
        if (idx < 0) return bad(555, "5.5.4", "Unsupported parameter " + std::string(p.keyword));
        if (seen & (1u << idx)) return bad(501, "5.5.4", "Duplicate parameter " + std::string(p.keyword));
        seen |= 1u << idx;
        auto bad_value = [&] { return bad(501, "5.5.4", "Bad value for " + std::string(p.keyword)); };
        if (!p.value) return bad_value();
        if (idx == 0) {
            auto n = parse_notify(*p.value);
            if (!n) return bad_value();
            rp.notify = *n;
        } else {
            auto o = parse_orcpt(*p.value);
            if (!o) return bad_value();
            rp.orcpt = std::move(*o);
        }
    }
    return rp;
}

// "FROM:" / "TO:" prefix, case-insensitive, then at most one SP before the path (tolerated).
std::optional<std::string_view> after_prefix(std::string_view arg, std::string_view prefix) {
    if (!istarts_with(arg, prefix)) return std::nullopt;
    arg.remove_prefix(prefix.size());
    if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    return arg;
}

bool has_non_ascii(const Path& p) {
    if (!p.mailbox) return false;
    for (char c : p.mailbox->local + p.mailbox->domain)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

std::expected<Command, ReplyError> parse_mail(Command cmd, bool utf8) {
    // RFC 5321 §4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]
    auto a = after_prefix(cmd.arg, "FROM:");
    if (!a) return bad(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    if (a->empty() || a->front() != '<') return bad(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    std::string_view rest;
    auto path = parse_path(*a, utf8, &rest);
    if (!path) return bad(501, "5.1.7", "Bad sender address syntax");
    auto params = parse_mail_params(rest);
    if (!params) return std::unexpected(params.error());
    // RFC 6531 §3.4: a UTF-8 reverse-path needs the SMTPUTF8 parameter.
    if (has_non_ascii(*path) && !params->smtputf8)
        return bad(553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8");
    cmd.path = std::move(*path);
    cmd.mail = std::move(*params);
    return cmd;
}

std::expected<Command, ReplyError> parse_rcpt(Command cmd, bool utf8) {
    // RFC 5321 §4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
    auto a = after_prefix(cmd.arg, "TO:");
    if (!a) return bad(501, "5.5.4", "Syntax: RCPT TO:<address>");
    if (a->empty() || a->front() != '<') return bad(501, "5.5.4", "Syntax: RCPT TO:<address>");
    std::string_view rest;
    if (istarts_with(*a, "<postmaster>")) {  // RFC 5321 §4.5.1: must be accepted without a domain
        cmd.path.mailbox = Mailbox{"postmaster", ""};
        rest = a->substr(12);
    } else {
        auto path = parse_path(*a, utf8, &rest);
        if (!path) return bad(501, "5.1.3", "Bad recipient address syntax");
        if (!path->mailbox) return bad(501, "5.1.3", "Null recipient address not allowed");
        cmd.path = std::move(*path);
    }
    auto params = parse_rcpt_params(rest);
    if (!params) return std::unexpected(params.error());
    cmd.rcpt = std::move(*params);
    return cmd;
}

// HELO domain / EHLO ( Domain / address-literal ) (RFC 5321 §4.1.1.1). ASCII only.
enum class HeloName { Valid, Lenient, Invalid };
HeloName classify_helo_arg(std::string_view a) {
    if (a.empty() || a.find(' ') != std::string_view::npos) return HeloName::Invalid;
    // Reuse the mailbox parser's domain rules by parsing a synthetic mailbox.
    std::string probe = "x@";
    probe += a;
    if (parse_mailbox(probe, false).has_value()) return HeloName::Valid;
    // An address literal must be a valid one: "[" announces a literal, and a malformed one is
    // no host name either.
    if (a.front() == '[') return HeloName::Invalid;
    // RFC 5321 §4.1.4: a server "MUST NOT" refuse mail because the HELO name fails to check out
    // and §2.3.5 notes that names in the wild differ; Windows machines and appliances send
    // "my_host", resolvers' absolute names end in "." ("host.example."), some names begin with
    // "-". Accept host-name-like tokens (letters, digits, "-", "_", ".", at least one letter or
    // digit); still refuse controls, spaces, "@", brackets, quotes and anything else that is no
    // name at all (501).
    bool alnum = false;
    for (char ch : a) {
        auto c = static_cast<unsigned char>(ch);
        if (is_alnum(c)) alnum = true;
        else if (c != '-' && c != '_' && c != '.') return HeloName::Invalid;
    }
    return alnum && a.size() <= 255 ? HeloName::Lenient : HeloName::Invalid;
}

// RFC 4954 §4: sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_"); matched case-insensitively.
bool valid_sasl_mech(std::string_view m) {
    if (m.empty() || m.size() > 20) return false;
    for (char c : m)
        if (!is_alnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    return true;
}

}  // namespace

std::expected<Command, ReplyError> parse_command(std::string_view line, bool smtputf8_allowed) {
    // RFC 5321 §2.3.8: CR and LF only as the line terminator; NUL never (§4.1.1 is text).
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return bad(500, "5.5.2", "Syntax error: invalid character in command");

    std::size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp + 1));

    Command cmd;
    bool found = false;
    for (const auto& v : kVerbs) {
        if (iequals(word, v.name)) {  // RFC 5321 §2.4: verbs are case-insensitive
            cmd.verb = v.verb;
            found = true;
            break;
        }
    }
    if (!found) return bad(500, "5.5.2", "Command unrecognized");
    cmd.arg = std::string(arg);

    switch (cmd.verb) {
        case Verb::Helo:
        case Verb::Ehlo:
            switch (classify_helo_arg(arg)) {
                case HeloName::Valid: return cmd;
                case HeloName::Lenient: cmd.helo_lenient = true; return cmd;
                case HeloName::Invalid: break;
            }
            return bad(501, "5.5.4", cmd.verb == Verb::Helo ? "Syntax: HELO hostname" : "Syntax: EHLO hostname");
        case Verb::Mail:
            return parse_mail(std::move(cmd), smtputf8_allowed);
        case Verb::Rcpt:
            return parse_rcpt(std::move(cmd), smtputf8_allowed);
        case Verb::Data:      // RFC 5321 §4.1.1.4: "DATA" CRLF
        case Verb::Rset:      // §4.1.1.5: "RSET" CRLF
        case Verb::Quit:      // §4.1.1.10: "QUIT" CRLF
        case Verb::StartTls:  // RFC 3207 §4: "STARTTLS" CRLF
            if (!arg.empty()) return bad(501, "5.5.4", "Syntax error: no arguments allowed");
            return cmd;
        case Verb::Noop:  // §4.1.1.9: "NOOP" [ SP String ]
        case Verb::Help:  // §4.1.1.8: "HELP" [ SP String ]
            return cmd;
        case Verb::Vrfy:  // §4.1.1.6: "VRFY" SP String
        case Verb::Expn:  // §4.1.1.7: "EXPN" SP String
            if (arg.empty()) return bad(501, "5.5.4", "Syntax error: argument required");
            return cmd;
        case Verb::Bdat: {  // RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ]
            std::size_t s2 = arg.find(' ');
            auto n = parse_number(arg.substr(0, s2), false);
            if (!n) return bad(501, "5.5.4", "Syntax: BDAT size [LAST]");
            cmd.chunk_size = *n;
            if (s2 != std::string_view::npos) {
                if (!iequals(trim(arg.substr(s2)), "LAST")) return bad(501, "5.5.4", "Syntax: BDAT size [LAST]");
                cmd.last_chunk = true;
            }
            return cmd;
        }
        case Verb::Auth: {  // RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
            std::size_t s2 = arg.find(' ');
            if (!valid_sasl_mech(arg.substr(0, s2))) return bad(501, "5.5.4", "Syntax: AUTH mechanism");
            if (s2 != std::string_view::npos && trim(arg.substr(s2)).find(' ') != std::string_view::npos)
                return bad(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
            return cmd;
        }
    }
    return bad(500, "5.5.2", "Command unrecognized");
}

// RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = %d33-126 except "+" and "=",
// hexchar = "+" 2HEXDIG (upper-case per the RFC; lower-case is tolerated on input).
std::optional<std::string> xtext_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        if (c == '+') {
            if (i + 2 >= in.size()) return std::nullopt;
            auto h = static_cast<unsigned char>(in[i + 1]);
            auto l = static_cast<unsigned char>(in[i + 2]);
            if (!is_hex(h) || !is_hex(l)) return std::nullopt;
            auto val = [](unsigned char x) -> int {
                return is_digit(x) ? x - '0' : (to_lower(static_cast<char>(x)) - 'a' + 10);
            };
            out.push_back(static_cast<char>(val(h) * 16 + val(l)));
            i += 2;
        } else if (c >= 33 && c <= 126 && c != '=') {
            out.push_back(static_cast<char>(c));
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::string xtext_encode(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 33 && c <= 126 && c != '+' && c != '=') {
            out.push_back(ch);
        } else {
            out.push_back('+');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace tern::smtp
