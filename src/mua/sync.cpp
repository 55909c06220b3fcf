// The IMAP sync (see sync.hpp), driving client/imap's session over one Connection. Order:
//   1. the outbox is sent (its Sent copies are then uploaded like any local message);
//   2. LIST: local folders follow the server's (created, special-use noted, removed when gone);
//   3. per folder with local moves or deletions: SELECT, UID MOVE / STORE \Deleted + UID EXPUNGE;
//   4. per folder: SELECT (QRESYNC: VANISHED and changed flags come with it; else CONDSTORE
//      CHANGEDSINCE or a full UID FETCH FLAGS), expunges applied here, flags merged (a local change
//      is pushed as +FLAGS/-FLAGS deltas, so a change made on the server to other flags survives),
//      local messages uploaded (APPEND, APPENDUID), new messages downloaded (UID FETCH from the
//      highest UID known here, so an interrupted sync resumes), then the folder's state saved.
#include "mua/sync.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "client/imap/session.hpp"
#include "mua/drive.hpp"
#include "proto/imap/datetime.hpp"
#include "proto/imap/sequence.hpp"

namespace tern::mua {

namespace imap = client::imap;

std::size_t SyncReport::total(std::size_t FolderReport::*field) const {
    std::size_t n = 0;
    for (auto& f : folders) n += f.*field;
    return n;
}

namespace {

std::set<std::string> flag_set(std::string_view flags) {
    std::set<std::string> out;
    std::string norm = normalize_flags(flags);
    std::size_t i = 0;
    while (i < norm.size()) {
        auto sp = norm.find(' ', i);
        if (sp == std::string::npos) sp = norm.size();
        if (sp > i) out.insert(norm.substr(i, sp - i));
        i = sp + 1;
    }
    return out;
}

std::string join(const std::set<std::string>& s) {
    std::string out;
    for (auto& f : s) {
        if (!out.empty()) out += ' ';
        out += f;
    }
    return out;
}

std::string join(const std::vector<std::string>& v) {
    return normalize_flags([&] {
        std::string s;
        for (auto& f : v) s += f + " ";
        return s;
    }());
}

std::string uid_set(std::vector<std::uint32_t> uids) {
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    return tern::imap::compress_numbers(uids);
}

bool in_sets(const std::vector<imap::SequenceSet>& sets, std::uint32_t uid) {
    for (auto& s : sets)
        if (s.contains(uid, UINT32_MAX)) return true;
    return false;
}

std::string end_reason(const imap::Session& s) {
    std::string why = s.end_status().text;
    switch (s.end()) {
        case imap::ConnectionEnd::GreetingRefused: return "the server refused the connection: " + why;
        case imap::ConnectionEnd::TlsUnavailable: return "the server offers no TLS (STARTTLS): " + why;
        case imap::ConnectionEnd::TlsFailed: return "TLS failed: " + why;
        case imap::ConnectionEnd::AuthFailed: return "login failed: " + why;
        case imap::ConnectionEnd::Bye: return "the server ended the session: " + why;
        case imap::ConnectionEnd::Dropped: return "the connection was lost: " + why;
        case imap::ConnectionEnd::ProtocolError: return "the server's answer made no sense: " + why;
        default: return why.empty() ? "the connection ended" : why;
    }
}

// The special-use attribute of a LIST entry (RFC 6154 §2), or "".
std::string special_of(const imap::ListEntry& e) {
    for (const char* a : {"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All", "\\Flagged"})
        if (e.has_attribute(a)) return a;
    return "";
}

class Syncer {
public:
    Syncer(const Account& a, Cache& c, const SyncOptions& o) : account_(a), cache_(c), opt_(o) {}

