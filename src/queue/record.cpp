// Spool record codec: little-endian, length-prefixed serialization of segment headers, messages
// (envelope with RFC 3461 DSN parameters, recipient states, body) and state changes, framed and
// CRC-32C checked. Must never read out of bounds or size an allocation from an unchecked length.
#include "queue/record.hpp"

#include <array>
#include <cstring>
#include <limits>

namespace tern::queue::record {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr auto kCrcTable = make_crc_table();

// ---- encoding -------------------------------------------------------------------------------

struct Writer {
    std::string out;
    void u8(std::uint8_t v) { out.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    bool str(std::string_view s) {
        if (s.size() > kMaxStringBytes) return false;
        u32(static_cast<std::uint32_t>(s.size()));
        out.append(s);
        return true;
    }
};

// On-disk codes are fixed here, independent of the C++ enumerator order.
std::uint8_t ret_code(smtp::DsnRet r) {
    switch (r) {
        case smtp::DsnRet::Unspecified: return 0;
        case smtp::DsnRet::Full: return 1;
        case smtp::DsnRet::Hdrs: return 2;
    }
    return 0;
}
bool ret_from(std::uint8_t c, smtp::DsnRet& r) {
    switch (c) {
        case 0: r = smtp::DsnRet::Unspecified; return true;
        case 1: r = smtp::DsnRet::Full; return true;
        case 2: r = smtp::DsnRet::Hdrs; return true;
    }
    return false;
}
std::uint8_t body_code(smtp::BodyType b) {
    switch (b) {
        case smtp::BodyType::Unspecified: return 0;
        case smtp::BodyType::SevenBit: return 1;
        case smtp::BodyType::EightBitMime: return 2;
        case smtp::BodyType::BinaryMime: return 3;
    }
    return 0;
}
bool body_from(std::uint8_t c, smtp::BodyType& b) {
    switch (c) {
        case 0: b = smtp::BodyType::Unspecified; return true;
        case 1: b = smtp::BodyType::SevenBit; return true;
        case 2: b = smtp::BodyType::EightBitMime; return true;
        case 3: b = smtp::BodyType::BinaryMime; return true;
    }
    return false;
}
std::uint8_t status_code(RecipientState::Status s) {
    switch (s) {
        case RecipientState::Status::Pending: return 0;
        case RecipientState::Status::Delivered: return 1;
        case RecipientState::Status::Failed: return 2;
        case RecipientState::Status::Deferred: return 3;
        case RecipientState::Status::Held: return 4;
    }
    return 0;
}
bool status_from(std::uint8_t c, RecipientState::Status& s) {
    switch (c) {
        case 0: s = RecipientState::Status::Pending; return true;
        case 1: s = RecipientState::Status::Delivered; return true;
        case 2: s = RecipientState::Status::Failed; return true;
        case 3: s = RecipientState::Status::Deferred; return true;
        case 4: s = RecipientState::Status::Held; return true;
    }
    return false;
}
// NOTIFY= flags (RFC 3461 §4.1) as a bit set.
constexpr std::uint8_t kNotifySpecified = 1, kNotifyNever = 2, kNotifySuccess = 4, kNotifyFailure = 8,
                       kNotifyDelay = 16, kNotifyAll = 31;
std::uint8_t notify_code(const smtp::DsnNotify& n) {
    return static_cast<std::uint8_t>((n.specified ? kNotifySpecified : 0) | (n.never ? kNotifyNever : 0) |
                                     (n.success ? kNotifySuccess : 0) | (n.failure ? kNotifyFailure : 0) |
                                     (n.delay ? kNotifyDelay : 0));
}

// The status byte: the status in the low nibble, flags above it (records written before a flag
// existed read as the flag unset).
constexpr std::uint8_t kStateDelayNotified = 0x10;

bool put_state(Writer& w, const RecipientState& s) {
    w.u8(static_cast<std::uint8_t>(status_code(s.status) | (s.delay_notified ? kStateDelayNotified : 0)));
    w.i64(s.next_attempt);
    w.u32(s.attempts);
    return w.str(s.last_reply);
}

bool put_envelope(Writer& w, const Envelope& e) {
    if (!w.str(e.mail_from)) return false;
    if (e.recipients.size() > kMaxRecipients) return false;
    w.u32(static_cast<std::uint32_t>(e.recipients.size()));
    for (const auto& r : e.recipients) {
        if (!w.str(r.address)) return false;
        w.u8(notify_code(r.notify));
        if (!w.str(r.orcpt)) return false;
    }
    w.u8(ret_code(e.ret));
    if (!w.str(e.envid)) return false;
    w.u8(body_code(e.body));
    w.u8(e.smtputf8 ? 1 : 0);
    if (!w.str(e.auth_user) || !w.str(e.client_ip) || !w.str(e.helo)) return false;
    w.i64(e.received_at);
    return true;
}

struct PayloadVisitor {
    Writer& w;
    std::string_view& body;
    std::string& error;

