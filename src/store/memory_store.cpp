// In-memory MailStore for tests and throwaway servers: same semantics as the SQLite backend, nothing
// persisted. Must never diverge from the shared rules in common.hpp, and never expose a half-applied
// batch (append validates every entry before changing anything).
#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "store/common.hpp"
#include "store/store.hpp"

namespace tern::store {
namespace {

using namespace detail;

struct Message {
    MessageInfo info;
    std::string prefix;                       // per-copy header lines (NewMessage::prefix)
    std::shared_ptr<const std::string> body;  // shared by every copy appended from one NewMessage::body
};

struct Box {
    MailboxInfo info;
    std::uint64_t order = 0;  // creation order, for list_mailboxes
    std::map<std::uint32_t, Message> messages;
};

struct Account {
    std::map<std::string, Box, std::less<>> boxes;
    std::uint64_t next_order = 0;
};

class MemoryStore final : public MailStore {
    // open_message(): the per-copy prefix and the shared body, read without copying the body; like
    // the SQLite backend, a read after the message was expunged fails instead of serving it.
    class StoredMessage final : public base::ByteSource {
    public:
        StoredMessage(MemoryStore& store, std::string account, std::string mailbox, std::uint32_t uid,
                      std::string prefix, std::shared_ptr<const std::string> body)
            : store_(store), account_(std::move(account)), mailbox_(std::move(mailbox)), uid_(uid),
              prefix_(std::move(prefix)), body_(std::move(body)) {}
        std::uint64_t size() const override { return prefix_.size() + body_->size(); }
        Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
            if (!store_.still_there(account_, mailbox_, uid_, body_.get()))
                return not_found("message UID " + std::to_string(uid_) + " was expunged while being read");
            std::size_t done = 0;
            for (std::string_view part : {std::string_view(prefix_), std::string_view(*body_)}) {
                if (offset >= part.size()) {
                    offset -= part.size();
                    continue;
                }
                std::size_t n = std::min<std::size_t>(out.size() - done, part.size() - offset);
                std::copy_n(part.data() + offset, n, out.data() + done);
                done += n;
                offset = 0;
                if (done == out.size()) break;
            }
            return done;
        }

    private:
        MemoryStore& store_;
        std::string account_, mailbox_;
        std::uint32_t uid_;
        std::string prefix_;
        std::shared_ptr<const std::string> body_;
    };

    bool still_there(std::string_view account, std::string_view mailbox, std::uint32_t uid, const std::string* body) {
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return false;
        auto it = (*box)->messages.find(uid);
        return it != (*box)->messages.end() && it->second.body.get() == body;
    }

public:
    Result<void> create_account(std::string_view account) override {
        if (auto r = check_account_name(account); !r) return r;
        std::lock_guard lock(mu_);
        if (accounts_.contains(account)) return {};
        Account& acc = accounts_[std::string(account)];
        for (const auto& f : kDefaultFolders) add_box(acc, f.name, f.use);
        return {};
    }

    Result<void> delete_account(std::string_view account) override {
        std::lock_guard lock(mu_);
        auto it = accounts_.find(account);
        if (it == accounts_.end()) return not_found("no such account: " + std::string(account));
        accounts_.erase(it);
        return {};
    }

    Result<bool> has_account(std::string_view account) override {
        std::lock_guard lock(mu_);
        return accounts_.contains(account);
    }

    Result<std::vector<MailboxInfo>> list_mailboxes(std::string_view account) override {
        std::lock_guard lock(mu_);
        auto acc = find_account(account);
        if (!acc) return std::unexpected(acc.error());
        std::vector<const Box*> boxes;
        for (const auto& [name, box] : (*acc)->boxes) boxes.push_back(&box);
        std::sort(boxes.begin(), boxes.end(), [](const Box* a, const Box* b) { return a->order < b->order; });
        std::vector<MailboxInfo> out;
        for (const Box* b : boxes) out.push_back(b->info);
        return out;
    }

