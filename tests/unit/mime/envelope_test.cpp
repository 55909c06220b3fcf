// ENVELOPE fields (mime/envelope.hpp): raw values left encoded, address lists with groups, the
// RFC 9051 §7.5.2 defaults for Sender and Reply-To, and lists that only partly parse.
#include "mime/envelope.hpp"

#include <gtest/gtest.h>

namespace tern::mime {
namespace {

Envelope env(std::string_view header) {
    auto h = parse_header_section(header);
    EXPECT_TRUE(h.has_value());
    return make_envelope(*h);
}

TEST(Envelope, FieldsAsImapWantsThem) {
    Envelope e = env(
        "Date: Mon, 7 Dec 2026 06:00:00 +0000\r\n"
        "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
        "From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\r\n"
        "Reply-To:\r\n"
        "To: team: a@example.com, b@example.com;, c@example.org\r\n"
        "Cc: undisclosed-recipients:;\r\n"
        "Message-ID: <id1@example.de>\r\n"
        "In-Reply-To: <id0@example.de>\r\n\r\n");
    EXPECT_EQ(e.date.value(), "Mon, 7 Dec 2026 06:00:00 +0000");
    EXPECT_EQ(e.subject.value(), "=?utf-8?q?caf=C3=A9?=");
    ASSERT_EQ(e.from.list.size(), 1u);
    EXPECT_EQ(std::get<Mailbox>(e.from.list[0]).display_name, "=?utf-8?q?J=C3=BCrgen?=");
    EXPECT_TRUE(e.sender.defaulted);  // absent
    EXPECT_TRUE(e.reply_to.defaulted);  // present but empty
    EXPECT_EQ(e.reply_to.list, e.from.list);
    ASSERT_EQ(e.to.list.size(), 2u);
    EXPECT_EQ(std::get<Group>(e.to.list[0]).members.size(), 2u);
    EXPECT_EQ(std::get<Group>(e.cc.list[0]).members.size(), 0u);
    EXPECT_FALSE(e.bcc.present);
    EXPECT_EQ(e.message_id.value(), "<id1@example.de>");
    EXPECT_EQ(e.in_reply_to.value(), "<id0@example.de>");
}

TEST(Envelope, PartlyBrokenListKeepsWhatParses) {
    Envelope e = env("From: a@example.com\r\nTo: a@example.com, <<broken, b@example.org\r\n\r\n");
    EXPECT_FALSE(e.to.parsed);
    EXPECT_EQ(e.to.list.size(), 2u);
    EXPECT_EQ(e.to.raw, "a@example.com, <<broken, b@example.org");
}

}  // namespace
}  // namespace tern::mime
