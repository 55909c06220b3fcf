// The SMTP session's view of the server: recipient policy decided from the directory.
// Must never accept mail for a non-local domain from an unauthenticated client (no open relay,
// RFC 5321 §3.6.2, §7.1).
#pragma once
#include <chrono>

#include "directory/directory.hpp"
#include "session/smtp/session.hpp"

namespace tern::server {

class DirectoryHost final : public smtp::SessionHost {
public:
    explicit DirectoryHost(directory::Directory& dir) : dir_(dir) {}

    smtp::RcptVerdict check_recipient(const smtp::Mailbox& rcpt, std::string_view authenticated) override {
        // One lookup (one read transaction) answers both "is the domain ours?" and "who is it?".
        auto res = dir_.resolve(rcpt.str());
        if (!res) return smtp::RcptVerdict::TemporaryFailure;
        switch (res->kind) {
            case directory::Resolution::Kind::Ok: return smtp::RcptVerdict::Accept;
            case directory::Resolution::Kind::Unknown: return smtp::RcptVerdict::UnknownUser;
            case directory::Resolution::Kind::NotLocal:
                // Relaying is for authenticated submitters only; their mail waits for the relay agent.
                return authenticated.empty() ? smtp::RcptVerdict::RelayDenied : smtp::RcptVerdict::Accept;
        }
        return smtp::RcptVerdict::TemporaryFailure;
    }

    std::string postmaster_domain() override {
        auto domains = dir_.list_domains();
        if (!domains || domains->empty()) return {};
        return domains->front();
    }

    std::string canonical_account(std::string_view authcid) override { return directory::canonical_address(authcid); }

    bool sender_allowed(std::string_view account, std::string_view address) override {
        // Its own address, a +tag of it, or an alias (including a catch-all) that delivers to it.
        if (directory::canonical_address(address) == account) return true;
        auto res = dir_.resolve(address);
        if (!res || res->kind != directory::Resolution::Kind::Ok) return false;
        for (const auto& a : res->accounts)
            if (a == account) return true;
        return false;
    }

    std::int64_t now() override {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

private:
    directory::Directory& dir_;
};

}  // namespace tern::server
