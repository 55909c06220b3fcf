// `tern account add|list|remove`: the accounts in $XDG_CONFIG_HOME/tern/accounts.toml. The
// password comes from stdin (no echo on a terminal) or a --password-command, never from argv.
#include <iostream>

#include "cli.hpp"
#include "mua/json.hpp"
#include "mua/probe.hpp"

namespace tern::cli {

namespace {

struct AddArgs {
    std::string name, address, display_name, login, imap, pop3, smtp, tls, password_command, ca, fingerprint, host;
    bool apop = false, allow_plaintext = false;
};

void add(Context& ctx, const AddArgs& a) {
    if (!mua::valid_account_name(a.name)) return error(ctx, "an account name is 1-64 letters, digits, '.', '-' or '_'");
    auto at = a.address.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == a.address.size())
        return error(ctx, "--address must be a mail address (user@domain)");
    auto all = mua::load_accounts(ctx.paths.config_dir);
    if (!all) return error(ctx, all.error().message);
    for (auto& x : *all)
        if (x.name == a.name) return error(ctx, "there is already an account named " + a.name);

    mua::Account acc;
    acc.name = a.name;
    acc.address = a.address;
    acc.display_name = a.display_name;
    acc.login = a.login;
    acc.password_command = a.password_command;
    acc.ca_file = a.ca;
    acc.fingerprint = a.fingerprint.empty() ? "" : mua::normalize_fingerprint(a.fingerprint);
    acc.apop = a.apop;
    acc.allow_plaintext = a.allow_plaintext;
    mua::Tls tls = mua::Tls::Implicit;
    if (!a.tls.empty()) {
        auto t = mua::parse_tls(a.tls);
        if (!t) return error(ctx, "--tls is implicit, starttls or none");
        tls = *t;
    }
    if (tls == mua::Tls::None && !a.allow_plaintext)
        std::cerr << "tern: note: with --tls none the password is refused unless --allow-plaintext is given\n";
    auto endpoint = [&](const std::string& text, std::optional<mua::Endpoint>& out, std::uint16_t implicit,
                        std::uint16_t plain) -> bool {
        if (text.empty()) return true;
        auto e = mua::parse_endpoint(text, tls);
        if (!e) {
            error(ctx, e.error().message);
            return false;
        }
        if (e->port == 0) e->port = tls == mua::Tls::Implicit ? implicit : plain;
        out = *e;
        return true;
    };
    if (!endpoint(a.imap, acc.imap, 993, 143) || !endpoint(a.pop3, acc.pop3, 995, 110) ||
        !endpoint(a.smtp, acc.smtp, 465, 587))
        return;
    if (a.imap.empty() && a.pop3.empty() && a.smtp.empty()) {
        // Only the address: try the usual names and ports, and say what was found.
        std::string domain = a.address.substr(at + 1);
        std::cerr << "tern: looking for the servers of " << domain << " ...\n";
        auto found = mua::probe_servers(domain, a.host, mua::TlsTrust{acc.ca_file, acc.fingerprint});
        acc.imap = found.imap;
        acc.pop3 = found.pop3;
        acc.smtp = found.smtp;
        if (!acc.imap && !acc.pop3 && !acc.smtp) {
            for (auto& t : found.tried) std::cerr << "  " << t << "\n";
            return error(ctx, "no IMAP, POP3 or SMTP server answered; give --imap/--pop3/--smtp HOST:PORT");
        }
    }
    if (acc.password_command.empty()) acc.password = read_secret("Password for " + acc.address + ": ");
    all->push_back(acc);
    if (auto r = mua::save_accounts(ctx.paths.config_dir, *all); !r) return error(ctx, r.error().message);
    std::cout << "account " << acc.name << " (" << acc.address << ") added\n";
    if (acc.imap) std::cout << "  IMAP  " << mua::endpoint_text(*acc.imap) << "\n";
    if (acc.pop3) std::cout << "  POP3  " << mua::endpoint_text(*acc.pop3) << "\n";
    if (acc.smtp) std::cout << "  SMTP  " << mua::endpoint_text(*acc.smtp) << "\n";
}

void list(Context& ctx) {
    auto all = mua::load_accounts(ctx.paths.config_dir);
    if (!all) return error(ctx, all.error().message);
    if (ctx.json) {
        mua::JsonWriter j;
        j.begin_array();
        for (auto& a : *all) {
            j.begin_object().key("name").value(a.name).key("address").value(a.address);
            for (auto [proto, ep] : {std::pair{"imap", &a.imap}, {"pop3", &a.pop3}, {"smtp", &a.smtp}}) {
                if (!*ep) continue;
                j.key(proto).begin_object().key("host").value((*ep)->host).key("port").value(int{(*ep)->port});
                j.key("tls").value(mua::tls_name((*ep)->tls)).end_object();
            }
            j.end_object();
        }
        j.end_array();
        std::cout << j.str() << "\n";
        return;
    }
    bool first = true;
    for (auto& a : *all) {
        std::cout << a.name << "  " << a.address << (first ? "  (default)" : "") << "\n";
        if (a.imap) std::cout << "  IMAP  " << mua::endpoint_text(*a.imap) << "\n";
        if (a.pop3) std::cout << "  POP3  " << mua::endpoint_text(*a.pop3) << "\n";
        if (a.smtp) std::cout << "  SMTP  " << mua::endpoint_text(*a.smtp) << "\n";
        first = false;
    }
}

void remove(Context& ctx, const std::string& name) {
    auto all = mua::load_accounts(ctx.paths.config_dir);
    if (!all) return error(ctx, all.error().message);
    auto before = all->size();
    std::erase_if(*all, [&](const mua::Account& a) { return a.name == name; });
    if (all->size() == before) return error(ctx, "no account named " + name);
    if (auto r = mua::save_accounts(ctx.paths.config_dir, *all); !r) return error(ctx, r.error().message);
    std::cout << "account " << name << " removed (its cache in " << (ctx.paths.data_dir / name).string()
              << " was left in place)\n";
}

}  // namespace

