// Transcript tests of the IMAP client session against scripted servers, each fed at every split
// point: login choices (PLAIN with and without SASL-IR, SCRAM-SHA-256 with RFC 7677's vectors,
// LOGIN with a literal), STARTTLS and the bytes behind it, PREAUTH and BYE greetings, SELECT,
// pipelined UID FETCH/STORE with bodies in chunks, unsolicited updates, IDLE, APPEND's
// synchronizing literal, the MOVE fallback, mailbox name encoding and the trace mask.
#include <gtest/gtest.h>

#include <cstdio>

#include "client/imap/session.hpp"
#include "imap_client_harness.hpp"

namespace tern::client::imap {
namespace {

using namespace testing;

const char* kPlainIr = "A1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n";

SelectOptions condstore() {
    SelectOptions o;
    o.condstore = true;
    return o;
}

TEST(ImapClientSession, SelectFetchStorePipelinedWithUpdates) {
    std::uint64_t sel = 0, fet = 0, sto = 0;
    auto run = converse_all_splits(
        user_options(),
        [&](Session& s) {
            sel = s.select("INBOX", condstore());
            fet = s.fetch("1:2", "(UID FLAGS BODY.PEEK[])");
            StoreOptions o;
            o.flags = {"\\Seen"};
            sto = s.store("10", o);
            s.logout();
        },
        {kGreeting, kLoggedIn, kEnabled,
         "* 2 EXISTS\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
         "* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] Limited\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
         "* OK [UIDNEXT 4392] Predicted next UID\r\n* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
         "A3 OK [READ-WRITE] SELECT completed\r\n",
         "* 1 FETCH (UID 10 FLAGS (\\Seen) BODY[] {12}\r\nHello\r\nWorld)\r\n"
         "* 2 FETCH (BODY[] {5}\r\nabcde UID 11 FLAGS ())\r\n* 3 EXISTS\r\nA4 OK done\r\n"
         "* 1 FETCH (UID 10 MODSEQ (715194045008) FLAGS (\\Seen))\r\nA5 OK done\r\n",
         "* BYE logging out\r\nA6 OK done\r\n"});
    EXPECT_EQ(run.sent, std::string(kPlainIr) + "A2 ENABLE CONDSTORE QRESYNC\r\nA3 SELECT INBOX (CONDSTORE)\r\n" +
                            "A4 UID FETCH 1:2 (UID FLAGS BODY.PEEK[])\r\nA5 UID STORE 10 +FLAGS (\\Seen)\r\n" +
                            "A6 LOGOUT\r\n");
    EXPECT_EQ(run.end, ConnectionEnd::Logout);
    ASSERT_EQ(run.outcomes.size(), 4u);
    const auto& s = run.outcomes[0];
    EXPECT_EQ(s.id, sel);
    ASSERT_TRUE(s.ok && s.mailbox);
    EXPECT_EQ(s.mailbox->exists, 2u);
    EXPECT_EQ(s.mailbox->uidvalidity, 3857529045u);
    EXPECT_EQ(s.mailbox->uidnext, 4392u);
    EXPECT_EQ(s.mailbox->highestmodseq, 715194045007u);
    EXPECT_EQ(s.mailbox->flags.size(), 5u);
    EXPECT_EQ(s.mailbox->permanent_flags, (std::vector<std::string>{"\\Seen", "\\Deleted", "\\*"}));
    const auto& f = run.outcomes[1];
    EXPECT_EQ(f.id, fet);
    ASSERT_EQ(f.fetched.size(), 2u);
    EXPECT_EQ(f.fetched[1].uid, 11u);
    EXPECT_EQ(f.octets, 17u);
    EXPECT_EQ(run.bodies[fet], "Hello\r\nWorldabcde");
    EXPECT_EQ(run.lasts[fet], 2);
    EXPECT_EQ(run.last_uids, (std::vector<std::uint32_t>{10, 11}));
    const auto& st = run.outcomes[2];
    EXPECT_EQ(st.id, sto);
    ASSERT_EQ(st.fetched.size(), 1u);
    EXPECT_EQ(st.fetched[0].modseq, 715194045008u);
    ASSERT_EQ(run.updates.size(), 1u);
    EXPECT_EQ(run.updates[0].kind, Update::Kind::Exists);
    EXPECT_EQ(run.updates[0].number, 3u);
}

TEST(ImapClientSession, StartTlsDiscardsBytesBehindTheOk) {
    Options o = user_options();
    o.allow_plaintext_password = false;
    // Fed whole: the injected tagged OK arrives in the same read as STARTTLS's OK (CVE-2011-0411
    // shape) and must not answer the CAPABILITY sent after the handshake.
    auto run = converse(o, {},
                        {"* OK ready\r\n", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA1 OK done\r\n",
                         "A2 OK begin TLS\r\nA3 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
                         "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n"},
                        1000);
    EXPECT_EQ(run.handshakes, 1);
    EXPECT_EQ(run.sent, "A1 CAPABILITY\r\nA2 STARTTLS\r\nA3 CAPABILITY\r\nA4 AUTHENTICATE PLAIN\r\n");
}

TEST(ImapClientSession, RequireTlsWithoutStartTls) {
    Options o = user_options();
    o.require_tls = true;
    auto run = converse_all_splits(o, {}, {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::TlsUnavailable);
    EXPECT_EQ(run.sent, "A1 LOGOUT\r\n");
}

TEST(ImapClientSession, LoginDisabledNoPasswordInClear) {
    Options o = user_options();
    o.allow_plaintext_password = false;
    auto run = converse_all_splits(o, [](Session& s) { s.noop(); },
                                   {"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] ready\r\n"});
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run.sent.find("secret"), std::string::npos);
    EXPECT_EQ(run.sent.find("AGFsaWNl"), std::string::npos);
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_FALSE(run.outcomes[0].ok);
    // Even when told to: LOGINDISABLED means no LOGIN command (RFC 9051 §6.2.3).
    o.allow_plaintext_password = true;
    o.method = LoginMethod::Login;
    auto run2 = converse_all_splits(o, {}, {"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n"});
    EXPECT_EQ(run2.end, ConnectionEnd::AuthFailed);
    EXPECT_EQ(run2.sent.find("LOGIN alice"), std::string::npos);
}

TEST(ImapClientSession, PreauthAndByeGreetings) {
    auto run = converse_all_splits(user_options(), [](Session& s) { s.noop(); },
                                   {"* PREAUTH [CAPABILITY IMAP4rev1] hello alice\r\n", "A1 OK noop\r\n"});
    EXPECT_EQ(run.sent, "A1 NOOP\r\n");
    ASSERT_EQ(run.outcomes.size(), 1u);
    EXPECT_TRUE(run.outcomes[0].ok);
    Options tls = user_options();
    tls.require_tls = true;
    auto run2 = converse_all_splits(tls, {}, {"* PREAUTH hello\r\n"});
    EXPECT_EQ(run2.end, ConnectionEnd::TlsUnavailable);
    auto run3 = converse_all_splits(user_options(), {}, {"* BYE busy, try later\r\n"});
    EXPECT_EQ(run3.end, ConnectionEnd::GreetingRefused);
    EXPECT_EQ(run3.end_text, "busy, try later");
}

TEST(ImapClientSession, PlainWithoutSaslIrWaitsForChallenge) {
    auto run = converse_all_splits(user_options(), {},
                                   {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", "+ \r\n",
                                    "A1 OK Logged in\r\n", "* CAPABILITY IMAP4rev1 IDLE\r\nA2 OK done\r\n"});
    EXPECT_EQ(run.sent, "A1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nA2 CAPABILITY\r\n");
    EXPECT_EQ(run.last, Session::Next::Idle);
}

Options scram_options() {
    Options o;
    o.user = "user";
    o.password = "pencil";
    o.scram_nonce = "rOprNGfwEbeRWgbNEkqO";
    return o;
}
const char* kScramServerFirst =
    "+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n";

TEST(ImapClientSession, ScramVerifiesTheServer) {
    // RFC 7677 §3's example exchange.
    auto run = converse_all_splits(
        scram_options(), {},
        {"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready\r\n", kScramServerFirst,
         "+ dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n",
         "A1 OK [CAPABILITY IMAP4rev1] done\r\n"});
    EXPECT_EQ(run.sent,
              "A1 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n"
              "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==\r\n"
              "\r\n");
    EXPECT_EQ(run.last, Session::Next::Idle);
    EXPECT_EQ(run.end, ConnectionEnd::Open);
}

TEST(ImapClientSession, ScramWrongServerSignatureIsNoLogin) {
    auto run = converse_all_splits(
        scram_options(), {},
        {"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready\r\n", kScramServerFirst,
         "+ dj1BQUFBVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n", "A1 BAD cancelled\r\n"});
    EXPECT_TRUE(run.sent.ends_with("*\r\nA2 LOGOUT\r\n")) << run.sent;
    EXPECT_EQ(run.end, ConnectionEnd::AuthFailed);
    // A server that says OK without proving itself is no login either.
    auto run2 = converse_all_splits(scram_options(), {},
                                    {"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready\r\n",
                                     kScramServerFirst, "A1 OK welcome\r\n"});
    EXPECT_EQ(run2.end, ConnectionEnd::AuthFailed);
}

TEST(ImapClientSession, LoginWithSynchronizingLiteralAndMaskedTrace) {
    Options o = user_options();
    o.method = LoginMethod::Login;
    o.password = "gehe\xc3\xafm";  // 8-bit: no quoted string can carry it (RFC 9051 §4.3)
    auto run = converse_all_splits(o, {},
                                   {"* OK [CAPABILITY IMAP4rev1] ready\r\n", "+ go on\r\n",
                                    "A1 OK [CAPABILITY IMAP4rev1] in\r\n"});
    EXPECT_EQ(run.sent, "A1 LOGIN alice {7}\r\ngehe\xc3\xafm\r\n");
    EXPECT_EQ(run.last, Session::Next::Idle);
    EXPECT_EQ(mask_secrets("A1 LOGIN alice {7}\r\n"), "A1 LOGIN alice ****\r\n");
    EXPECT_EQ(mask_secrets("gehe\xc3\xafm\r\n"), "****\r\n");
}

TEST(ImapClientSession, MaskSecrets) {
    EXPECT_EQ(mask_secrets("A1 LOGIN alice secret\r\n"), "A1 LOGIN alice ****\r\n");
    EXPECT_EQ(mask_secrets("A1 LOGIN \"al ice\" \"sec ret\"\r\n"), "A1 LOGIN \"al ice\" ****\r\n");
    EXPECT_EQ(mask_secrets("A1 LOGIN alice {6+}\r\nsecret\r\nA2 NOOP\r\n"), "A1 LOGIN alice ****\r\n****\r\nA2 NOOP\r\n");
    EXPECT_EQ(mask_secrets("A1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "A1 AUTHENTICATE PLAIN ****\r\n");
    // Both LOGIN arguments as non-synchronizing literals in one write: the password literal comes
    // after the user's, on the same command.
    EXPECT_EQ(mask_secrets("A1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\nA2 NOOP\r\n"),
              "A1 LOGIN ****\r\n****\r\n****\r\nA2 NOOP\r\n");
    EXPECT_EQ(mask_secrets("A1 AUTHENTICATE SCRAM-SHA-256\r\nbiwsbj11c2Vy\r\n\r\n*\r\n"),
              "A1 AUTHENTICATE SCRAM-SHA-256\r\n****\r\n\r\n*\r\n");
    EXPECT_EQ(mask_secrets("A3 SELECT INBOX\r\nA4 UID FETCH 1:* (FLAGS)\r\nDONE\r\n"),
              "A3 SELECT INBOX\r\nA4 UID FETCH 1:* (FLAGS)\r\nDONE\r\n");
    EXPECT_EQ(mask_secrets("A5 APPEND INBOX {5+}\r\nhello\r\n"), "A5 APPEND INBOX {5+}\r\nhello\r\n");
}

TEST(ImapClientSession, AppendWaitsForContinuationAndStopsOnNo) {
    Options o = user_options();
    o.write_chunk = 3;
    std::uint64_t ok_id = 0, no_id = 0;
    auto run = converse_all_splits(
        o,
        [&](Session& s) {
            AppendOptions a;
            a.flags = {"\\Seen"};
            ok_id = s.append("Sent", base::bytes_from_string("Subject: x\r\n\r\nhi\r\n"), a);
            no_id = s.append("Nowhere", base::bytes_from_string("body"));
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR UIDPLUS] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n",
         "+ Ready\r\n", "A2 OK [APPENDUID 38505 3955] APPEND completed\r\n", "A3 NO [TRYCREATE] no such mailbox\r\n"});
    EXPECT_EQ(run.sent, std::string(kPlainIr) + "A2 APPEND Sent (\\Seen) {18}\r\nSubject: x\r\n\r\nhi\r\n\r\n" +
                            "A3 APPEND Nowhere {4}\r\n");
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_TRUE(run.outcomes[0].ok);
    ASSERT_TRUE(run.outcomes[0].appenduid);
    EXPECT_EQ(run.outcomes[0].appenduid->uidvalidity, 38505u);
    EXPECT_TRUE(run.outcomes[0].appenduid->set.contains(3955, 0));
    EXPECT_EQ(run.outcomes[0].octets, 18u);
    EXPECT_FALSE(run.outcomes[1].ok);
    EXPECT_EQ(run.outcomes[1].code.name, "TRYCREATE");
    EXPECT_EQ(run.outcomes[1].octets, 0u);
    EXPECT_EQ(run.last, Session::Next::Idle);
}

TEST(ImapClientSession, MoveFallbackWithoutUidplus) {
    auto run = converse_all_splits(
        user_options(),
        [](Session& s) {
            s.select("INBOX");
            s.move("4:5", "Trash");
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1] in\r\n",
         "* 5 EXISTS\r\nA2 OK [READ-WRITE] selected\r\n", "A3 OK copied\r\n", "A4 OK stored\r\n"});
    EXPECT_EQ(run.sent, std::string(kPlainIr) + "A2 SELECT INBOX\r\nA3 UID COPY 4:5 Trash\r\n" +
                            "A4 UID STORE 4:5 +FLAGS.SILENT (\\Deleted)\r\n");
    ASSERT_EQ(run.outcomes.size(), 2u);
    const auto& m = run.outcomes[1];
    EXPECT_TRUE(m.ok);
    EXPECT_TRUE(m.move_emulated);
    EXPECT_FALSE(m.move_expunged);
    EXPECT_NE(m.text.find("not expunged"), std::string::npos);
}

TEST(ImapClientSession, IdleCollectsUpdatesUntilDone) {
    std::uint64_t idle = 0;
    auto run = converse_all_splits(
        user_options(),
        [&](Session& s) {
            s.select("INBOX");
            idle = s.idle();
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
         "* 1 EXISTS\r\nA2 OK selected\r\n", "+ idling\r\n* 2 EXISTS\r\n* 1 EXPUNGE\r\n",
         "* 1 FETCH (UID 7 FLAGS (\\Seen))\r\nA3 OK IDLE terminated\r\n"},
        [](Session& s) {
            // The driver waits while idling; this one stops once the first updates came.
            if (s.idling()) s.done();
        });
    EXPECT_TRUE(run.sent.ends_with("A3 IDLE\r\nDONE\r\n")) << run.sent;
    EXPECT_EQ(run.last, Session::Next::Idle);
    ASSERT_EQ(run.outcomes.size(), 2u);
    EXPECT_EQ(run.outcomes[1].id, idle);
    EXPECT_TRUE(run.outcomes[1].ok);
    ASSERT_EQ(run.updates.size(), 3u);
    EXPECT_EQ(run.updates[0].kind, Update::Kind::Exists);
    EXPECT_EQ(run.updates[1].kind, Update::Kind::Expunge);
    EXPECT_EQ(run.updates[2].kind, Update::Kind::Fetch);
    EXPECT_EQ(run.updates[2].fetch.uid, 7u);
}

TEST(ImapClientSession, QueuedRequestEndsIdle) {
    auto run = converse(user_options(),
                        [](Session& s) {
                            s.select("INBOX");
                            s.idle();
                        },
                        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE] ready\r\n",
                         "A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", "A2 OK selected\r\n", "+ idling\r\n",
                         "A3 OK done\r\n", "A4 OK noop\r\n"},
                        1000, [](Session& s) {
                            if (s.idling()) s.noop();
                        });
    EXPECT_TRUE(run.sent.ends_with("A3 IDLE\r\nDONE\r\nA4 NOOP\r\n")) << run.sent;
    EXPECT_EQ(run.outcomes.size(), 3u);
}

