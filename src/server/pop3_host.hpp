// The POP3 session's view of the server: INBOX of the mail store as the maildrop, an in-process
// lock table (RFC 1939 §4 exclusive access), APOP secrets from the directory. Must never hand a
// maildrop to two sessions at once, and never expunge anything but the given UIDs.
#pragma once
#include <cerrno>
#include <mutex>
#include <set>
#include <string>

#include "directory/directory.hpp"
#include "session/pop3/session.hpp"
#include "store/store.hpp"

namespace tern::server {

class StoreMaildrop final : public pop3::Pop3Host {
public:
    StoreMaildrop(directory::Directory& dir, store::MailStore& store) : dir_(dir), store_(store) {}

    pop3::LockResult lock(std::string_view account) override {
        std::lock_guard g(mutex_);
        return locked_.emplace(account).second ? pop3::LockResult::Locked : pop3::LockResult::InUse;
    }
    void unlock(std::string_view account) override {
        std::lock_guard g(mutex_);
        locked_.erase(std::string(account));
    }

    // Reads only (the store's reader connections, WAL snapshot): called on the I/O thread at
    // login, it must not wait for the writer lock a delivery batch holds through its fsync.
    Result<std::vector<pop3::MessageRef>> snapshot(std::string_view account) override {
        auto box = store_.mailbox(account, "INBOX");
        // No account (nothing ever delivered to it) or no INBOX: an empty maildrop. Creating the
        // account here would take the writer lock; delivery creates it with the first message.
        if (!box && box.error().code == ENOENT) return std::vector<pop3::MessageRef>{};
        if (!box) return std::unexpected(box.error());
        auto list = store_.list_messages(account, "INBOX");
        if (!list) return std::unexpected(list.error());
        std::vector<pop3::MessageRef> refs;
        refs.reserve(list->size());
        // RFC 1939 §7: the unique-id must not change between sessions; UIDVALIDITY.UID never does.
        std::string prefix = std::to_string(box->uidvalidity) + ".";
        for (const auto& m : *list) refs.push_back({m.uid, m.size, prefix + std::to_string(m.uid)});
        return refs;
    }

    // Opens only: RETR/TOP read the message in chunks on the I/O thread (store reader connections).
    Result<base::ByteSourceRef> open(std::string_view account, std::uint32_t uid) override {
        return store_.open_message(account, "INBOX", uid);
    }

    // On the network layer's store thread (it waits for the writer lock); the store is thread-safe.
    Result<void> expunge(std::string_view account, std::vector<std::uint32_t> uids) override {
        return store_.expunge(account, "INBOX", uids);
    }

    std::optional<std::string> apop_secret(std::string_view user) override {
        auto s = dir_.apop_secret(user);
        if (!s) return std::nullopt;
        return *s;
    }

    std::string canonical_account(std::string_view user) override { return directory::canonical_address(user); }

private:
    directory::Directory& dir_;
    store::MailStore& store_;
    std::mutex mutex_;
    std::set<std::string, std::less<>> locked_;
};

}  // namespace tern::server
