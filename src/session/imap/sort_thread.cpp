// SORT and THREAD algorithms of RFC 5256 (and RFC 5957's DISPLAYFROM/DISPLAYTO) over fields read
// from message headers. Must never recurse on input structure: every tree walk keeps its own stack.
#include "session/imap/sort_thread.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "base/ascii.hpp"
#include "mime/address.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "session/imap/search_match.hpp"

namespace tern::imap {
namespace {

std::string ascii_upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// RFC 5256 §5: subj-blob = "[" *BLOBCHAR "]" *WSP; BLOBCHAR is any octet but NUL, "[" and "]".
// Step 1 made every WSP a single SP. Returns the blob's length at `pos`, 0 if none.
std::size_t blob_at(std::string_view s, std::size_t pos) {
    if (pos >= s.size() || s[pos] != '[') return 0;
    std::size_t i = pos + 1;
    while (i < s.size() && s[i] != ']' && s[i] != '[' && s[i] != '\0') ++i;
    if (i >= s.size() || s[i] != ']') return 0;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i - pos;
}

// subj-leader's first alternative: *subj-blob subj-refwd, with
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". Its length, 0 if none.
std::size_t refwd_leader(std::string_view s) {
    std::size_t i = 0;
    while (std::size_t n = blob_at(s, i)) i += n;
    auto rest = s.substr(i);
    if (ascii::istarts_with(rest, "re")) i += 2;
    else if (ascii::istarts_with(rest, "fwd")) i += 3;
    else if (ascii::istarts_with(rest, "fw")) i += 2;
    else return 0;
    while (i < s.size() && s[i] == ' ') ++i;
    i += blob_at(s, i);
    if (i >= s.size() || s[i] != ':') return 0;
    return i + 1;
}

// The value of the first field named `name`, or nullptr.
const mime::HeaderField* field(const mime::HeaderSection& h, std::string_view name) { return h.find(name); }

// The first mailbox of an address-list field (groups flattened), if any parses.
// The first address as ENVELOPE shows it (RFC 5256 §3 sorts on it): a group's first "address" is
// its start, whose mailbox is the group's name; a value that does not parse as addresses (a
// bare "d") is taken as a mailbox without a domain, as Dovecot does.
std::optional<mime::Mailbox> first_mailbox(const mime::HeaderSection& h, std::string_view name) {
    auto* f = field(h, name);
    if (!f) return std::nullopt;
    std::string value = compress_space(mime::unfold(f->raw_value));
    if (value.empty()) return std::nullopt;
    auto list = mime::parse_address_list(value);
    if (!list || list->empty()) {
        mime::Mailbox m;
        m.local_part = value;
        return m;
    }
    if (auto* g = std::get_if<mime::Group>(&list->front())) {
        mime::Mailbox m;
        m.local_part = g->display_name;
        return m;
    }
    return std::get<mime::Mailbox>(list->front());
}

// RFC 5957 §3: the display name (RFC 2047-decoded) if there is a non-empty one, else the addr-spec
// (Dovecot's index-sort.c does the same); a mailbox without a domain is its local part alone.
std::string display_key(const std::optional<mime::Mailbox>& m) {
    if (!m) return {};
    if (!m->display_name.empty()) {
        std::string name = compress_space(mime::decode_words(m->display_name));
        if (!name.empty()) return name;
    }
    return m->domain.empty() ? m->local_part : m->addr_spec();
}

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Sibling order of RFC 5256 §2.2 / §4 step 6: sent date, then mailbox order.
bool earlier(const SortFields& a, const SortFields& b) {
    return std::tie(a.sent_date, a.seq) < std::tie(b.sent_date, b.seq);
}

}  // namespace

std::string base_subject(std::string_view decoded, bool* reply_or_forward) {
    // (1) Tabs and line breaks are spaces; runs of spaces are one.
    std::string s;
    s.reserve(decoded.size());
    for (char c : decoded) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !s.empty() && s.back() == ' ') continue;
        s.push_back(c);
    }
    bool refwd = false;
    for (;;) {
        // (2) subj-trailer = "(fwd)" / WSP, removed from the end while any is there.
        for (;;) {
            if (!s.empty() && s.back() == ' ') {
                s.pop_back();
            } else if (s.size() >= 5 && ascii::iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
                s.resize(s.size() - 5);
                refwd = true;
            } else {
                break;
            }
        }
        // (3)-(5) subj-leader, then a subj-blob that leaves a non-empty subj-base, until neither.
        for (;;) {
            bool changed = false;
            if (!s.empty() && s.front() == ' ') {
                s.erase(0, 1);
                changed = true;
            } else if (std::size_t n = refwd_leader(s)) {
                s.erase(0, n);
                refwd = true;
                changed = true;
            }
            if (std::size_t n = blob_at(s, 0); n > 0 && n < s.size()) {
                s.erase(0, n);
                changed = true;
            }
            if (!changed) break;
        }
        // (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]": removed, then back to (2).
        if (s.size() >= 6 && ascii::istarts_with(s, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            refwd = true;
            continue;
        }
        break;
    }
    if (reply_or_forward) *reply_or_forward = refwd;
    return s;
}

