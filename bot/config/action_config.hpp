#pragma once
// Reads a command's `action:` block and its guard rails (allow, sensitive, confirm,
// approval, rate_limit, concurrency). Internal to the config module.
#include <map>
#include <string>
#include <vector>

#include "bot/config/yaml_reader.hpp"
#include "commands/spec.hpp"

namespace platbot::config {

struct ActionContext {
    std::string config_dir;  // relative programs and paths are resolved against it
    const std::map<std::string, std::vector<std::string>>* groups = nullptr;
    bool deny_unmatched = true;  // bot.policy_default: what a command's policy rules leave open
};

commands::ActionSpec read_action(const YamlReader& yaml, const YAML::Node& node, const std::string& where,
                                 const commands::TemplateScope& command_scope, const ActionContext& context);

// Reads the guard-rail keys of a command body into `spec.policy`.
void read_policy(const YamlReader& yaml, const YAML::Node& body, const std::string& where, commands::CommandSpec& spec,
                 const ActionContext& context);

// Keys read_policy understands, for the command's unknown-key check.
const std::vector<std::string>& policy_keys();

}  // namespace platbot::config
