// IMAP SEARCH transcripts: decoded text, ESEARCH, SEARCHRES (RFC 9051 §6.4.4, RFC 4731, RFC 5182).
#include <gtest/gtest.h>

#include "imap_transcript.hpp"

namespace tern::imap::testing {
namespace {

TEST(ImapSearch, KeysAndEsearch) {
    Transcript t;
    t.select();
    EXPECT_EQ(t.send("a SEARCH SUBJECT first\r\n"), "* SEARCH 1\r\na OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("b SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncafé\r\n"), "* SEARCH 2\r\nb OK SEARCH completed\r\n") << "RFC 2047 decoded";
    EXPECT_EQ(t.send("c UID SEARCH BODY \"THIRD message\"\r\n"), "* SEARCH 3\r\nc OK UID SEARCH completed\r\n");
    EXPECT_EQ(t.send("d SEARCH BODY AAECAw\r\n"), "* SEARCH\r\nd OK SEARCH completed\r\n") << "no match on base64 text";
    EXPECT_EQ(t.send("e SEARCH RETURN (MIN MAX COUNT ALL) OR SUBJECT first SUBJECT third\r\n"),
              "* ESEARCH (TAG \"e\") MIN 1 MAX 3 ALL 1,3 COUNT 2\r\ne OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("f SEARCH CHARSET KOI8-R ALL\r\n"), "f NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
    // SEARCHRES (RFC 5182): SAVE alone sends no ESEARCH; "$" then names the result.
    EXPECT_EQ(t.send("g SEARCH RETURN (SAVE) NOT SUBJECT first\r\n"), "g OK SEARCH completed\r\n");
    EXPECT_EQ(t.send("h FETCH $ UID\r\n"), "* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\nh OK FETCH completed\r\n");
}

}  // namespace
}  // namespace tern::imap::testing
