// Unit tests for modified UTF-7 (proto/imap/mutf7.hpp) and mailbox name rules (mailbox.hpp):
// round trips, the RFC 3501 §5.1.3 examples, and every malformed form the decoder must refuse.
#include <gtest/gtest.h>

#include "proto/imap/mailbox.hpp"
#include "proto/imap/mutf7.hpp"

namespace tern::imap {
namespace {

void round_trip(std::string_view utf8, std::string_view wire) {
    auto e = mutf7_encode(utf8);
    ASSERT_TRUE(e) << utf8;
    EXPECT_EQ(*e, wire);
    auto d = mutf7_decode(wire);
    ASSERT_TRUE(d) << wire << ": " << d.error();
    EXPECT_EQ(*d, utf8);
}

void refused(std::string_view wire, std::string_view why) {
    auto d = mutf7_decode(wire);
    ASSERT_FALSE(d) << wire << " decoded to " << *d;
    EXPECT_EQ(d.error(), why) << wire;
}

TEST(Mutf7, RoundTrips) {
    round_trip("INBOX", "INBOX");
    round_trip("&", "&-");
    round_trip("Tom & Jerry", "Tom &- Jerry");
    round_trip("Entw\xc3\xbcrfe", "Entw&APw-rfe");
    // RFC 3501 §5.1.3: "~peter/mail/&U,BTFw-/&ZeVnLIqe-" = 台北/日本語
    round_trip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    round_trip("\xf0\x9f\x93\xa7", "&2D3c5w-");  // U+1F4E7, a surrogate pair
    round_trip("\xc3\xa4&", "&AOQ-&-");
    round_trip("a\tb", "a&AAk-b");  // a control character is encoded (the name check refuses it)
    round_trip("", "");
}

TEST(Mutf7, RefusesMalformed) {
    refused("a&AOQ", "Unterminated & in mailbox name");
    refused("&AO.-", "Invalid base64 in mailbox name");
    refused("&AOQA-", "Invalid base64 in mailbox name");     // an extra sextet
    refused("&AOR-", "Invalid base64 in mailbox name");      // non-zero padding bits
    refused("&AGE-", "Encoded printable ASCII in mailbox name");  // 'a'
    refused("&ACY-", "Encoded printable ASCII in mailbox name");  // '&' must be "&-"
    refused("&AOQ-&AOQ-", "Adjacent base64 runs in mailbox name");
    refused("&2D0-", "Unpaired surrogate in mailbox name");
    refused("&3On-", "Unpaired surrogate in mailbox name");
    refused("&2D3YPQ-", "Unpaired surrogate in mailbox name");
    refused("Entw\xc3\xbcrfe", "Invalid octet in modified UTF-7 name");
    refused("a\tb", "Invalid octet in modified UTF-7 name");
    EXPECT_FALSE(mutf7_encode("\xc3"));
}

TEST(MailboxName, InboxFolding) {
    EXPECT_TRUE(is_inbox("inBox"));
    EXPECT_FALSE(is_inbox("INBOX2"));
    EXPECT_EQ(fold_inbox("inbox"), "INBOX");
    EXPECT_EQ(fold_inbox("Inbox/Sub"), "INBOX/Sub");
    EXPECT_EQ(fold_inbox("InboxSub"), "InboxSub");
    EXPECT_EQ(decode_mailbox("iNbOx", false), "INBOX");
}

TEST(MailboxName, Validity) {
    for (auto ok : {"INBOX", "a/b/c", "Entw\xc3\xbcrfe", "a.b", "...x", "x y"})
        EXPECT_EQ(mailbox_name_problem(ok), "") << ok;
    EXPECT_EQ(mailbox_name_problem(""), "Empty mailbox name");
    EXPECT_EQ(mailbox_name_problem("/etc"), "Empty component in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a/"), "Empty component in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a//b"), "Empty component in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a/../b"), "Invalid component in mailbox name");
    EXPECT_EQ(mailbox_name_problem(".."), "Invalid component in mailbox name");
    EXPECT_EQ(mailbox_name_problem("."), "Invalid component in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a\tb"), "Control character in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a\xc2\x85"), "Control character in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a\x7f"), "Control character in mailbox name");
    EXPECT_EQ(mailbox_name_problem("a*"), "Wildcard in mailbox name");
    EXPECT_EQ(mailbox_name_problem("\xff"), "Mailbox name is not valid UTF-8");
    EXPECT_EQ(mailbox_name_problem(std::string(256, 'a')), "Mailbox name component too long");
    EXPECT_EQ(mailbox_name_problem(std::string(1025, 'a')), "Mailbox name too long");
    std::string deep = "a";
    for (int i = 0; i < 32; ++i) deep += "/a";
    EXPECT_EQ(mailbox_name_problem(deep), "Mailbox name nested too deeply");
}

TEST(MailboxName, WireForms) {
    EXPECT_EQ(decode_mailbox("Entw&APw-rfe", false), "Entw\xc3\xbcrfe");
    EXPECT_EQ(decode_mailbox("Entw\xc3\xbcrfe", true), "Entw\xc3\xbcrfe");
    EXPECT_EQ(decode_mailbox("Tom &- Jerry", true), "Tom &- Jerry");  // UTF-8 mode: '&' is plain
    EXPECT_EQ(decode_mailbox("a&AAk-b", false).error(), "Control character in mailbox name");
    EXPECT_EQ(decode_mailbox("&Ai4-&Ai4-", false).error(), "Adjacent base64 runs in mailbox name");
    EXPECT_EQ(decode_mailbox("a/../b", true).error(), "Invalid component in mailbox name");
    EXPECT_EQ(encode_mailbox("Entw\xc3\xbcrfe", false), "Entw&APw-rfe");
    EXPECT_EQ(encode_mailbox("Entw\xc3\xbcrfe", true), "Entw\xc3\xbcrfe");
}

}  // namespace
}  // namespace tern::imap