std::vector<std::string> message_ids(std::string_view value) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    while ((i = value.find('<', i)) != std::string_view::npos) {
        auto end = value.find('>', i + 1);
        if (end == std::string_view::npos) break;
        auto inner = value.substr(i + 1, end - i - 1);
        auto lt = inner.rfind('<');  // "<a <b>": the innermost
        if (lt != std::string_view::npos) inner = inner.substr(lt + 1);
        std::string id;
        for (char c : inner)
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id.push_back(c);  // folded inside
        if (!id.empty()) ids.push_back(std::move(id));
        i = end + 1;
    }
    return ids;
}

void read_sort_fields(std::string_view header, SortFields& f) {
    mime::HeaderLimits limits;
    limits.max_fields = header.size() + 1;  // cannot be exceeded: the parse never fails
    limits.max_field_bytes = header.size() + 1;
    auto parsed = mime::parse_header_section(header, limits);
    f.sent_date = f.internal_date;
    if (!parsed) return;
    const auto& h = *parsed;
    if (auto* s = field(h, "Subject")) {
        bool rf = false;
        f.subject = ascii_upper(base_subject(mime::decode_words(s->raw_value), &rf));
        f.reply_or_forward = rf;
    }
    // RFC 5256 §2.2: the Date: field in UTC; none, or one that does not parse: the internal date.
    if (auto* d = field(h, "Date"))
        if (auto sent = parse_sent_date(mime::unfold(d->raw_value))) f.sent_date = sent->unix_seconds();
    auto from = first_mailbox(h, "From");
    auto to = first_mailbox(h, "To");
    auto cc = first_mailbox(h, "Cc");
    // RFC 5256 §3: the addr-mailbox (local part) of the first address.
    f.from = from ? ascii_upper(from->local_part) : std::string();
    f.to = to ? ascii_upper(to->local_part) : std::string();
    f.cc = cc ? ascii_upper(cc->local_part) : std::string();
    f.display_from = ascii_upper(display_key(from));
    f.display_to = ascii_upper(display_key(to));
    if (auto* m = field(h, "Message-ID")) {
        auto ids = message_ids(m->raw_value);
        if (!ids.empty()) f.message_id = std::move(ids.front());
    }
    // RFC 5256 §4 REFERENCES step 1: References; without a valid id there, In-Reply-To's first.
    if (auto* r = field(h, "References")) f.references = message_ids(r->raw_value);
    if (f.references.empty())
        if (auto* r = field(h, "In-Reply-To")) {
            auto ids = message_ids(r->raw_value);
            if (!ids.empty()) f.references.push_back(std::move(ids.front()));
        }
}

