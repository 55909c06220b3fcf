// Fuzz target: arbitrary client bytes into a logged-in IMAP session over an in-memory store with
// a few messages (folders, literals, IDLE, FETCH streaming, SEARCH, STORE, COPY/MOVE, APPEND). Every
// advance() must return; no crash, no hang; each output is complete lines (CRLF-terminated).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "session/imap/session.hpp"
#include "store/store.hpp"

namespace {

class Host : public tern::imap::ImapHost {
public:
    std::string canonical_account(std::string_view user) override { return std::string(user); }
};

std::unique_ptr<tern::store::MailStore> make_store() {
    auto s = tern::store::make_memory_store();
    (void)s->create_account("a@x");
    std::vector<tern::store::NewMessage> batch;
    const char* msgs[] = {
        "Subject: one\r\nFrom: A <a@x>\r\n\r\nbody one\r\n",
        ("Subject: =?utf-8?q?two?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\np1\r\n--b\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"),
        "Subject: three\r\n\r\nthree\r\n",
    };
    for (const char* m : msgs) {
        tern::store::NewMessage n;
        n.account = "a@x";
        n.data = m;
        n.internal_date = 1796637600;
        batch.push_back(std::move(n));
    }
    (void)s->append(batch);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto store = make_store();  // fresh per input: runs must not depend on each other
    static Host host;
    tern::imap::SessionConfig cfg;
    cfg.allow_plaintext_auth = true;
    tern::imap::Session s(cfg, *store, host, "F");
    auto run = [&](std::string_view in) {
        s.receive(in);
        for (int i = 0; i < 100000; ++i) {
            auto a = s.advance();
            if (!a.output.empty() && a.output.back() != '\n') {
                // A literal's octets may end an output chunk mid-line only while FETCH streams.
                if (a.next != tern::imap::Session::Next::Continue) std::abort();
            }
            switch (a.next) {
                case tern::imap::Session::Next::VerifyPassword:
                    (void)s.take_password_check();
                    s.password_checked(true);
                    continue;
                case tern::imap::Session::Next::LookupScram:
                    s.scram_credentials(std::nullopt);
                    continue;
                case tern::imap::Session::Next::StartTls:
                    s.tls_started();
                    continue;
                case tern::imap::Session::Next::Continue:
                    continue;
                default:
                    return;
            }
        }
        std::abort();  // never waited for input: a loop
    };
    run("L LOGIN a@x p\r\nS SELECT INBOX\r\n");
    // The input in two pieces, cut by its first byte, so split points are explored too.
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t cut = size ? static_cast<unsigned char>(in[0]) % (size + 1) : 0;
    run(in.substr(0, cut));
    run(in.substr(cut));
    return 0;
}
