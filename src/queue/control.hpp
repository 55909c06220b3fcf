// The operator's queue operations (`ternd queue retry|hold|release|delete`) as pure state changes,
// shared by the running scheduler and by the offline command that edits a stopped server's spool.
// Must never touch a final recipient (Delivered or Failed) and never do I/O.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/spool.hpp"

namespace tern::queue {

enum class QueueOp {
    Retry,    // every waiting (Pending/Deferred) recipient is due now
    Hold,     // every waiting recipient becomes Held: never tried until released
    Release,  // every Held recipient becomes Deferred, due now
    Delete,   // every recipient not final becomes Failed, without a DSN (like `postsuper -d`)
};

std::string_view op_name(QueueOp op);                      // "retry", "hold", "release", "delete"
std::optional<QueueOp> parse_op(std::string_view name);

// The reply text a deleted recipient keeps (the scheduler sends no DSN for it).
inline constexpr std::string_view kDeletedReply = "550 5.0.0 deleted from the queue by the operator";

// The recipients `op` changes in `message` at `now`, with their new states (empty: nothing to do).
std::vector<std::pair<std::size_t, RecipientState>> apply(QueueOp op, const QueuedMessage& message,
                                                          std::int64_t now);

}  // namespace tern::queue