    bool operator()(const SegmentHeader& h) {
        w.u8(h.version);
        w.u64(h.sequence);
        w.i64(h.created_us);
        return true;
    }
    bool operator()(const MessageRecord& m) {
        if (m.states.size() != m.envelope.recipients.size()) {
            error = "message record: states and recipients differ in number";
            return false;
        }
        if (m.body.size() > kMaxMessageBytes) {
            error = "message record: body exceeds 1 GiB";
            return false;
        }
        w.u64(m.id);
        if (!put_envelope(w, m.envelope)) {
            error = "message record: envelope field exceeds its cap";
            return false;
        }
        for (const auto& s : m.states)
            if (!put_state(w, s)) {
                error = "message record: state diagnostic exceeds 64 KiB";
                return false;
            }
        w.u64(m.body.size());
        body = m.body;
        return true;
    }
    bool operator()(const StateRecord& s) {
        w.u64(s.id);
        w.u32(s.recipient);
        if (!put_state(w, s.state)) {
            error = "state record: diagnostic exceeds 64 KiB";
            return false;
        }
        return true;
    }
};

std::uint32_t get_u32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// ---- decoding -------------------------------------------------------------------------------

// Bounds-checked cursor over a payload. Every read checks the remaining length first; a failed
// read leaves `ok` false and all later reads fail too.
struct Reader {
    const unsigned char* p;
    std::size_t left;
    bool ok = true;

