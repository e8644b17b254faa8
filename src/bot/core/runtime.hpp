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

struct ExportOptions {
    std::string survey;
    std::string format;  // csv, json, svg or png
    int round = 0;       // 0: the newest
    std::string output;  // empty: stdout
};

// `platbot export survey …`: reads the store, writes the results, returns the exit code;
// errors are one line on stderr.
int export_survey(const config::Config& config, const ExportOptions& options);

std::string version();

}  // namespace platbot::core
