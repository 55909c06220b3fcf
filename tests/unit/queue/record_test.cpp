// Tests for the spool record codec: CRC-32C, exact byte layout, round trips, split feeding,
// truncation, bit flips and hostile lengths. Must never accept a record the encoder did not produce.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "queue/record.hpp"

namespace tern::queue::record {
namespace {

Envelope dsn_envelope() {
    Envelope e;
    e.mail_from = "jörg+list@exämple.org";
    Recipient a{"user+tag@example.org", {}, ""};
    a.notify.specified = true;
    a.notify.success = true;
    a.notify.failure = true;
    a.notify.delay = true;
    a.orcpt = "rfc822;User+2Btag@Example.org";
    Recipient b{"δοκιμή@παράδειγμα.δοκιμή", {}, "utf-8;δοκιμή@παράδειγμα.δοκιμή"};
    b.notify.specified = true;
    b.notify.never = true;
    Recipient c{"plain@example.net", {}, ""};
    e.recipients = {a, b, c};
    e.ret = smtp::DsnRet::Hdrs;
    e.envid = "QQ314159 envid with spaces";
    e.body = smtp::BodyType::EightBitMime;
    e.smtputf8 = true;
    e.auth_user = "jörg";
    e.client_ip = "2001:db8::1";
    e.helo = "mail.exämple.org";
    e.received_at = 1700000000;
    return e;
}

MessageRecord sample_message() {
    MessageRecord m;
    m.id = 0x0123456789ABCDEFull;
    m.envelope = dsn_envelope();
    m.states.resize(3);
    m.states[1] = {RecipientState::Status::Deferred, 1700003600, 4, "451 4.7.1 greylisted, ünïcode"};
    m.states[2] = {RecipientState::Status::Failed, 0, 1, "550 5.1.1 no such user"};
    m.body = std::string("From: <a@b>\r\nSubject: t\r\n\r\nbody with \0 NUL and UTF-8 ✓\r\n.\r\n", 61);
    m.body.push_back('\0');
    return m;
}

std::vector<Record> samples() {
    StateRecord s{42, 7, {RecipientState::Status::Delivered, 123, 9, "250 2.0.0 ok"}};
    MessageRecord empty;  // no recipients, empty body, all defaults
    empty.id = 1;
    return {SegmentHeader{kFormatVersion, 5, 1700000000123456}, sample_message(), s, empty,
            StateRecord{}};
}

// The decoded form of a record: the decoder also reports where the body sits.
Record with_offsets(Record r, const std::string& bytes) {
    if (auto* m = std::get_if<MessageRecord>(&r)) {
        m->body_size = m->body.size();
        m->body_offset = bytes.size() - kFrameTrailer - m->body.size();
    }
    return r;
}

std::string le32(std::uint32_t v) {
    std::string s;
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
}
std::string le64(std::uint64_t v) {
    std::string s;
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
}
// A frame with a correct checksum around an arbitrary payload.
std::string frame(std::uint8_t type, const std::string& payload) {
    std::string f = "TQ";
    f.push_back(static_cast<char>(kFormatVersion));
    f.push_back(static_cast<char>(type));
    f += le32(static_cast<std::uint32_t>(payload.size()));
    f += payload;
    f += le32(crc32c(std::string_view(f).substr(3)));
    return f;
}

TEST(Crc32c, StandardCheckValue) {
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, Rfc3720TestVectors) {  // RFC 3720 §B.4
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
    std::string inc;
    for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
    EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
}

TEST(Crc32c, Chains) {
    EXPECT_EQ(crc32c("56789", crc32c("1234")), 0xE3069283u);
}

TEST(Crc32c, PortableAndHardwareAgreeAtEveryLengthAndAlignment) {
    EXPECT_EQ(crc32c_portable("123456789"), 0xE3069283u);
    std::string data;
    for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 37 + 11));
    for (std::size_t off = 0; off < 9; ++off)
        for (std::size_t len = 0; off + len <= data.size(); len += 7) {
            std::string_view v(data.data() + off, len);
            ASSERT_EQ(crc32c(v), crc32c_portable(v)) << "offset " << off << " length " << len;
            ASSERT_EQ(crc32c(v, 0x12345678u), crc32c_portable(v, 0x12345678u));
        }
}

