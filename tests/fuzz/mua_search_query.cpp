// libFuzzer target: `tern search`'s query parser (src/mua/search_index) on arbitrary bytes. The
// MATCH expression built from any query must never be an FTS5 syntax error (run against an
// in-memory table with the index's tokenizer), and the IMAP criteria must be one line with
// balanced quoting. Must never crash or abort otherwise.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mua/search_index.hpp"

static void check(bool ok) {
    if (!ok) std::abort();
}

static sqlite3* db() {
    static sqlite3* d = [] {
        sqlite3* h = nullptr;
        check(sqlite3_open(":memory:", &h) == SQLITE_OK);
        check(sqlite3_exec(h,
                           "CREATE VIRTUAL TABLE fts USING fts5(subject, sender, recipients, body, "
                           "tokenize = \"unicode61 remove_diacritics 2\");"
                           "INSERT INTO fts VALUES('a subject', 'alice', 'bob', 'some body text');",
                           nullptr, nullptr, nullptr) == SQLITE_OK);
        return h;
    }();
    return d;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto q = tern::mua::parse_search_query(in);
    for (auto& t : q.terms) check(!t.text.empty() && t.text.size() <= size);

    std::string match = tern::mua::fts_match(q);
    if (!match.empty()) {
        sqlite3_stmt* st = nullptr;
        check(sqlite3_prepare_v2(db(), "SELECT rowid FROM fts WHERE fts MATCH ?1", -1, &st, nullptr) == SQLITE_OK);
        sqlite3_bind_text(st, 1, match.data(), static_cast<int>(match.size()), SQLITE_TRANSIENT);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        }
        check(rc == SQLITE_DONE);  // an FTS5 syntax error would be SQLITE_ERROR
        sqlite3_finalize(st);
    }

    for (bool utf8 : {false, true}) {
        auto c = tern::mua::imap_search_criteria(q, utf8);
        if (!c) continue;
        check(c->find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
        // Every '"' outside a quoted string opens one; inside, '\' escapes the next octet.
        bool quoted = false;
        for (std::size_t i = 0; i < c->size(); ++i) {
            char ch = (*c)[i];
            if (quoted && ch == '\\') {
                check(i + 1 < c->size() && ((*c)[i + 1] == '"' || (*c)[i + 1] == '\\'));
                ++i;
            } else if (ch == '"') {
                quoted = !quoted;
            } else if (!utf8) {
                check(static_cast<unsigned char>(ch) < 0x80);
            }
        }
        check(!quoted);
    }
    return 0;
}
