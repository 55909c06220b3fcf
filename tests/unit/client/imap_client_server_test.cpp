// End to end in memory: the IMAP client session wired directly to Tern's IMAP server session
// (src/session/imap over the memory store of tests/unit/session/imap_transcript.hpp). Login by
// SCRAM-SHA-256, LOGIN and after STARTTLS; LIST with special-use; SELECT (CONDSTORE); UID FETCH of
// bodies in chunks; STORE with UNCHANGEDSINCE; COPY, MOVE (real and emulated), APPEND (synchronizing
// and LITERAL+), UID EXPUNGE; a QRESYNC select after changes reporting VANISHED and changed flags.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "../session/imap_transcript.hpp"
#include "client/imap/session.hpp"
#include "proto/sasl/sasl.hpp"

namespace tern::client::imap {
namespace {

namespace server = ::tern::imap::testing;

// The server side: a tern::imap::Session with password checks, SCRAM lookups and TLS answered inline.
struct Server {
    Server(::tern::imap::SessionConfig cfg, store::MailStore& st) : session(cfg, st, host, "W1") {}
    std::string send(std::string_view bytes) {
        session.receive(bytes);
        std::string out;
        for (int guard = 0; guard < 100000; ++guard) {
            auto a = session.advance();
            out += a.output;
            using N = ::tern::imap::Session::Next;
            switch (a.next) {
                case N::VerifyPassword: {
                    auto c = session.take_password_check();
                    session.password_checked(c.user == "alice@example.org" && c.password == "secret");
                    continue;
                }
                case N::LookupScram: {
                    auto it = scram.find(session.scram_user());
                    session.scram_credentials(it == scram.end() ? std::nullopt : std::optional(it->second));
                    continue;
                }
                case N::StartTls:
                    ++tls_handshakes;
                    session.tls_started();
                    continue;
                case N::Continue:
                case N::StartCompress: continue;
                case N::Read:
                case N::Idle: return out;
                case N::Close:
                    closed = true;
                    return out;
            }
        }
        ADD_FAILURE() << "server never settled";
        return out;
    }
    server::FakeHost host;
    ::tern::imap::Session session;
    std::map<std::string, sasl::ScramCredentials> scram;
    int tls_handshakes = 0;
    bool closed = false;
};

struct Wire {
    explicit Wire(Options options, ::tern::imap::SessionConfig cfg = server::plaintext_config(),
                  store::MailStore* shared = nullptr)
        : own(shared ? nullptr : server::make_store()),
          st(shared ? *shared : *own),
          srv(cfg, st),
          client(std::move(options), [this](const Chunk& c) {
              if (c.last) {
                  ++lasts[c.id];
                  bodies_by_uid[c.uid] = std::move(partial[{c.id, c.seq}]);
                  partial.erase({c.id, c.seq});
                  return;
              }
              EXPECT_EQ(c.offset, (partial[{c.id, c.seq}].size()));
              partial[{c.id, c.seq}].append(c.data);
              max_chunk = std::max(max_chunk, c.data.size());
              ++chunks;
          }) {
        client.receive(srv.session.greeting());
    }

    Session::Next run() {
        for (int guard = 0; guard < 100000; ++guard) {
            auto a = client.advance();
            std::string reply;
            if (!a.output.empty()) {
                wrote += a.output;
                reply = srv.send(a.output);
            }
            if (a.next == Session::Next::StartTls) client.tls_started();
            if (a.next == Session::Next::Close) return a.next;
            if (a.next == Session::Next::Write) ++writes;
            if (!reply.empty()) {
                client.receive(reply);
                continue;
            }
            if (a.next == Session::Next::StartTls || a.next == Session::Next::Write) continue;
            return a.next;
        }
        ADD_FAILURE() << "never settled";
        return Session::Next::Close;
    }
    Outcome one() {
        auto o = client.take_outcomes();
        EXPECT_EQ(o.size(), 1u);
        return o.empty() ? Outcome{} : o[0];
    }