std::vector<std::size_t> sort_messages(std::span<const SortFields> msgs, std::span<const SortCriterion> criteria) {
    std::vector<std::size_t> order(msgs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    using K = SortCriterion::Key;
    auto cmp3 = [](const auto& a, const auto& b) { return a < b ? -1 : b < a ? 1 : 0; };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
        const auto& a = msgs[x];
        const auto& b = msgs[y];
        for (const auto& c : criteria) {
            int r = 0;
            switch (c.key) {
                case K::Arrival: r = cmp3(a.internal_date, b.internal_date); break;
                case K::Cc: r = a.cc.compare(b.cc); break;
                case K::Date: r = cmp3(a.sent_date, b.sent_date); break;
                case K::From: r = a.from.compare(b.from); break;
                case K::Size: r = cmp3(a.size, b.size); break;
                case K::Subject: r = a.subject.compare(b.subject); break;
                case K::To: r = a.to.compare(b.to); break;
                case K::DisplayFrom: r = a.display_from.compare(b.display_from); break;
                case K::DisplayTo: r = a.display_to.compare(b.display_to); break;
            }
            if (r != 0) return c.reverse ? r > 0 : r < 0;
        }
        return a.seq < b.seq;  // RFC 5256 §3: exact matches in mailbox order
    });
    return order;
}

ThreadTree thread_orderedsubject(std::span<const SortFields> msgs) {
    // RFC 5256 §4 ORDEREDSUBJECT: sorted by base subject, then sent date; each run of one subject
    // is a thread whose first message is the parent of all the others; threads by their first
    // message's sent date.
    std::vector<std::size_t> order(msgs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
        if (int r = msgs[x].subject.compare(msgs[y].subject); r != 0) return r < 0;
        return earlier(msgs[x], msgs[y]);
    });
    ThreadTree t;
    for (std::size_t i = 0; i < order.size(); ++i) {
        std::size_t node = t.nodes.size();
        t.nodes.push_back({order[i], {}});
        if (i > 0 && msgs[order[i]].subject == msgs[order[i - 1]].subject)
            t.nodes[t.roots.back()].children.push_back(node);
        else
            t.roots.push_back(node);
    }
    std::stable_sort(t.roots.begin(), t.roots.end(), [&](std::size_t a, std::size_t b) {
        return earlier(msgs[t.nodes[a].msg], msgs[t.nodes[b].msg]);
    });
    return t;
}

