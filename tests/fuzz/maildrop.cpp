// libFuzzer target: the maildrop file parser and the pickup's preparation (src/queue/maildrop) on
// arbitrary files. Must never crash, accept an envelope that does not format back to the same
// one, put a body offset outside the message, or produce a head with a bare CR or LF or without
// its final empty line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/maildrop.hpp"

using namespace tern::queue::maildrop;

static void check(bool ok) {
    if (!ok) std::abort();
}

static bool crlf_only(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view file(reinterpret_cast<const char*>(data), size);
    // Let most inputs reach past the magic line.
    std::string with_magic = std::string(kMagic) + "\nuid 7\nuser u\n" + std::string(file);
    for (std::string_view input : {file, std::string_view(with_magic)}) {
        auto parsed = parse(input);
        if (!parsed) continue;
        check(parsed->message_offset <= input.size());
        auto again = format(parsed->envelope);
        check(again.has_value());
        auto round = parse(*again);
        check(round.has_value() && round->envelope == parsed->envelope && round->message_offset == again->size());

        std::string_view message = input.substr(parsed->message_offset);
        bool whole = message.size() <= kMaxHeader;
        Origin origin{"u", 7, "mx.example.org", "00112233445566778899aabbccddeeff", 1800000000};
        auto p = prepare(parsed->envelope, message.substr(0, kMaxHeader), origin, whole);
        if (!p) continue;
        check(p->body_offset <= message.size());
        check(!p->envelope.recipients.empty());
        check(crlf_only(p->head));
        check(p->head.ends_with("\r\n\r\n"));
        check(p->head.starts_with("Received: "));
    }
    // The stdin rule and the CRLF writer, over two chunks.
    for (bool dots : {false, true}) {
        InputReader reader(dots);
        std::string out;
        std::size_t half = size / 2;
        if (reader.feed(file.substr(0, half), out)) reader.feed(file.substr(half), out);
        reader.finish(out);
        check(out.size() <= size);
        if (!dots) check(out == file);
    }
    CrlfWriter w;
    std::string out;
    w.feed(file.substr(0, size / 3), out);
    w.feed(file.substr(size / 3), out);
    w.finish(out);
    check(crlf_only(out));
    return 0;
}
