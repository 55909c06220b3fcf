// Threading of the header list (see threads.hpp).
#include "mua/threads.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace tern::mua {

namespace {
// The message ids ("<...>") in a References or In-Reply-To value, in order.
std::vector<std::string_view> ids(std::string_view v) {
    std::vector<std::string_view> out;
    while (true) {
        auto open = v.find('<');
        if (open == std::string_view::npos) break;
        auto close = v.find('>', open);
        if (close == std::string_view::npos) break;
        out.push_back(v.substr(open, close - open + 1));
        v.remove_prefix(close + 1);
    }
    return out;
}
}  // namespace

std::vector<ThreadLine> thread_order(const std::vector<MessageRow>& rows) {
    const std::size_t n = rows.size();
    std::unordered_map<std::string_view, std::size_t> by_id;
    for (std::size_t i = 0; i < n; ++i) {
        auto own = ids(rows[i].message_id);
        if (!own.empty()) by_id.emplace(own.front(), i);
    }
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> parent(n, kNone);
    for (std::size_t i = 0; i < n; ++i) {
        auto refs = ids(rows[i].in_reply_to);
        auto more = ids(rows[i].references);
        refs.insert(refs.end(), more.rbegin(), more.rend());  // In-Reply-To first, then nearest reference
        for (auto r : refs) {
            auto it = by_id.find(r);
            if (it == by_id.end() || it->second == i) continue;
            parent[i] = it->second;
            break;
        }
    }
    // Cut reference cycles (a refers to b, b to a): walk each chain once, colouring what is on
    // the current path; meeting the path again means the last link closes a cycle.
    std::vector<unsigned char> state(n, 0);  // 0 unvisited, 1 on the path, 2 done
    std::vector<std::size_t> path;
    for (std::size_t i = 0; i < n; ++i) {
        path.clear();
        std::size_t v = i;
        while (v != kNone && state[v] == 0) {
            state[v] = 1;
            path.push_back(v);
            v = parent[v];
        }
        if (v != kNone && state[v] == 1) parent[path.back()] = kNone;
        for (auto p : path) state[p] = 2;
    }
    std::vector<std::vector<std::size_t>> children(n);
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < n; ++i) (parent[i] == kNone ? roots : children[parent[i]]).push_back(i);
    auto by_date = [&](std::size_t a, std::size_t b) {
        return rows[a].date != rows[b].date ? rows[a].date < rows[b].date : rows[a].id < rows[b].id;
    };
    for (auto& c : children) std::sort(c.begin(), c.end(), by_date);
    std::sort(roots.begin(), roots.end(), by_date);
    std::vector<ThreadLine> out;
    out.reserve(n);
    std::vector<ThreadLine> stack;
    for (auto r : roots) {
        stack.push_back({r, 0});
        while (!stack.empty()) {
            auto line = stack.back();
            stack.pop_back();
            out.push_back(line);
            auto& c = children[line.index];
            for (auto it = c.rbegin(); it != c.rend(); ++it) stack.push_back({*it, line.depth + 1});
        }
    }
    return out;
}

}  // namespace tern::mua