    Result<MailboxInfo> mailbox(std::string_view account, std::string_view name) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, name);
        if (!box) return std::unexpected(box.error());
        return (*box)->info;
    }

    Result<void> create_mailbox(std::string_view account, std::string_view name, SpecialUse use) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        std::lock_guard lock(mu_);
        auto acc = find_account(account);
        if (!acc) return std::unexpected(acc.error());
        if ((*acc)->boxes.contains(*norm)) return fail("mailbox already exists: " + *norm, EEXIST);
        for (const auto& sup : superior_names(*norm)) {
            if (!(*acc)->boxes.contains(sup)) add_box(**acc, sup, SpecialUse::None);
        }
        add_box(**acc, *norm, use);
        return {};
    }

    Result<std::vector<Appended>> append(std::span<const NewMessage> batch) override {
        auto normalized = normalize_batch_flags(batch);  // pure checks first, outside the lock
        if (!normalized) return std::unexpected(normalized.error());
        auto& flags = *normalized;
        std::lock_guard lock(mu_);
        // Pass 1: every target exists and has UIDs left, so pass 2 cannot fail half-way.
        std::vector<Box*> boxes;
        std::map<Box*, std::uint64_t> wanted;
        for (const auto& m : batch) {
            auto box = find_box(m.account, m.mailbox);
            if (!box) return std::unexpected(box.error());
            boxes.push_back(*box);
            if ((*box)->info.uidnext + ++wanted[*box] - 1 > kMaxUid) {
                return fail("mailbox UID space exhausted: " + m.mailbox, ENOSPC);
            }
        }
        // Every source is read whole before anything changes (this backend keeps bodies in
        // memory anyway), once per source however many entries share it: one that fails to read
        // fails the batch with nothing stored.
        std::map<const base::ByteSource*, std::shared_ptr<const std::string>> sources;
        for (const auto& m : batch) {
            if (!m.source || sources.contains(m.source.get())) continue;
            auto data = base::read_all(*m.source);
            if (!data) return std::unexpected(data.error());
            sources.emplace(m.source.get(), std::make_shared<const std::string>(std::move(*data)));
        }
        // Pass 2: apply.
        std::vector<Appended> out;
        out.reserve(batch.size());
        const std::int64_t now = now_seconds();
        std::map<const std::string*, std::shared_ptr<const std::string>> shared;  // NewMessage::body -> stored body
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const NewMessage& m = batch[i];
            if (!m.dedupe_key.empty()) {
                if (auto it = delivered_.find(m.dedupe_key); it != delivered_.end()) {
                    out.push_back(Appended{it->second.appended.uidvalidity, it->second.appended.uid, true});
                    continue;
                }
            }
            Box& box = *boxes[i];
            Message msg;
            msg.info.uid = box.info.uidnext++;
            msg.info.modseq = ++box.info.highest_modseq;
            msg.info.flags = std::move(flags[i]);
            msg.info.internal_date = m.internal_date != 0 ? m.internal_date : now;
            msg.info.envelope_from = m.envelope_from;
            msg.prefix = m.prefix;
            if (m.source) {
                msg.body = sources.at(m.source.get());
            } else if (!m.body) {
                msg.body = std::make_shared<const std::string>(m.data);
            } else if (auto& body = shared[m.body]; body) {
                msg.body = body;
            } else {
                msg.body = body = std::make_shared<const std::string>(*m.body);
            }
            msg.info.size = msg.prefix.size() + msg.body->size();
            Appended a{box.info.uidvalidity, msg.info.uid, false};
            box.messages.emplace(msg.info.uid, std::move(msg));
            ++box.info.messages;
            if (!m.dedupe_key.empty()) delivered_.emplace(m.dedupe_key, Delivered{a, now});
            out.push_back(a);
        }
        return out;
    }

    Result<std::vector<MessageInfo>> list_messages(std::string_view account,
                                                   std::string_view mailbox) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return std::unexpected(box.error());
        std::vector<MessageInfo> out;
        out.reserve((*box)->messages.size());
        for (const auto& [uid, m] : (*box)->messages) out.push_back(m.info);
        return out;
    }

    Result<std::string> read_message(std::string_view account, std::string_view mailbox,
                                     std::uint32_t uid) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return std::unexpected(box.error());
        auto it = (*box)->messages.find(uid);
        if (it == (*box)->messages.end()) return not_found("no such message: UID " + std::to_string(uid));
        return it->second.prefix + *it->second.body;
    }

    Result<base::ByteSourceRef> open_message(std::string_view account, std::string_view mailbox,
                                             std::uint32_t uid) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return std::unexpected(box.error());
        auto it = (*box)->messages.find(uid);
        if (it == (*box)->messages.end()) return not_found("no such message: UID " + std::to_string(uid));
        return std::make_shared<const StoredMessage>(*this, std::string(account), std::string(mailbox), uid,
                                                     it->second.prefix, it->second.body);
    }

    Result<void> set_flags(std::string_view account, std::string_view mailbox, std::uint32_t uid,
                           std::vector<std::string> flags) override {
        auto norm = normalize_flags(std::move(flags));
        if (!norm) return std::unexpected(norm.error());
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return std::unexpected(box.error());
        auto it = (*box)->messages.find(uid);
        if (it == (*box)->messages.end()) return not_found("no such message: UID " + std::to_string(uid));
        it->second.info.flags = std::move(*norm);
        it->second.info.modseq =
            ++(*box)->info.highest_modseq;  // RFC 7162 §3.1: every change gets a new modseq
        return {};
    }

    Result<std::uint64_t> count_bodies() override {
        std::lock_guard lock(mu_);
        std::set<const std::string*> bodies;
        for (const auto& [name, acc] : accounts_)
            for (const auto& [box_name, box] : acc.boxes)
                for (const auto& [uid, m] : box.messages) bodies.insert(m.body.get());
        return bodies.size();
    }

    Result<std::uint64_t> forget_delivered_before(std::int64_t before) override {
        std::lock_guard lock(mu_);
        return static_cast<std::uint64_t>(std::erase_if(delivered_, [&](const auto& kv) { return kv.second.at < before; }));
    }

    Result<void> expunge(std::string_view account, std::string_view mailbox,
                         std::span<const std::uint32_t> uids) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, mailbox);
        if (!box) return std::unexpected(box.error());
        bool removed = false;
        for (auto uid : uids) {
            if ((*box)->messages.erase(uid) > 0) {
                --(*box)->info.messages;
                removed = true;
            }
        }
        // RFC 7162 §3.2 (QRESYNC): an expunge is a change, so HIGHESTMODSEQ moves.
        if (removed) ++(*box)->info.highest_modseq;
        return {};
    }

