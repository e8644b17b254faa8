#pragma once
// Helpers for the load_config tests: a config written to a temporary file and loaded with an
// environment of its own, the demo file, and a mistake checked as one
// `file:line:column: message` line.
#include "bot/config/config.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "support/temp_dir.hpp"

namespace platbot::config::config_fixture {

using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

using Vars = std::map<std::string, std::string>;

// An env lookup that sees only `vars`, so the machine's environment never leaks in.
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

inline std::string demo_path() { return std::string(PLATBOT_SOURCE_DIR) + "/config/demo.yaml"; }

inline const platbot::commands::CommandSpec* find_command(const Config& config, const std::string& name) {
    for (const auto& spec : config.commands)
        if (spec.name == name) return &spec;
    return nullptr;
}

// A config mistake: where it is (1-based, as the message prints it) and a fragment of what it says.
struct ErrorCase {
    const char* what;
    std::string yaml;
    int line;
    int column;
    std::string fragment;
};

inline void check_error(const ErrorCase& c, const Vars& vars = {}) {
    INFO(c.what << "\n--- yaml ---\n" << c.yaml);
    TempDir dir;
    const auto config = load_yaml(dir, c.yaml, vars);
    REQUIRE_FALSE(config.ok());
    const std::string& message = config.error().message;
    const std::string prefix =
        dir.file("platbot.yaml") + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
    CHECK_THAT(message, StartsWith(prefix));
    CHECK_THAT(message, Contains(c.fragment));
    CHECK(message.find('\n') == std::string::npos);
}

// A command that is valid on its own; error cases break one thing around it.
inline const std::string ping_command =
    "  ping:\n"
    "    description: Check the bot is alive\n"
    "    reply: pong\n";

}  // namespace platbot::config::config_fixture
