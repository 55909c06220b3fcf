// The control protocol's lines and the server's answer (see queue_control.hpp). Pure except for
// the handler it is given. Must never answer OK for a change the scheduler did not report done.
#include "server/queue_control.hpp"

#include <cctype>
#include <cerrno>

#include "queue/inspect.hpp"

namespace tern::server {

namespace {

std::string upper(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

std::string format_control_request(const ControlRequest& request) {
    return upper(queue::op_name(request.op)) + " " + (request.id ? queue::format_queue_id(*request.id) : "ALL");
}

Result<ControlRequest> parse_control_request(std::string_view line) {
    auto space = line.find(' ');
    if (space == std::string_view::npos) return fail("expected \"<RETRY|HOLD|RELEASE|DELETE> <id>|ALL\"", EINVAL);
    auto op = queue::parse_op(lower(line.substr(0, space)));
    if (!op) return fail("unknown operation \"" + std::string(line.substr(0, space)) + "\"", EINVAL);
    std::string_view arg = line.substr(space + 1);
    ControlRequest request{*op, std::nullopt};
    if (arg == "ALL") {
        // Holding or deleting the whole queue in one word is too easy a mistake.
        if (*op != queue::QueueOp::Retry) return fail("ALL only goes with RETRY", EINVAL);
        return request;
    }
    // A queue id is exactly the 16 hex digits the server prints.
    if (arg.size() != 16) return fail("not a queue id: \"" + std::string(arg.substr(0, 40)) + "\"", EINVAL);
    auto id = queue::parse_queue_id(arg);
    if (!id) return fail("not a queue id: \"" + std::string(arg) + "\"", EINVAL);
    request.id = *id;
    return request;
}

std::string answer_control(std::string_view line, const ApplyControl& apply) {
    auto request = parse_control_request(line);
    if (!request) return "ERR " + request.error().message;
    auto changed = apply(request->op, request->id);
    if (!changed) {
        if (changed.error().code == ENOENT && request->id)
            return "ERR no message " + queue::format_queue_id(*request->id) + " in the queue";
        return "ERR " + changed.error().message;
    }
    return "OK " + std::to_string(*changed) + (*changed == 1 ? " message changed" : " messages changed");
}

Result<std::size_t> parse_control_reply(std::string_view line) {
    if (line.starts_with("ERR ")) return fail(std::string(line.substr(4)), EIO);
    if (!line.starts_with("OK ")) return fail("unexpected reply from the server: \"" + std::string(line.substr(0, 200)) + "\"", EPROTO);
    std::size_t n = 0, i = 3;
    if (i >= line.size() || !std::isdigit(static_cast<unsigned char>(line[i])))
        return fail("unexpected reply from the server: \"" + std::string(line.substr(0, 200)) + "\"", EPROTO);
    for (; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) && n < (1u << 30); ++i)
        n = n * 10 + static_cast<std::size_t>(line[i] - '0');
    return n;
}

}  // namespace tern::server