private:
    void add_box(Account& acc, const std::string& name, SpecialUse use) {
        Box box;
        box.info.name = name;
        box.info.special_use = use;
        box.info.uidvalidity = last_uidvalidity_ = next_uidvalidity(last_uidvalidity_, now_seconds());
        box.info.uidnext = 1;
        box.info.highest_modseq = kInitialModseq;
        box.order = acc.next_order++;
        acc.boxes.emplace(name, std::move(box));
    }

    Result<Account*> find_account(std::string_view account) {
        auto it = accounts_.find(account);
        if (it == accounts_.end()) return not_found("no such account: " + std::string(account));
        return &it->second;
    }

    Result<Box*> find_box(std::string_view account, std::string_view name) {
        auto acc = find_account(account);
        if (!acc) return std::unexpected(acc.error());
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        auto it = (*acc)->boxes.find(*norm);
        if (it == (*acc)->boxes.end()) return not_found("no such mailbox: " + *norm);
        return &it->second;
    }

    std::mutex mu_;
    std::map<std::string, Account, std::less<>> accounts_;
    struct Delivered {
        Appended appended;
        std::int64_t at = 0;
    };
    std::map<std::string, Delivered, std::less<>> delivered_;
    std::uint32_t last_uidvalidity_ = 0;
};

}  // namespace

std::unique_ptr<MailStore> make_memory_store() {
    return std::make_unique<MemoryStore>();
}

}  // namespace tern::store
