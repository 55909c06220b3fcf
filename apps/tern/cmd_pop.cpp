// `tern pop [--keep]`: download the POP3 maildrop into the local INBOX (src/mua/pop).
#include <iostream>

#include "cli.hpp"
#include "mua/pop.hpp"

namespace tern::cli {

void add_pop_commands(CLI::App& app, Context& ctx) {
    auto keep = std::make_shared<bool>(false);
    auto* p = app.add_subcommand("pop", "download mail over POP3 into the local INBOX, then delete it on the server");
    p->add_flag("--keep", *keep, "leave the mail on the server (UIDL skips what was downloaded before)");
    p->callback([&ctx, keep] {
        auto opened = open_account(ctx);
        if (!opened) return;
        mua::PopOptions o;
        o.keep = *keep;
        o.trace = trace_sink(ctx);
        auto r = mua::pop_download(opened->account, *opened->cache, o);
        if (!r) return error(ctx, r.error().message);
        std::cout << r->downloaded << " new message" << (r->downloaded == 1 ? "" : "s") << " downloaded";
        if (r->skipped) std::cout << ", " << r->skipped << " already here";
        if (!*keep) std::cout << ", " << r->deleted << " deleted on the server";
        std::cout << " (" << r->login << (r->tls ? ", TLS" : ", no TLS") << ")\n";
    });
}

}  // namespace tern::cli
