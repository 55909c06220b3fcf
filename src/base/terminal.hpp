// Reading a secret (a password) from standard input for the command lines (ternd's admin
// commands, tern account add): one line, with echo off while stdin is a terminal. Must never
// leave the terminal without echo, nor take the secret from anywhere but stdin.
#pragma once
#include <string>
#include <string_view>

namespace tern::base {

// One line from stdin without its line end; `prompt` is shown on stderr when stdin is a terminal.
std::string read_secret_line(std::string_view prompt);

}  // namespace tern::base