TEST(Record, StateRecordExactLayout) {
    StateRecord s{0x0102030405060708ull, 2, {RecipientState::Status::Deferred, 1700000000, 3, "451 later"}};
    std::string payload = le64(0x0102030405060708ull) + le32(2) + std::string(1, '\x03') + le64(1700000000) +
                          le32(3) + le32(9) + "451 later";
    std::string expected = std::string("TQ\x01\x03", 4) + le32(static_cast<std::uint32_t>(payload.size())) + payload;
    expected += le32(crc32c(std::string_view(expected).substr(3)));
    auto enc = encode(s);
    ASSERT_TRUE(enc);
    EXPECT_EQ(*enc, expected);
}

TEST(Record, SegmentHeaderExactLayout) {
    auto enc = encode(SegmentHeader{1, 0x10, -1});
    ASSERT_TRUE(enc);
    std::string payload = std::string(1, '\x01') + le64(0x10) + le64(~0ull);
    std::string expected = std::string("TQ\x01\x01", 4) + le32(17) + payload;
    expected += le32(crc32c(std::string_view(expected).substr(3)));
    EXPECT_EQ(*enc, expected);
}

TEST(Record, RoundTripEveryType) {
    for (const auto& r : samples()) {
        auto enc = encode(r);
        ASSERT_TRUE(enc) << enc.error().message;
        auto dec = decode(*enc);
        auto* done = std::get_if<Complete>(&dec);
        ASSERT_NE(done, nullptr) << "type index " << r.index();
        EXPECT_EQ(done->bytes, enc->size());
        EXPECT_EQ(done->record, with_offsets(r, *enc)) << "type index " << r.index();
    }
}

TEST(Record, MessageKeepsEveryEnvelopeField) {
    auto m = sample_message();
    auto enc = encode(m);
    ASSERT_TRUE(enc);
    auto dec = decode(*enc);
    ASSERT_TRUE(std::holds_alternative<Complete>(dec));
    const auto& got = std::get<MessageRecord>(std::get<Complete>(dec).record);
    EXPECT_EQ(got.envelope, dsn_envelope());
    EXPECT_TRUE(got.envelope.recipients[0].notify.delay);
    EXPECT_TRUE(got.envelope.recipients[1].notify.never);
    EXPECT_FALSE(got.envelope.recipients[2].notify.specified);
    EXPECT_EQ(got.envelope.recipients[1].orcpt, "utf-8;δοκιμή@παράδειγμα.δοκιμή");
    EXPECT_EQ(got.states, m.states);
    EXPECT_EQ(got.body, m.body);
    EXPECT_EQ(enc->substr(got.body_offset, got.body_size), m.body);
}

TEST(Record, DecodeWithoutBodyCopyReportsOffsets) {
    auto m = sample_message();
    auto enc = encode(m);
    ASSERT_TRUE(enc);
    auto dec = decode(*enc, {.copy_body = false});
    ASSERT_TRUE(std::holds_alternative<Complete>(dec));
    const auto& got = std::get<MessageRecord>(std::get<Complete>(dec).record);
    EXPECT_TRUE(got.body.empty());
    EXPECT_EQ(got.body_size, m.body.size());
    EXPECT_EQ(enc->substr(got.body_offset, got.body_size), m.body);
}

TEST(Record, EncodeParts) {
    auto m = sample_message();
    auto parts = encode_parts(m);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->body.data(), m.body.data());  // no copy of the body
    EXPECT_EQ(parts->head + std::string(parts->body) + parts->tail, *encode(m));
}

TEST(Record, EveryPrefixNeedsMore) {
    for (const auto& r : samples()) {
        std::string enc = *encode(r);
        for (std::size_t k = 0; k < enc.size(); ++k) {
            auto dec = decode(std::string_view(enc).substr(0, k));
            auto* more = std::get_if<NeedMore>(&dec);
            ASSERT_NE(more, nullptr) << "prefix " << k << " of " << enc.size();
            EXPECT_GT(more->at_least, k);
            EXPECT_LE(more->at_least, enc.size());
        }
    }
}