    Result<SyncReport> run() {
        if (!account_.imap)
            return fail("account '" + account_.name + "' has no IMAP server (tern account add --imap HOST:PORT)");
        if (auto l = cache_.lock_for_writing(); !l) return std::unexpected(l.error());
        if (opt_.send_outbox && account_.smtp) {
            auto out = flush_outbox(account_, cache_, opt_.trace);
            if (!out) return std::unexpected(out.error());
            report_.outbox = *out;
        }
        if (auto r = connect(); !r) return std::unexpected(r.error());
        auto folders = list_folders();
        if (!folders) return std::unexpected(folders.error());
        if (auto r = push_moves_and_deletions(*folders); !r) return std::unexpected(r.error());
        std::size_t index = 0;
        for (auto& [name, local] : *folders) {
            auto f = sync_folder(local, ++index, folders->size());
            if (!f) return std::unexpected(f.error());
            report_.folders.push_back(std::move(*f));
        }
        s_->logout();
        drive(*s_, *conn_, opt_.trace, mask);
        return report_;
    }

private:
    static std::string mask(std::string_view out) { return imap::mask_secrets(out); }

    Result<void> connect() {
        const Endpoint& ep = *account_.imap;
        auto password = account_password(account_);
        if (!password) return std::unexpected(password.error());
        imap::Options so;
        so.user = account_.user();
        so.password = *password;
        so.implicit_tls = ep.tls == Tls::Implicit;
        so.tls_possible = ep.tls != Tls::None;
        so.require_tls = ep.tls == Tls::StartTls;
        so.allow_plaintext_password = account_.allow_plaintext;
        s_ = std::make_unique<imap::Session>(so, [this](const imap::Chunk& c) { on_chunk(c); });
        auto conn = Connection::open(ep, TlsTrust{account_.ca_file, account_.fingerprint});
        if (!conn) return std::unexpected(conn.error());
        conn_ = std::move(*conn);
        if (drive(*s_, *conn_, opt_.trace, mask) == imap::Session::Next::Close) return fail(end_reason(*s_));
        report_.tls = s_->tls_active();
        report_.qresync = s_->enabled("QRESYNC");
        report_.condstore = report_.qresync || s_->capabilities().has("CONDSTORE");
        return {};
    }

    // Runs the queued requests to their answers; a closed connection is an error.
    Result<void> wait() {
        auto next = drive(*s_, *conn_, opt_.trace, mask);
        for (auto& o : s_->take_outcomes()) outcomes_[o.id] = std::move(o);
        s_->take_updates();  // seen again through MODSEQ/UIDs at the next sync
        if (failure_) return std::unexpected(*failure_);
        if (next == imap::Session::Next::Close) return fail(end_reason(*s_));
        return {};
    }

    Result<imap::Outcome> answer(std::uint64_t id) {
        if (!outcomes_.count(id)) {
            if (auto r = wait(); !r) return std::unexpected(r.error());
        }
        auto it = outcomes_.find(id);
        if (it == outcomes_.end()) return fail("no answer to an IMAP request");
        imap::Outcome o = std::move(it->second);
        outcomes_.erase(it);
        return o;
    }

    // ---------------------------------------------------------------- folders

    // Server folder name -> local folder, in the server's order with INBOX first.
    Result<std::vector<std::pair<std::string, Folder>>> list_folders() {
        auto listed = answer(s_->list("", "*"));
        if (!listed) return std::unexpected(listed.error());
        if (!listed->ok) return fail("LIST failed: " + listed->text);
        std::vector<std::pair<std::string, Folder>> out;
        std::set<std::string> on_server;
        std::map<std::string, std::string> special_name;  // "\\Sent" -> the server's name
        for (auto& e : listed->list) {
            if (e.has_attribute("\\Noselect") || e.has_attribute("\\NonExistent")) continue;
            std::string name = e.name;
            if (on_server.count(name)) continue;
            on_server.insert(name);
            auto local = cache_.folder(name);
            if (!local) return std::unexpected(local.error());
            std::string sp = special_of(e);
            if (sp != local->special) {
                if (auto r = cache_.set_special(local->id, sp); !r) return std::unexpected(r.error());
                local->special = sp;
            }
            if (!sp.empty() && !special_name.count(sp)) special_name[sp] = name;
            out.emplace_back(name, *local);
        }
        std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first == "INBOX" && b.first != "INBOX"; });

