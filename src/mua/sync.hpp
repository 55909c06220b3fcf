// `tern sync`: two-way IMAP sync of every folder into the local cache (RFC 9051, 7162
// CONDSTORE/QRESYNC, 4315 UIDPLUS, 6851 MOVE, 6154 SPECIAL-USE). Down: new messages, flag
// changes, expunges; up: flag changes, deletions, moves, messages written here (Sent copies,
// drafts); the outbox is sent first. With QRESYNC a no-change sync costs one SELECT per folder;
// an interrupted sync resumes where it stopped (messages are committed one by one, a folder's
// state only once it is done). Must never drop a local change it has not pushed, nor keep a
// message the server expunged, nor download a message twice.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mua/account.hpp"
#include "mua/cache.hpp"
#include "mua/connection.hpp"
#include "mua/submit.hpp"

namespace tern::mua {

struct SyncProgress {
    std::string folder;
    std::size_t folder_index = 0, folders = 0;
    std::size_t done = 0, total = 0;   // messages downloaded of those to download in this folder
};

struct SyncOptions {
    TraceSink trace;
    std::function<void(const SyncProgress&)> progress;
    std::size_t batch = 250;            // messages per UID FETCH of bodies (and per index transaction)
    bool send_outbox = true;
};

struct FolderReport {
    std::string name;
    std::size_t downloaded = 0, flags_down = 0, removed_down = 0;
    std::size_t flags_up = 0, deleted_up = 0, moved_up = 0, uploaded = 0;
    bool reset = false;                 // UIDVALIDITY changed: the local copy was rebuilt
    bool created = false;               // created on the server (a folder made here)
};

struct SyncReport {
    std::vector<FolderReport> folders;
    OutboxReport outbox;
    bool qresync = false, condstore = false, tls = false;
    std::vector<std::string> removed_folders;  // gone from the server, removed here
    std::size_t total(std::size_t FolderReport::*field) const;
};

Result<SyncReport> sync_account(const Account& account, Cache& cache, const SyncOptions& options);

}  // namespace tern::mua
