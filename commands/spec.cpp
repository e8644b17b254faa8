#include "commands/spec.hpp"

#include <array>
#include <utility>

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

std::string usage_line(const CommandSpec& command, std::string_view prefix) {
    std::string line = std::string(prefix) + " " + command.name;
    if (command.free_form) return line + " " + command.usage;
    for (const auto& param : command.params) {
        line += ' ';
        if (param.type == ParamType::boolean && !param.required) {
            line += "[--" + param.name + "]";
        } else if (param.required) {
            line += "<" + param.name + ">";
        } else if (param.default_value) {
            line += "[" + param.name + "=" + *param.default_value + "]";
        } else {
            line += "[" + param.name + "]";
        }
    }
    return line;
}

}  // namespace platbot::commands
