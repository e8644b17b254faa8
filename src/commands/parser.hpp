#pragma once
// Turns tokens into a typed, validated invocation of one catalogue command, or a
// one-line error naming the bad parameter and showing the usage line.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bot/common/result.hpp"
#include "commands/spec.hpp"
#include "commands/tokenizer.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

struct Argument {
    std::string name;
    Value value;
    bool defaulted = false;
};

struct Invocation {
    const CommandSpec* command = nullptr;
    std::vector<Argument> args;  // in declared order; optional ones without default are absent
    std::vector<Token> words;    // free-form commands: the tokens after the name, unbound
    const Value* arg(std::string_view name) const;
};

// Binds the tokens that follow the command name.
Result<Invocation> bind_arguments(const CommandSpec& command, const std::vector<Token>& tokens, std::string_view prefix);

// Parses `deploy {service} to {env=staging}`; placeholders must name parameters.
Result<AliasPattern> parse_alias(std::string_view source, const CommandSpec& command);

// Tries the command's aliases against the whole line's tokens. nullopt when no alias
// matches; an error when one matches but a value is invalid.
std::optional<Result<Invocation>> match_alias(const CommandSpec& command, const std::vector<Token>& tokens,
                                              std::string_view prefix);

}  // namespace platbot::commands
