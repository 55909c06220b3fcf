// The IMAP session's view of the server beyond the mail store: how a login name maps to an
// account. Must never map two different users to one account.
#pragma once
#include "directory/directory.hpp"
#include "session/imap/session.hpp"

namespace tern::server {

class DirectoryImapHost final : public imap::ImapHost {
public:
    std::string canonical_account(std::string_view user) override { return directory::canonical_address(user); }
};

}  // namespace tern::server