    bool take(std::size_t n) {
        if (!ok || left < n) return ok = false;
        return true;
    }
    std::uint8_t u8() {
        if (!take(1)) return 0;
        std::uint8_t v = p[0];
        p += 1, left -= 1;
        return v;
    }
    std::uint32_t u32() {
        if (!take(4)) return 0;
        std::uint32_t v = get_u32(p);
        p += 4, left -= 4;
        return v;
    }
    std::uint64_t u64() {
        if (!take(8)) return 0;
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
        p += 8, left -= 8;
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    std::string str() {
        std::uint32_t n = u32();
        if (!ok || n > kMaxStringBytes || !take(n)) {
            ok = false;
            return {};
        }
        std::string s(reinterpret_cast<const char*>(p), n);
        p += n, left -= n;
        return s;
    }
    bool boolean() {
        std::uint8_t v = u8();
        if (v > 1) ok = false;
        return v == 1;
    }
};

bool get_state(Reader& r, RecipientState& s) {
    const std::uint8_t code = r.u8();
    if (code & ~(0x0f | kStateDelayNotified)) return false;
    if (!status_from(code & 0x0f, s.status)) return false;
    s.delay_notified = (code & kStateDelayNotified) != 0;
    s.next_attempt = r.i64();
    s.attempts = r.u32();
    s.last_reply = r.str();
    return r.ok;
}

// Smallest encoded sizes, used to reject counts the remaining bytes cannot possibly hold before
// reserving memory for them.
constexpr std::size_t kMinRecipientBytes = 4 + 1 + 4;
constexpr std::size_t kMinStateBytes = 1 + 8 + 4 + 4;

bool get_envelope(Reader& r, Envelope& e, std::uint32_t& count) {
    e.mail_from = r.str();
    count = r.u32();
    if (!r.ok || count > kMaxRecipients || count * (kMinRecipientBytes + kMinStateBytes) > r.left) return false;
    e.recipients.reserve(count);
    for (std::uint32_t i = 0; i < count && r.ok; ++i) {
        Recipient rc;
        rc.address = r.str();
        std::uint8_t n = r.u8();
        if (n & ~kNotifyAll) return false;
        rc.notify.specified = n & kNotifySpecified;
        rc.notify.never = n & kNotifyNever;
        rc.notify.success = n & kNotifySuccess;
        rc.notify.failure = n & kNotifyFailure;
        rc.notify.delay = n & kNotifyDelay;
        rc.orcpt = r.str();
        e.recipients.push_back(std::move(rc));
    }
    if (!ret_from(r.u8(), e.ret)) return false;
    e.envid = r.str();
    if (!body_from(r.u8(), e.body)) return false;
    e.smtputf8 = r.boolean();
    e.auth_user = r.str();
    e.client_ip = r.str();
    e.helo = r.str();
    e.received_at = r.i64();
    return r.ok;
}

}  // namespace

namespace {

std::uint32_t crc32c_table(std::string_view data, std::uint32_t c) {
    for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
// SSE 4.2 has CRC-32C (the Castagnoli polynomial) as an instruction: 8 octets per step instead of
// a table lookup per octet, which matters on the spool writer's path (one CRC per record).
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::string_view data, std::uint32_t c) {
    const char* p = data.data();
    std::size_t n = data.size();
    std::uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c64 = __builtin_ia32_crc32di(c64, word);
    }
    c = static_cast<std::uint32_t>(c64);
    for (; n > 0; ++p, --n) c = __builtin_ia32_crc32qi(c, static_cast<unsigned char>(*p));
    return c;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
#if defined(__x86_64__)
    if (kHaveSse42) return ~crc32c_sse42(data, ~crc);
#endif
    return ~crc32c_table(data, ~crc);
}

std::uint32_t crc32c_portable(std::string_view data, std::uint32_t crc) { return ~crc32c_table(data, ~crc); }

namespace {

template <class R>
Result<EncodedParts> encode_one(const R& record, Type type) {
    Writer w;
    w.out.append("TQ");
    w.u8(kFormatVersion);
    w.u8(static_cast<std::uint8_t>(type));
    w.u32(0);  // payload length, patched below
    EncodedParts parts;
    std::string error;
    if (!PayloadVisitor{w, parts.body, error}(record)) return fail(error, EINVAL);
    std::uint64_t payload = w.out.size() - kFrameHeader + parts.body.size();
    if (payload > kMaxPayload) return fail("record payload exceeds its cap", EINVAL);
    for (int i = 0; i < 4; ++i) w.out[4 + i] = static_cast<char>((payload >> (8 * i)) & 0xFF);
    std::uint32_t crc = crc32c(std::string_view(w.out).substr(3));
    crc = crc32c(parts.body, crc);
    parts.head = std::move(w.out);
    Writer t;
    t.u32(crc);
    parts.tail = std::move(t.out);
    return parts;
}

}  // namespace

Result<EncodedParts> encode_parts(const SegmentHeader& r) { return encode_one(r, Type::SegmentHeader); }
Result<EncodedParts> encode_parts(const MessageRecord& r) { return encode_one(r, Type::Message); }
Result<EncodedParts> encode_parts(const StateRecord& r) { return encode_one(r, Type::State); }
Result<EncodedParts> encode_parts(const Record& record) {
    return std::visit([](const auto& r) { return encode_parts(r); }, record);
}

Result<std::string> encode_message_head(const MessageRecord& record, std::uint64_t body_size) {
    if (body_size > kMaxMessageBytes) return fail("message record: body exceeds 1 GiB", EINVAL);
    MessageRecord head = record;  // envelope and states only
    head.body.clear();
    auto parts = encode_parts(head);
    if (!parts) return std::unexpected(parts.error());
    std::string out = std::move(parts->head);
    std::uint64_t payload = out.size() - kFrameHeader + body_size;
    if (payload > kMaxPayload) return fail("record payload exceeds its cap", EINVAL);
    for (int i = 0; i < 4; ++i) out[4 + static_cast<std::size_t>(i)] = static_cast<char>((payload >> (8 * i)) & 0xFF);
    for (int i = 0; i < 8; ++i)  // the body length, the payload's last field before the body
        out[out.size() - 8 + static_cast<std::size_t>(i)] = static_cast<char>((body_size >> (8 * i)) & 0xFF);
    return out;
}

Result<std::string> encode(const Record& record) {
    auto parts = encode_parts(record);
    if (!parts) return std::unexpected(parts.error());
    std::string out;
    out.reserve(parts->size());
    out.append(parts->head).append(parts->body).append(parts->tail);
    return out;
}

DecodeResult decode(std::string_view in, DecodeOptions options) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    // Reject as early as the available bytes allow, so junk is not mistaken for a short read.
    if (in.size() >= 1 && p[0] != 'T') return Corrupt{"bad magic"};
    if (in.size() >= 2 && p[1] != 'Q') return Corrupt{"bad magic"};
    if (in.size() >= 3 && p[2] != kFormatVersion) return Corrupt{"unsupported format version"};
    if (in.size() >= 4 && (p[3] < 1 || p[3] > 3)) return Corrupt{"unknown record type"};
    if (in.size() < kFrameHeader) return NeedMore{kFrameHeader};
    std::uint32_t length = get_u32(p + 4);
    if (length > kMaxPayload) return Corrupt{"payload length exceeds cap"};
    std::size_t total = kFrameOverhead + static_cast<std::size_t>(length);
    if (in.size() < total) return NeedMore{total};
    std::uint32_t stored = get_u32(p + kFrameHeader + length);
    if (crc32c(in.substr(3, 5 + static_cast<std::size_t>(length))) != stored) return Corrupt{"checksum mismatch"};