TEST(ImapClientSession, SecondIdleContinuationIsAnError) {
    auto run = converse_all_splits(
        user_options(),
        [](Session& s) {
            s.select("INBOX");
            s.idle();
            s.done();  // asked to stop before the "+" came: DONE goes right after it, once
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
         "A2 OK selected\r\n", "+ idling\r\n", "+ idling again\r\n"});
    EXPECT_TRUE(run.sent.ends_with("A3 IDLE\r\nDONE\r\n")) << run.sent;
    EXPECT_EQ(run.end, ConnectionEnd::ProtocolError);
}

TEST(ImapClientSession, ExamineIsReadOnlyWithoutACode) {
    auto run = converse_all_splits(user_options(), [](Session& s) { s.examine("Archive"); },
                                   {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n",
                                    "A1 OK [CAPABILITY IMAP4rev1] in\r\n", "* 0 EXISTS\r\nA2 OK examined\r\n"});
    EXPECT_TRUE(run.sent.ends_with("A2 EXAMINE Archive\r\n")) << run.sent;
    ASSERT_EQ(run.outcomes.size(), 1u);
    ASSERT_TRUE(run.outcomes[0].mailbox);
    EXPECT_TRUE(run.outcomes[0].mailbox->read_only);
    EXPECT_EQ(run.outcomes[0].command, Command::Examine);
}

