// libFuzzer target: SORT and THREAD (session/imap/sort_thread.hpp) over header sections split from
// the input at NUL octets. Must never crash; every selected message appears exactly once in each
// sort order and each THREAD response, and the response's parentheses balance.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "session/imap/sort_thread.hpp"

using namespace tern::imap;

static void check(bool ok) {
    if (!ok) std::abort();
}

static void check_threads(const std::string& s, std::size_t n) {
    std::vector<int> seen(n + 1, 0);
    int depth = 0;
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c == '(') ++depth, ++i;
        else if (c == ')') check(--depth >= 0), ++i;
        else if (c == ' ') ++i;
        else {
            check(c >= '0' && c <= '9');
            std::size_t v = 0;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<std::size_t>(s[i++] - '0');
            check(v >= 1 && v <= n);
            ++seen[v];
        }
    }
    check(depth == 0);
    for (std::size_t v = 1; v <= n; ++v) check(seen[v] == 1);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<SortFields> msgs;
    while (msgs.size() < 64) {
        auto nul = in.find('\0');
        SortFields f;
        f.seq = f.number = static_cast<std::uint32_t>(msgs.size() + 1);
        f.internal_date = static_cast<std::int64_t>(msgs.size() * 7 % 5);
        f.size = msgs.size() % 3;
        read_sort_fields(in.substr(0, nul), f);
        bool rf = false;
        base_subject(in.substr(0, nul), &rf);
        msgs.push_back(std::move(f));
        if (nul == std::string_view::npos) break;
        in.remove_prefix(nul + 1);
    }
    using K = SortCriterion::Key;
    std::vector<SortCriterion> all = {{K::Subject, false}, {K::From, true}, {K::Date, false}, {K::DisplayTo, false},
                                      {K::Cc, true}, {K::To, false}, {K::DisplayFrom, false}, {K::Size, true}};
    auto order = sort_messages(msgs, all);
    std::vector<int> seen(msgs.size(), 0);
    for (auto i : order) check(++seen[i] == 1);
    check_threads(format_threads(thread_references(msgs), msgs), msgs.size());
    check_threads(format_threads(thread_orderedsubject(msgs), msgs), msgs.size());
    return 0;
}
