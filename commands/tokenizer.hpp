#pragma once
// The command line grammar: positional words, key=value, --flag and --key value, with
// single- or double-quoted strings and backslash escapes anywhere in a token.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bot/common/result.hpp"

namespace platbot::commands {

struct Token {
    enum class Kind { word, key_value, option };
    Kind kind = Kind::word;
    std::string key;    // key_value and option: the name before '=' (option: without "--")
    std::string value;  // word: its text; key_value/option: the value after '='
    bool has_value = false;  // option: "--key=value" rather than "--flag"
    bool quoted = false;     // some part of the token was quoted
    std::size_t column = 1;  // 1-based byte column where the token starts
    std::string source;      // the token's bytes as typed, quotes and escapes included
};

Result<std::vector<Token>> tokenize(std::string_view line);

// A value written so that it tokenizes back to exactly itself, as one token: "a \"b\"".
std::string quote(std::string_view value);

// Lines are checked before tokenizing: size, control characters, UTF-8.
inline constexpr std::size_t max_line_bytes = 4000;
Result<std::string_view> check_line(std::string_view line);

}  // namespace platbot::commands
