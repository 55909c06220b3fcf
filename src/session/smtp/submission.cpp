// Message submission rules (RFC 6409): the From: addresses must belong to the authenticated
// account (§6.1), and Date: and Message-ID: are added when missing (§8.2, §8.3). Must never
// rewrite anything else in the message, and never let a submitter send as someone else.
#include <cctype>
#include <random>

#include "base/ascii.hpp"
#include "proto/message/date.hpp"
#include "proto/smtp/reply.hpp"
#include "session/smtp/session.hpp"

namespace tern::smtp {
namespace {

// Length of "Name:" (with RFC 5322 §4.5.3 obsolete white space before the colon) if `line` is a
// field called `name`, else 0.
std::size_t field_prefix(std::string_view line, std::string_view name) {
    if (line.size() <= name.size()) return 0;
    if (!ascii::istarts_with(line, name)) return 0;
    std::size_t i = name.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return i < line.size() && line[i] == ':' ? i + 1 : 0;
}

// The header section: everything up to the first empty line (RFC 5322 §2.1).
std::string_view header_section(std::string_view message) {
    if (message.starts_with("\r\n")) return {};
    auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

// Unfolded values of every field called `name` (RFC 5322 §2.2.3).
std::vector<std::string> header_values(std::string_view headers, std::string_view name) {
    std::vector<std::string> values;
    std::size_t pos = 0;
    while (pos < headers.size()) {
        auto eol = headers.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = headers.size();
        std::string_view line = headers.substr(pos, eol - pos);
        pos = eol + 2;
        if (std::size_t prefix = field_prefix(line, name)) {
            std::string v(line.substr(prefix));
            while (pos < headers.size() && (headers[pos] == ' ' || headers[pos] == '\t')) {
                auto e = headers.find("\r\n", pos);
                if (e == std::string_view::npos) e = headers.size();
                v += headers.substr(pos, e - pos);
                pos = e + 2;
            }
            values.push_back(std::move(v));
        }
    }
    return values;
}

// The addr-specs in an address list (RFC 5322 §3.4): every "<x@y>" inside angle brackets (all of
// them, should an entry hold several), or the bare addr-spec of an entry without brackets.
// Comments and quoted display names are skipped.
std::vector<std::string> addresses(std::string_view value) {
    std::vector<std::string> out;
    std::string bare, angle;
    std::vector<std::string> angles;
    bool in_quote = false, in_angle = false;
    int comment = 0;
    auto strip = [](const std::string& a) {
        std::string t;
        for (char ch : a)
            if (ch != ' ' && ch != '\t') t += ch;
        return t;
    };
    auto flush = [&] {
        if (angles.empty()) {
            if (auto t = strip(bare); !t.empty()) out.push_back(t);
        } else {
            for (auto& a : angles) out.push_back(strip(a));
        }
        bare.clear();
        angles.clear();
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        char ch = value[i];
        if (in_quote) {
            if (ch == '\\' && i + 1 < value.size()) ++i;
            else if (ch == '"') in_quote = false;
            continue;
        }
        if (comment > 0) {
            if (ch == '\\' && i + 1 < value.size()) ++i;
            else if (ch == '(') ++comment;
            else if (ch == ')') --comment;
            continue;
        }
        if (in_angle) {
            if (ch == '>') {
                in_angle = false;
                angles.push_back(angle);
            } else {
                angle += ch;
            }
            continue;
        }
        if (ch == '"') in_quote = true;
        else if (ch == '(') ++comment;
        else if (ch == '<') { in_angle = true; angle.clear(); }
        else if (ch == ',' || ch == ';') flush();
        else if (ch == ':') bare.clear();  // group display name (RFC 5322 §3.4)
        else bare += ch;
    }
    if (in_angle) angles.push_back(angle);  // unterminated: still checked
    flush();
    return out;
}

}  // namespace

bool Session::check_submission(std::string& message, std::string& out) {
    std::string_view headers = header_section(message);
    for (const auto& from : header_values(headers, "From"))
        for (const auto& address : addresses(from))
            if (!host_.sender_allowed(auth_user_, address)) {
                say(out, reply(553, "5.7.1", "From: <" + address + "> is not owned by user " + auth_user_));
                return false;
            }
    std::string added;
    if (header_values(headers, "Date").empty()) added += "Date: " + message::rfc5322_date(host_.now()) + "\r\n";
    if (header_values(headers, "Message-ID").empty()) {
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        char id[40];
        std::snprintf(id, sizeof id, "%016llx.%08llx", static_cast<unsigned long long>(rng()),
                      static_cast<unsigned long long>(host_.now()));
        added += "Message-ID: <" + std::string(id) + "@" + config_.hostname + ">\r\n";
    }
    if (!added.empty()) message.insert(0, added);
    return true;
}

}  // namespace tern::smtp
