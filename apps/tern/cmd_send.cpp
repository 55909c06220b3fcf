// `tern send`: compose (mua::build_message) and submit over SMTP (mua::send_or_queue): a copy goes
// to Sent, or, with no connection, the message waits in the outbox for `tern sync`. A message the
// server refuses for good is kept in Drafts, never dropped.
#include <iostream>

#include "cli.hpp"
#include "mua/submit.hpp"

namespace tern::cli {

namespace {

struct SendArgs {
    std::string subject, body_file;
    std::vector<std::string> to, cc, bcc, attach;
};

std::string from_of(const mua::Account& a) { return a.address; }

}  // namespace

// Builds and sends (or queues) `draft` for the account without printing: what happened, as text.
SendReport send_draft_quietly(Opened& opened, mua::Draft draft, const mua::TraceSink& trace) {
    SendReport out;
    draft.from = from_of(opened.account);
    draft.from_name = opened.account.display_name;
    stamp(draft);
    auto built = mua::build_message(draft);
    if (!built) {
        out.error = built.error().message;
        return out;
    }
    auto r = mua::send_or_queue(opened.account, *opened.cache, {built->sender, built->recipients}, built->message,
                                trace);
    if (!r) {
        out.error = r.error().message;
        return out;
    }
    if (r->outcome.accepted) {
        std::size_t n = built->recipients.size() - r->outcome.refused.size();
        out.id = r->id;
        out.sent = true;
        out.summary = "sent " + built->message_id + " to " + std::to_string(n) + " recipient" + (n == 1 ? "" : "s") +
                      " (copy " + std::to_string(r->id) + " in Sent)";
        out.refused = r->outcome.refused;
        return out;
    }
    if (r->queued) {
        out.id = r->id;
        out.queued = true;
        out.summary = "not sent now (" + r->outcome.reason + "): message " + std::to_string(r->id) +
                      " waits in the outbox; `tern sync` sends it";
        return out;
    }
    // Refused for good: keep what the user wrote.
    auto drafts = opened.cache->folder_by_special("\\Drafts");
    auto folder = drafts && *drafts ? Result<mua::Folder>(**drafts) : opened.cache->folder("Drafts");
    std::int64_t kept = 0;
    if (folder) {
        mua::NewMessage meta;
        meta.flags = "\\Draft \\Seen";
        if (auto id = opened.cache->add(*folder, built->message, meta)) kept = *id;
    }
    out.kept = kept;
    out.error = r->outcome.reason + (kept ? " (the message was kept in Drafts as " + std::to_string(kept) + ")" : "");
    return out;
}

// Builds and sends `draft` for the account; prints what happened. Returns the Sent/Outbox id (0 on failure).
std::int64_t send_draft(Context& ctx, Opened& opened, mua::Draft draft) {
    SendReport r = send_draft_quietly(opened, std::move(draft), trace_sink(ctx));
    if (!r.error.empty()) {
        error(ctx, r.error);
        return 0;
    }
    std::cout << r.summary << "\n";
    for (auto& x : r.refused) std::cerr << "tern: refused: " << x << "\n";
    if (!r.refused.empty()) ctx.exit_code = 2;
    return r.id;
}

void add_send_commands(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<SendArgs>();
    auto* cmd = app.add_subcommand("send", "write and send a message (SMTP submission; a copy goes to Sent)");
    cmd->add_option("--to", args->to, "recipient (repeatable; \"a@x, b@y\" also works)")->required();
    cmd->add_option("--cc", args->cc, "copy recipient (repeatable)");
    cmd->add_option("--bcc", args->bcc, "blind copy recipient (repeatable; never in the header)");
    cmd->add_option("--subject", args->subject, "subject (UTF-8)")->required();
    cmd->add_option("--attach", args->attach, "file to attach (repeatable)");
    cmd->add_option("--body-file", args->body_file,
                    "the body (UTF-8; \"-\" = stdin); default: stdin when it is not a terminal, else $EDITOR");
    cmd->callback([args, &ctx] {
        auto opened = open_account(ctx);
        if (!opened) return;
        mua::Draft d;
        d.to = args->to;
        d.cc = args->cc;
        d.bcc = args->bcc;
        d.subject = args->subject;
        for (auto& a : args->attach) d.attachments.push_back({a, ""});
        auto body = read_body(args->body_file, "");
        if (!body) return error(ctx, body.error().message);
        d.body = std::move(*body);
        send_draft(ctx, *opened, std::move(d));
    });
}

}  // namespace tern::cli
