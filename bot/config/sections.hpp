#pragma once
// The readers of the config's larger sections, each in a file of its own, and the checks
// they share with the top-level reader in config.cpp. Internal to the config module.
#include <string>

#include "bot/config/config.hpp"
#include "bot/config/yaml_reader.hpp"

namespace platbot::config {

// Lower-case letters, digits and _ (and - when `allow_dash`), starting with a letter.
bool is_identifier(const std::string& s, bool allow_dash);
// A relative path in the config is relative to the config file's folder.
std::string relative_to(const std::string& config_path, const std::string& value);
std::string without_hash(std::string channel);

// adapter_config.cpp: slack: and matrix:.
void read_slack(const YamlReader& yaml, const YAML::Node& node, Config& config);
void read_matrix(const YamlReader& yaml, const YAML::Node& node, Config& config);
// Tokens not in the file come from the environment; without them the bot cannot start.
// `where` is the adapter's section, or bot.adapter when the file has none.
void require_slack_tokens(const YamlReader& yaml, const YAML::Node& where, Config& config);
void require_matrix_login(const YamlReader& yaml, const YAML::Node& where, Config& config);

// command_config.cpp: commands:, after users and groups.
void read_commands(const YamlReader& yaml, const YAML::Node& node, Config& config);
// survey_config.cpp: surveys:.
void read_surveys(const YamlReader& yaml, const YAML::Node& node, Config& config);
// onboarding_config.cpp: onboarding:, after commands (a step's verify names one).
void read_onboarding(const YamlReader& yaml, const YAML::Node& node, Config& config);
// status_config.cpp: status:.
void read_status(const YamlReader& yaml, const YAML::Node& node, Config& config);

}  // namespace platbot::config