TEST(ImapClientSession, DataBeforeClosedBelongsToTheOldMailbox) {
    // RFC 7162 §3.2.11: with QRESYNC on, what comes before [CLOSED] is about the old mailbox.
    auto run = converse_all_splits(
        user_options(),
        [](Session& s) {
            s.select("INBOX");
            s.select("Archive");
        },
        {kGreeting, kLoggedIn, kEnabled, "* 3 EXISTS\r\nA3 OK selected\r\n",
         "* 1 FETCH (UID 9 FLAGS (\\Seen))\r\n* 4 EXISTS\r\n* OK [CLOSED] closed\r\n* 7 EXISTS\r\n"
         "* OK [UIDVALIDITY 5] v\r\nA4 OK [HIGHESTMODSEQ 77] selected\r\n"});
    ASSERT_EQ(run.outcomes.size(), 2u);
    const auto& m = run.outcomes[1].mailbox;
    ASSERT_TRUE(m);
    EXPECT_EQ(m->exists, 7u);
    EXPECT_EQ(m->uidvalidity, 5u);
    EXPECT_EQ(m->highestmodseq, 77u);
    EXPECT_TRUE(m->changed.empty());
    ASSERT_EQ(run.updates.size(), 2u);
    EXPECT_EQ(run.updates[0].kind, Update::Kind::Fetch);
    EXPECT_EQ(run.updates[1].kind, Update::Kind::Exists);
}

