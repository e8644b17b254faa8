#pragma once
// Helpers for the action and policy config tests: a config written to a temporary file and
// loaded with an environment of its own, a deploy command to hang an action or guard-rail keys
// on at known lines, and a mistake checked as one `file:line:column: message` line.
#include "bot/config/config.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace platbot::config::action_config_fixture {

using platbot::commands::CommandSpec;
using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

using Vars = std::map<std::string, std::string>;

inline auto env_of(Vars vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

inline Result<Config> load_yaml(const TempDir& dir, const std::string& yaml, const Vars& vars = {}) {
    return load_config(dir.write("platbot.yaml", yaml), env_of(vars));
}

inline const CommandSpec& command(const Config& config, const std::string& name) {
    const auto it = std::find_if(config.commands.begin(), config.commands.end(),
                                 [&](const CommandSpec& spec) { return spec.name == name; });
    REQUIRE(it != config.commands.end());
    return *it;
}

inline std::vector<std::string> sources(const std::vector<platbot::commands::JsonCondition>& conditions) {
    std::vector<std::string> out;
    for (const auto& c : conditions) out.push_back(c.source());
    return out;
}

// A mistake: where it is (1-based, as the message prints it) and a fragment of what it says.
struct ErrorCase {
    const char* what;
    std::string yaml;
    int line;
    int column;
    std::string fragment;
};

inline void check_error(const ErrorCase& c) {
    INFO(c.what << "\n--- yaml ---\n" << c.yaml);
    TempDir dir;
    const auto config = load_yaml(dir, c.yaml);
    REQUIRE_FALSE(config.ok());
    const std::string& message = config.error().message;
    const std::string prefix =
        dir.file("platbot.yaml") + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
    CHECK_THAT(message, StartsWith(prefix));
    CHECK_THAT(message, Contains(c.fragment));
    CHECK(message.find_first_of("\r\n") == std::string::npos);
}

// Lines 1-8; an action body given to with_action starts on line 9, indented six spaces.
inline const std::string deploy_head =
    "groups:\n"
    "  ops: [U1]\n"
    "commands:\n"
    "  deploy:\n"
    "    description: Deploy\n"
    "    params:\n"
    "      - name: service\n"
    "    action:\n";

inline std::string with_action(const std::string& body) { return deploy_head + body; }

// A valid action on lines 9-10, so guard-rail keys start on line 11, indented four spaces.
inline std::string with_policy(const std::string& keys) {
    return with_action("      http:\n"
                       "        url: https://ci.test/a\n") +
           keys;
}

}  // namespace platbot::config::action_config_fixture
