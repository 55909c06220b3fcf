// Local delivery: directory resolution, Return-Path, one store transaction per batch.
// Must never report Delivered for a recipient whose append did not commit, and never copy a
// message per account: every copy borrows the queued body, which the store keeps once, and the
// body is never whole in memory here (the store reads it in chunks from its source).
#include "delivery/local.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "base/log.hpp"
#include "queue/record.hpp"

namespace tern::delivery {

namespace {
// The CRC-32C of the message's octets: known already for a body opened from the spool (computed
// while its record was verified), otherwise read through in bounded chunks (a message handed over
// from memory is small). The same octets give the same value either way.
Result<std::uint32_t> content_crc(const base::ByteSource& message) {
    if (auto spooled = dynamic_cast<const queue::SpooledBody*>(&message)) return spooled->body_crc32c();
    std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(message.size(), 64u << 10)), '\0');
    std::uint32_t crc = 0;
    for (std::uint64_t done = 0; done < message.size();) {
        auto n = message.read(done, std::span<char>(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), message.size() - done))));
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("the message ended early", EIO);
        crc = queue::record::crc32c(std::string_view(buf.data(), *n), crc);
        done += *n;
    }
    return crc;
}
}  // namespace

std::vector<Outcome> LocalDelivery::deliver(const std::vector<Job>& jobs, std::int64_t now) {
    std::vector<Outcome> out(jobs.size());
    std::vector<store::NewMessage> batch;
    std::vector<std::vector<std::size_t>> owners;  // batch entry -> the jobs it delivers for
    std::map<std::pair<queue::QueueId, std::string>, std::size_t> stored;  // (message, account) -> entry
    std::set<std::string> accounts;
    std::map<const base::ByteSource*, Result<std::uint32_t>> crcs;  // one per message, not per recipient

    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const Job& job = jobs[i];
        const auto& rcpt = job.envelope->recipients[job.recipient];
        auto res = dir_.resolve(rcpt.address);  // the directory caches resolutions
        if (!res) {
            out[i] = {Outcome::Kind::Deferred, "451 4.3.0 directory lookup failed: " + res.error().message, {}};
            continue;
        }
        switch (res->kind) {
            case directory::Resolution::Kind::NotLocal:
                // Not ours: the relay takes it (the SMTP session allowed it: RFC 5321 §3.6.2).
                out[i] = {Outcome::Kind::Remote, "", {}};
                continue;
            case directory::Resolution::Kind::Unknown:
                // The account went away between RCPT and delivery.
                out[i] = {Outcome::Kind::Failed, "550 5.1.1 <" + rcpt.address + ">: user unknown", {}};
                continue;
            case directory::Resolution::Kind::Ok:
                break;
        }
        // RFC 5321 §4.4: the final delivery adds Return-Path with the reverse-path. It is the same
        // for every account of this message, but it is kept per copy (NewMessage::prefix) so
        // that the body is the queued message as it is, borrowed without a concatenated copy.
        std::string return_path = "Return-Path: <" + job.envelope->mail_from + ">\r\n";
        // The content is part of the dedupe key, so that a queue id reused after a clock reset
        // can never make a different message look delivered already: its size and CRC-32C. Both
        // are of the octets as queued, so a retry from the spool finds the key a first attempt
        // from memory stored. A different message under the same id would need the same size
        // and CRC, which differ for every change within 32 consecutive bits and else collide
        // with a chance of 2^-32 (and each message starts with its own Received: time stamp).
        // Neither needs the body in memory. (Keys of the earlier format, a std::hash of the whole
        // body, do not match: a message in flight across the upgrade may be delivered twice, never
        // lost.)
        auto crc_it = crcs.find(job.message.get());
        if (crc_it == crcs.end()) crc_it = crcs.emplace(job.message.get(), content_crc(*job.message)).first;
        if (!crc_it->second) {
            out[i] = {Outcome::Kind::Deferred, "451 4.3.0 cannot read the queued message: " + crc_it->second.error().message, {}};
            continue;
        }
        const std::uint32_t content = *crc_it->second;
        for (const auto& account : res->accounts) {
            // One copy per account, however many of the message's recipients lead there
            // (user, user+tag, an alias and a catch-all may all name the same mailbox).
            auto [it, fresh] = stored.try_emplace({job.id, account}, batch.size());
            if (!fresh) {
                owners[it->second].push_back(i);
                continue;
            }
            store::NewMessage m;
            m.account = account;
            m.prefix = return_path;
            m.source = job.message;  // one stored body for all accounts (same source, same batch)
            m.internal_date = now;
            m.envelope_from = job.envelope->mail_from;
            // Idempotent redelivery after a crash: the store skips keys it already has.
            char key[96];
            std::snprintf(key, sizeof key, "q:%llu:%llu.%08x:", static_cast<unsigned long long>(job.id),
                          static_cast<unsigned long long>(job.message->size()), static_cast<unsigned>(content));
            m.dedupe_key = key + account;
            batch.push_back(std::move(m));
            owners.push_back({i});
            accounts.insert(account);
        }
        out[i] = {Outcome::Kind::Delivered, "250 2.0.0 delivered", res->remote};
    }
    if (batch.empty()) return out;

    std::string error;
    for (const auto& a : accounts)
        if (auto r = store_.create_account(a); !r) error = r.error().message;
    if (error.empty())
        if (auto r = store_.append(batch); !r) error = r.error().message;
    if (!error.empty()) {
        log::error("local delivery of ", batch.size(), " messages failed: ", error);
        for (const auto& jobs_of_entry : owners)
            for (std::size_t j : jobs_of_entry) out[j] = {Outcome::Kind::Deferred, "451 4.3.0 mail store error: " + error, {}};
    }
    return out;
}

}  // namespace tern::delivery
