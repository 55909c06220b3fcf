// Message submission rules (RFC 6409): the From: addresses must belong to the authenticated
// account (§6.1), and Date: and Message-ID: are added when missing (§8.2, §8.3). Must never
// rewrite anything else in the message, and never let a submitter send as someone else: a From:
// or Sender: that cannot be parsed is refused, never waved through.
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "mime/address.hpp"
#include "mime/header.hpp"
#include "proto/message/date.hpp"
#include "proto/smtp/reply.hpp"
#include "session/smtp/session.hpp"

namespace tern::smtp {

bool Session::check_submission(std::string& message, std::string& out) {
    // Codes: a From:/Sender: that is malformed, missing its mailbox or repeated is a defect of the
    // message's content, so 554 (transaction failed, RFC 5321 §4.2.3) with 5.6.0 "other or
    // undefined media error" (RFC 3463 §3.7: no narrower X.6.x names header syntax); 5.7.1
    // ("delivery not authorized, message refused", RFC 3463 §3.8) stays for a well-formed
    // address the user does not own. RFC 6409 §8.1 lets the MSA refuse instead of repairing.
    auto refuse_syntax = [&](std::string text) {
        say(out, reply(554, "5.6.0", text));
        return false;
    };
    auto headers = mime::parse_header_section(message);
    if (!headers) return refuse_syntax("Message header refused: " + headers.error().message);

    // RFC 5322 §3.6: From: and Sender: may each appear at most once.
    auto froms = headers->all("From");
    if (froms.size() > 1) return refuse_syntax("Message has " + std::to_string(froms.size()) + " From: fields; RFC 5322 allows one");
    if (headers->count("Sender") > 1) return refuse_syntax("Message has more than one Sender: field; RFC 5322 allows one");

    std::vector<std::pair<const char*, mime::Mailbox>> senders;
    if (!froms.empty()) {
        // RFC 5322 §3.6.2 from = "From:" mailbox-list (RFC 6854 allows a group): at least one
        // mailbox, and every one of them must parse.
        auto list = mime::parse_mailbox_list(froms.front()->value());
        if (!list) return refuse_syntax("From: header is malformed (" + list.error().message + ")");
        if (list->empty()) return refuse_syntax("From: header names no mailbox");
        for (auto& m : *list) senders.emplace_back("From", std::move(m));
    }
    if (const auto* sender = headers->find("Sender")) {
        // RFC 5322 §3.6.2 sender = "Sender:" mailbox
        auto m = mime::parse_single_mailbox(sender->value());
        if (!m) return refuse_syntax("Sender: header is malformed (" + m.error().message + ")");
        senders.emplace_back("Sender", std::move(*m));
    }
    for (const auto& [field, m] : senders) {
        std::string address = m.addr_spec();
        if (!host_.sender_allowed(auth_user_, address)) {
            say(out, reply(553, "5.7.1", std::string(field) + ": <" + address + "> is not owned by user " + auth_user_));
            return false;
        }
    }

    std::string added;
    if (!headers->find("Date")) added += "Date: " + message::rfc5322_date(host_.now()) + "\r\n";
    if (!headers->find("Message-ID")) {
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
