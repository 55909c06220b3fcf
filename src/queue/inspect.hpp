// A read-only view of the spool for the operator (`ternd queue list|show`), taken from the segment
// files without the spool's lock, so it works while the server runs: segments are append-only and
// every record is checksummed, so a scan sees each record whole or not at all (a record being
// written shows as an unfinished tail, not as damage). Must never write to the spool directory.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "queue/spool.hpp"

namespace tern::queue {

struct QueueSnapshot {
    std::vector<QueuedMessage> waiting;   // messages with a recipient not yet final, oldest id first
    std::vector<std::string> problems;    // damaged records met on the way (they are skipped)
};

// Scans every segment of the spool directory `dir` in order, as replay does (a later Message
// record for an id replaces the earlier one, the last State record of a recipient wins).
Result<QueueSnapshot> inspect_queue(const std::filesystem::path& dir);

// The header section (up to the first empty line, at most `limit` octets) of a waiting message.
Result<std::string> inspect_headers(const std::filesystem::path& dir, QueueId id, std::size_t limit = 64u << 10);

// Queue ids as the SMTP server prints them in "250 2.0.0 Ok: queued as ..." (16 hex digits).
std::string format_queue_id(QueueId id);
std::optional<QueueId> parse_queue_id(std::string_view text);

}  // namespace tern::queue