    std::unique_ptr<store::MailStore> own;
    store::MailStore& st;
    Server srv;
    Session client;
    std::string wrote;
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::string> partial;
    std::map<std::uint32_t, std::string> bodies_by_uid;
    std::map<std::uint64_t, int> lasts;
    std::size_t max_chunk = 0, chunks = 0;
    int writes = 0;
};

Options alice() {
    Options o;
    o.user = "alice@example.org";
    o.password = "secret";
    return o;
}

Options alice_login() {
    Options o = alice();
    o.method = LoginMethod::Login;
    o.allow_plaintext_password = true;
    return o;
}

SelectOptions condstore() {
    SelectOptions o;
    o.condstore = true;
    return o;
}
SelectOptions qresync(Qresync q) {
    SelectOptions o;
    o.qresync = q;
    return o;
}
StoreOptions op(StoreMode mode, std::vector<std::string> flags, bool silent = false,
                std::optional<std::uint64_t> unchanged = std::nullopt) {
    StoreOptions o;
    o.mode = mode;
    o.flags = std::move(flags);
    o.silent = silent;
    o.unchanged_since = unchanged;
    return o;
}

bool contains(const SequenceSet& s, std::uint32_t uid) { return s.contains(uid, 0xffffffffu); }

TEST(ImapClientServer, ScramLoginListSelectFetch) {
    Wire w(alice());
    ASSERT_TRUE(w.st.create_mailbox("alice@example.org", "Entwürfe", store::SpecialUse::None));
    w.srv.scram["alice@example.org"] = *sasl::derive_scram("secret", "0123456789abcdef", 4096);
    ASSERT_EQ(w.run(), Session::Next::Idle) << w.wrote;
    EXPECT_TRUE(w.client.authenticated());
    EXPECT_EQ(w.client.login_method(), LoginMethod::Scram);
    EXPECT_EQ(w.wrote.find("secret"), std::string::npos);
    EXPECT_TRUE(w.client.enabled("CONDSTORE"));
    EXPECT_TRUE(w.client.enabled("QRESYNC"));
    EXPECT_TRUE(w.client.capabilities().has("MOVE"));  // the post-login list

    w.client.list("", "*");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto l = w.one();
    ASSERT_TRUE(l.ok) << l.text;
    EXPECT_NE(w.wrote.find("LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n"), std::string::npos);
    std::map<std::string, ListEntry> boxes;
    for (auto& e : l.list) boxes[e.name] = e;
    ASSERT_TRUE(boxes.count("INBOX"));
    ASSERT_TRUE(boxes.count("Sent"));
    EXPECT_TRUE(boxes["Drafts"].has_attribute("\\Drafts"));
    EXPECT_TRUE(boxes["Sent"].has_attribute("\\Sent"));
    ASSERT_TRUE(boxes.count("Entwürfe")) << "modified UTF-7 decoded";
    EXPECT_EQ(boxes["Entwürfe"].raw_name, "Entw&APw-rfe");

    w.client.status("Entwürfe");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto st = w.one();
    ASSERT_TRUE(st.ok) << st.text;
    EXPECT_NE(w.wrote.find("STATUS Entw&APw-rfe ("), std::string::npos);
    ASSERT_TRUE(st.mailbox_status);
    EXPECT_EQ(st.mailbox_status->messages, 0u);

    w.client.select("INBOX", condstore());
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto sel = w.one();
    ASSERT_TRUE(sel.ok) << sel.text;
    ASSERT_TRUE(sel.mailbox);
    EXPECT_EQ(sel.mailbox->exists, 3u);
    EXPECT_EQ(sel.mailbox->uidnext, 4u);
    EXPECT_TRUE(sel.mailbox->uidvalidity);
    EXPECT_TRUE(sel.mailbox->highestmodseq);
    EXPECT_FALSE(sel.mailbox->read_only);
    EXPECT_FALSE(sel.mailbox->flags.empty());
    EXPECT_EQ(w.client.selected(), "INBOX");

    const auto id = w.client.fetch("1:*", "(UID FLAGS MODSEQ RFC822.SIZE INTERNALDATE ENVELOPE BODY.PEEK[])");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto f = w.one();
    ASSERT_TRUE(f.ok) << f.text;
    ASSERT_EQ(f.fetched.size(), 3u);
    EXPECT_EQ(w.lasts[id], 3);
    const char* msgs[] = {server::kMessage1, server::kMessage2, server::kMessage3};
    for (const auto& fd : f.fetched) {
        ASSERT_TRUE(fd.uid);
        EXPECT_EQ(w.bodies_by_uid[*fd.uid], msgs[*fd.uid - 1]);
        EXPECT_EQ(fd.size, std::string(msgs[*fd.uid - 1]).size());
        EXPECT_TRUE(fd.modseq);
        EXPECT_TRUE(fd.envelope);
        EXPECT_TRUE(fd.internal_date);
        ASSERT_EQ(fd.bodies.size(), 1u);
        EXPECT_EQ(fd.bodies[0].section, "BODY[]");
    }
    w.client.logout();
    EXPECT_EQ(w.run(), Session::Next::Close);
    EXPECT_EQ(w.client.end(), ConnectionEnd::Logout);
}

TEST(ImapClientServer, LargeBodyInManyChunks) {
    Options o = alice_login();
    o.limits.chunk_size = 4096;
    Wire w(o);
    std::string big = "Subject: big\r\n\r\n";
    for (int i = 0; big.size() < (700u << 10); ++i) big += std::string(i % 997, 'x') + "\r\n";
    store::NewMessage n;
    n.account = "alice@example.org";
    n.data = big;
    ASSERT_TRUE(w.st.append(std::span<const store::NewMessage>(&n, 1)));
    ASSERT_EQ(w.run(), Session::Next::Idle);
    EXPECT_EQ(w.client.login_method(), LoginMethod::Login);
    w.client.select("INBOX");
    w.client.fetch("4", "(BODY.PEEK[])");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto out = w.client.take_outcomes();
    ASSERT_EQ(out.size(), 2u);
    ASSERT_TRUE(out[1].ok) << out[1].text;
    EXPECT_EQ(out[1].octets, big.size());
    EXPECT_EQ(w.bodies_by_uid[4], big);
    EXPECT_LE(w.max_chunk, 4096u);
    EXPECT_GT(w.chunks, big.size() / 4096);
}

TEST(ImapClientServer, StoreCopyMoveAppendExpunge) {
    Wire w(alice_login());
    w.client.select("INBOX", condstore());
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto sel = w.one();
    ASSERT_TRUE(sel.ok);
    const auto modseq = *sel.mailbox->highestmodseq;

    // Pipelined: two STOREs and a SEARCH in flight together.
    w.client.store("1", op(StoreMode::Add, {"\\Seen"}, false));
    w.client.store("2", op(StoreMode::Add, {"$Work"}, true));
    w.client.search("SEEN");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    EXPECT_NE(w.wrote.find("UID STORE 1 +FLAGS (\\Seen)\r\nA"), std::string::npos) << w.wrote;
    auto three = w.client.take_outcomes();
    ASSERT_EQ(three.size(), 3u);
    for (auto& o : three) EXPECT_TRUE(o.ok) << o.text;
    ASSERT_EQ(three[0].fetched.size(), 1u);
    EXPECT_EQ(three[0].fetched[0].uid, 1u);
    ASSERT_TRUE(three[0].fetched[0].flags);
    EXPECT_EQ(three[2].uids, std::vector<std::uint32_t>{1});

    // UNCHANGEDSINCE an older modseq: message 1 changed since, so MODIFIED names it.
    w.client.store("1", StoreOptions{.mode = StoreMode::Remove, .flags = {"\\Seen"}, .unchanged_since = modseq});
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto mod = w.one();
    ASSERT_TRUE(mod.modified) << mod.text;
    EXPECT_TRUE(contains(*mod.modified, 1));

    w.client.copy("1", "Archive");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto cp = w.one();
    ASSERT_TRUE(cp.ok) << cp.text;
    ASSERT_TRUE(cp.copyuid);
    EXPECT_TRUE(contains(cp.copyuid->set, 1));

    w.client.move("2", "Archive");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto mv = w.one();
    ASSERT_TRUE(mv.ok) << mv.text;
    EXPECT_FALSE(mv.move_emulated);
    EXPECT_TRUE(mv.move_expunged);
    ASSERT_TRUE(mv.copyuid);
    auto ups = w.client.take_updates();
    bool vanished2 = false;
    for (auto& u : ups) vanished2 |= u.kind == Update::Kind::Vanished && contains(u.uids, 2);
    EXPECT_TRUE(vanished2) << "QRESYNC is on: the move's expunge comes as VANISHED";

    // APPEND: LITERAL+ after login, so no "+" wait; the body goes in write_chunk pieces.
    std::string msg = "Subject: appended\r\n\r\n" + std::string(200000, 'a') + "\r\n";
    w.client.append("Archive", base::bytes_from_string(msg), AppendOptions{{"\\Seen"}, "07-Dec-2026 10:00:00 +0000"});
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto ap = w.one();
    ASSERT_TRUE(ap.ok) << ap.text;
    ASSERT_TRUE(ap.appenduid);
    EXPECT_EQ(ap.octets, msg.size());
    EXPECT_GE(w.writes, 3);
    auto archive = w.st.list_messages("alice@example.org", "Archive");
    ASSERT_TRUE(archive);
    ASSERT_EQ(archive->size(), 3u);
    EXPECT_EQ(*w.st.read_message("alice@example.org", "Archive", archive->back().uid), msg);

    w.client.store("3", op(StoreMode::Add, {"\\Deleted"}, true));
    w.client.uid_expunge("3");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    for (auto& o : w.client.take_outcomes()) EXPECT_TRUE(o.ok) << o.text;
    auto inbox = w.st.list_messages("alice@example.org", "INBOX");
    ASSERT_TRUE(inbox);
    ASSERT_EQ(inbox->size(), 1u);  // 2 moved, 3 expunged
    EXPECT_EQ(inbox->front().uid, 1u);
}

TEST(ImapClientServer, MailboxCommands) {
    Wire w(alice_login());
    w.client.create("Projects/2026");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    EXPECT_TRUE(w.one().ok);
    w.client.rename("Projects/2026", "Projects/Done");
    w.client.subscribe("Projects/Done");
    w.client.remove("Projects/Done");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    for (auto& o : w.client.take_outcomes()) EXPECT_TRUE(o.ok) << o.text;
}

TEST(ImapClientServer, QresyncSelectAfterChanges) {
    auto shared = server::make_store();
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    {
        Wire w(alice_login(), server::plaintext_config(), shared.get());
        w.client.select("INBOX", condstore());
        ASSERT_EQ(w.run(), Session::Next::Idle);
        auto s = w.one();
        ASSERT_TRUE(s.ok);
        uidvalidity = *s.mailbox->uidvalidity;
        modseq = *s.mailbox->highestmodseq;
    }
    {
        Wire w(alice_login(), server::plaintext_config(), shared.get());
        w.client.select("INBOX");
        w.client.store("1", op(StoreMode::Add, {"\\Flagged"}, false));
        w.client.store("3", op(StoreMode::Add, {"\\Deleted"}, false));
        w.client.expunge();
        ASSERT_EQ(w.run(), Session::Next::Idle);
        for (auto& o : w.client.take_outcomes()) EXPECT_TRUE(o.ok) << o.text;
    }
    Wire w(alice_login(), server::plaintext_config(), shared.get());
    w.client.select("INBOX", qresync(Qresync{uidvalidity, modseq, "1:3"}));
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto s = w.one();
    ASSERT_TRUE(s.ok) << s.text;
    EXPECT_NE(w.wrote.find("(QRESYNC (" + std::to_string(uidvalidity) + " " + std::to_string(modseq) + " 1:3))"),
              std::string::npos);
    ASSERT_EQ(s.mailbox->vanished.size(), 1u);
    EXPECT_TRUE(contains(s.mailbox->vanished[0], 3));
    EXPECT_FALSE(contains(s.mailbox->vanished[0], 1));
    ASSERT_EQ(s.mailbox->changed.size(), 1u);
    EXPECT_EQ(s.mailbox->changed[0].uid, 1u);
    ASSERT_TRUE(s.mailbox->changed[0].flags);
    EXPECT_NE(std::find(s.mailbox->changed[0].flags->begin(), s.mailbox->changed[0].flags->end(), "\\Flagged"),
              s.mailbox->changed[0].flags->end());

    // The same question by UID FETCH (CHANGEDSINCE ... VANISHED).
    // "1:3", not "1:*": "*" is the highest UID left (2), and 3 is not in 1:2.
    w.client.fetch("1:3", "(UID FLAGS)", FetchOptions{.changed_since = modseq, .vanished = true});
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto f = w.one();
    ASSERT_TRUE(f.ok) << f.text;
    ASSERT_EQ(f.vanished.size(), 1u);
    EXPECT_TRUE(contains(f.vanished[0], 3));
    ASSERT_EQ(f.fetched.size(), 1u);
}

TEST(ImapClientServer, StartTlsThenPlain) {
    Options o = alice();
    o.method = LoginMethod::Plain;
    Wire w(o, server::tls_config());
    ASSERT_EQ(w.run(), Session::Next::Idle) << w.wrote;
    EXPECT_EQ(w.srv.tls_handshakes, 1);
    EXPECT_TRUE(w.client.tls_active());
    EXPECT_LT(w.wrote.find("STARTTLS\r\n"), w.wrote.find("AUTHENTICATE PLAIN"));
    // RFC 9051 §6.2.1: the capabilities were asked for again after the handshake.
    EXPECT_LT(w.wrote.find("STARTTLS\r\n"), w.wrote.rfind("CAPABILITY\r\n"));
}

TEST(ImapClientServer, NoPasswordWithoutTls) {
    Options no_tls = alice();
    no_tls.tls_possible = false;
    Wire w2(no_tls, server::tls_config());  // LOGINDISABLED, no SCRAM creds known: SCRAM is tried
    EXPECT_EQ(w2.run(), Session::Next::Close);
    EXPECT_EQ(w2.client.end(), ConnectionEnd::AuthFailed);
    EXPECT_EQ(w2.wrote.find("secret"), std::string::npos);
    Options login_only = alice();
    login_only.tls_possible = false;
    login_only.method = LoginMethod::Login;
    Wire w3(login_only, server::tls_config());
    EXPECT_EQ(w3.run(), Session::Next::Close);
    EXPECT_EQ(w3.client.end(), ConnectionEnd::AuthFailed);
    EXPECT_EQ(w3.wrote.find("secret"), std::string::npos);
    EXPECT_EQ(w3.wrote.find("LOGIN alice"), std::string::npos);
}

TEST(ImapClientServer, WrongPasswordFails) {
    Options o = alice_login();
    o.password = "wrong";
    Wire w(o);
    w.client.noop();
    EXPECT_EQ(w.run(), Session::Next::Close);
    EXPECT_EQ(w.client.end(), ConnectionEnd::AuthFailed);
    auto out = w.client.take_outcomes();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].ok);
    EXPECT_FALSE(out[0].from_server);
}

