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
    std::string format;  // survey: csv, json, svg or png; audit: jsonl or csv
    int round = 0;       // 0: the newest
    std::string output;  // empty: stdout
    std::string since;   // audit: a date, a UTC time or an age (7d); empty: everything kept
};

// `platbot export survey …`: reads the store, writes the results, returns the exit code;
// errors are one line on stderr.
int export_survey(const config::Config& config, const ExportOptions& options);
// `platbot export audit …`: the audit log since a date, as JSON lines or CSV.
int export_audit(const config::Config& config, const ExportOptions& options);

struct PolicyQuery {
    std::string user;     // an id, a name under users:, or a name the platform knows
    std::string channel;  // a channel id or name; empty: none
    std::string line;     // the command line, with or without the prefix
    bool offline = false; // do not ask the platform about names
};

// `platbot policy`: what the line would lead to for that person there, from the config and
// the platform's directory (nothing runs, nothing is stored). Exit 0 when it would run, 1
// when not.
int explain_policy(const config::Config& config, const PolicyQuery& query);

// `platbot check`: the config summary, then a warning line for each policy rule that can
// never match and each name nobody can turn into an id; with `policy`, the table of what
// each group gets. Unless `offline`, the names config writes are looked up on the chat
// platform, as the bot does at start.
std::string check_report(const config::Config& config, bool policy, bool offline);

std::string version();

}  // namespace platbot::core
