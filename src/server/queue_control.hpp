// The operator's queue commands (`ternd queue retry|hold|release|delete`): the control protocol's
// request lines ("HOLD 0123456789ABCDEF", "RETRY ALL") and replies ("OK 1 message changed",
// "ERR ..."), the running server's answer, and the command that uses the server's control socket
// or, when no server runs, edits the spool itself under ternd.lock. Must never edit the spool
// while a server holds ternd.lock, nor report a change that was not made durable.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "queue/control.hpp"

namespace tern::server {

struct ControlRequest {
    queue::QueueOp op = queue::QueueOp::Retry;
    std::optional<queue::QueueId> id;  // empty: every queued message (only for RETRY)
};

std::string format_control_request(const ControlRequest& request);
Result<ControlRequest> parse_control_request(std::string_view line);

// The reply to one request line; `apply` is Scheduler::control (the number of messages changed,
// or ENOENT when the id is not queued).
using ApplyControl = std::function<Result<std::size_t>(queue::QueueOp, std::optional<queue::QueueId>)>;
std::string answer_control(std::string_view line, const ApplyControl& apply);

// Parses a reply line: the number of messages changed, or the server's reason.
Result<std::size_t> parse_control_reply(std::string_view line);

}  // namespace tern::server
