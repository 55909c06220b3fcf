// libFuzzer target for the spool's segment scanner (replay): arbitrary bytes, and real segments
// with bytes damaged, must never crash it, read out of bounds or loop; its events must tile the
// input in order (records and bad spans back to back, then one tail), every record it reports must
// decode where it says, and it must find every record of an undamaged segment. Never touches files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "queue/record.hpp"

using namespace tern::queue;
using namespace tern::queue::record;

namespace {

// Walks the scanner over `in`; returns how many records it found.
std::size_t scan(std::string_view in) {
    SegmentScanner scanner(in);
    std::size_t pos = 0, records = 0;
    for (std::size_t guard = 0;; ++guard) {
        if (guard > in.size() + 2) std::abort();  // every event but the tail consumes bytes
        auto ev = scanner.next();
        if (auto* t = std::get_if<Tail>(&ev)) {
            if (t->at != pos || t->at > in.size()) std::abort();
            if ((t->kind == Tail::Kind::None) != (t->at == in.size())) std::abort();
            auto again = scanner.next();  // the tail repeats
            if (!std::holds_alternative<Tail>(again) || std::get<Tail>(again).at != t->at) std::abort();
            return records;
        }
        if (auto* b = std::get_if<Bad>(&ev)) {
            if (b->from != pos || b->to <= b->from || b->to > in.size()) std::abort();
            pos = b->to;
            continue;
        }
        auto& f = std::get<Found>(ev);
        if (f.at != pos) std::abort();
        auto d = decode(in.substr(f.at), {.copy_body = false});
        auto* c = std::get_if<Complete>(&d);
        if (!c || c->bytes != f.record.bytes) std::abort();
        pos += c->bytes;
        ++records;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    scan(in);
    // A real segment built from the input (a header, then messages whose bodies are slices of the
    // input), scanned whole, then with one byte flipped at an input-chosen place.
    if (size < 4) return 0;
    std::string seg = *encode(SegmentHeader{kFormatVersion, 1, 0});
    std::size_t count = 0;
    for (std::size_t at = 4, n = 0; at < size && n < 8; ++n) {
        std::size_t len = std::min<std::size_t>(size - at, 1 + data[n % 4] % 97);
        MessageRecord m;
        m.id = 100 + n;
        m.envelope.mail_from = "a@b";
        m.envelope.recipients.push_back(Recipient{});
        m.envelope.recipients.back().address = "c@d";
        m.states.resize(1);
        m.body.assign(in.substr(at, len));
        seg += *encode(m);
        ++count;
        at += len;
    }
    if (scan(seg) != count + 1) std::abort();  // undamaged: every record found
    std::size_t where = (static_cast<std::size_t>(data[0]) << 8 | data[1]) % seg.size();
    seg[where] = static_cast<char>(seg[where] ^ (data[2] | 1));
    std::size_t found = scan(seg);
    if (found < count) std::abort();  // one flipped byte costs at most one of the count + 1 records
    return 0;
}
