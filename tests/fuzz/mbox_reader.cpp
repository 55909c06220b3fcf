// libFuzzer target for the mboxrd Reader (src/mbox): arbitrary bytes must never crash it, and
// whatever entries it reads must survive write_entry + re-read unchanged (sender, date, message),
// with the re-written file being a fixed point. Must never print or touch the file system.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "mbox/mbox.hpp"

namespace {

bool read_all(const std::string& bytes, std::vector<tern::mbox::Entry>& out) {
    std::istringstream in(bytes);
    tern::mbox::Reader r(in);
    for (;;) {
        auto e = r.next();
        if (!e) return false;
        if (!*e) return true;
        out.push_back(std::move(**e));
    }
}

std::string write_all(const std::vector<tern::mbox::Entry>& entries) {
    std::ostringstream out;
    for (const auto& e : entries) tern::mbox::write_entry(out, e);
    return out.str();
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<tern::mbox::Entry> first;
    if (!read_all(input, first)) return 0;  // not an mbox: an error value, not a crash
    for (const auto& e : first) {
        // Reader invariants (mbox.hpp): CRLF line ends only, last line terminated.
        check(e.message.empty() || e.message.ends_with("\r\n"));
        for (std::size_t i = 0; i < e.message.size(); ++i)
            if (e.message[i] == '\n') check(i > 0 && e.message[i - 1] == '\r');
        check(!e.sender.empty());
    }
    const std::string canonical = write_all(first);
    std::vector<tern::mbox::Entry> second;
    check(read_all(canonical, second));
    check(second.size() == first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        check(second[i].sender == first[i].sender);
        check(second[i].date == first[i].date);
        check(second[i].message == first[i].message);
    }
    check(write_all(second) == canonical);  // the canonical form is a fixed point
    return 0;
}