TEST(ImapClientSession, DoneWithoutIdleIsIgnored) {
    auto run = converse_all_splits(
        user_options(),
        [](Session& s) {
            s.done();  // nothing to end
            s.select("INBOX");
            s.idle();
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR IDLE] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
         "A2 OK selected\r\n", "+ idling\r\n"});
    EXPECT_TRUE(run.sent.ends_with("A3 IDLE\r\n")) << run.sent;  // no DONE: still idling
    EXPECT_EQ(run.last, Session::Next::Read);
}

TEST(ImapClientSession, SearchAnsweredByEsearch) {
    // An IMAP4rev2 server answers UID SEARCH with ESEARCH (RFC 9051 §7.3.4); its tag names the command.
    auto run = converse_all_splits(
        user_options(),
        [](Session& s) {
            s.select("INBOX");
            s.search("UNSEEN");
            s.search("ALL");
        },
        {"* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN SASL-IR] ready\r\n", "A1 OK [CAPABILITY IMAP4rev2] in\r\n",
         "A2 OK selected\r\n",
         "* ESEARCH (TAG \"A3\") UID ALL 4:6,9\r\nA3 OK s\r\n* ESEARCH (TAG \"A4\") UID\r\nA4 OK s\r\n"});
    ASSERT_EQ(run.outcomes.size(), 3u);
    ASSERT_TRUE(run.outcomes[1].uid_set);
    EXPECT_TRUE(run.outcomes[1].uid_set->contains(5, 0));
    EXPECT_FALSE(run.outcomes[1].uid_set->contains(7, 0));
    ASSERT_TRUE(run.outcomes[2].uid_set);
    EXPECT_TRUE(run.outcomes[2].uid_set->ranges.empty());
}