ThreadTree thread_references(std::span<const SortFields> msgs) {
    struct Container {
        std::size_t msg = ThreadTree::kDummy;
        std::size_t parent = kNone;
        std::vector<std::size_t> children;
    };
    std::vector<Container> c;
    std::unordered_map<std::string_view, std::size_t> by_id;
    auto make = [&] {
        c.emplace_back();
        return c.size() - 1;
    };
    auto container_for = [&](std::string_view id) {
        auto it = by_id.find(id);
        if (it != by_id.end()) return it->second;
        auto n = make();
        by_id.emplace(id, n);
        return n;
    };
    // A link parent -> child is refused when it would close a loop: child is parent or one of
    // its ancestors. (The walk up costs the depth; a leaf child, the usual case, costs nothing.)
    auto would_loop = [&](std::size_t parent, std::size_t child) {
        if (c[child].children.empty()) return parent == child;  // a leaf is nobody's ancestor
        for (std::size_t p = parent; p != kNone; p = c[p].parent)
            if (p == child) return true;
        return false;
    };
    auto link = [&](std::size_t parent, std::size_t child) {
        c[child].parent = parent;
        c[parent].children.push_back(child);
    };
    auto unlink = [&](std::size_t child) {
        auto& siblings = c[c[child].parent].children;
        siblings.erase(std::find(siblings.begin(), siblings.end(), child));
        c[child].parent = kNone;
    };

    // (1) Messages in mailbox order; an id already taken by a message (or none) gets a container
    // of its own that no reference can reach.
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const auto& m = msgs[i];
        std::size_t self = kNone;
        if (!m.message_id.empty()) {
            auto it = by_id.find(m.message_id);
            if (it == by_id.end()) self = container_for(m.message_id);
            else if (c[it->second].msg == ThreadTree::kDummy) self = it->second;
        }
        if (self == kNone) self = make();
        c[self].msg = i;
        // (1A) The references in order, each the child of the one before, unless it has a parent
        // already or the link would make a loop.
        std::size_t prev = kNone;
        for (const auto& ref : m.references) {
            std::size_t cur = container_for(ref);
            if (prev != kNone && c[cur].parent == kNone && !would_loop(prev, cur)) link(prev, cur);
            prev = cur;
        }
        // (1B) The message's own parent is its last reference (replacing a guess made from
        // another message's truncated References), or none.
        if (c[self].parent != kNone) unlink(self);
        if (prev != kNone && !would_loop(prev, self)) link(prev, self);
    }

    // (2) The roots.
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < c.size(); ++i)
        if (c[i].parent == kNone) roots.push_back(i);

    // (4) Prune dummies: an empty one goes; one with children is replaced by them, except at the
    // top level where it stays unless it has just one child. Promoted children are looked at
    // again. `lists` holds child lists still to prune (top level first).
    auto prune = [&](std::vector<std::size_t>& list, bool top, std::size_t owner) {
        std::vector<std::size_t> out, work(list.rbegin(), list.rend());
        while (!work.empty()) {
            std::size_t n = work.back();
            work.pop_back();
            if (c[n].msg != ThreadTree::kDummy) {
                out.push_back(n);
            } else if (c[n].children.empty()) {
                // (4A) deleted
            } else if (!top || c[n].children.size() == 1) {
                for (auto it = c[n].children.rbegin(); it != c[n].children.rend(); ++it) {  // (4B)
                    c[*it].parent = owner;
                    work.push_back(*it);
                }
                c[n].children.clear();
            } else {
                out.push_back(n);
            }
        }
        list = std::move(out);
    };
    prune(roots, true, kNone);
    {
        std::vector<std::size_t> stack(roots.begin(), roots.end());
        while (!stack.empty()) {
            std::size_t n = stack.back();
            stack.pop_back();
            prune(c[n].children, false, n);
            stack.insert(stack.end(), c[n].children.begin(), c[n].children.end());
        }
    }

    // (5) Threads whose (base) subjects are the same are gathered.
    auto subject_of = [&](std::size_t n) -> const SortFields* {
        if (c[n].msg != ThreadTree::kDummy) return &msgs[c[n].msg];
        if (c[n].children.empty()) return nullptr;
        std::size_t first = c[n].children.front();
        return c[first].msg == ThreadTree::kDummy ? nullptr : &msgs[c[first].msg];
    };
    auto is_dummy = [&](std::size_t n) { return c[n].msg == ThreadTree::kDummy; };
    auto refwd = [&](std::size_t n) { return !is_dummy(n) && msgs[c[n].msg].reply_or_forward; };
    std::unordered_map<std::string_view, std::size_t> by_subject;
    for (std::size_t r : roots) {  // (5B)
        const SortFields* s = subject_of(r);
        if (!s || s->subject.empty()) continue;
        auto [it, added] = by_subject.emplace(s->subject, r);
        if (added) continue;
        std::size_t old = it->second;
        if (!is_dummy(old) && (is_dummy(r) || (refwd(old) && !refwd(r)))) it->second = r;
    }
    std::vector<bool> gone(c.size(), false);
    std::vector<std::size_t> replaced(c.size(), kNone);  // root -> the dummy that took its place
    for (std::size_t r : roots) {  // (5C)
        const SortFields* s = subject_of(r);
        if (!s || s->subject.empty()) continue;
        std::size_t t = by_subject.at(s->subject);
        if (t == r) continue;
        if (is_dummy(t) && is_dummy(r)) {  // (a) children appended
            for (auto ch : c[r].children) {
                c[ch].parent = t;
                c[t].children.push_back(ch);
            }
            c[r].children.clear();
        } else if (is_dummy(t) || (refwd(r) && !refwd(t))) {  // (b), (c) a child of the table's
            link(t, r);
        } else {  // (d) both under a new dummy, which takes the table entry's place
            std::size_t d = make();
            replaced.push_back(kNone);
            gone.push_back(false);
            replaced[t] = d;
            link(d, t);
            link(d, r);
            by_subject[s->subject] = d;
        }
        gone[r] = true;
    }
    {
        std::vector<std::size_t> kept;
        for (std::size_t r : roots) {
            if (gone[r]) continue;
            std::size_t n = r;
            while (replaced[n] != kNone) n = replaced[n];  // a root replaced again and again
            kept.push_back(n);
        }
        roots = std::move(kept);
    }

    // (6) Siblings by sent date, deepest first; a dummy sorts as its first child (after that
    // child's own siblings are sorted). Post-order without recursion.
    auto key_of = [&](std::size_t n) -> const SortFields& {
        while (is_dummy(n)) n = c[n].children.front();
        return msgs[c[n].msg];
    };
    {
        std::vector<std::size_t> pre, stack(roots.begin(), roots.end());
        while (!stack.empty()) {
            std::size_t n = stack.back();
            stack.pop_back();
            pre.push_back(n);
            stack.insert(stack.end(), c[n].children.begin(), c[n].children.end());
        }
        for (auto it = pre.rbegin(); it != pre.rend(); ++it) {
            auto& ch = c[*it].children;
            std::stable_sort(ch.begin(), ch.end(),
                             [&](std::size_t a, std::size_t b) { return earlier(key_of(a), key_of(b)); });
        }
        std::stable_sort(roots.begin(), roots.end(),
                         [&](std::size_t a, std::size_t b) { return earlier(key_of(a), key_of(b)); });
    }

    ThreadTree t;
    t.nodes.reserve(c.size());
    for (auto& x : c) t.nodes.push_back({x.msg, std::move(x.children)});
    t.roots = std::move(roots);
    return t;
}