        auto locals = cache_.folders();
        if (!locals) return std::unexpected(locals.error());
        for (auto& f : *locals) {
            if (on_server.count(f.name) || f.name == "Outbox") continue;
            auto rows = cache_.sync_rows(f.id);
            if (!rows) return std::unexpected(rows.error());
            bool pending = std::any_of(rows->begin(), rows->end(), [](const SyncRow& r) { return r.uid == 0; });
            // Sent/Drafts written here before the server's special folders were known: their
            // messages go to the server's folder of that use.
            static const std::map<std::string, std::string> kConventional = {{"Sent", "\\Sent"}, {"Drafts", "\\Drafts"}};
            if (f.uidvalidity == 0 && kConventional.count(f.name) && special_name.count(kConventional.at(f.name))) {
                auto target = std::find_if(out.begin(), out.end(),
                                           [&](auto& p) { return p.first == special_name[kConventional.at(f.name)]; });
                for (auto& r : *rows)
                    if (auto m = cache_.move(r.id, target->second); !m) return std::unexpected(m.error());
                if (auto r = cache_.remove_folder(f.id); !r) return std::unexpected(r.error());
                continue;
            }
            if (f.uidvalidity != 0 && !pending) {  // synced before, gone from the server now
                if (auto r = cache_.remove_folder(f.id); !r) return std::unexpected(r.error());
                report_.removed_folders.push_back(f.name);
                continue;
            }
            // Made here (or deleted on the server while it has unsent messages): create it there.
            auto created = answer(s_->create(f.name));
            if (!created) return std::unexpected(created.error());
            if (!created->ok) return fail("cannot create folder " + f.name + " on the server: " + created->text);
            f.uidvalidity = 0;  // a new mailbox: whatever was known no longer applies
            if (auto r = cache_.set_sync_state(f.id, 0, 0, 0); !r) return std::unexpected(r.error());
            created_.insert(f.name);
            out.emplace_back(f.name, f);
        }
        return out;
    }

    // ---------------------------------------------------------------- local moves and deletions

    Result<void> push_moves_and_deletions(const std::vector<std::pair<std::string, Folder>>& folders) {
        std::map<std::int64_t, std::string> name_of;
        for (auto& [name, f] : folders) name_of[f.id] = name;
        auto locals = cache_.folders();
        if (!locals) return std::unexpected(locals.error());
        for (auto& f : *locals) {
            auto moved = cache_.moved_out_of(f.id);
            auto deleted = cache_.server_deletions(f.id);
            if (!moved || !deleted) return fail("cannot read the cache's pending changes");
            if (moved->empty() && deleted->empty()) continue;
            if (!name_of.count(f.id) || f.uidvalidity == 0) {
                // The source folder is gone (or new): the moved copies become uploads.
                for (auto& m : *moved)
                    if (auto r = cache_.set_uid(m.id, 0); !r) return r;
                if (auto r = cache_.clear_server_deletions(f.id); !r) return r;
                continue;
            }
            auto sel = answer(s_->select(f.name));
            if (!sel) return std::unexpected(sel.error());
            if (!sel->ok || !sel->mailbox || sel->mailbox->uidvalidity.value_or(0) != f.uidvalidity) {
                // The server's folder is another one now: nothing of the old UIDs applies.
                for (auto& m : *moved)
                    if (auto r = cache_.set_uid(m.id, 0); !r) return r;
                if (auto r = cache_.clear_server_deletions(f.id); !r) return r;
                continue;
            }
            FolderReport& fr = pending_report(f.name);
            if (!deleted->empty()) {
                imap::StoreOptions so;
                so.flags = {"\\Deleted"};
                so.silent = true;
                auto set = uid_set(*deleted);
                auto st = answer(s_->store(set, so));
                if (!st) return std::unexpected(st.error());
                if (st->ok && s_->capabilities().has("UIDPLUS")) {
                    auto ex = answer(s_->uid_expunge(set));
                    if (!ex) return std::unexpected(ex.error());
                }
                fr.deleted_up += deleted->size();
                if (auto r = cache_.clear_server_deletions(f.id); !r) return r;
            }
            for (auto& m : *moved) {
                auto target = name_of.find(m.folder_id);
                if (target == name_of.end()) continue;  // moved to a local-only folder (Outbox): stays
                auto mv = answer(s_->move(std::to_string(m.origin_uid), target->second));
                if (!mv) return std::unexpected(mv.error());
                std::uint32_t new_uid = 0;
                if (mv->ok && mv->copyuid && s_->capabilities().has("UIDPLUS")) {
                    auto dest = tern::imap::expand(mv->copyuid->set2, UINT32_MAX, 1);
                    if (!dest.empty()) new_uid = dest.front();
                }
                if (mv->ok && new_uid == 0) {
                    // Moved, but no COPYUID: the target folder's download brings it back.
                    if (auto r = cache_.forget(m.id); !r) return r;
                } else if (auto r = cache_.set_uid(m.id, mv->ok ? new_uid : 0); !r) {
                    return r;
                }
                if (mv->ok) ++fr.moved_up;
            }
        }
        return {};
    }

