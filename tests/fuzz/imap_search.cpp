// libFuzzer target: IMAP SEARCH evaluation (src/session/imap/search_match) over arbitrary messages
// and search strings. Must never crash, answer differently when the message is read in small
// pieces or streamed instead of cached, fold case differently in pieces than whole, or fold a
// folded text again to something else; parse_sent_date() never returns an impossible date.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "session/imap/search_match.hpp"

using namespace tern;
using namespace tern::imap;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

class PieceSource : public base::ByteSource {
public:
    PieceSource(std::string_view data, std::size_t piece) : data_(data), piece_(std::max<std::size_t>(piece, 1)) {}
    std::uint64_t size() const override { return data_.size(); }
    Result<std::size_t> read(std::uint64_t offset, std::span<char> out) const override {
        if (offset >= data_.size()) return 0;
        std::size_t n = std::min({out.size(), data_.size() - static_cast<std::size_t>(offset), piece_});
        std::copy_n(data_.data() + offset, n, out.data());
        return n;
    }

private:
    std::string_view data_;
    std::size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    const std::size_t selector = data[0], needle_len = data[1] % 24, piece = data[2] % 17 + 1;
    std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
    std::string needle(rest.substr(0, std::min(needle_len, rest.size())));
    std::string_view message = rest.substr(needle.size());

    // Case folding: pieces agree with the whole; folding is idempotent.
    std::string whole = fold_case(message);
    CaseFolder folder;
    std::string split;
    std::size_t cut = std::min<std::size_t>(selector * 7, message.size());
    folder.feed(message.substr(0, cut), split);
    folder.feed(message.substr(cut), split);
    folder.finish(split);
    check(split == whole);
    check(fold_case(whole) == whole);

    // The matcher over pieces agrees with a search of the whole text.
    if (!needle.empty()) {
        SubstringMatcher m(needle);
        for (std::size_t i = 0; i < message.size(); i += piece) m.feed(message.substr(i, piece));
        check(m.found() == (message.find(needle) != std::string_view::npos));
    }

    if (auto d = parse_sent_date(message.substr(0, 200))) {
        check(d->date.month >= 1 && d->date.month <= 12 && d->date.day >= 1 && d->date.day <= 31);
        check(d->hour <= 23 && d->minute <= 59 && d->second <= 60);
    }

    using K = SearchKey::Kind;
    static constexpr K kinds[] = {K::Body, K::Text, K::Subject, K::From, K::Header, K::SentOn, K::SentBefore};
    SearchKey k;
    k.kind = kinds[selector % std::size(kinds)];
    k.text = needle;
    if (k.kind == K::Header) {
        k.text = "X-" + needle.substr(0, 3);
        k.value = needle.substr(std::min<std::size_t>(3, needle.size()));
    }
    k.date = {2024, 2, 1};
    SearchContext ctx{.max_seq = 1, .max_uid = 1, .saved = nullptr, .tz_offset_minutes = 0};
    int answer = -1;
    for (std::uint64_t keep : {std::uint64_t{0}, MatchCache::kDefaultKeepTextBytes})
        for (std::size_t p : {piece, std::size_t{1} << 20}) {
            PieceSource src(message, p);
            SearchMessage sm{.seq = 1, .uid = 1, .modseq = 1, .size = message.size(),
                             .internal_date = 1706788800, .flags = {}, .source = &src};
            MatchCache cache(keep);
            auto r = matches(k, ctx, sm, cache);
            check(r.has_value());
            check(answer == -1 || answer == static_cast<int>(*r));
            answer = *r;
        }
    return 0;
}