TEST(ImapClientSession, PipelinesOnlyUidCommandsInSelectedState) {
    Options o = user_options();
    o.pipeline_window = 2;
    auto run = converse(o,
                        [](Session& s) {
                            s.fetch("1", "(FLAGS)");  // refused: nothing selected yet
                            s.select("INBOX");
                            s.fetch("1", "(FLAGS)");
                            s.fetch("2", "(FLAGS)");
                            s.fetch("3", "(FLAGS)");
                            s.noop();
                        },
                        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1] in\r\n",
                         "A2 OK selected\r\n", "A3 OK f\r\n", "A4 OK f\r\nA5 OK f\r\n", "A6 OK noop\r\n"},
                        1000);
    EXPECT_EQ(run.sent, std::string(kPlainIr) +
                            "A2 SELECT INBOX\r\nA3 UID FETCH 1 (FLAGS)\r\nA4 UID FETCH 2 (FLAGS)\r\n"
                            "A5 UID FETCH 3 (FLAGS)\r\nA6 NOOP\r\n");
    ASSERT_EQ(run.outcomes.size(), 6u);
    EXPECT_FALSE(run.outcomes[0].from_server);
    EXPECT_EQ(run.outcomes[0].text, "no mailbox selected");
}

TEST(ImapClientSession, MailboxNamesQuotedAndEncoded) {
    auto run = converse(user_options(),
                        [](Session& s) {
                            s.create("Entwürfe");
                            s.create("My \"Box\"\\x");
                            s.create("a&b");
                            s.create("Line\nbreak");
                            s.list("", "*");
                        },
                        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n",
                         "A1 OK [CAPABILITY IMAP4rev1] in\r\n", "A2 OK c\r\n", "A3 OK c\r\n", "A4 OK c\r\n",
                         "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n* LIST (\\Noselect) NIL {5}\r\nMy\"Bo\r\n"
                         "* LIST () \"/\" Bad&-Name&Jjo\r\nA5 OK list\r\n"},
                        1000);
    EXPECT_EQ(run.sent, std::string(kPlainIr) +
                            "A2 CREATE Entw&APw-rfe\r\nA3 CREATE \"My \\\"Box\\\"\\\\x\"\r\nA4 CREATE a&-b\r\n"
                            "A5 LIST \"\" \"*\"\r\n");
    ASSERT_EQ(run.outcomes.size(), 5u);
    EXPECT_FALSE(run.outcomes[3].from_server);  // CR/LF refused before sending
    const auto& l = run.outcomes[4].list;
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[0].name, "Entwürfe");
    EXPECT_EQ(l[0].delimiter, '/');
    EXPECT_EQ(l[1].name, "My\"Bo");
    EXPECT_EQ(l[1].delimiter, 0);
    EXPECT_TRUE(l[1].has_attribute("\\NOSELECT"));
    EXPECT_EQ(l[2].name, "Bad&-Name&Jjo");  // not valid modified UTF-7: kept as sent
}

