// The SMTP session's view of the server: recipient policy decided from the directory.
// Must never accept mail for a non-local domain from an unauthenticated client (no open relay,
// RFC 5321 §3.6.2, §7.1).
#pragma once
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>

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

    // RFC 1870 §6.1: refuse at MAIL (452 4.3.1) while the queue's file system lacks room for the
    // announced size and half again (the spool copy, then the store's), or has less than
    // kMinFreeBytes left; checked with statvfs at most every 250 ms, so a full disk is refused
    // cheaply and space that returns is seen at once, with no state to get stuck in.
    bool queue_has_room(std::uint64_t size) override {
        auto now = std::chrono::steady_clock::now();
        std::uint64_t free = free_bytes_.load(std::memory_order_relaxed);
        if (now - std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
                      checked_at_.load(std::memory_order_relaxed))) > std::chrono::milliseconds(250)) {
            struct statvfs st {};
            free = ::statvfs(spool_dir_.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize
                                                           : UINT64_MAX;  // cannot tell: let the commit decide
            free_bytes_.store(free, std::memory_order_relaxed);
            checked_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
        }
        return free >= kMinFreeBytes && free - kMinFreeBytes >= size + size / 2;
    }
    void set_spool_dir(std::filesystem::path dir) { spool_dir_ = std::move(dir); }

    std::int64_t now() override {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    static constexpr std::uint64_t kMinFreeBytes = 1u << 20;

private:
    directory::Directory& dir_;
    std::filesystem::path spool_dir_ = "spool";
    std::atomic<std::uint64_t> free_bytes_{UINT64_MAX};
    std::atomic<std::chrono::steady_clock::rep> checked_at_{0};
};

}  // namespace tern::server