    FolderReport& pending_report(const std::string& name) { return early_[name]; }

    // ---------------------------------------------------------------- one folder

    Result<FolderReport> sync_folder(Folder local, std::size_t index, std::size_t count) {
        FolderReport fr = early_.count(local.name) ? early_[local.name] : FolderReport{};
        fr.name = local.name;
        fr.created = created_.count(local.name) > 0;
        progress_ = {local.name, index, count, 0, 0};
        if (opt_.progress) opt_.progress(progress_);

        auto rows = cache_.sync_rows(local.id);
        if (!rows) return std::unexpected(rows.error());
        std::uint32_t max_local = 0;
        for (auto& r : *rows) max_local = std::max(max_local, r.uid);

        imap::SelectOptions so;
        bool resync = report_.qresync && local.uidvalidity != 0 && local.highestmodseq != 0;
        if (resync) so.qresync = imap::Qresync{local.uidvalidity, local.highestmodseq, ""};
        else so.condstore = report_.condstore;
        auto sel = answer(s_->select(local.name, so));
        if (!sel) return std::unexpected(sel.error());
        if (!sel->ok || !sel->mailbox) return fail("cannot open folder " + local.name + " on the server: " + sel->text);
        const imap::MailboxState& box = *sel->mailbox;
        std::uint32_t uidvalidity = box.uidvalidity.value_or(0);

        if (local.uidvalidity != 0 && uidvalidity != local.uidvalidity) {
            // RFC 9051 §2.3.1.1: the UIDs known here mean nothing now; keep only what the server
            // never had (to upload), download the rest again.
            fr.reset = true;
            for (auto& r : *rows)
                if (r.uid != 0)
                    if (auto f = cache_.forget(r.id); !f) return std::unexpected(f.error());
            if (auto f = cache_.clear_server_deletions(local.id); !f) return std::unexpected(f.error());
            local.highestmodseq = 0;
            local.uidnext = 0;
            resync = false;
            rows = cache_.sync_rows(local.id);
            if (!rows) return std::unexpected(rows.error());
            max_local = 0;
        }

        // What the server changed since the last sync: flags by UID, and the UIDs it expunged.
        std::unordered_map<std::uint32_t, std::string> server_flags;
        std::vector<imap::SequenceSet> vanished;
        std::optional<std::unordered_set<std::uint32_t>> present;  // all UIDs, when known
        bool have_local_uids = max_local != 0;
        if (resync && !box.nomodseq) {
            for (auto& f : box.changed)
                if (f.uid && f.flags) server_flags[*f.uid] = join(*f.flags);
            vanished = box.vanished;
        } else if (have_local_uids) {
            imap::FetchOptions fo;
            bool changed_only = report_.condstore && !box.nomodseq && local.highestmodseq != 0 &&
                                uidvalidity == local.uidvalidity;
            if (changed_only) fo.changed_since = local.highestmodseq;
            auto fetched = answer(s_->fetch("1:" + std::to_string(max_local), "(UID FLAGS)", fo));
            if (!fetched) return std::unexpected(fetched.error());
            if (!fetched->ok) return fail("UID FETCH FLAGS failed in " + local.name + ": " + fetched->text);
            for (auto& f : fetched->fetched)
                if (f.uid && f.flags) server_flags[*f.uid] = join(*f.flags);
            if (changed_only) {
                auto all = answer(s_->search("UID 1:" + std::to_string(max_local)));
                if (!all) return std::unexpected(all.error());
                if (!all->ok) return fail("UID SEARCH failed in " + local.name + ": " + all->text);
                present.emplace(all->uids.begin(), all->uids.end());
                if (all->uid_set)
                    for (auto u : tern::imap::expand(*all->uid_set, max_local, 10'000'000)) present->insert(u);
            } else {
                present.emplace();
                for (auto& f : fetched->fetched)
                    if (f.uid) present->insert(*f.uid);
            }
        }

        // Keywords the server keeps (RFC 9051 §7.1: PERMANENTFLAGS; "\*" allows new ones).
        auto storable = [&](const std::string& flag) {
            if (box.permanent_flags.empty()) return true;
            for (auto& p : box.permanent_flags)
                if (p == "\\*" ? flag[0] != '\\' : p == flag) return true;
            return false;
        };

        // Apply expunges and merge flags; group the local changes into STOREs.
        std::map<std::pair<std::string, std::string>, std::vector<std::uint32_t>> stores;  // (add, remove) -> UIDs
        if (auto b = cache_.begin_batch(); !b) return std::unexpected(b.error());
        for (auto& r : *rows) {
            if (r.uid == 0) continue;
            bool gone = in_sets(vanished, r.uid) || (present && !present->count(r.uid));
            if (gone) {
                if (auto f = cache_.forget(r.id); !f) return std::unexpected(f.error());
                ++fr.removed_down;
                continue;
            }
            auto now = server_flags.find(r.uid);
            std::string known = r.server_flags.value_or(r.flags);
            if (r.server_flags && normalize_flags(r.flags) != normalize_flags(*r.server_flags)) {
                auto mine = flag_set(r.flags), before = flag_set(known);
                std::set<std::string> add, remove;
                for (auto& f : mine)
                    if (!before.count(f) && storable(f)) add.insert(f);
                for (auto& f : before)
                    if (!mine.count(f) && storable(f)) remove.insert(f);
                auto result = flag_set(now != server_flags.end() ? now->second : known);
                for (auto& f : add) result.insert(f);
                for (auto& f : remove) result.erase(f);
                stores[{join(add), join(remove)}].push_back(r.uid);
                if (auto f = cache_.set_synced(r.id, r.uid, join(result)); !f) return std::unexpected(f.error());
                ++fr.flags_up;
            } else if (now != server_flags.end() && normalize_flags(now->second) != normalize_flags(r.flags)) {
                if (auto f = cache_.set_synced(r.id, r.uid, now->second); !f) return std::unexpected(f.error());
                ++fr.flags_down;
            }
        }
        if (auto b = cache_.end_batch(); !b) return std::unexpected(b.error());
        std::vector<std::uint64_t> store_ids;
        for (auto& [change, uids] : stores) {
            auto set = uid_set(uids);
            auto split = [](const std::string& s) {
                std::vector<std::string> v;
                for (auto& f : flag_set(s)) v.push_back(f);
                return v;
            };
            if (!change.first.empty()) store_ids.push_back(s_->store(set, {imap::StoreMode::Add, split(change.first), true, {}}));
            if (!change.second.empty())
                store_ids.push_back(s_->store(set, {imap::StoreMode::Remove, split(change.second), true, {}}));
        }
        for (auto id : store_ids) {
            auto st = answer(id);
            if (!st) return std::unexpected(st.error());
            if (!st->ok) return fail("UID STORE failed in " + local.name + ": " + st->text);
        }

        // Upload what was written here (Sent copies, drafts, messages moved in without a MOVE).
        for (auto& r : *rows) {
            if (r.uid != 0 || r.outbox || r.origin_uid != 0) continue;
            auto bytes = cache_.read(r.id);
            if (!bytes) return std::unexpected(bytes.error());
            imap::AppendOptions ao;
            for (auto& f : flag_set(r.flags))
                if (storable(f)) ao.flags.push_back(f);
            if (r.arrived > 0) ao.date = tern::imap::format_date_time(r.arrived);
            auto ap = answer(s_->append(local.name, base::bytes_from_string(std::move(*bytes)), ao));
            if (!ap) return std::unexpected(ap.error());
            if (!ap->ok) return fail("cannot upload message " + std::to_string(r.id) + " to " + local.name + ": " + ap->text);
            std::uint32_t uid = 0;
            if (ap->appenduid && ap->appenduid->uidvalidity == uidvalidity) {
                auto u = tern::imap::expand(ap->appenduid->set, UINT32_MAX, 1);
                if (!u.empty()) uid = u.front();
            }
            // Without APPENDUID the copy here is dropped: the download below brings the server's.
            auto f = uid ? cache_.set_synced(r.id, uid, r.flags) : cache_.forget(r.id);
            if (!f) return std::unexpected(f.error());
            if (uid) max_local = std::max(max_local, uid);
            ++fr.uploaded;
        }

        // New messages: everything above the highest UID known here (resumes an interrupted sync).
        std::uint32_t start = std::max<std::uint32_t>(max_local + 1, local.uidvalidity == uidvalidity ? local.uidnext : 1);
        start = std::max<std::uint32_t>(start, 1);
        bool maybe_new = !box.uidnext || *box.uidnext > start || fr.uploaded > 0;
        if (box.exists > 0 && maybe_new) {
            if (auto r = download(local, start, fr); !r) return std::unexpected(r.error());
        }
        std::uint32_t uidnext = std::max<std::uint32_t>(box.uidnext.value_or(0), max_local + 1);
        if (auto r = cache_.set_sync_state(local.id, uidvalidity, uidnext, box.highestmodseq.value_or(0)); !r)
            return std::unexpected(r.error());
        return fr;
    }

