// Internal helpers shared by the grammar files (command_*.cpp): a cursor over a command's
// arguments and RFC 9051 §9 terminals (astring, number, flag, mailbox). Must never be included
// outside src/proto/imap.
#pragma once
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/datetime.hpp"
#include "proto/imap/reader.hpp"
#include "proto/imap/sequence.hpp"

namespace tern::imap::detail {

using Err = std::unexpected<std::string>;
template <class T>
using R = std::expected<T, std::string>;

#define TERN_IMAP_TRY(var, expr)                                  \
    auto var##_res = (expr);                                      \
    if (!var##_res) return std::unexpected(std::move(var##_res.error())); \
    auto& var = *var##_res

// RFC 9051 §9 ATOM-CHAR, strictly (the reader's atoms are wider).
bool atom_char(char c);
bool is_atom(std::string_view s);
bool is_astring_atom(std::string_view s);  // 1*ASTRING-CHAR (ATOM-CHAR / "]")
bool is_nil(const Arg& a);

class Cursor {
public:
    Cursor(const std::vector<Arg>& args, std::string_view what) : args_(args), what_(what) {}
    bool done() const { return i_ >= args_.size(); }
    const Arg* peek() const { return done() ? nullptr : &args_[i_]; }
    const Arg& take() { return args_[i_++]; }
    // The next argument must exist; else "Missing <what>".
    R<const Arg*> next(std::string_view what);
    R<std::string> astring(std::string_view what);
    R<std::string> atom(std::string_view what);  // upper-cased
    R<std::string> mailbox() { return astring("mailbox name"); }
    R<std::uint32_t> number(std::string_view what, bool nonzero);
    R<std::uint64_t> number64(std::string_view what, bool nonzero);
    R<SequenceSet> sequence_set();
    R<const std::vector<Arg>*> list(std::string_view what);
    R<void> end() const;  // no argument left; else "Unexpected argument"
    bool peek_atom(std::string_view upper) const;  // the next argument is this atom (any case)

private:
    const std::vector<Arg>& args_;
    std::size_t i_ = 0;
    std::string_view what_;
};

R<std::uint64_t> parse_number(std::string_view s, std::uint64_t max, bool nonzero, std::string_view what);
// RFC 9051 §9 flag (store/append): \Answered.. \Draft, keywords, \extensions; never \Recent or \*.
R<std::string> parse_flag(const Arg& a);
R<std::vector<std::string>> parse_flag_list(const std::vector<Arg>& list);
R<std::string> string_arg(const Arg& a, std::string_view what);  // quoted or literal only
R<std::string> astring_arg(const Arg& a, std::string_view what);
std::string upper(std::string_view s);

}  // namespace tern::imap::detail

#define TERN_IMAP_CHECK(expr)                                            \
    do {                                                                 \
        auto check_res_ = (expr);                                        \
        if (!check_res_) return std::unexpected(std::move(check_res_.error())); \
    } while (0)
