#include "bot/core/reload.hpp"

#include <algorithm>
#include <string_view>

#include "bot/common/text.hpp"

namespace platbot::core {

namespace {

// Settings a running bot cannot change: its connection, its files and its address.
const std::vector<std::string_view> restart_only{"bot.name", "bot.instance", "bot.prefix", "bot.adapter", "bot.admins",
                                                 "bot.names_refresh", "bot.history_limit", "store", "http", "console",
                                                 "slack", "matrix"};

bool needs_restart(std::string_view path) {
    return std::any_of(restart_only.begin(), restart_only.end(), [path](std::string_view root) {
        return path == root || (path.starts_with(root) && path[root.size()] == '.');
    });
}

}  // namespace

ConfigChanges compare(const config::Config& running, const config::Config& next) {
    ConfigChanges changes;
    for (const auto& [path, source] : next.sources) {
        const auto before = running.sources.find(path);
        if (before == running.sources.end()) changes.added.push_back(path);
        else if (before->second != source) changes.changed.push_back(path);
    }
    for (const auto& [path, source] : running.sources)
        if (!next.sources.contains(path)) changes.removed.push_back(path);
    for (const auto* list : {&changes.added, &changes.removed, &changes.changed})
        for (const auto& path : *list)
            if (needs_restart(path)) changes.need_restart.push_back(path);
    std::sort(changes.need_restart.begin(), changes.need_restart.end());
    return changes;
}

std::string describe(const ConfigChanges& changes) {
    if (changes.empty()) return "nothing changed";
    std::vector<std::string> parts;
    if (!changes.added.empty()) parts.push_back("added " + text::join(changes.added, ", "));
    if (!changes.changed.empty()) parts.push_back("changed " + text::join(changes.changed, ", "));
    if (!changes.removed.empty()) parts.push_back("removed " + text::join(changes.removed, ", "));
    return text::join(parts, "; ");
}

config::Config keep_restart_only(const config::Config& running, config::Config next) {
    next.bot_name = running.bot_name;
    next.instance = running.instance;
    next.prefix = running.prefix;
    next.adapter = running.adapter;
    next.admin_group = running.admin_group;
    next.history_limit = running.history_limit;
    next.store_path = running.store_path;
    next.store_url = running.store_url;
    next.http_host = running.http_host;
    next.http_port = running.http_port;
    next.console = running.console;
    next.slack = running.slack;
    next.matrix = running.matrix;
    std::erase_if(next.sources, [](const auto& entry) { return needs_restart(entry.first); });
    for (const auto& [path, source] : running.sources)
        if (needs_restart(path)) next.sources[path] = source;
    return next;
}

}  // namespace platbot::core