    Reader r{p + kFrameHeader, length};
    auto type = static_cast<Type>(p[3]);
    Record record;
    switch (type) {
        case Type::SegmentHeader: {
            SegmentHeader h;
            h.version = r.u8();
            h.sequence = r.u64();
            h.created_us = r.i64();
            if (r.ok && h.version != kFormatVersion) return Corrupt{"segment header: unsupported version"};
            record = h;
            break;
        }
        case Type::Message: {
            MessageRecord m;
            m.id = r.u64();
            std::uint32_t count = 0;
            if (!get_envelope(r, m.envelope, count)) return Corrupt{"message record: bad envelope"};
            m.states.resize(count);
            for (auto& s : m.states)
                if (!get_state(r, s)) return Corrupt{"message record: bad recipient state"};
            std::uint64_t size = r.u64();
            if (!r.ok || size > kMaxMessageBytes || size != r.left) return Corrupt{"message record: bad body length"};
            m.body_offset = static_cast<std::uint64_t>(r.p - p);
            m.body_size = size;
            if (options.copy_body) m.body.assign(reinterpret_cast<const char*>(r.p), static_cast<std::size_t>(size));
            r.p += size, r.left -= static_cast<std::size_t>(size);
            record = std::move(m);
            break;
        }
        case Type::State: {
            StateRecord s;
            s.id = r.u64();
            s.recipient = r.u32();
            if (!get_state(r, s.state)) return Corrupt{"state record: bad state"};
            record = std::move(s);
            break;
        }
    }
    if (!r.ok) return Corrupt{"payload shorter than its fields"};
    if (r.left != 0) return Corrupt{"trailing bytes in payload"};
    return Complete{std::move(record), total};
}

}  // namespace tern::queue::record

// ---- segment scanning ---------------------------------------------------------------------------

namespace tern::queue::record {

namespace {
constexpr std::size_t kNpos = std::string_view::npos;

// The frame header at `p` (at least kFrameHeader bytes) names a known version and type and a length
// within the cap: the length field is worth trying.
bool plausible_header(const unsigned char* p) {
    return p[0] == 'T' && p[1] == 'Q' && p[2] == kFormatVersion && p[3] >= 1 && p[3] <= 3 &&
           get_u32(p + 4) <= kMaxPayload;
}
}  // namespace

bool SegmentScanner::all_zero(std::size_t from) const {
    for (std::size_t i = from; i < data_.size(); ++i)
        if (data_[i] != 0) return false;
    return true;
}

bool SegmentScanner::complete_at(std::size_t at) const {
    return std::holds_alternative<Complete>(decode(data_.substr(at), {.copy_body = false}));
}

bool SegmentScanner::chain_reaches_end(std::size_t at) {
    while (at < data_.size()) {
        auto res = decode(data_.substr(at), {.copy_body = false});
        auto* c = std::get_if<Complete>(&res);
        if (!c) return all_zero(at);
        budget_ -= std::min<std::uint64_t>(budget_, c->bytes);
        at += c->bytes;
    }
    return true;
}

std::pair<std::size_t, bool> SegmentScanner::resync(std::size_t from) {
    if (!budget_set_) {  // every byte may be checksummed a few times over, then the rest is given up
        budget_ = 8 * static_cast<std::uint64_t>(data_.size()) + (64u << 20);
        budget_set_ = true;
    }
    std::size_t first = kNpos;  // the first candidate, in case none reaches the end
    for (std::size_t at = data_.find(std::string_view("TQ\x01", 3), from); at != kNpos && budget_ > 0;
         at = data_.find(std::string_view("TQ\x01", 3), at + 1)) {
        if (data_.size() - at < kFrameHeader) break;
        const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + at);
        if (!plausible_header(p)) continue;
        std::uint64_t total = kFrameOverhead + static_cast<std::uint64_t>(get_u32(p + 4));
        if (total > data_.size() - at) continue;
        budget_ -= std::min<std::uint64_t>(budget_, total);
        if (!complete_at(at)) continue;
        if (first == kNpos) first = at;
        if (chain_reaches_end(at)) return {at, true};
    }
    return {first, false};
}

