// Test helper: a MailStore that hands every call to another one, for tests that wrap the store
// to count or break single calls (derive and override those). Must never change what it forwards.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace tern::testing {

class ForwardingStore : public store::MailStore {
public:
    explicit ForwardingStore(std::unique_ptr<store::MailStore> inner) : inner_(std::move(inner)) {}
    using Handle = store::MailboxHandle;
    using Uids = std::span<const std::uint32_t>;

    Result<void> create_account(std::string_view a) override { return inner_->create_account(a); }
    Result<void> delete_account(std::string_view a) override { return inner_->delete_account(a); }
    Result<bool> has_account(std::string_view a) override { return inner_->has_account(a); }
    Result<std::vector<store::MailboxInfo>> list_mailboxes(std::string_view a) override { return inner_->list_mailboxes(a); }
    Result<store::MailboxInfo> mailbox(std::string_view a, std::string_view n) override { return inner_->mailbox(a, n); }
    Result<void> create_mailbox(std::string_view a, std::string_view n, store::SpecialUse u) override {
        return inner_->create_mailbox(a, n, u);
    }
    Result<std::vector<store::Appended>> append(std::span<const store::NewMessage> b) override { return inner_->append(b); }
    Result<std::vector<store::MessageInfo>> list_messages(std::string_view a, std::string_view m) override {
        return inner_->list_messages(a, m);
    }
    Result<std::string> read_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        return inner_->read_message(a, m, u);
    }
    Result<base::ByteSourceRef> open_message(std::string_view a, std::string_view m, std::uint32_t u) override {
        return inner_->open_message(a, m, u);
    }
    Result<void> set_flags(std::string_view a, std::string_view m, std::uint32_t u, std::vector<std::string> f) override {
        return inner_->set_flags(a, m, u, std::move(f));
    }
    Result<void> expunge(std::string_view a, std::string_view m, Uids u) override { return inner_->expunge(a, m, u); }
    Result<std::uint64_t> forget_delivered_before(std::int64_t t) override { return inner_->forget_delivered_before(t); }
    Result<std::uint64_t> count_bodies() override { return inner_->count_bodies(); }
    Result<Handle> open_mailbox(std::string_view a, std::string_view n) override { return inner_->open_mailbox(a, n); }
    Result<store::MailboxInfo> mailbox_info(const Handle& h) override { return inner_->mailbox_info(h); }
    Result<std::vector<store::MessageInfo>> list_messages(const Handle& h, std::uint32_t f, std::uint64_t c) override {
        return inner_->list_messages(h, f, c);
    }
    Result<std::vector<std::uint32_t>> expunged_since(const Handle& h, std::uint64_t m) override {
        return inner_->expunged_since(h, m);
    }
    Result<std::pair<std::uint32_t, std::uint32_t>> claim_recent(const Handle& h, std::uint32_t upto) override {
        return inner_->claim_recent(h, upto);
    }
    Result<base::ByteSourceRef> open_message(const Handle& h, std::uint32_t u) override {
        return inner_->open_message(h, u);
    }
    Result<store::StoreFlagsResult> store_flags(const Handle& h, Uids u, store::FlagMode m,
                                                std::span<const std::string> f,
                                                std::optional<std::uint64_t> c) override {
        return inner_->store_flags(h, u, m, f, c);
    }
    Result<store::ExpungeResult> expunge(const Handle& h, Uids u) override { return inner_->expunge(h, u); }
    Result<store::ExpungeResult> expunge_deleted(const Handle& h, Uids u) override { return inner_->expunge_deleted(h, u); }
    Result<store::CopyResult> copy_messages(const Handle& h, Uids u, std::string_view t) override {
        return inner_->copy_messages(h, u, t);
    }
    Result<std::pair<store::CopyResult, store::ExpungeResult>> move_messages(const Handle& h, Uids u,
                                                                             std::string_view t) override {
        return inner_->move_messages(h, u, t);
    }
    Result<void> rename_mailbox(std::string_view a, std::string_view f, std::string_view t) override {
        return inner_->rename_mailbox(a, f, t);
    }
    Result<void> delete_mailbox(std::string_view a, std::string_view n) override { return inner_->delete_mailbox(a, n); }
    Result<void> set_subscribed(std::string_view a, std::string_view n, bool s) override {
        return inner_->set_subscribed(a, n, s);
    }
    Result<std::vector<std::string>> subscriptions(std::string_view a) override { return inner_->subscriptions(a); }
    Result<std::optional<std::string>> summary(const Handle& h, std::uint32_t u) override { return inner_->summary(h, u); }
    Result<void> set_summaries(const Handle& h, std::span<const std::pair<std::uint32_t, std::string>> i) override {
        return inner_->set_summaries(h, i);
    }


protected:
    std::unique_ptr<store::MailStore> inner_;
};

}  // namespace tern::testing