// A stream of records fed in two pieces split at every point decodes to the same records.
TEST(Record, StreamSplitAtEveryPoint) {
    auto recs = samples();
    std::string stream;
    for (const auto& r : recs) stream += *encode(r);
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        std::string buf = stream.substr(0, split);
        std::size_t fed = split;
        std::vector<Record> got;
        std::size_t pos = 0;
        for (;;) {
            auto dec = decode(std::string_view(buf).substr(pos));
            if (auto* done = std::get_if<Complete>(&dec)) {
                got.push_back(done->record);
                pos += done->bytes;
            } else if (std::holds_alternative<NeedMore>(dec) && fed < stream.size()) {
                buf += stream.substr(fed);
                fed = stream.size();
            } else {
                ASSERT_TRUE(std::holds_alternative<NeedMore>(dec)) << "split " << split;
                break;
            }
        }
        ASSERT_EQ(pos, stream.size()) << "split " << split;
        ASSERT_EQ(got.size(), recs.size());
        for (std::size_t i = 0; i < recs.size(); ++i)
            EXPECT_EQ(got[i], with_offsets(recs[i], *encode(recs[i]))) << "split " << split << " record " << i;
    }
}

TEST(Record, FlippedBytesNeverDecode) {
    for (const auto& r : samples()) {
        const std::string enc = *encode(r);
        for (std::size_t i = 0; i < enc.size(); ++i) {
            for (unsigned mask : {0x01u, 0x80u, 0xFFu, 0x5Au}) {
                std::string bad = enc;
                bad[i] = static_cast<char>(bad[i] ^ mask);
                auto dec = decode(bad);
                EXPECT_FALSE(std::holds_alternative<Complete>(dec)) << "byte " << i << " mask " << mask;
            }
        }
    }
}

TEST(Record, RejectsBadFraming) {
    std::string enc = *encode(StateRecord{});
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode("X")));
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode("TX")));
    EXPECT_TRUE(std::holds_alternative<NeedMore>(decode("TQ")));
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(std::string("TQ\x02", 3))));     // future version
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(std::string("TQ\x01\x09", 4))));  // unknown type
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(std::string("TQ\x01\x00", 4))));
    // Payload length past the cap is corrupt at once, not a request for a gigabyte more.
    std::string huge = std::string("TQ\x01\x02", 4) + le32(kMaxPayload + 1);
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(huge)));
    // Zero fill (a torn append on some file systems) is corrupt, not a short read.
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(std::string(64, '\0'))));
}

TEST(Record, RejectsHostileLengthsInsideValidFrames) {
    // Recipient count far beyond the cap, with a valid checksum.
    std::string p = le64(1) + le32(0) + le32(0xFFFFFFFFu);
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, p))));
    // A count under the cap that the payload cannot hold must not be reserved.
    p = le64(1) + le32(0) + le32(kMaxRecipients);
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, p))));
    // String length beyond the cap / beyond the payload.
    p = le64(1) + le32(0) + std::string(1, '\x01') + le64(0) + le32(0) + le32(kMaxStringBytes + 1);
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, p))));
    p = le64(1) + le32(0) + std::string(1, '\x01') + le64(0) + le32(0) + le32(100) + "short";
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, p))));
    // Truncated payload and trailing bytes.
    p = le64(1) + le32(0);
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, p))));
    p = le64(1) + le32(0) + std::string(1, '\x01') + le64(0) + le32(0) + le32(0) + "x";
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, p))));
    // The same without the extra byte is fine: the helper builds real frames.
    p.pop_back();
    EXPECT_TRUE(std::holds_alternative<Complete>(decode(frame(3, p))));
}

