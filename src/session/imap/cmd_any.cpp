// IMAP commands valid in any state: CAPABILITY, NOOP (and rev1's CHECK), LOGOUT, ID (RFC 2971),
// and ENABLE (RFC 5161, RFC 9051 §6.3.1). Must never advertise an extension that is not complete.
#include <algorithm>

#include "base/log.hpp"
#include "proto/imap/response.hpp"
#include "proto/sasl/sasl.hpp"
#include "session/imap/pending.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

std::string Session::capabilities() const {
    // Only what is implemented in full; issue 9 lists the rest as they come.
    std::string caps = "IMAP4rev1 IMAP4rev2";
    if (!authenticated()) {
        // RFC 7888 §5: before login the reader enforces LITERAL- (4096 octets non-synchronizing).
        caps += " LITERAL- SASL-IR ID ENABLE IDLE";
        if (config_.tls_available && !tls_active_) caps += " STARTTLS";
        if (!plaintext_allowed()) caps += " LOGINDISABLED";  // RFC 9051 §6.2.3
        for (auto& m : sasl::mechanism_names()) {
            bool plain = m == "PLAIN" || m == "LOGIN";
            if (plain && !plaintext_allowed()) continue;  // RFC 9051 §11.1
            caps += " AUTH=" + m;
        }
        return caps;
    }
    caps += " LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE";
    caps += " CONDSTORE QRESYNC ESEARCH SEARCHRES MULTIAPPEND BINARY CREATE-SPECIAL-USE STATUS=SIZE";
    caps += " LIST-EXTENDED LIST-STATUS";
    caps += " UTF8=ACCEPT";
    caps += " SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT";  // RFC 5256, 5957, 5267
    if (config_.compress_available) caps += " COMPRESS=DEFLATE";  // RFC 4978 §3
    return caps;
}

void Session::cmd_capability(const ParsedCommand& c, std::string& out) {
    say(out, untagged("CAPABILITY " + capabilities()));
    say(out, tagged(c.tag, "OK", "", "CAPABILITY completed"));
}

void Session::cmd_noop(const ParsedCommand& c, std::string& out) {
    // RFC 9051 §6.1.2: NOOP is the polite way to ask for pending updates.
    sync(out, true);
    if (state_ == State::Logout) return;
    say(out, tagged(c.tag, "OK", "", std::string(command_name(c.cmd)) + " completed"));
}

void Session::cmd_logout(const ParsedCommand& c, std::string& out) {
    // RFC 9051 §6.1.3: BYE first, then the tagged OK, then the server closes.
    say(out, untagged("BYE " + config_.hostname + " logging out"));
    say(out, tagged(c.tag, "OK", "", "LOGOUT completed"));
    pending_.reset();
    view_.reset();
    state_ = State::Logout;
}

void Session::cmd_id(const ParsedCommand& c, std::string& out) {
    // RFC 2971 §3.1: the server answers with its own fields; the client's are only logged.
    const auto& a = std::get<IdArgs>(c.args);
    if (!a.fields.empty()) {
        std::string fields;
        for (const auto& [k, v] : a.fields) {
            if (!fields.empty()) fields += ", ";
            fields += k + "=" + (v ? *v : "NIL");
        }
        log::info("imap[", id_, "] client ID: ", fields.substr(0, 300));
    }
    say(out, untagged("ID (\"name\" \"Tern\")"));
    say(out, tagged(c.tag, "OK", "", "ID completed"));
}

void Session::cmd_enable(const ParsedCommand& c, std::string& out) {
    // RFC 5161 §3.1: only before a mailbox is selected.
    if (state_ == State::Selected) return bad(out, c.tag, "ENABLE is only valid before SELECT");
    const auto& a = std::get<EnableArgs>(c.args);
    std::string enabled;
    for (const auto& cap : a.capabilities) {
        // RFC 5161 §3.1: only newly enabled extensions are listed in the ENABLED response.
        if (cap == "IMAP4REV2" && !rev2_) {
            rev2_ = true;
            if (view_) view_->recent.clear();  // RFC 9051 has no \Recent
            enabled += " IMAP4rev2";
        } else if (cap == "CONDSTORE" && !condstore_) {
            condstore_ = true;  // RFC 7162 §3.1
            enabled += " CONDSTORE";
        } else if (cap == "QRESYNC" && !qresync_) {
            // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
            qresync_ = true;
            condstore_ = true;
            enabled += " QRESYNC";
        } else if (cap == "UTF8=ACCEPT" && !utf8_accept_) {
            utf8_accept_ = true;  // RFC 6855 §3
            enabled += " UTF8=ACCEPT";
        }
    }
    say(out, untagged("ENABLED" + enabled));
    say(out, tagged(c.tag, "OK", "", "ENABLE completed"));
}

}  // namespace tern::imap