Bad SegmentScanner::describe(std::size_t from, std::size_t to, std::string reason) const {
    Bad bad{from, to, std::move(reason), std::nullopt, std::nullopt};
    if (data_.size() - from >= kFrameHeader) {
        const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + from);
        if (plausible_header(p)) {
            bad.type = static_cast<Type>(p[3]);
            if (*bad.type != Type::SegmentHeader && get_u32(p + 4) >= 8 && data_.size() - from >= kFrameHeader + 8) {
                std::uint64_t id = 0;
                for (int i = 7; i >= 0; --i) id = (id << 8) | p[kFrameHeader + static_cast<std::size_t>(i)];
                bad.id = id;
            }
        }
    }
    return bad;
}

ScanEvent SegmentScanner::next() {
    if (done_) return tail_;
    if (pos_ >= data_.size()) {
        done_ = true;
        tail_ = Tail{Tail::Kind::None, pos_, {}};
        return tail_;
    }
    auto res = decode(data_.substr(pos_), {.copy_body = false});
    if (auto* c = std::get_if<Complete>(&res)) {
        Found f{std::move(*c), pos_};
        pos_ += f.record.bytes;
        return f;
    }
    const std::size_t at = pos_;
    done_ = true;  // unless a way past the bad bytes is found below
    if (all_zero(at)) {
        tail_ = Tail{Tail::Kind::Zeros, at, {}};
        return tail_;
    }
    const bool past_end = std::holds_alternative<NeedMore>(res);
    std::string reason = past_end ? "incomplete record" : std::get<Corrupt>(res).reason;

    // Where the damaged record ends if its length field is intact.
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + at);
    std::size_t end = kNpos;
    if (data_.size() - at >= kFrameHeader && plausible_header(p)) {
        std::uint64_t total = kFrameOverhead + static_cast<std::uint64_t>(get_u32(p + 4));
        if (total <= data_.size() - at) end = at + static_cast<std::size_t>(total);
    }
    // 1. The next offset from which records chain to the end: with one damaged spot, exactly the
    // record after the damaged one, whatever happened to its length field.
    auto [next, chained] = resync(at + 1);
    // 2. With more damage further on, no chain reaches the end: trust an intact-looking length
    // field over the first candidate found by searching (which may sit inside a message body).
    if (!chained && end != kNpos && end < data_.size() && complete_at(end)) next = end;
    if (next != kNpos) {
        done_ = false;
        pos_ = next;
        return describe(at, next, std::move(reason));
    }
    // 3. Nothing valid follows: an unfinished final write, or damage reaching the end. A write cut
    // short leaves a record that runs past the end of the file, or (in zero-filled space) one whose
    // last bytes, checksum included, are still zeros and are followed by zeros only.
    bool torn = past_end;
    if (torn && data_.size() - at >= kFrameOverhead && data_.size() - at - kFrameOverhead <= kMaxPayload) {
        // A record that runs past the end may also be a complete last record whose length field
        // was damaged: if the bytes up to the end check out under the length they actually span,
        // it is damage (an acknowledged record), not a write cut short.
        std::string head(data_.substr(at, kFrameHeader));
        auto span = static_cast<std::uint32_t>(data_.size() - at - kFrameOverhead);
        for (int i = 0; i < 4; ++i) head[4 + static_cast<std::size_t>(i)] = static_cast<char>((span >> (8 * i)) & 0xFF);
        std::uint32_t crc = crc32c(std::string_view(head).substr(3));
        crc = crc32c(data_.substr(at + kFrameHeader, span), crc);
        if (crc == get_u32(reinterpret_cast<const unsigned char*>(data_.data() + data_.size() - kFrameTrailer)))
            torn = false;
    }
    if (!torn && end != kNpos) {
        const auto* crc = reinterpret_cast<const unsigned char*>(data_.data() + end - kFrameTrailer);
        torn = get_u32(crc) == 0 && all_zero(end);
    }
    tail_ = Tail{torn ? Tail::Kind::Torn : Tail::Kind::Damaged, at, describe(at, data_.size(), std::move(reason))};
    return tail_;
}

}  // namespace tern::queue::record