    Result<void> download(const Folder& local, std::uint32_t start, FolderReport& fr) {
        // MODSEQ only where the server has CONDSTORE (RFC 7162 §3.1.5); elsewhere it is a BAD.
        auto listed = answer(s_->fetch(std::to_string(start) + ":*", report_.condstore ? "(UID FLAGS INTERNALDATE MODSEQ)"
                                                                                       : "(UID FLAGS INTERNALDATE)"));
        if (!listed) return std::unexpected(listed.error());
        if (!listed->ok) return fail("UID FETCH failed in " + local.name + ": " + listed->text);
        auto rows = cache_.sync_rows(local.id);
        if (!rows) return std::unexpected(rows.error());
        std::unordered_set<std::uint32_t> have;
        for (auto& r : *rows)
            if (r.uid) have.insert(r.uid);
        meta_.clear();
        std::vector<std::uint32_t> wanted;
        for (auto& f : listed->fetched) {
            if (!f.uid || *f.uid < start || have.count(*f.uid) || meta_.count(*f.uid)) continue;
            NewMessage m;
            m.uid = *f.uid;
            if (f.flags) m.flags = join(*f.flags);
            m.modseq = f.modseq.value_or(0);
            if (f.internal_date)
                if (auto dt = tern::imap::parse_date_time(*f.internal_date)) m.arrived = dt->unix_seconds();
            meta_[*f.uid] = m;
            wanted.push_back(*f.uid);
        }
        std::sort(wanted.begin(), wanted.end());
        progress_.total = wanted.size();
        progress_.done = 0;
        current_ = local;
        downloaded_ = 0;
        if (wanted.empty()) return {};
        if (auto b = cache_.begin_batch(); !b) return b;
        for (std::size_t i = 0; i < wanted.size(); i += opt_.batch) {
            std::vector<std::uint32_t> part(wanted.begin() + static_cast<std::ptrdiff_t>(i),
                                            wanted.begin() + static_cast<std::ptrdiff_t>(std::min(wanted.size(), i + opt_.batch)));
            s_->fetch(uid_set(part), "(UID BODY.PEEK[])");
        }
        auto r = wait();
        // Whatever was committed stays (an interrupted sync resumes after it).
        auto d = cache_.sync_folder_dir(local);
        auto e = cache_.end_batch();
        writers_.clear();
        fr.downloaded += downloaded_;
        if (!r) return r;
        if (!d) return d;
        if (!e) return e;
        for (auto& [id, o] : outcomes_)
            if (o.command == imap::Command::Fetch && !o.ok) return fail("UID FETCH failed in " + local.name + ": " + o.text);
        outcomes_.clear();
        return {};
    }