TEST(Record, RejectsNonCanonicalValues) {
    std::string ok = le64(1) + le32(0) + std::string(1, '\x01') + le64(0) + le32(0) + le32(0);
    ASSERT_TRUE(std::holds_alternative<Complete>(decode(frame(3, ok))));
    std::string bad_status = ok;
    bad_status[12] = 5;  // 0-4 are statuses, 0x10 a flag
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, bad_status))));
    bad_status[12] = 0x21;  // an unknown flag bit
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(3, bad_status))));

    // Message: empty envelope, no recipients. Offsets: id 8, mail_from 4, count 4, ret 1, envid 4,
    // body 1, smtputf8 1, auth 4, ip 4, helo 4, received 8, body length 8.
    std::string m = le64(1) + le32(0) + le32(0) + std::string(1, '\0') + le32(0) + std::string(1, '\0') +
                    std::string(1, '\0') + le32(0) + le32(0) + le32(0) + le64(0) + le64(0);
    ASSERT_TRUE(std::holds_alternative<Complete>(decode(frame(2, m))));
    std::string bad = m;
    bad[16] = 3;  // RET
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, bad))));
    bad = m;
    bad[21] = 4;  // BODY
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, bad))));
    bad = m;
    bad[22] = 2;  // SMTPUTF8 flag must be 0 or 1
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, bad))));
    bad = m;
    bad[m.size() - 8] = 1;  // body length larger than what follows
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, bad))));
    // Unknown NOTIFY bits.
    MessageRecord one;
    one.envelope.recipients.push_back({"a@b", {}, ""});
    one.states.resize(1);
    std::string enc = *encode(one);
    std::size_t notify_at = kFrameHeader + 8 + 4 + 4 + 4 + 3;
    ASSERT_EQ(enc[notify_at], 0);
    std::string payload = enc.substr(kFrameHeader, enc.size() - kFrameOverhead);
    payload[notify_at - kFrameHeader] = 0x20;
    EXPECT_TRUE(std::holds_alternative<Corrupt>(decode(frame(2, payload))));
    payload[notify_at - kFrameHeader] = 0x1F;
    EXPECT_TRUE(std::holds_alternative<Complete>(decode(frame(2, payload))));
}

TEST(Record, EncoderEnforcesCaps) {
    MessageRecord m;
    m.envelope.recipients.push_back({"a@b", {}, ""});
    EXPECT_FALSE(encode(m));  // states missing
    m.states.resize(1);
    EXPECT_TRUE(encode(m));
    m.envelope.helo = std::string(kMaxStringBytes + 1, 'h');
    EXPECT_FALSE(encode(m));
    m.envelope.helo = std::string(kMaxStringBytes, 'h');
    EXPECT_TRUE(encode(m));
    StateRecord s;
    s.state.last_reply = std::string(kMaxStringBytes + 1, 'x');
    EXPECT_FALSE(encode(s));
}

}  // namespace
}  // namespace tern::queue::record

namespace tern::queue::record {
namespace {

// Compaction writes a large body itself, after a head from encode_message_head, with the CRC
// chained over both: the bytes must be exactly those of encode().
TEST(Record, MessageHeadPlusBodyPlusChainedCrcIsTheWholeRecord) {
    MessageRecord m = sample_message();
    for (std::string body : {std::string(), std::string("x"), std::string(100000, 'b')}) {
        m.body = body;
        auto whole = encode(m);
        ASSERT_TRUE(whole);
        m.body = "ignored";
        auto head = encode_message_head(m, body.size());
        ASSERT_TRUE(head);
        std::uint32_t crc = crc32c(std::string_view(*head).substr(3));
        crc = crc32c(body, crc);
        EXPECT_EQ(*head + body + le32(crc), *whole) << body.size();
    }
    EXPECT_FALSE(encode_message_head(m, kMaxMessageBytes + 1));
}

}  // namespace
}  // namespace tern::queue::record

namespace tern::queue::record {
namespace {
TEST(Record, HeldAndDelayNotifiedSurviveARoundTrip) {
    RecipientState held{RecipientState::Status::Held, 0, 2, "451 4.4.1 connection refused"};
    held.delay_notified = true;
    StateRecord s{9, 1, held};
    auto enc = encode(Record{s});
    ASSERT_TRUE(enc);
    auto dec = decode(*enc);
    auto* done = std::get_if<Complete>(&dec);
    ASSERT_NE(done, nullptr);
    auto* got = std::get_if<StateRecord>(&done->record);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->state.status, RecipientState::Status::Held);
    EXPECT_TRUE(got->state.delay_notified);
    EXPECT_EQ(*got, s);
}
}  // namespace
}  // namespace tern::queue::record
