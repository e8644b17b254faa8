#pragma once
// Runs the bot: one io_context, the configured adapter, signals for a clean exit.
#include <string>

#include "bot/config/config.hpp"

namespace platbot::core {

struct RunOptions {
    std::string log_level;  // overrides the config's log.level when set
};

// Returns the process exit code.
int run(const config::Config& config, const RunOptions& options);

std::string version();

}  // namespace platbot::core