TEST(ImapClientSession, Utf8AcceptSendsUtf8Names) {
    Options o = user_options();
    o.enable_utf8 = true;
    auto run = converse(o, [](Session& s) { s.create("Entwürfe"); },
                        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR ENABLE UTF8=ACCEPT] ready\r\n",
                         "A1 OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] in\r\n",
                         "* ENABLED UTF8=ACCEPT\r\nA2 OK on\r\n", "A3 OK c\r\n"},
                        1000);
    EXPECT_EQ(run.sent, std::string(kPlainIr) + "A2 ENABLE UTF8=ACCEPT\r\nA3 CREATE \"Entwürfe\"\r\n");
}

// ---- hostile or broken servers -------------------------------------------------------------------

Run hostile(const std::string& reply, Options o = user_options()) {
    return converse_all_splits(
        o,
        [](Session& s) {
            s.select("INBOX");
            s.fetch("1:*", "(BODY.PEEK[])");
        },
        {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n", "A1 OK [CAPABILITY IMAP4rev1] in\r\n",
         "A2 OK selected\r\n", reply});
}

void expect_protocol_error(const Run& r) {
    EXPECT_EQ(r.end, ConnectionEnd::ProtocolError) << r.end_text;
    EXPECT_EQ(r.last, Session::Next::Close);
    ASSERT_EQ(r.outcomes.size(), 2u);
    EXPECT_FALSE(r.outcomes[1].ok);
    EXPECT_FALSE(r.outcomes[1].from_server);
}

