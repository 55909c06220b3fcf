// In-memory MailStore for tests and throwaway servers: same semantics as the SQLite backend, nothing
// persisted. Must never diverge from the shared rules in common.hpp, never expose a half-applied
// batch or MOVE (every check before the first change), and never call the change listener with
// its lock held.
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
    std::shared_ptr<std::string> summary;     // the body's summary, shared as the body is; empty: none
};

struct Box {
    MailboxInfo info;  // info.id orders list_mailboxes (ids ascend with creation); `subscribed` unused
    std::map<std::uint32_t, Message> messages;
    std::map<std::uint32_t, std::uint64_t> expunged;  // UID -> modseq of its expunge
};

struct Account {
    std::map<std::string, Box, std::less<>> boxes;
    std::set<std::string, std::less<>> subscriptions;
};

class MemoryStore final : public MailStore {
    // open_message(): the per-copy prefix and the shared body, read without copying the body; like
    // the SQLite backend, a read after the message was expunged fails instead of serving it.
    class StoredMessage final : public base::ByteSource {
    public:
        StoredMessage(MemoryStore& store, MailboxHandle box, std::uint32_t uid, std::string prefix,
                      std::shared_ptr<const std::string> body)
            : store_(store), box_(std::move(box)), uid_(uid), prefix_(std::move(prefix)), body_(std::move(body)) {}
        std::uint64_t size() const override { return prefix_.size() + body_->size(); }
        Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
            if (!store_.still_there(box_, uid_, body_.get()))
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
        MailboxHandle box_;  // the mailbox by id and UIDVALIDITY, as the SQLite backend checks it
        std::uint32_t uid_;
        std::string prefix_;
        std::shared_ptr<const std::string> body_;
    };

    bool still_there(const MailboxHandle& handle, std::uint32_t uid, const std::string* body) {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return false;
        auto it = (*box)->messages.find(uid);
        return it != (*box)->messages.end() && it->second.body.get() == body;
    }

public:
    Result<void> create_account(std::string_view account) override {
        if (auto r = check_account_name(account); !r) return r;
        {
            std::lock_guard lock(mu_);
            if (accounts_.contains(account)) return {};
            Account& acc = accounts_[std::string(account)];
            for (const auto& f : kDefaultFolders) add_box(acc, f.name, f.use);
        }
        changed(account);
        return {};
    }

    Result<void> delete_account(std::string_view account) override {
        {
            std::lock_guard lock(mu_);
            auto it = accounts_.find(account);
            if (it == accounts_.end()) return not_found("no such account: " + std::string(account));
            accounts_.erase(it);
        }
        changed(account);
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
        std::vector<MailboxInfo> out;
        for (const auto& [name, box] : (*acc)->boxes) out.push_back(info_of(**acc, box));
        std::sort(out.begin(), out.end(), [](const MailboxInfo& a, const MailboxInfo& b) { return a.id < b.id; });
        return out;
    }

