#pragma once
// A command as declared in config: its typed parameters in declared order, its
// natural-language aliases and what it answers. Pure data; config/ fills it in.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "commands/actions/action_spec.hpp"
#include "commands/policy/policy.hpp"
#include "commands/template.hpp"

namespace platbot::commands {

enum class ParamType { string, integer, boolean, enumeration, duration, user, channel };

std::string_view type_name(ParamType type);
std::optional<ParamType> parse_type_name(std::string_view name);

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::string;
    std::string description;
    bool required = false;
    std::optional<std::string> default_value;  // raw text, validated when the config loads
    std::optional<std::string> pattern;        // string: ECMAScript regex the whole value must match
    std::size_t max_length = 200;              // string: in bytes
    std::optional<std::int64_t> min;           // integer; duration: in seconds
    std::optional<std::int64_t> max;           // integer; duration: in seconds
    std::vector<std::string> choices;          // enumeration
    // string: the rest of the line as typed, options and all (`why <command line>`); one
    // quoted word is taken without its quotes.
    bool rest = false;
    // string: every remaining word, each a value of its own (a poll's options), between
    // min_items and max_items of them.
    bool repeated = false;
    std::size_t min_items = 0;
    std::size_t max_items = 50;
    // user: a plain word is a name or id too, not only a mention or @name (`audit --user bob`).
    bool bare_names = false;
};

// One piece of an alias such as `deploy {service} to {env=staging}`.
struct AliasPart {
    bool placeholder = false;
    std::string text;  // the literal word, or the parameter name
    std::optional<std::string> default_value;
};

struct AliasPattern {
    std::string source;
    std::vector<AliasPart> parts;
};

struct CommandSpec {
    std::string name;
    std::string description;
    std::vector<ParamSpec> params;
    std::vector<AliasPattern> aliases;
    Template reply;                     // what a command without an action answers
    std::optional<ActionSpec> action;   // the work it does, when it does some
    Policy policy;
    // The share of finished jobs whose requester is asked "How did that go?" (0: never).
    double feedback_sample = 0;
    bool builtin = false;
    // Forms picked by their first word (`poll close <id>`), each with its own parameters. The
    // command's own parameters make the form used when no sub-command's word leads, unless
    // one is required.
    std::vector<CommandSpec> subcommands;
    bool subcommand_required = false;
};

// The variables a command's templates may use: args.<param>, user.id, user.name, channel.id.
TemplateScope template_variables(const CommandSpec& command);

const ParamSpec* find_param(const CommandSpec& command, std::string_view name);
// The sub-command a word names (any case), or nullptr.
const CommandSpec* find_subcommand(const CommandSpec& command, std::string_view word);

// `/platform deploy <service> [env=staging] [--dry-run]`; a command with sub-commands
// lists each form: `/platform poll <question> <options>… | /platform poll close <id> | …`.
std::string usage_line(const CommandSpec& command, std::string_view prefix);
// The usage of one form: the command's own parameters only, sub-commands aside.
std::string form_usage(const CommandSpec& form, std::string_view prefix);

}  // namespace platbot::commands
