// Notice decisions (RFC 3461 §4.1) and the bridge to the DSN generator.
#include "delivery/notice.hpp"

#include <ctime>

namespace tern::delivery {

std::string_view notice_kind_name(NoticeKind kind) {
    switch (kind) {
        case NoticeKind::Failed: return "failure";
        case NoticeKind::Delayed: return "delay";
        case NoticeKind::Delivered: return "success";
        case NoticeKind::Relayed: return "relay";
    }
    return "?";
}

bool notice_wanted(const smtp::DsnNotify& notify, NoticeKind kind) {
    if (!notify.specified) return kind == NoticeKind::Failed || kind == NoticeKind::Delayed;
    if (notify.never) return false;
    switch (kind) {
        case NoticeKind::Failed: return notify.failure;
        case NoticeKind::Delayed: return notify.delay;
        case NoticeKind::Delivered:
        case NoticeKind::Relayed: return notify.success;
    }
    return false;
}

// Interim: a plain multipart/report until delivery/dsn.hpp lands (same session).
Result<std::string> build_notice(const NoticeInput& in) {
    std::string out = "From: MAILER-DAEMON@" + in.reporting_mta + "\r\nTo: <" + in.envelope->mail_from +
                      ">\r\nSubject: Delivery status notification (" + std::string(notice_kind_name(in.recipients[0].kind)) +
                      ")\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"=_tern\"\r\n\r\n"
                      "--=_tern\r\nContent-Type: text/plain\r\n\r\n";
    for (const auto& r : in.recipients) out += "<" + r.address + ">: " + r.reply + "\r\n";
    out += "\r\n--=_tern\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; " + in.reporting_mta + "\r\n";
    for (const auto& r : in.recipients) {
        const char* action = r.kind == NoticeKind::Failed ? "failed" : r.kind == NoticeKind::Delayed ? "delayed"
                             : r.kind == NoticeKind::Relayed ? "relayed" : "delivered";
        out += "\r\nFinal-Recipient: rfc822; " + r.address + "\r\nAction: " + action + "\r\nDiagnostic-Code: smtp; " +
               r.reply + "\r\n";
    }
    out += "\r\n--=_tern--\r\n";
    return out;
}

}  // namespace tern::delivery
