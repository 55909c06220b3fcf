// Queue operations as pure state changes (see control.hpp).
#include "queue/control.hpp"

namespace tern::queue {

std::string_view op_name(QueueOp op) {
    switch (op) {
        case QueueOp::Retry: return "retry";
        case QueueOp::Hold: return "hold";
        case QueueOp::Release: return "release";
        case QueueOp::Delete: return "delete";
    }
    return "?";
}

std::optional<QueueOp> parse_op(std::string_view name) {
    for (auto op : {QueueOp::Retry, QueueOp::Hold, QueueOp::Release, QueueOp::Delete})
        if (op_name(op) == name) return op;
    return std::nullopt;
}

std::vector<std::pair<std::size_t, RecipientState>> apply(QueueOp op, const QueuedMessage& message,
                                                          std::int64_t now) {
    using S = RecipientState::Status;
    std::vector<std::pair<std::size_t, RecipientState>> out;
    for (std::size_t i = 0; i < message.states.size(); ++i) {
        RecipientState s = message.states[i];
        const bool waiting = s.status == S::Pending || s.status == S::Deferred;
        switch (op) {
            case QueueOp::Retry:
                if (!waiting || s.next_attempt <= now) continue;
                s.next_attempt = now;
                break;
            case QueueOp::Hold:
                if (!waiting) continue;
                s.status = S::Held;
                break;
            case QueueOp::Release:
                if (s.status != S::Held) continue;
                s.status = S::Deferred;
                s.next_attempt = now;
                break;
            case QueueOp::Delete:
                if (!waiting && s.status != S::Held) continue;
                s.status = S::Failed;
                s.last_reply = std::string(kDeletedReply);
                break;
        }
        out.emplace_back(i, std::move(s));
    }
    return out;
}

}  // namespace tern::queue
