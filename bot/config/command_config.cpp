// commands: each command's description, parameters, aliases, reply or action, and policy.
#include <algorithm>
#include <filesystem>
#include <regex>

#include "bot/common/text.hpp"
#include "bot/config/action_config.hpp"
#include "bot/config/sections.hpp"
#include "commands/engine.hpp"
#include "commands/parser.hpp"
#include "commands/values.hpp"

namespace platbot::config {

namespace {

commands::ParamSpec read_param(const YamlReader& yaml, const YAML::Node& node, const std::string& where) {
    yaml.expect_map(node, where,
                    {"name", "type", "description", "required", "default", "pattern", "max_length", "min", "max",
                     "choices"});
    commands::ParamSpec param;
    param.name = yaml.string(yaml.required(node, "name", where), where + ".name");
    if (!is_identifier(param.name, false))
        fail_at(node["name"], where + ".name: '" + param.name + "' must be lower-case letters, digits and _");
    const std::string at = where + " '" + param.name + "'";
    if (auto n = node["type"]) {
        const std::string type = yaml.string(n, at + ".type");
        const auto parsed = commands::parse_type_name(type);
        if (!parsed) {
            std::vector<std::string> names{"string", "int", "bool", "enum", "duration", "user", "channel"};
            const auto near = text::closest(type, names, 1);
            fail_at(n, at + ": unknown type '" + type + "'" +
                           (near.empty() ? " — expected one of " + text::join(names, ", ")
                                         : " — did you mean '" + near[0] + "'?"));
        }
        param.type = *parsed;
    }
    using commands::ParamType;
    if (auto n = node["description"]) param.description = yaml.string(n, at + ".description");
    if (auto n = node["required"]) param.required = yaml.boolean(n, at + ".required");
    if (auto n = node["choices"]) {
        if (param.type != ParamType::enumeration) fail_at(n, at + ": choices only apply to type enum");
        param.choices = yaml.string_list(n, at + ".choices");
    }
    if (param.type == ParamType::enumeration && param.choices.empty())
        fail_at(node, at + ": type enum needs a non-empty choices list");
    if (auto n = node["pattern"]) {
        if (param.type != ParamType::string) fail_at(n, at + ": pattern only applies to type string");
        param.pattern = yaml.string(n, at + ".pattern");
        try {
            std::regex check(*param.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            fail_at(n, at + ".pattern: not a valid regular expression (" + e.what() + ")");
        }
    }
    if (auto n = node["max_length"]) {
        if (param.type != ParamType::string) fail_at(n, at + ": max_length only applies to type string");
        const auto length = yaml.integer(n, at + ".max_length");
        if (length < 1 || length > 4000) fail_at(n, at + ".max_length: expected 1 to 4000");
        param.max_length = static_cast<std::size_t>(length);
    }
    for (const char* bound : {"min", "max"}) {
        if (auto n = node[bound]) {
            if (param.type != ParamType::integer) fail_at(n, at + ": " + bound + " only applies to type int");
            (std::string(bound) == "min" ? param.min : param.max) = yaml.integer(n, at + "." + bound);
        }
    }
    if (param.min && param.max && *param.min > *param.max)
        fail_at(node["min"], at + ": min " + std::to_string(*param.min) + " is above max " + std::to_string(*param.max));
    if (auto n = node["default"]) {
        if (param.required) fail_at(n, at + ": a required parameter cannot have a default — drop one of them");
        param.default_value = yaml.string(n, at + ".default");
        if (auto value = commands::parse_value(param, *param.default_value); !value)
            fail_at(n, at + ".default: " + value.error().message);
    }
    return param;
}

}  // namespace

void read_commands(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    yaml.expect_map(node, "commands", {});
    const auto& builtins = commands::builtin_names();
    for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string name = it->first.Scalar();
        const std::string where = "command '" + name + "'";
        if (!is_identifier(name, true))
            fail_at(it->first, where + ": names are lower-case letters, digits, - and _");
        if (std::find(builtins.begin(), builtins.end(), name) != builtins.end())
            fail_at(it->first, where + ": '" + name + "' is a built-in command — pick another name");
        const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
        std::vector<std::string> keys{"description", "params", "aliases", "reply", "action", "feedback"};
        keys.insert(keys.end(), policy_keys().begin(), policy_keys().end());
        yaml.expect_map(body, where, keys);
        commands::CommandSpec spec;
        spec.name = name;
        spec.description = yaml.string(yaml.required(body, "description", where), where + ".description");
        if (auto params = body["params"]) {
            yaml.expect_sequence(params, where + ".params");
            for (const auto& item : params) {
                auto param = read_param(yaml, item, where + " parameter");
                if (commands::find_param(spec, param.name))
                    fail_at(item, where + ": parameter '" + param.name + "' is declared twice");
                spec.params.push_back(std::move(param));
            }
        }
        if (auto aliases = body["aliases"]) {
            yaml.expect_sequence(aliases, where + ".aliases");
            for (const auto& item : aliases) {
                auto alias = commands::parse_alias(yaml.string(item, where + ".aliases"), spec);
                if (!alias) fail_at(item, where + ".aliases: " + alias.error().message);
                // Aliases are matched before command names: one that starts like another
                // command would take its place (`approve {ticket}` and every Approve button).
                // One that also needs a word of its own (`deploy {service} to production`)
                // takes only the lines with that word, which is how config routes them.
                const std::string& first = alias->parts.front().text;
                const bool own_word = commands::alias_requires_own_word(*alias);
                if (std::find(builtins.begin(), builtins.end(), first) != builtins.end())
                    fail_at(item, where + ".aliases: '" + alias->source + "' starts with the built-in command '" + first +
                                      "' and would take its place — start it with another word");
                if (first != name && node[first] && !own_word)
                    fail_at(item, where + ".aliases: '" + alias->source + "' starts with the command '" + first +
                                      "' and would take its place — start it with another word, or add one after it");
                spec.aliases.push_back(std::move(*alias));
            }
        }
        const ActionContext context{std::filesystem::path(config.path).parent_path().string(), &config.groups,
                                    config.policy_default_deny};
        if (auto action = body["action"]) {
            if (body["reply"])
                fail_at(body["reply"], where + ": a command with an action replies through action.reply.success "
                                               "and action.reply.failure — move the text there");
            spec.action = read_action(yaml, action, where + ".action", commands::template_variables(spec), context);
        } else {
            const YAML::Node reply = yaml.required(body, "reply", where);
            auto compiled = commands::Template::compile(yaml.string(reply, where + ".reply"),
                                                        commands::template_variables(spec));
            if (!compiled) fail_at(reply, where + ".reply: " + compiled.error().message);
            spec.reply = std::move(*compiled);
        }
        read_policy(yaml, body, where, spec, context);
        if (auto feedback = body["feedback"]) {
            if (!spec.action) fail_at(feedback, where + ".feedback: only commands with an action can ask for feedback");
            yaml.expect_map(feedback, where + ".feedback", {"sample"});
            spec.feedback_sample = yaml.number(yaml.required(feedback, "sample", where + ".feedback"),
                                              where + ".feedback.sample", 0, 1,
                                              "the share of finished jobs to ask about, such as 0.2");
        }
        config.commands.push_back(std::move(spec));
    }
}

}  // namespace platbot::config