void add_account_commands(CLI::App& app, Context& ctx) {
    auto* account = app.add_subcommand("account", "add, list or remove accounts");
    account->require_subcommand(1);

    auto args = std::make_shared<AddArgs>();
    auto* a = account->add_subcommand("add", "add an account (the password is read from stdin)");
    a->add_option("name", args->name, "a short name for the account")->required();
    a->add_option("--address", args->address, "your mail address")->required();
    a->add_option("--name", args->display_name, "your name, for From:");
    a->add_option("--login", args->login, "user name on the servers (default: the address)");
    a->add_option("--imap", args->imap, "IMAP server HOST[:PORT]");
    a->add_option("--pop3", args->pop3, "POP3 server HOST[:PORT]");
    a->add_option("--smtp", args->smtp, "SMTP submission server HOST[:PORT]");
    a->add_option("--tls", args->tls, "implicit (default), starttls or none");
    a->add_option("--password-command", args->password_command, "a command printing the password (like msmtp's passwordeval)");
    a->add_option("--ca", args->ca, "trust this CA certificate file (PEM)");
    a->add_option("--fingerprint", args->fingerprint, "trust exactly the certificate with this SHA-256 fingerprint");
    a->add_option("--host", args->host, "with only --address: try this host instead of the address's domain");
    a->add_flag("--apop", args->apop, "POP3: log in with APOP when the server offers it");
    a->add_flag("--allow-plaintext", args->allow_plaintext, "allow the password without TLS (--tls none)");
    a->callback([&ctx, args] { add(ctx, *args); });

    account->add_subcommand("list", "list the accounts")->callback([&ctx] { list(ctx); });

    auto name = std::make_shared<std::string>();
    auto* r = account->add_subcommand("remove", "remove an account");
    r->add_option("name", *name)->required();
    r->callback([&ctx, name] { remove(ctx, *name); });
}

}  // namespace tern::cli