    Result<MailboxInfo> mailbox(std::string_view account, std::string_view name) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, name);
        if (!box) return std::unexpected(box.error());
        return info_of(accounts_.find(account)->second, **box);
    }

    Result<void> create_mailbox(std::string_view account, std::string_view name, SpecialUse use) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        {
            std::lock_guard lock(mu_);
            auto acc = find_account(account);
            if (!acc) return std::unexpected(acc.error());
            if (auto it = (*acc)->boxes.find(*norm); it != (*acc)->boxes.end()) {
                if (!it->second.info.noselect) return fail("mailbox already exists: " + *norm, EEXIST);
                (*acc)->boxes.erase(it);  // a \Noselect name made a mailbox again: a new one
            }
            for (const auto& sup : superior_names(*norm)) {
                if (!(*acc)->boxes.contains(sup)) add_box(**acc, sup, SpecialUse::None);
            }
            add_box(**acc, *norm, use);
        }
        changed(account);
        return {};
    }

    Result<std::vector<Appended>> append(std::span<const NewMessage> batch) override {
        auto normalized = normalize_batch_flags(batch);  // pure checks first, outside the lock
        if (!normalized) return std::unexpected(normalized.error());
        auto& flags = *normalized;
        std::set<std::string_view> touched;  // accounts that got a message (views into `batch`)
        std::vector<Appended> out;
        {
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
            out.reserve(batch.size());
            const std::int64_t now = now_seconds();
            std::map<const std::string*, std::shared_ptr<const std::string>> shared;  // NewMessage::body -> stored body
            std::map<const std::string*, std::shared_ptr<std::string>> summaries;  // stored body -> its summary
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
                auto& slot = summaries[msg.body.get()];
                if (!slot) slot = std::make_shared<std::string>();
                if (slot->empty()) *slot = m.summary;
                msg.summary = slot;
                Appended a{box.info.uidvalidity, msg.info.uid, false};
                box.messages.emplace(msg.info.uid, std::move(msg));
                ++box.info.messages;
                if (!m.dedupe_key.empty()) delivered_.emplace(m.dedupe_key, Delivered{a, now});
                touched.insert(m.account);
                out.push_back(a);
            }
        }
        for (auto account : touched) changed(account);
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
        return open_in(std::string(account), **box, uid);
    }

    Result<void> set_flags(std::string_view account, std::string_view mailbox, std::uint32_t uid,
                           std::vector<std::string> flags) override {
        auto norm = normalize_flags(std::move(flags));
        if (!norm) return std::unexpected(norm.error());
        {
            std::lock_guard lock(mu_);
            auto box = find_box(account, mailbox);
            if (!box) return std::unexpected(box.error());
            auto it = (*box)->messages.find(uid);
            if (it == (*box)->messages.end()) return not_found("no such message: UID " + std::to_string(uid));
            it->second.info.flags = std::move(*norm);
            it->second.info.modseq =
                ++(*box)->info.highest_modseq;  // RFC 7162 §3.1: every change gets a new modseq
        }
        changed(account);
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
        bool removed = false;
        {
            std::lock_guard lock(mu_);
            auto box = find_box(account, mailbox);
            if (!box) return std::unexpected(box.error());
            removed = !remove_messages(**box, sorted_uids(uids), (*box)->info.highest_modseq + 1).empty();
        }
        if (removed) changed(account);
        return {};
    }

    // ---- IMAP

    Result<MailboxHandle> open_mailbox(std::string_view account, std::string_view name) override {
        std::lock_guard lock(mu_);
        auto box = find_box(account, name);
        if (!box) return std::unexpected(box.error());
        return MailboxHandle{std::string(account), (*box)->info.id, (*box)->info.uidvalidity};
    }

    Result<MailboxInfo> mailbox_info(const MailboxHandle& handle) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        return info_of(accounts_.find(handle.account)->second, **box);
    }

    Result<std::vector<MessageInfo>> list_messages(const MailboxHandle& handle, std::uint32_t from_uid,
                                                   std::uint64_t changed_since) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        std::vector<MessageInfo> out;
        for (auto it = (*box)->messages.lower_bound(from_uid); it != (*box)->messages.end(); ++it)
            if (it->second.info.modseq > changed_since) out.push_back(it->second.info);
        return out;
    }

    Result<std::vector<std::uint32_t>> expunged_since(const MailboxHandle& handle, std::uint64_t since) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        std::vector<std::uint32_t> out;
        for (const auto& [uid, modseq] : (*box)->expunged)
            if (modseq > since) out.push_back(uid);
        return out;
    }

    Result<base::ByteSourceRef> open_message(const MailboxHandle& handle, std::uint32_t uid) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        return open_in(handle.account, **box, uid);
    }

    Result<StoreFlagsResult> store_flags(const MailboxHandle& handle, std::span<const std::uint32_t> uids,
                                         FlagMode mode, std::span<const std::string> flags,
                                         std::optional<std::uint64_t> unchanged_since) override {
        auto norm = normalize_flags(std::vector<std::string>(flags.begin(), flags.end()));
        if (!norm) return std::unexpected(norm.error());
        StoreFlagsResult out;
        bool touched = false;
        {
            std::lock_guard lock(mu_);
            auto box = box_of(handle);
            if (!box) return std::unexpected(box.error());
            // RFC 7162 §3.1.3: every message changed by this command gets the same new modseq.
            const std::uint64_t modseq = (*box)->info.highest_modseq + 1;
            for (auto uid : sorted_uids(uids)) {
                auto it = (*box)->messages.find(uid);
                if (it == (*box)->messages.end()) continue;
                MessageInfo& m = it->second.info;
                if (unchanged_since && m.modseq > *unchanged_since) {  // RFC 7162 §3.1.3 MODIFIED
                    out.modified.push_back(uid);
                    continue;
                }
                if (auto next = apply_flags(m.flags, mode, *norm); next != m.flags) {
                    m.flags = std::move(next);
                    m.modseq = modseq;
                    touched = true;
                }
                out.updated.push_back(m);
            }
            if (touched) (*box)->info.highest_modseq = modseq;
        }
        if (touched) changed(handle.account);
        return out;
    }

    Result<ExpungeResult> expunge(const MailboxHandle& handle, std::span<const std::uint32_t> uids) override {
        return expunge_handle(handle, uids, false);
    }

    Result<ExpungeResult> expunge_deleted(const MailboxHandle& handle, std::span<const std::uint32_t> uids) override {
        return expunge_handle(handle, uids, true);
    }

    Result<ExpungeResult> expunge_handle(const MailboxHandle& handle, std::span<const std::uint32_t> uids,
                                         bool only_deleted) {
        ExpungeResult out;
        {
            std::lock_guard lock(mu_);
            auto box = box_of(handle);
            if (!box) return std::unexpected(box.error());
            auto wanted = sorted_uids(uids);
            if (only_deleted)  // checked under the same lock as the removal
                std::erase_if(wanted, [&](std::uint32_t uid) {
                    auto it = (*box)->messages.find(uid);
                    if (it == (*box)->messages.end()) return true;
                    const auto& f = it->second.info.flags;
                    return std::find(f.begin(), f.end(), "\\Deleted") == f.end();
                });
            out.uids = remove_messages(**box, wanted, (*box)->info.highest_modseq + 1);
            if (!out.uids.empty()) out.modseq = (*box)->info.highest_modseq;
        }
        if (!out.uids.empty()) changed(handle.account);
        return out;
    }

    Result<std::pair<std::uint32_t, std::uint32_t>> claim_recent(const MailboxHandle& handle,
                                                                 std::uint32_t upto) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        MailboxInfo& info = (*box)->info;
        const std::uint32_t first = info.first_recent_uid;
        const std::uint32_t last = std::max(first, std::min(upto, info.uidnext));
        info.first_recent_uid = last;
        return std::pair{first, last};
    }

    Result<std::optional<std::string>> summary(const MailboxHandle& handle, std::uint32_t uid) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        auto it = (*box)->messages.find(uid);
        if (it == (*box)->messages.end()) return not_found("no such message: UID " + std::to_string(uid));
        if (it->second.summary->empty()) return std::optional<std::string>{};
        return std::optional<std::string>{*it->second.summary};
    }

    Result<void> set_summaries(const MailboxHandle& handle,
                               std::span<const std::pair<std::uint32_t, std::string>> items) override {
        std::lock_guard lock(mu_);
        auto box = box_of(handle);
        if (!box) return std::unexpected(box.error());
        for (const auto& [uid, blob] : items)
            if (auto it = (*box)->messages.find(uid); it != (*box)->messages.end()) *it->second.summary = blob;
        return {};
    }

    Result<CopyResult> copy_messages(const MailboxHandle& from, std::span<const std::uint32_t> uids,
                                     std::string_view to) override {
        Result<CopyResult> out;
        {
            std::lock_guard lock(mu_);
            out = copy_in(from, sorted_uids(uids), to);
            if (!out) return out;
        }
        if (!out->source_uids.empty()) changed(from.account);
        return out;
    }

    Result<std::pair<CopyResult, ExpungeResult>> move_messages(const MailboxHandle& from,
                                                               std::span<const std::uint32_t> uids,
                                                               std::string_view to) override {
        std::pair<CopyResult, ExpungeResult> out;
        {
            std::lock_guard lock(mu_);
            // copy_in checks everything that can fail before changing anything; the removal
            // cannot fail, so the pair is applied whole or not at all.
            auto copied = copy_in(from, sorted_uids(uids), to);
            if (!copied) return std::unexpected(copied.error());
            out.first = std::move(*copied);
            if (!out.first.source_uids.empty()) {
                Box& src = **box_of(from);
                // A move within one mailbox (UIDVALIDITY is unique per mailbox) shares the copy's modseq.
                const bool same = src.info.uidvalidity == out.first.uidvalidity;
                out.second.uids = remove_messages(src, out.first.source_uids, src.info.highest_modseq + (same ? 0 : 1));
                out.second.modseq = src.info.highest_modseq;
            }
        }
        if (!out.first.source_uids.empty()) changed(from.account);
        return out;
    }

    Result<void> rename_mailbox(std::string_view account, std::string_view from, std::string_view to) override {
        auto nf = normalize_mailbox_name(from);
        if (!nf) return std::unexpected(nf.error());
        auto nt = normalize_mailbox_name(to);
        if (!nt) return std::unexpected(nt.error());
        {
            std::lock_guard lock(mu_);
            auto acc = find_account(account);
            if (!acc) return std::unexpected(acc.error());
            auto& boxes = (*acc)->boxes;
            auto src = boxes.find(*nf);
            if (src == boxes.end()) return not_found("no such mailbox: " + *nf);
            if (boxes.contains(*nt)) return fail("mailbox already exists: " + *nt, EEXIST);
            if (*nf == "INBOX") {
                // RFC 9051 §6.3.6: the messages move to a new mailbox; INBOX stays, empty, and its
                // inferiors are not renamed. UIDs are kept: the new mailbox has its own UIDVALIDITY.
                for (const auto& sup : superior_names(*nt))
                    if (!boxes.contains(sup)) add_box(**acc, sup, SpecialUse::None);
                Box& inbox = boxes.at("INBOX");
                Box& moved = add_box(**acc, *nt, SpecialUse::None);
                moved.info.uidnext = inbox.info.uidnext;
                moved.info.first_recent_uid = inbox.info.first_recent_uid;  // \Recent goes with the messages
                moved.info.highest_modseq = inbox.info.highest_modseq;
                moved.info.messages = inbox.info.messages;
                if (!inbox.messages.empty()) {
                    const std::uint64_t modseq = ++inbox.info.highest_modseq;
                    for (const auto& [uid, m] : inbox.messages) inbox.expunged.emplace(uid, modseq);
                }
                moved.messages = std::move(inbox.messages);
                inbox.messages.clear();
                inbox.info.messages = 0;
            } else {
                if (is_inferior(*nt, *nf)) return invalid("cannot rename " + *nf + " to its own inferior " + *nt);
                std::vector<std::string> renamed{*nf};
                for (auto it = boxes.lower_bound(inferiors_first(*nf)); it != boxes.end() && it->first < inferiors_end(*nf); ++it)
                    renamed.push_back(it->first);
                for (const auto& old : renamed) {
                    std::string now = *nt + old.substr(nf->size());
                    if (boxes.contains(now)) return fail("mailbox already exists: " + now, EEXIST);
                }
                for (const auto& sup : superior_names(*nt))
                    if (!boxes.contains(sup)) add_box(**acc, sup, SpecialUse::None);
                for (const auto& old : renamed) {
                    auto node = boxes.extract(old);
                    node.key() = *nt + old.substr(nf->size());
                    node.mapped().info.name = node.key();
                    boxes.insert(std::move(node));
                }
            }
        }
        changed(account);
        return {};
    }

    Result<void> delete_mailbox(std::string_view account, std::string_view name) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        if (*norm == "INBOX") return invalid("INBOX cannot be deleted");  // RFC 9051 §6.3.5
        {
            std::lock_guard lock(mu_);
            auto acc = find_account(account);
            if (!acc) return std::unexpected(acc.error());
            auto& boxes = (*acc)->boxes;
            auto it = boxes.find(*norm);
            if (it == boxes.end()) return not_found("no such mailbox: " + *norm);
            auto child = boxes.lower_bound(inferiors_first(*norm));
            if (child != boxes.end() && child->first < inferiors_end(*norm)) {
                // RFC 9051 §6.3.5: the messages go, the name stays as the inferiors' superior.
                if (it->second.info.noselect)
                    return fail("[HASCHILDREN] mailbox has inferiors and is \\Noselect: " + *norm, EEXIST);
                it->second.messages.clear();
                it->second.expunged.clear();
                it->second.info.messages = 0;
                ++it->second.info.highest_modseq;
                it->second.info.noselect = true;
            } else {
                boxes.erase(it);
            }
        }
        changed(account);
        return {};
    }

    Result<void> set_subscribed(std::string_view account, std::string_view name, bool subscribed) override {
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        bool did = false;
        {
            std::lock_guard lock(mu_);
            auto acc = find_account(account);
            if (!acc) return std::unexpected(acc.error());
            did = subscribed ? (*acc)->subscriptions.insert(*norm).second : (*acc)->subscriptions.erase(*norm) > 0;
        }
        if (did) changed(account);
        return {};
    }

    Result<std::vector<std::string>> subscriptions(std::string_view account) override {
        std::lock_guard lock(mu_);
        auto acc = find_account(account);
        if (!acc) return std::unexpected(acc.error());
        return std::vector<std::string>((*acc)->subscriptions.begin(), (*acc)->subscriptions.end());
    }

