// Errors as values across module boundaries (DESIGN habit 9).
// Never throw across a session or module boundary; return Result<T> instead.
#pragma once
#include <expected>
#include <string>
#include <utility>

namespace tern {

struct Error {
    std::string message;
    // errno-style code where one applies (0 if none); lets callers tell ENOENT from EIO.
    int code = 0;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message, int code = 0) {
    return std::unexpected<Error>(Error{std::move(message), code});
}

}  // namespace tern