TEST(ImapClientServer, MoveEmulatedWithoutMoveCapability) {
    // The server offers MOVE; a client told otherwise must still do COPY + STORE + UID EXPUNGE.
    Wire w(alice_login());
    ASSERT_EQ(w.run(), Session::Next::Idle);
    w.client.select("INBOX");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    w.client.take_outcomes();
    // Pretend the server had no MOVE by dropping it from what the client knows.
    auto& caps = const_cast<Capabilities&>(w.client.capabilities());
    caps.list.erase(std::remove(caps.list.begin(), caps.list.end(), "MOVE"), caps.list.end());
    w.client.move("1:2", "Trash");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    auto mv = w.one();
    EXPECT_TRUE(mv.ok) << mv.text;
    EXPECT_TRUE(mv.move_emulated);
    EXPECT_TRUE(mv.move_expunged);
    ASSERT_TRUE(mv.copyuid);
    EXPECT_NE(w.wrote.find("UID COPY 1:2 Trash\r\n"), std::string::npos);
    EXPECT_NE(w.wrote.find("UID STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n"), std::string::npos);
    EXPECT_NE(w.wrote.find("UID EXPUNGE 1:2\r\n"), std::string::npos);
    EXPECT_EQ(w.st.list_messages("alice@example.org", "INBOX")->size(), 1u);
    EXPECT_EQ(w.st.list_messages("alice@example.org", "Trash")->size(), 2u);
}

TEST(ImapClientServer, IdleReportsNewMail) {
    Wire w(alice_login());
    w.client.select("INBOX");
    ASSERT_EQ(w.run(), Session::Next::Idle);
    w.client.take_outcomes();
    const auto id = w.client.idle();
    EXPECT_EQ(w.run(), Session::Next::Read);
    ASSERT_TRUE(w.client.idling());
    store::NewMessage n;
    n.account = "alice@example.org";
    n.data = "Subject: new\r\n\r\nhi\r\n";
    ASSERT_TRUE(w.st.append(std::span<const store::NewMessage>(&n, 1)));
    // The network layer wakes the idling server session on the store's change notice.
    w.client.receive(w.srv.send(""));
    EXPECT_EQ(w.run(), Session::Next::Read);
    auto ups = w.client.take_updates();
    ASSERT_FALSE(ups.empty());
    EXPECT_EQ(ups[0].kind, Update::Kind::Exists);
    EXPECT_EQ(ups[0].number, 4u);
    w.client.done();
    EXPECT_EQ(w.run(), Session::Next::Idle);
    auto o = w.one();
    EXPECT_EQ(o.id, id);
    EXPECT_TRUE(o.ok) << o.text;
}

}  // namespace
}  // namespace tern::client::imap