private:
    Box& add_box(Account& acc, const std::string& name, SpecialUse use) {
        Box box;
        box.info.id = ++last_box_id_;  // never reused, so a stale handle cannot reach another mailbox
        box.info.name = name;
        box.info.special_use = use;
        box.info.uidvalidity = last_uidvalidity_ = next_uidvalidity(last_uidvalidity_, now_seconds());
        box.info.uidnext = 1;
        box.info.first_recent_uid = 1;
        box.info.highest_modseq = kInitialModseq;
        return acc.boxes.insert_or_assign(name, std::move(box)).first->second;
    }

    static MailboxInfo info_of(const Account& acc, const Box& box) {
        MailboxInfo info = box.info;
        info.subscribed = acc.subscriptions.contains(info.name);
        return info;
    }

    Result<Account*> find_account(std::string_view account) {
        auto it = accounts_.find(account);
        if (it == accounts_.end()) return not_found("no such account: " + std::string(account));
        return &it->second;
    }

    // A selectable mailbox by name (a \Noselect one is "no such mailbox").
    Result<Box*> find_box(std::string_view account, std::string_view name) {
        auto acc = find_account(account);
        if (!acc) return std::unexpected(acc.error());
        auto norm = normalize_mailbox_name(name);
        if (!norm) return std::unexpected(norm.error());
        auto it = (*acc)->boxes.find(*norm);
        if (it == (*acc)->boxes.end() || it->second.info.noselect) return not_found("no such mailbox: " + *norm);
        return &it->second;
    }

    // The mailbox a handle names, if it still exists with that UIDVALIDITY and is selectable.
    Result<Box*> box_of(const MailboxHandle& handle) {
        if (auto acc = accounts_.find(handle.account); acc != accounts_.end())
            for (auto& [name, box] : acc->second.boxes)
                if (box.info.id == handle.id)
                    return box.info.uidvalidity == handle.uidvalidity && !box.info.noselect
                               ? Result<Box*>(&box)
                               : not_found("the mailbox was deleted or re-created");
        return not_found("the mailbox was deleted");
    }

    Result<base::ByteSourceRef> open_in(std::string account, const Box& box, std::uint32_t uid) {
        auto it = box.messages.find(uid);
        if (it == box.messages.end()) return not_found("no such message: UID " + std::to_string(uid));
        return std::make_shared<const StoredMessage>(
            *this, MailboxHandle{std::move(account), box.info.id, box.info.uidvalidity}, uid, it->second.prefix,
            it->second.body);
    }

    // Removes the present UIDs of `uids` (ascending), records them as expunged at `modseq` and
    // makes that the mailbox's highest modseq if anything went. Returns the UIDs removed.
    static std::vector<std::uint32_t> remove_messages(Box& box, const std::vector<std::uint32_t>& uids,
                                                      std::uint64_t modseq) {
        std::vector<std::uint32_t> removed;
        for (auto uid : uids) {
            if (box.messages.erase(uid) == 0) continue;
            box.expunged.emplace(uid, modseq);
            removed.push_back(uid);
        }
        if (!removed.empty()) {
            // uidnext is untouched: expunged UIDs are never handed out again (RFC 9051 §2.3.1.1).
            // RFC 7162 §3.2 (QRESYNC): an expunge is a change, so HIGHESTMODSEQ moves.
            box.info.messages -= static_cast<std::uint32_t>(removed.size());
            box.info.highest_modseq = modseq;
        }
        return removed;
    }

    // COPY under the lock: every check before the first change.
    Result<CopyResult> copy_in(const MailboxHandle& from, const std::vector<std::uint32_t>& uids, std::string_view to) {
        auto src = box_of(from);
        if (!src) return std::unexpected(src.error());
        auto norm = normalize_mailbox_name(to);
        if (!norm) return std::unexpected(norm.error());
        auto dst = find_box(from.account, *norm);
        if (!dst) return fail("[TRYCREATE] no such mailbox: " + *norm, ENOENT);
        Box& d = **dst;
        CopyResult out;
        out.uidvalidity = d.info.uidvalidity;
        std::vector<const Message*> copies;
        for (auto uid : uids) {
            if (auto it = (*src)->messages.find(uid); it != (*src)->messages.end()) {
                out.source_uids.push_back(uid);
                copies.push_back(&it->second);
            }
        }
        if (copies.empty()) return out;
        if (std::uint64_t{d.info.uidnext} + copies.size() - 1 > kMaxUid)
            return fail("mailbox UID space exhausted: " + *norm, ENOSPC);
        const std::uint64_t modseq = d.info.highest_modseq + 1;
        std::vector<Message> fresh;  // built first: `d` may be the source itself
        for (const Message* m : copies) {
            Message c = *m;  // the body is shared, not copied
            c.info.uid = d.info.uidnext++;
            c.info.modseq = modseq;
            out.dest_uids.push_back(c.info.uid);
            fresh.push_back(std::move(c));
        }
        for (auto& c : fresh) d.messages.emplace(c.info.uid, std::move(c));
        d.info.messages += static_cast<std::uint32_t>(fresh.size());
        d.info.highest_modseq = modseq;
        return out;
    }

    std::mutex mu_;
    std::map<std::string, Account, std::less<>> accounts_;
    struct Delivered {
        Appended appended;
        std::int64_t at = 0;
    };
    std::map<std::string, Delivered, std::less<>> delivered_;
    std::uint32_t last_uidvalidity_ = 0;
    std::int64_t last_box_id_ = 0;
};

}  // namespace

std::unique_ptr<MailStore> make_memory_store() {
    return std::make_unique<MemoryStore>();
}

}  // namespace tern::store
