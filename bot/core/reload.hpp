#pragma once
// SIGHUP reloads the config file: it is read and validated again; a broken file changes
// nothing; a good one replaces, in one step on the loop, every setting that can change
// in flight (commands, users, groups, surveys, onboarding, status, logging). Settings
// bound to connections and files (adapter, prefix, store, http, slack, matrix, console, admins)
// keep their running values until a restart, and the log says so.
#include <string>
#include <vector>

#include "bot/config/config.hpp"

namespace platbot::core {

struct ConfigChanges {
    // Dotted setting paths (commands.deploy.policy), sorted.
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> changed;
    // Those of the above that only a restart applies.
    std::vector<std::string> need_restart;

    bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

ConfigChanges compare(const config::Config& running, const config::Config& next);

// One line for the log: "added commands.db; changed commands.deploy.policy, log.level; removed surveys.weekly".
std::string describe(const ConfigChanges& changes);

// `next` with the restart-only settings (and their sources) of `running`: what the bot runs
// with after the reload.
config::Config keep_restart_only(const config::Config& running, config::Config next);

}  // namespace platbot::core
