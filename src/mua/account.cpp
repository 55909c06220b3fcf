// Accounts file for the mail client (see account.hpp). Must never leave a half-written file (temp +
// fsync + rename) and never create it with a mode other than 0600.
#include "mua/account.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "mua/paths.hpp"

namespace tern::mua {

namespace {

std::uint16_t default_port(std::string_view proto, Tls tls) {
    // RFC 8314 §7 (implicit TLS ports), RFC 6409 (submission 587), RFC 1939 (110), RFC 9051 (143).
    if (proto == "imap") return tls == Tls::Implicit ? 993 : 143;
    if (proto == "pop3") return tls == Tls::Implicit ? 995 : 110;
    return tls == Tls::Implicit ? 465 : 587;
}

std::optional<Endpoint> read_endpoint(const toml::table& t, std::string_view proto) {
    auto* e = t[proto].as_table();
    if (e == nullptr) return std::nullopt;
    Endpoint out;
    out.host = (*e)["host"].value_or(std::string{});
    out.tls = parse_tls((*e)["tls"].value_or(std::string{"implicit"})).value_or(Tls::Implicit);
    auto port = (*e)["port"].value_or(std::int64_t{0});
    out.port = port > 0 && port < 65536 ? static_cast<std::uint16_t>(port) : default_port(proto, out.tls);
    if (out.host.empty()) return std::nullopt;
    return out;
}

toml::table endpoint_table(const Endpoint& e) {
    return toml::table{{"host", e.host}, {"port", static_cast<std::int64_t>(e.port)},
                       {"tls", std::string(tls_name(e.tls))}};
}

}  // namespace

std::string_view tls_name(Tls t) {
    switch (t) {
        case Tls::Implicit: return "implicit";
        case Tls::StartTls: return "starttls";
        case Tls::None: return "none";
    }
    return "implicit";
}

std::optional<Tls> parse_tls(std::string_view s) {
    if (s == "implicit") return Tls::Implicit;
    if (s == "starttls") return Tls::StartTls;
    if (s == "none") return Tls::None;
    return std::nullopt;
}

Result<Endpoint> parse_endpoint(std::string_view text, Tls tls) {
    Endpoint e;
    e.tls = tls;
    std::string_view host = text, port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos) return fail("bad address (no ']'): " + std::string(text));
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') return fail("bad address: " + std::string(text));
            port = text.substr(close + 2);
        }
    } else if (auto colon = text.rfind(':'); colon != std::string_view::npos && text.find(':') == colon) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) return fail("no host in " + std::string(text));
    e.host = host;
    if (!port.empty()) {
        unsigned long n = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return fail("bad port in " + std::string(text));
            n = n * 10 + static_cast<unsigned>(c - '0');
            if (n > 65535) return fail("bad port in " + std::string(text));
        }
        if (n == 0) return fail("bad port in " + std::string(text));
        e.port = static_cast<std::uint16_t>(n);
    }
    return e;
}

std::string endpoint_text(const Endpoint& e) {
    std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    return host + ":" + std::to_string(e.port) + " (" + std::string(tls_name(e.tls)) + ")";
}

bool valid_account_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '.') return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

Result<std::vector<Account>> load_accounts(const std::filesystem::path& config_dir) {
    auto file = config_dir / "accounts.toml";
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::vector<Account>{};
    toml::table root;
    try {
        root = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        return fail(file.string() + ": " + std::string(e.description()));
    }
    std::vector<Account> out;
    auto* list = root["account"].as_array();
    if (list == nullptr) return out;
    for (auto& node : *list) {
        auto* t = node.as_table();
        if (t == nullptr) continue;
        Account a;
        a.name = (*t)["name"].value_or(std::string{});
        if (!valid_account_name(a.name)) return fail(file.string() + ": bad account name '" + a.name + "'");
        a.address = (*t)["address"].value_or(std::string{});
        a.display_name = (*t)["display_name"].value_or(std::string{});
        a.login = (*t)["login"].value_or(std::string{});
        a.password = (*t)["password"].value_or(std::string{});
        a.password_command = (*t)["password_command"].value_or(std::string{});
        a.ca_file = (*t)["ca_file"].value_or(std::string{});
        a.fingerprint = (*t)["fingerprint"].value_or(std::string{});
        a.apop = (*t)["apop"].value_or(false);
        a.allow_plaintext = (*t)["allow_plaintext"].value_or(false);
        a.imap = read_endpoint(*t, "imap");
        a.pop3 = read_endpoint(*t, "pop3");
        a.smtp = read_endpoint(*t, "smtp");
        out.push_back(std::move(a));
    }
    return out;
}

Result<void> save_accounts(const std::filesystem::path& config_dir, const std::vector<Account>& accounts) {
    if (auto r = make_private_dir(config_dir); !r) return r;
    toml::array list;
    for (auto& a : accounts) {
        toml::table t{{"name", a.name}, {"address", a.address}};
        if (!a.display_name.empty()) t.insert("display_name", a.display_name);
        if (!a.login.empty()) t.insert("login", a.login);
        if (!a.password.empty()) t.insert("password", a.password);
        if (!a.password_command.empty()) t.insert("password_command", a.password_command);
        if (!a.ca_file.empty()) t.insert("ca_file", a.ca_file);
        if (!a.fingerprint.empty()) t.insert("fingerprint", a.fingerprint);
        if (a.apop) t.insert("apop", true);
        if (a.allow_plaintext) t.insert("allow_plaintext", true);
        if (a.imap) t.insert("imap", endpoint_table(*a.imap));
        if (a.pop3) t.insert("pop3", endpoint_table(*a.pop3));
        if (a.smtp) t.insert("smtp", endpoint_table(*a.smtp));
        list.push_back(std::move(t));
    }
    std::ostringstream text;
    text << "# tern accounts (written by `tern account`; mode 0600: it may hold passwords)\n";
    text << toml::table{{"account", std::move(list)}} << "\n";
    std::string bytes = text.str();

    auto file = config_dir / "accounts.toml";
    auto tmp = config_dir / "accounts.toml.tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot write " + tmp.string() + ": " + std::strerror(errno), errno);
    ::fchmod(fd, 0600);
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            ::close(fd);
            return fail("cannot write " + tmp.string() + ": " + std::strerror(e), e);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) return fail("cannot write " + tmp.string() + ": " + std::strerror(errno), errno);
    if (::rename(tmp.c_str(), file.c_str()) != 0)
        return fail("cannot replace " + file.string() + ": " + std::strerror(errno), errno);
    return {};
}

Result<Account> find_account(const std::filesystem::path& config_dir, std::string_view name) {
    auto all = load_accounts(config_dir);
    if (!all) return std::unexpected(all.error());
    if (all->empty()) return fail("no account yet: add one with `tern account add NAME --address ADDRESS ...`");
    if (name.empty()) return all->front();
    for (auto& a : *all)
        if (a.name == name) return a;
    return fail("no account named '" + std::string(name) + "' (see `tern account list`)");
}

Result<std::string> account_password(const Account& a) {
    if (!a.password.empty() || a.password_command.empty()) return a.password;
    // Like msmtp's passwordeval: the command's standard output, first line.
    std::FILE* p = ::popen(a.password_command.c_str(), "r");
    if (p == nullptr) return fail("cannot run the password command: " + std::string(std::strerror(errno)), errno);
    std::string out;
    char buf[512];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) {
        out.append(buf, n);
        if (out.size() > 64 * 1024) break;
    }
    int status = ::pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("the password command failed (" + a.password_command + ")");
    if (auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return out;
}

}  // namespace tern::mua
