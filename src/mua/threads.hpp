// Threads for the header list (`tern list --thread`): each message's parent is the nearest
// message it refers to (In-Reply-To, else the last References entry present; RFC 5322 §3.6.4),
// threads ordered by their first message's date, replies under their parent by date. Pure; must
// never loop on reference cycles nor recurse on deep threads.
#pragma once
#include <cstddef>
#include <vector>

#include "mua/cache.hpp"

namespace tern::mua {

struct ThreadLine {
    std::size_t index = 0;  // into the rows given
    std::size_t depth = 0;  // 0: a thread's first message
};

std::vector<ThreadLine> thread_order(const std::vector<MessageRow>& rows);

}  // namespace tern::mua