    void on_chunk(const imap::Chunk& c) {
        if (failure_) return;
        auto key = std::make_pair(c.id, c.seq);
        auto it = writers_.find(key);
        if (it == writers_.end()) {
            auto w = cache_.begin(current_);
            if (!w) {
                failure_ = w.error();
                return;
            }
            it = writers_.emplace(key, std::move(*w)).first;
        }
        if (!c.last) {
            if (auto r = it->second.write(c.data); !r) failure_ = r.error();
            return;
        }
        auto m = meta_.find(c.uid);
        NewMessage meta = m != meta_.end() ? m->second : NewMessage{};
        meta.uid = c.uid;
        auto id = it->second.commit(meta, false);
        writers_.erase(it);
        if (!id) {
            failure_ = id.error();
            return;
        }
        ++downloaded_;
        ++progress_.done;
        if (opt_.progress) opt_.progress(progress_);
        if (downloaded_ % opt_.batch == 0) {  // a durable point every batch
            auto d = cache_.sync_folder_dir(current_);
            auto e = cache_.end_batch();
            auto b = cache_.begin_batch();
            if (!d) failure_ = d.error();
            else if (!e) failure_ = e.error();
            else if (!b) failure_ = b.error();
        }
    }

    const Account& account_;
    Cache& cache_;
    const SyncOptions& opt_;
    std::unique_ptr<imap::Session> s_;
    std::unique_ptr<Connection> conn_;
    std::map<std::uint64_t, imap::Outcome> outcomes_;
    std::map<std::string, FolderReport> early_;  // moves/deletions pushed before the folder's own pass
    std::set<std::string> created_;
    SyncReport report_;
    SyncProgress progress_;
    // Downloads of the current folder.
    Folder current_;
    std::unordered_map<std::uint32_t, NewMessage> meta_;
    std::map<std::pair<std::uint64_t, std::uint32_t>, Cache::Writer> writers_;
    std::size_t downloaded_ = 0;
    std::optional<Error> failure_;
};

}  // namespace

Result<SyncReport> sync_account(const Account& account, Cache& cache, const SyncOptions& options) {
    Syncer s(account, cache, options);
    return s.run();
}

}  // namespace tern::mua
