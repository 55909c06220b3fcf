// The IMAP session's view of the server beyond the mail store: how a login name maps to an
// account, and what the search index says. Must never map two different users to one account.
#pragma once
#include "directory/directory.hpp"
#include "search/indexer.hpp"
#include "session/imap/session.hpp"

namespace tern::server {

class DirectoryImapHost final : public imap::ImapHost {
public:
    std::string canonical_account(std::string_view user) override { return directory::canonical_address(user); }
    // Issue 9: SEARCH asks the search index (none: every message is read).
    void set_indexer(search::Indexer* indexer) { indexer_ = indexer; }
    std::optional<imap::SearchCandidates> search_candidates(const store::MailboxHandle& box,
                                                            std::span<const std::string> needles) override {
        if (!indexer_) return std::nullopt;
        auto c = indexer_->candidates(box, needles);
        if (!c) return std::nullopt;
        return imap::SearchCandidates{c->indexed_through, std::move(c->uids)};
    }

private:
    search::Indexer* indexer_ = nullptr;
};

}  // namespace tern::server