TEST(ImapClientSession, HostileReplies) {
    expect_protocol_error(hostile("Z9 OK who asked\r\n"));
    expect_protocol_error(hostile("+ nobody asked\r\n"));
    expect_protocol_error(hostile("garbage\r\n"));
    expect_protocol_error(hostile("* 0 EXPUNGE\r\n"));
    expect_protocol_error(hostile("* 1 FETCH (UID 0)\r\n"));
    expect_protocol_error(hostile("* 1 FETCH (UID 5 FLAGS (\\Seen)\r\n"));
    expect_protocol_error(hostile("* VANISHED 5:*\r\n"));
    expect_protocol_error(hostile("* 1 FETCH (X " + std::string(200, '(') + std::string(200, ')') + ")\r\n"));
    expect_protocol_error(hostile("* LIST () \"/\" {99999999}\r\n"));
    expect_protocol_error(hostile("* PREAUTH again\r\n"));
    Options small = user_options();
    small.limits.max_line = 200;
    expect_protocol_error(hostile("* SEARCH " + std::string(300, '1') + "\r\n", small));
    expect_protocol_error(hostile("* OK " + std::string(300, 'x'), small));  // no line end, ever
    small.limits.max_body = 100;
    expect_protocol_error(hostile("* 1 FETCH (BODY[] {101}\r\n", small));
    small.limits.max_entries = 10;
    expect_protocol_error(hostile("* 1 FETCH (FLAGS (a b c d e f g h i j k l))\r\n", small));
    // A BYE in the middle ends the session as Bye, not as an error.
    auto bye = hostile("* BYE shutting down\r\n");
    EXPECT_EQ(bye.end, ConnectionEnd::Bye);
}

TEST(ImapClientSession, ConnectionLostFailsWhatIsPending) {
    Session s(user_options());
    s.receive("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n");
    auto a = s.advance();
    EXPECT_EQ(a.output, kPlainIr);
    auto id = s.noop();
    s.connection_lost("reset");
    auto o = s.take_outcomes();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].id, id);
    EXPECT_FALSE(o[0].ok);
    EXPECT_EQ(s.end(), ConnectionEnd::Dropped);
    EXPECT_EQ(s.advance().next, Session::Next::Close);
    auto late = s.noop();
    auto o2 = s.take_outcomes();
    ASSERT_EQ(o2.size(), 1u);
    EXPECT_EQ(o2[0].id, late);
}

}  // namespace
}  // namespace tern::client::imap

namespace tern::client::imap {
namespace {

// The fuzz target's seed (tests/corpus/imap_client_session/basic) must drive its request batch
// all the way to LOGOUT, or the fuzzer starts from a shallow state.
TEST(ImapClientSession, FuzzSeedReachesLogout) {
    std::FILE* f = std::fopen(TERN_SOURCE_DIR "/tests/corpus/imap_client_session/basic", "rb");
    ASSERT_NE(f, nullptr);
    std::string seed;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) seed.append(buf, n);
    std::fclose(f);
    ASSERT_GT(seed.size(), 1u);
    Options o;
    o.user = "alice";
    o.password = "pa55word";
    o.write_chunk = 1 + static_cast<unsigned char>(seed[0]) % 7;
    o.pipeline_window = 1 + (static_cast<unsigned char>(seed[0]) >> 5);
    Session s(o);
    s.list("", "*");
    SelectOptions so;
    so.condstore = true;
    s.select("INBOX", so);
    s.fetch("1:*", "(UID FLAGS MODSEQ BODY.PEEK[])");
    StoreOptions st;
    st.flags = {"\\Seen"};
    st.unchanged_since = 5;
    s.store("1:3", st);
    s.search("UNSEEN");
    s.move("2", "Trash");
    s.append("Entwürfe", base::bytes_from_string("Subject: x\r\n\r\nbody\r\n"));
    s.idle();
    s.logout();
    testing::Run run;
    const std::size_t piece = 1 + (static_cast<unsigned char>(seed[0]) >> 2) % 32;  // as the fuzzer feeds it
    for (std::size_t i = 1; i < seed.size(); i += piece) {
        s.receive(std::string_view(seed).substr(i, piece));
        testing::pump(s, run);
    }
    EXPECT_EQ(s.end(), ConnectionEnd::Logout) << run.sent << s.end_status().text;
    auto out = s.take_outcomes();
    ASSERT_EQ(out.size(), 9u);
    for (const auto& x : out) EXPECT_TRUE(x.ok) << x.id << " " << x.text;
}

}  // namespace
}  // namespace tern::client::imap
