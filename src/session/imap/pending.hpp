// Commands that take more than one advance() to finish (AUTHENTICATE exchanges, IDLE, a FETCH
// whose output is streamed): private to the IMAP session's .cpp files. Must never hold more than
// one message's data at a time.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "proto/imap/fetch.hpp"
#include "proto/sasl/sasl.hpp"
#include "session/imap/session.hpp"

namespace tern::imap {

struct SaslExchange {  // waiting for a client response line (RFC 9051 §6.2.2)
    std::string tag;
    std::unique_ptr<sasl::Mechanism> mech;
    bool final_empty = false;  // success data sent as a challenge; an empty response ends it
    std::string authcid;       // with final_empty
};
struct Verifying {     // waiting for password_checked()
    std::string tag;
    std::unique_ptr<sasl::Mechanism> mech;  // null for LOGIN
    Session::PasswordCheck check;
};
struct ScramLookup {   // waiting for scram_credentials()
    std::string tag;
    std::unique_ptr<sasl::Mechanism> mech;
    std::string user;
};
struct Idling {        // RFC 9051 §6.3.13: "+ idling" sent, waiting for DONE
    std::string tag;
};

// Output of one message's FETCH response: text, or a range of the message read in chunks.
struct Segment {
    std::string text;
    base::ByteSourceRef source;  // set: send [offset, offset + length) of it
    std::uint64_t offset = 0, length = 0;
};

struct Fetching {
    std::string tag;
    bool uid = false;
    std::vector<FetchItem> items;
    std::vector<std::uint32_t> uids;  // to answer, in sequence order
    std::size_t next = 0;             // index into uids of the next message to build
    std::deque<Segment> segments;     // the current message's response, not yet output
    bool missing = false;             // some message could not be read (expunged meanwhile)
    std::string error_code;           // a BINARY part failed: the tagged NO's code (RFC 3516 §4.3)
    std::string command;              // "FETCH" or "UID FETCH", for the tagged reply
    bool from_summary = false;        // every item that needs the message is in its summary
    std::vector<std::pair<std::uint32_t, std::string>> new_summaries;  // computed, not yet kept
};

struct Session::Pending {
    std::variant<SaslExchange, Verifying, ScramLookup, Idling, Fetching> what;
};

}  // namespace tern::imap
