// libFuzzer target: the DSN generator (src/delivery/dsn) on arbitrary replies, addresses, ids and
// original messages. Must never crash, and every DSN it makes must be transportable: CRLF only,
// no line over 998 octets, the boundary only on its delimiter lines and in Content-Type, the
// original returned byte for byte when it says so, and no non-ASCII octets outside the returned
// content unless the DSN is marked SMTPUTF8.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "delivery/dsn.hpp"
#include "mime/header.hpp"

using namespace tern;
using namespace tern::delivery;

static void check(bool ok) {
    if (!ok) std::abort();
}

static std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
    return n;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    DsnInput d;
    d.reporting_mta = in.ConsumeBool() ? "mx.example.org" : in.ConsumeRandomLengthString(64);
    d.original_sender = in.ConsumeBool() ? "alice@example.com" : in.ConsumeRandomLengthString(64);
    d.envid = in.ConsumeRandomLengthString(128);
    d.queue_id_text = in.ConsumeRandomLengthString(32);
    d.arrival = in.ConsumeIntegralInRange<std::int64_t>(-1, 4102444800);
    d.now = in.ConsumeIntegralInRange<std::int64_t>(0, 4102444800);
    d.ret = static_cast<smtp::DsnRet>(in.ConsumeIntegralInRange(0, 2));
    d.smtputf8 = in.ConsumeBool();
    d.unique = in.ConsumeIntegral<std::uint64_t>();
    d.return_limit = in.ConsumeIntegralInRange<std::uint64_t>(0, 8192);
    int n = in.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < n; ++i) {
        DsnRecipient r;
        r.address = in.ConsumeBool() ? "bob@example.net" : in.ConsumeRandomLengthString(64);
        r.orcpt = in.ConsumeRandomLengthString(64);
        r.action = static_cast<DsnRecipient::Action>(in.ConsumeIntegralInRange(0, 4));
        r.reply = in.ConsumeRandomLengthString(2048);
        r.remote_mta = in.ConsumeRandomLengthString(64);
        r.last_attempt = in.ConsumeIntegralInRange<std::int64_t>(0, 4102444800);
        r.retry_until = in.ConsumeIntegralInRange<std::int64_t>(0, 4102444800);
        d.recipients.push_back(std::move(r));
    }
    bool with_original = in.ConsumeBool();
    std::string original = in.ConsumeRemainingBytesAsString();
    if (with_original) d.original = base::bytes_from_string(original);

    auto r = build_dsn(d);
    if (!r) return 0;
    const std::string& m = r->message;
    std::size_t line = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\r') check(i + 1 < m.size() && m[i + 1] == '\n');
        else if (m[i] == '\n') check(i > 0 && m[i - 1] == '\r');
        if (m[i] == '\r' || m[i] == '\n') line = 0;
        else check(++line <= 998);
    }
    auto head_end = m.find("\r\n\r\n");
    check(head_end != std::string::npos);
    // The boundary parameter of the top Content-Type (an address may itself say boundary="...").
    auto ct = m.find("\r\nContent-Type: multipart/report;");
    check(ct != std::string::npos && ct < head_end);
    auto b = m.find("boundary=\"", ct);
    check(b != std::string::npos && b < head_end);
    b += 10;
    std::string boundary = m.substr(b, m.find('"', b) - b);
    check(!boundary.empty());
    // Content-Type, one delimiter per part, the close delimiter: nowhere else.
    std::size_t parts = with_original ? 3 : 2;
    check(count(m, boundary) == parts + 2);
    check(count(m, "\r\n--" + boundary + "\r\n") == parts);
    check(count(m, "\r\n--" + boundary + "--\r\n") == 1);
    if (r->content_returned) check(m.find(original) != std::string::npos);
    auto headers = mime::parse_header_section(m);
    check(headers.has_value() && headers->find("Content-Type") && headers->count("To") == 1);
    if (!r->smtputf8) {
        // Outside the returned content (part 3), everything is ASCII.
        auto third = m.find("\r\n--" + boundary + "\r\n", m.find("message/delivery-status"));
        std::string before = m.substr(0, third);
        for (char c : before) check(static_cast<unsigned char>(c) < 0x80);
    }
    return 0;
}
