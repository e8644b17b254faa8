#include "commands/spec.hpp"

#include <array>
#include <utility>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {
constexpr std::array<std::pair<ParamType, std::string_view>, 7> type_names{{
    {ParamType::string, "string"},
    {ParamType::integer, "int"},
    {ParamType::boolean, "bool"},
    {ParamType::enumeration, "enum"},
    {ParamType::duration, "duration"},
    {ParamType::user, "user"},
    {ParamType::channel, "channel"},
}};
}  // namespace

std::string_view type_name(ParamType type) {
    for (const auto& [t, name] : type_names)
        if (t == type) return name;
    return "?";
}

std::optional<ParamType> parse_type_name(std::string_view name) {
    for (const auto& [t, n] : type_names)
        if (n == name) return t;
    return std::nullopt;
}

TemplateScope template_variables(const CommandSpec& command) {
    TemplateScope names{"user.id", "user.name", "channel.id"};
    for (const auto& param : command.params) names.insert("args." + param.name);
    return names;
}

const ParamSpec* find_param(const CommandSpec& command, std::string_view name) {
    for (const auto& param : command.params)
        if (param.name == name) return &param;
    return nullptr;
}

const CommandSpec* find_subcommand(const CommandSpec& command, std::string_view word) {
    for (const auto& sub : command.subcommands)
        if (text::iequals(sub.name, word)) return &sub;
    return nullptr;
}

namespace {

// A parameter after a repeated or rest one can only be given by name: `[--closes <duration>]`.
std::string param_usage(const ParamSpec& param, bool by_name_only) {
    if (param.type == ParamType::boolean && !param.required) return "[--" + param.name + "]";
    if (param.repeated || param.rest) {
        const bool needed = param.required || param.min_items > 0;
        return (needed ? "<" : "[") + param.name + "…" + (needed ? ">" : "]");
    }
    if (param.required) return "<" + param.name + ">";
    if (by_name_only) return "[--" + param.name + " <" + std::string(type_name(param.type)) + ">]";
    if (param.default_value) return "[" + param.name + "=" + *param.default_value + "]";
    return "[" + param.name + "]";
}

}  // namespace

std::string form_usage(const CommandSpec& form, std::string_view prefix) {
    std::string line = std::string(prefix) + " " + form.name;
    bool by_name_only = false;
    for (const auto& param : form.params) {
        line += ' ' + param_usage(param, by_name_only);
        by_name_only = by_name_only || param.repeated || param.rest;
    }
    return line;
}

std::string usage_line(const CommandSpec& command, std::string_view prefix) {
    std::vector<std::string> forms;
    if (!command.subcommand_required) forms.push_back(form_usage(command, prefix));
    const std::string sub_prefix = std::string(prefix) + " " + command.name;
    for (const auto& sub : command.subcommands) forms.push_back(form_usage(sub, sub_prefix));
    return text::join(forms, " | ");
}

}  // namespace platbot::commands
