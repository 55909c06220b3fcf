// IMAP FETCH request types (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC) and
// the section-spec parser shared by FETCH items. Pure; must never read a message.
#pragma once
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/sequence.hpp"

namespace tern::imap {

// RFC 9051 §9 section-spec: [part numbers] [HEADER | HEADER.FIELDS[.NOT] (names) | TEXT | MIME].
struct Section {
    std::vector<std::uint32_t> part;  // "1.2.3"; empty for the whole message
    enum class Text { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime } text = Text::None;
    std::vector<std::string> fields;  // HEADER.FIELDS[.NOT] names, upper-cased
    bool operator==(const Section&) const = default;
};

struct Partial {  // "<offset.length>" (RFC 9051 §9 partial)
    std::uint64_t offset = 0, length = 0;
    bool operator==(const Partial&) const = default;
};

struct FetchItem {
    enum class Kind {
        Envelope, Flags, InternalDate, Rfc822Size, Rfc822, Rfc822Header, Rfc822Text,
        Body,           // "BODY" alone: the non-extensible BODYSTRUCTURE
        BodyStructure,
        BodySection,    // BODY[section]<partial> / BODY.PEEK[...]
        Binary,         // BINARY[part]<partial> / BINARY.PEEK[...] (RFC 3516 §4.2)
        BinarySize,     // BINARY.SIZE[part]
        Uid, ModSeq,    // MODSEQ: RFC 7162 §3.1.4.1
    };
    Kind kind = Kind::Flags;
    bool peek = false;
    Section section;
    std::optional<Partial> partial;
    bool operator==(const FetchItem&) const = default;
};

struct FetchArgs {
    SequenceSet set;
    std::vector<FetchItem> items;  // macros ALL/FAST/FULL expanded (RFC 9051 §6.4.5)
    std::optional<std::uint64_t> changed_since;  // RFC 7162 §3.1.4.1
    bool vanished = false;                      // RFC 7162 §3.2.6, UID FETCH only
};

// The inside of "[...]" for BODY (`text` allowed) or BINARY (part numbers only).
std::expected<Section, std::string> parse_section(std::string_view inside, bool binary);

}  // namespace tern::imap