std::string format_threads(const ThreadTree& tree, std::span<const SortFields> msgs) {
    // RFC 5256 §4: thread-list = "(" (thread-members / thread-nested) ")"; a node with one child
    // continues the list ("3 6"), one with more nests each child ("6 (4 23)(44 7 96)"); a dummy
    // is no number, only its nested children ("((3)(5))").
    std::string out;
    struct Item {
        std::size_t node;
        const char* text;  // non-null: emit this instead of a node
    };
    std::vector<Item> stack;
    auto push_children = [&](std::size_t n, bool after_number) {
        const auto& ch = tree.nodes[n].children;
        if (ch.empty()) return;
        if (after_number && ch.size() == 1) {
            stack.push_back({ch[0], nullptr});
            stack.push_back({0, " "});
            return;
        }
        for (auto it = ch.rbegin(); it != ch.rend(); ++it) {
            stack.push_back({0, ")"});
            stack.push_back({*it, nullptr});
            stack.push_back({0, "("});
        }
        if (after_number) stack.push_back({0, " "});
    };
    for (std::size_t r : tree.roots) {
        out += '(';
        stack.push_back({r, nullptr});
        while (!stack.empty()) {
            Item it = stack.back();
            stack.pop_back();
            if (it.text) {
                out += it.text;
                continue;
            }
            const auto& node = tree.nodes[it.node];
            bool real = node.msg != ThreadTree::kDummy;
            if (real) out += std::to_string(msgs[node.msg].number);
            push_children(it.node, real);
        }
        out += ')';
    }
    return out;
}

}  // namespace tern::imap
