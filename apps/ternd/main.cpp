// ternd: the Tern mail server daemon and its admin commands (CLI11). Parses the command line
// and hands over to src/server; no mail logic here. Must never take a password from argv: it is
// read from standard input.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "base/terminal.hpp"
#include "config/config.hpp"
#include "server/privileges.hpp"
#include "server/sendmail.hpp"
#include "server/server.hpp"

namespace {

std::string read_password() { return tern::base::read_secret_line("Password: "); }

}  // namespace

int main(int argc, char** argv) {
    namespace admin = tern::server::admin;
    ::umask(077);  // mail, keys and databases are for the server's user only

    // sendmail(1) options are not CLI11's (-oi, -odi, -fuser): `ternd [--data DIR] sendmail ...` and
    // ternd called as sendmail or mailq (`ternd setup --link-sendmail`) parse their own.
    {
        std::string prog = std::filesystem::path(argc > 0 ? argv[0] : "ternd").filename().string();
        std::vector<std::string> rest;
        if (prog == "sendmail" || prog == "mailq") {
            for (int i = 1; i < argc; ++i) rest.emplace_back(argv[i]);
            return tern::server::sendmail_main(std::nullopt, rest, true, prog == "mailq");
        }
        int i = 1;
        std::optional<std::filesystem::path> data_dir;
        if (i + 1 < argc && std::string_view(argv[i]) == "--data") {
            data_dir = argv[i + 1];
            i += 2;
        } else if (i < argc && std::string_view(argv[i]).starts_with("--data=")) {
            data_dir = std::string_view(argv[i]).substr(7);
            i += 1;
        }
        if (i < argc && std::string_view(argv[i]) == "sendmail") {
            for (int k = i + 1; k < argc; ++k) rest.emplace_back(argv[k]);
            return tern::server::sendmail_main(data_dir, rest, false, false);
        }
    }

    CLI::App app{"Tern mail server: SMTP, queue, local delivery, POP3 and IMAP"};
    app.set_version_flag("--version", std::string("ternd ") + TERN_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    std::string data = "tern-data";
    app.add_option("--data", data, "Data directory (created on first start)")->capture_default_str();
    int rc = 0;

    // serve
    auto* serve = app.add_subcommand("serve", "Run the server (SMTP, submission, ...)");
    std::string config_file, hostname;
    std::vector<std::string> listens;
    bool trace = false;
    serve->add_option("--config", config_file, "TOML configuration file (flags override it)")->check(CLI::ExistingFile);
    serve->add_option("--listen", listens, "PROTO=ADDR:PORT; PROTO: smtp submission submissions pop3 pop3s imap imaps");
    serve->add_option("--hostname", hostname, "Host name for greetings and Received: headers");
    serve->add_flag("--trace", trace, "Log every session's dialogue (C:/S: lines, secrets masked)");
    std::string run_as;
    serve->add_option("--user", run_as, "When started as root: the user to switch to after binding (default tern)");
    std::string resolver;
    serve->add_option("--resolver", resolver, "DNS server ADDR:PORT for outbound mail, instead of /etc/resolv.conf");
    serve->callback([&] {
        tern::config::Config cfg;
        if (!config_file.empty()) {
            auto loaded = tern::config::load_file(config_file, cfg);
            if (!loaded) {
                std::cerr << "ternd: " << loaded.error().message << "\n";
                rc = 2;
                return;
            }
            cfg = *loaded;
        }
        if (app.get_option("--data")->count() > 0 || config_file.empty()) cfg.data_dir = data;
        if (!hostname.empty()) cfg.hostname = hostname;
        if (trace) cfg.trace = true;
        if (!run_as.empty()) cfg.run_as = run_as;
        if (!resolver.empty()) {
            if (!tern::config::valid_resolver(resolver)) {
                std::cerr << "ternd: --resolver: expected ADDR:PORT, e.g. 127.0.0.1:53 or [::1]:53\n";
                rc = 2;
                return;
            }
            cfg.dns_resolver = resolver;
        }
        if (!listens.empty()) {
            cfg.listeners.clear();
            for (auto& l : listens) {
                auto parsed = tern::config::parse_listener(l);
                if (!parsed) {
                    std::cerr << "ternd: " << parsed.error().message << "\n";
                    rc = 2;
                    return;
                }
                cfg.listeners.push_back(*parsed);
            }
        }
        rc = tern::server::serve(cfg);
    });

    // setup
    std::string setup_user = "tern";
    auto* setup = app.add_subcommand("setup", "As root: create the system user and give it the data directory");
    setup->add_option("--user", setup_user, "Unprivileged user the server runs as")->capture_default_str();
    tern::server::SetupOptions setup_options;
    setup->add_flag("--link-sendmail", setup_options.link_sendmail,
                    "Link /usr/sbin/sendmail and /usr/bin/mailq to ternd; write /etc/tern/ternd.toml if missing");
    std::string link_prefix = "/";
    setup->add_option("--link-prefix", link_prefix, "Where --link-sendmail puts usr/sbin, usr/bin, etc/tern (tests)");
    setup->callback([&] {
        setup_options.link_prefix = link_prefix;
        rc = tern::server::setup(data, setup_user, setup_options);
    });
    // Listed for --help; handled before CLI11 parses anything (sendmail's options are its own).
    app.add_subcommand("sendmail", "Queue a message from stdin: sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...]")
        ->allow_extras();

    // domain
    auto* domain = app.add_subcommand("domain", "Manage local domains")->require_subcommand(1);
    std::string name;
    domain->add_subcommand("add", "Add a local domain")->callback([&] { rc = admin::domain_add(data, name); })
        ->add_option("DOMAIN", name)->required();
    domain->add_subcommand("remove", "Remove a local domain (no users or aliases may remain)")
        ->callback([&] { rc = admin::domain_remove(data, name); })->add_option("DOMAIN", name)->required();
    domain->add_subcommand("list", "List local domains")->callback([&] { rc = admin::domain_list(data); });

    // user
    auto* user = app.add_subcommand("user", "Manage accounts")->require_subcommand(1);
    user->add_subcommand("add", "Add an account; the password is read from stdin")
        ->callback([&] { rc = admin::user_add(data, name, read_password()); })->add_option("ADDRESS", name)->required();
    user->add_subcommand("remove", "Remove an account and its mail")
        ->callback([&] { rc = admin::user_remove(data, name); })->add_option("ADDRESS", name)->required();
    user->add_subcommand("passwd", "Change a password; the new one is read from stdin")
        ->callback([&] { rc = admin::user_passwd(data, name, read_password()); })->add_option("ADDRESS", name)->required();
    user->add_subcommand("list", "List accounts")->callback([&] { rc = admin::user_list(data); });
    user->add_subcommand("apop-secret", "Set the APOP shared secret (RFC 1939 §7), read from stdin")
        ->callback([&] { rc = admin::user_apop_secret(data, name, read_password()); })
        ->add_option("ADDRESS", name)->required();

    // alias
    auto* alias = app.add_subcommand("alias", "Manage aliases (catch-all: @domain)")->require_subcommand(1);
    std::vector<std::string> targets;
    auto* alias_add = alias->add_subcommand("add", "Add an alias: ALIAS TARGET...");
    alias_add->add_option("ALIAS", name)->required();
    alias_add->add_option("TARGET", targets)->required();
    alias_add->callback([&] { rc = admin::alias_add(data, name, targets); });
    auto* alias_remove = alias->add_subcommand("remove", "Remove an alias, or some of its targets");
    alias_remove->add_option("ALIAS", name)->required();
    alias_remove->add_option("TARGET", targets);
    alias_remove->callback([&] { rc = admin::alias_remove(data, name, targets); });
    alias->add_subcommand("list", "List aliases")->callback([&] { rc = admin::alias_list(data); });

    // import / export
    std::string file, to, folder = "INBOX";
    auto* import = app.add_subcommand("import", "Import mail")->require_subcommand(1);
    auto* import_mbox = import->add_subcommand("mbox", "Import an mbox file (mboxrd)");
    import_mbox->add_option("FILE", file)->required()->check(CLI::ExistingFile);
    import_mbox->add_option("--to", to, "Account to import into")->required();
    import_mbox->add_option("--folder", folder, "Folder (created if missing)")->capture_default_str();
    import_mbox->callback([&] { rc = admin::import_mbox(data, file, to, folder); });
    auto* exp = app.add_subcommand("export", "Export mail")->require_subcommand(1);
    auto* export_mbox = exp->add_subcommand("mbox", "Write a folder to stdout as mbox (mboxrd)");
    export_mbox->add_option("ADDRESS", name)->required();
    export_mbox->add_option("--folder", folder, "Folder")->capture_default_str();
    export_mbox->callback([&] { rc = admin::export_mbox(data, name, folder); });

    // mailbox
    auto* mailbox = app.add_subcommand("mailbox", "Inspect folders")->require_subcommand(1);
    mailbox->add_subcommand("list", "List an account's folders: NAME MESSAGES UIDVALIDITY UIDNEXT")
        ->callback([&] { rc = admin::mailbox_list(data, name); })->add_option("ADDRESS", name)->required();

    // config
    // queue (works while the server runs)
    auto* queue = app.add_subcommand("queue", "Inspect and manage the mail queue (the spool)")->require_subcommand(1);
    queue->add_subcommand("list", "List waiting messages and each recipient's state (like mailq)")
        ->callback([&] { rc = admin::queue_list(data); });
    std::string queue_id;
    queue->add_subcommand("show", "Show one waiting message: envelope, recipient states, headers")
        ->callback([&] { rc = admin::queue_show(data, queue_id); })
        ->add_option("ID", queue_id, "queue id, as in \"250 2.0.0 Ok: queued as ID\"")->required();
    // queue retry|hold|release|delete: through the running server, or on the spool when none runs
    bool all = false;
    auto* retry = queue->add_subcommand("retry", "Try a message's waiting recipients now (--all: every message)");
    retry->add_option("ID", queue_id, "queue id");
    retry->add_flag("--all", all, "Every queued message");
    retry->callback([&] {
        if (all == !queue_id.empty()) {
            std::cerr << "ternd: queue retry: give either ID or --all\n";
            rc = 2;
            return;
        }
        rc = admin::queue_change(data, tern::queue::QueueOp::Retry,
                                 all ? std::nullopt : std::optional<std::string>(queue_id));
    });
    for (auto [op, help] : {std::pair{tern::queue::QueueOp::Hold, "Put a message on hold: never tried until released"},
                            std::pair{tern::queue::QueueOp::Release, "Release a held message: tried now"},
                            std::pair{tern::queue::QueueOp::Delete, "Delete a message from the queue, without a bounce"}})
        queue->add_subcommand(std::string(tern::queue::op_name(op)), help)
            ->callback([&, op] { rc = admin::queue_change(data, op, queue_id); })
            ->add_option("ID", queue_id, "queue id")->required();

    auto* config = app.add_subcommand("config", "Configuration")->require_subcommand(1);
    config->add_subcommand("reference", "Print every configuration key as Markdown")->callback([&] {
        std::cout << tern::config::reference();
    });

    // Admin commands act as the data directory's owner, so the server can still open what they write.
    app.parse_complete_callback([&] {
        if (serve->parsed() || setup->parsed() || config->parsed()) return;
        if (!file.empty()) file = std::filesystem::absolute(file).string();  // before any chdir
        auto switched = tern::server::become_data_owner(data);
        if (!switched) {
            std::cerr << "ternd: " << switched.error().message << "\n";
            std::exit(1);
        }
        if (*switched) data = ".";
    });
    CLI11_PARSE(app, argc, argv);
    return rc;
}
