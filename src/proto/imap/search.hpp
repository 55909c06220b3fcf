// IMAP SEARCH, SORT and THREAD request types (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182
// SEARCHRES, RFC 7162 MODSEQ, RFC 5256 SORT/THREAD, RFC 5267 ESORT). Pure; must never search.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/imap/datetime.hpp"
#include "proto/imap/sequence.hpp"

namespace tern::imap {

struct SearchKey {
    enum class Kind {
        And,  // a parenthesised list, and the implicit AND of the top level: `children`
        Or, Not,
        All, Answered, Deleted, Draft, Flagged, Seen, New, Old, Recent,
        Unanswered, Undeleted, Undraft, Unflagged, Unseen,
        Keyword, Unkeyword,                                 // text = the flag
        Bcc, Body, Cc, From, Subject, Text, To,             // text = the string
        Header,                                             // text = field name, value = string
        Before, On, Since, SentBefore, SentOn, SentSince,   // date
        Larger, Smaller,                                    // number
        Uid, Sequence,                                      // set
        ModSeq,                                             // number (entry name/type dropped)
    };
    Kind kind = Kind::All;
    std::string text, value;
    Date date;
    std::uint64_t number = 0;
    SequenceSet set;
    std::vector<SearchKey> children;  // Not: 1, Or: 2, And: 1 or more
    bool operator==(const SearchKey&) const = default;
};

// RFC 4731 §3.1 search-return-opt, RFC 5182 SAVE.
struct SearchReturn {
    bool min = false, max = false, all = false, count = false, save = false;
    bool operator==(const SearchReturn&) const = default;
};

struct SearchArgs {
    std::optional<SearchReturn> ret;  // RETURN given: answer with ESEARCH (RETURN () = ALL)
    std::string charset;              // empty when none was given; upper-cased
    SearchKey key;                    // Kind::And of the top-level keys
};

struct SortCriterion {  // RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO
    enum class Key { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo } key = Key::Arrival;
    bool reverse = false;
    bool operator==(const SortCriterion&) const = default;
};

struct SortArgs {
    std::optional<SearchReturn> ret;  // RFC 5267 ESORT
    std::vector<SortCriterion> criteria;
    std::string charset;
    SearchKey key;
};

struct ThreadArgs {
    std::string algorithm;  // upper-cased: REFERENCES, ORDEREDSUBJECT
    std::string charset;
    SearchKey key;
};

}  // namespace tern::imap
