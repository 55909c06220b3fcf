// `tern reply ID [--all] [--body-file F]` and `tern forward ID --to A [--attach-original|--inline]
// [--body-file F]`: a reply or forward of a message in the account's cache (mua::reply_draft /
// forward_draft over the text the reader shows), its text from --body-file or $EDITOR, sent as
// `tern send` sends; then \Answered (or $Forwarded) on the original in the cache, for the next sync.
// Must never mark the original before the message was sent or queued.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "mua/browser_model.hpp"

namespace tern::cli {


namespace {

struct ReplyArgs {
    std::int64_t id = 0;
    bool all = false;
    std::string body_file;
    std::vector<std::string> to, cc, bcc;  // forward
    bool attach_original = false, inline_original = false;
};

std::string account_mailbox(const mua::Account& a) {
    return a.display_name.empty() ? a.address : a.display_name + " <" + a.address + ">";
}

// The user's text above what the draft already holds (the quote, or the forwarded block).
std::string above(const std::string& mine, const std::string& quoted) {
    std::string out = mine;
    if (!out.empty() && !out.ends_with('\n')) out += '\n';
    if (!out.empty() && !quoted.empty()) out += '\n';
    return out + quoted;
}

void run(Context& ctx, const ReplyArgs& args, bool forward) {
    std::optional<Opened> opened;
    auto bytes = message_bytes(ctx, args.id, "", &opened);
    if (!bytes) return;
    std::string text = mua::quotable_text(*bytes);
    mua::Draft d;
    if (forward) {
        // Default: the original attached whole (message/rfc822, RFC 2046 §5.2.1).
        d = mua::forward_draft(*bytes, text, !args.inline_original);
        d.to = args.to;
        d.cc = args.cc;
        d.bcc = args.bcc;
    } else {
        d = mua::reply_draft(*bytes, text, account_mailbox(opened->account), args.all);
    }
    // With --body-file (or stdin) the user's text goes above the quote; in $EDITOR the quote is
    // there to be edited.
    bool from_editor = args.body_file.empty() && ::isatty(STDIN_FILENO);
    auto body = read_body(args.body_file, d.body);
    if (!body) return error(ctx, body.error().message);
    d.body = from_editor ? std::move(*body) : above(*body, d.body);
    std::int64_t id = send_draft(ctx, *opened, std::move(d));
    if (!id) return;
    // RFC 9051 §2.3.2 \Answered; $Forwarded is the keyword IANA registers for forwarded messages (RFC 5788).
    add_flag(*opened->cache, args.id, forward ? "$Forwarded" : "\\Answered");
}

}  // namespace

void add_reply_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ReplyArgs>();
    auto* reply = app.add_subcommand("reply", "reply to a message (quoting it), then send as `tern send` does");
    reply->add_option("ID", args->id, "the message's number as `tern list` shows it")->required()->check(CLI::PositiveNumber);
    reply->add_flag("--all", args->all, "reply to all: the original's To and Cc become the Cc");
    reply->add_option("--body-file", args->body_file,
                      "your text, put above the quote (\"-\" = stdin); default: stdin when it is not a terminal, "
                      "else $EDITOR on the quote");
    reply->callback([&ctx, args] { run(ctx, *args, false); });

    auto* fwd = app.add_subcommand("forward", "forward a message, then send as `tern send` does");
    fwd->add_option("ID", args->id, "the message's number as `tern list` shows it")->required()->check(CLI::PositiveNumber);
    fwd->add_option("--to", args->to, "recipient (repeatable; \"a@x, b@y\" also works)")->required();
    fwd->add_option("--cc", args->cc, "copy recipient (repeatable)");
    fwd->add_option("--bcc", args->bcc, "blind copy recipient (repeatable; never in the header)");
    auto* att = fwd->add_flag("--attach-original", args->attach_original, "the original attached whole (message/rfc822; the default)");
    auto* inl = fwd->add_flag("--inline", args->inline_original,
                              "the original's text in the body, its attachments attached again");
    att->excludes(inl);
    inl->excludes(att);
    fwd->add_option("--body-file", args->body_file,
                    "your text, put above the forwarded message (\"-\" = stdin); default: stdin when it is not a "
                    "terminal, else $EDITOR");
    fwd->callback([&ctx, args] { run(ctx, *args, true); });
}

}  // namespace tern::cli
