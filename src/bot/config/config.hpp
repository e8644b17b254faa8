#pragma once
// The typed configuration: one YAML file, `${VAR}` expansion from the environment, and
// errors reported as `file:line:column: what was expected`. Every key is documented in
// docs/config.md.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/chat/chat.hpp"
#include "bot/common/result.hpp"
#include "commands/spec.hpp"

namespace platbot::config {

struct ConsoleSettings {
    chat::User user{"dev", "dev"};
    std::string channel = "general";
};

struct Config {
    std::string path;
    std::string bot_name = "platbot";
    std::string prefix = "/platform";
    std::string adapter = "console";
    std::string log_level = "info";
    std::string store_path = "platbot.db";  // relative paths are relative to the config file
    std::size_t history_limit = 10;
    std::string admin_group;  // its members see everyone's jobs, cancel any job, read the audit trail
    ConsoleSettings console;
    // The bot's own HTTP endpoint (health); empty host means off.
    std::string http_host;
    unsigned short http_port = 0;
    std::vector<chat::User> users;
    std::map<std::string, std::vector<std::string>> groups;
    std::vector<commands::CommandSpec> commands;
};

// Reads and validates the file. The error is one line: `file:line:column: message`.
Result<Config> load_config(const std::string& path);

// The same, reading environment variables through `env` (tests inject their own).
Result<Config> load_config(const std::string& path,
                           const std::function<std::optional<std::string>(const std::string&)>& env);

// What `platbot check` prints about a valid config: commands, groups, adapter, store.
std::string summary(const Config& config);

}  // namespace platbot::config
