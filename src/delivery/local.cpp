// Local delivery: directory resolution, Return-Path, one store transaction per batch.
// Must never report Delivered for a recipient whose append did not commit.
#include "delivery/local.hpp"

#include <set>

#include "base/log.hpp"

namespace tern::delivery {

std::vector<Outcome> LocalDelivery::deliver(const std::vector<Job>& jobs, std::int64_t now) {
    std::vector<Outcome> out(jobs.size());
    std::vector<store::NewMessage> batch;
    std::vector<std::size_t> owner;  // batch entry -> job index
    std::set<std::string> accounts;

    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const Job& job = jobs[i];
        const auto& rcpt = job.envelope->recipients[job.recipient];
        auto res = dir_.resolve(rcpt.address);
        if (!res) {
            out[i] = {Outcome::Kind::Deferred, "451 4.3.0 directory lookup failed: " + res.error().message};
            continue;
        }
        switch (res->kind) {
            case directory::Resolution::Kind::NotLocal:
                // Remote delivery (MX lookup + SMTP client) is the relay work; until then the
                // recipient stays queued, never dropped.
                out[i] = {Outcome::Kind::Deferred, "451 4.4.0 remote delivery not available yet; kept in queue"};
                continue;
            case directory::Resolution::Kind::Unknown:
                // The account went away between RCPT and delivery.
                out[i] = {Outcome::Kind::Failed, "550 5.1.1 <" + rcpt.address + ">: user unknown"};
                continue;
            case directory::Resolution::Kind::Ok:
                break;
        }
        // RFC 5321 §4.4: the final delivery adds Return-Path with the reverse-path.
        std::string return_path = "Return-Path: <" + job.envelope->mail_from + ">\r\n";
        for (const auto& account : res->accounts) {
            store::NewMessage m;
            m.account = account;
            m.data.reserve(return_path.size() + job.message->size());
            m.data = return_path;
            m.data += *job.message;
            m.internal_date = now;
            m.envelope_from = job.envelope->mail_from;
            // Idempotent redelivery after a crash: the store skips keys it already has.
            m.dedupe_key = "q:" + std::to_string(job.id) + ":" + std::to_string(job.recipient) + ":" + account;
            batch.push_back(std::move(m));
            owner.push_back(i);
            accounts.insert(account);
        }
        if (!res->remote.empty())
            out[i] = {Outcome::Kind::Deferred, "451 4.4.0 alias forwards to remote addresses; relay not available yet"};
        else
            out[i] = {Outcome::Kind::Delivered, "250 2.0.0 delivered"};
    }
    if (batch.empty()) return out;

    std::string error;
    for (const auto& a : accounts)
        if (auto r = store_.create_account(a); !r) error = r.error().message;
    if (error.empty())
        if (auto r = store_.append(batch); !r) error = r.error().message;
    if (!error.empty()) {
        log::error("local delivery of ", batch.size(), " messages failed: ", error);
        for (std::size_t b = 0; b < batch.size(); ++b)
            out[owner[b]] = {Outcome::Kind::Deferred, "451 4.3.0 mail store error: " + error};
    }
    return out;
}

}  // namespace tern::delivery
