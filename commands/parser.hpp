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
    std::string subcommand;      // the sub-command's name (`close` in `poll close p7k2`); empty: the command's own form
    std::vector<Argument> args;  // in declared order; optional ones without default are absent
    const Value* arg(std::string_view name) const;

    // An argument's value as its parameter's type declares it; `fallback` when it is absent.
    std::string text(std::string_view name, std::string fallback = {}) const;
    std::int64_t integer(std::string_view name, std::int64_t fallback) const;
    bool flag(std::string_view name) const;
    std::optional<std::chrono::seconds> duration(std::string_view name) const;
    std::vector<std::string> list(std::string_view name) const;
    std::optional<chat::User> user(std::string_view name) const;
};

// Binds the tokens that follow the command name: to the sub-command their first word names,
// else to the command's own parameters.
// `references`: the people and conversations the platform marked up in the line.
Result<Invocation> bind_arguments(const CommandSpec& command, const std::vector<Token>& tokens, std::string_view prefix,
                                  const chat::References& references = {});

// Parses `deploy {service} to {env=staging}`; placeholders must name parameters.
Result<AliasPattern> parse_alias(std::string_view source, const CommandSpec& command);

// Whether a line may stop before part `from` of the alias: what follows holds only words and
// placeholders with defaults, and ends in a placeholder ("deploy api" for
// "deploy {service} to {env=staging}").
bool alias_tail_may_be_omitted(const AliasPattern& alias, std::size_t from);
// Whether every line the alias matches has a word of the alias's own after its first: one
// that cannot be left out, so the alias cannot take lines meant for a command of that name.
bool alias_requires_own_word(const AliasPattern& alias);

// Tries the command's aliases against the whole line's tokens. nullopt when no alias
// matches; an error when one matches but a value is invalid.
std::optional<Result<Invocation>> match_alias(const CommandSpec& command, const std::vector<Token>& tokens,
                                              std::string_view prefix, const chat::References& references = {});

}  // namespace platbot::commands
