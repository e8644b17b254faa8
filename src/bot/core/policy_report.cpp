// `platbot policy` and `platbot check`: the policy read from the config alone.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "bot/common/env.hpp"
#include "bot/common/text.hpp"
#include "bot/core/runtime.hpp"
#include "bot/store/audit.hpp"
#include "commands/engine.hpp"
#include "commands/policy/decide.hpp"

namespace platbot::core {

namespace {

// A dry run records nothing; the engine still wants a log to write to.
class NoAudit final : public store::AuditLog {
public:
    void record(const store::AuditRecord&) override {}
    std::vector<store::AuditRecord> recent_for_user(std::string_view, std::size_t) override { return {}; }
};

}  // namespace

int explain_policy(const config::Config& config, const PolicyQuery& query) {
    NoAudit audit;
    const commands::Engine engine({config.prefix, version(), config.history_limit, process_env, config::secrets(config)},
                                  config.commands, commands::Directory(config.users, config.groups), audit);
    const auto known = engine.directory().find(query.user);
    if (!known) std::fprintf(stderr, "platbot: warning: '%s' is not under users: — asking as an unknown id\n", query.user.c_str());
    const chat::User who = known ? *known : chat::User{query.user, ""};
    chat::Origin where;
    where.adapter = config.adapter;
    where.conversation = query.channel;
    where.requester = who.id;
    std::string_view line = text::trim(query.line);
    if (engine.addressed(line)) line.remove_prefix(config.prefix.size());
    const auto result = engine.dry_run(line, who, where);
    std::fputs((result.text + "\n").c_str(), stdout);
    return result.runs ? 0 : 1;
}

namespace {

// Platform ids need no lookup: Matrix's `<sigil>name:server`, or Slack's upper-case ids
// starting with one of `slack_initials` (U…/W… people, C…/G…/D… conversations).
bool is_platform_id(const std::string& value, char matrix_sigil, std::string_view slack_initials) {
    if (value.starts_with(matrix_sigil)) return value.find(':') != std::string::npos;
    const auto upper_or_digit = [](char c) { return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)); };
    return value.size() >= 3 && slack_initials.find(value[0]) != std::string_view::npos &&
           std::all_of(value.begin() + 1, value.end(), upper_or_digit);
}

bool is_user_id(const std::string& value) { return is_platform_id(value, '@', "UW"); }
bool is_channel_id(const std::string& value) { return is_platform_id(value, '!', "CGD"); }

// People and channels written by name that nothing here can turn into an id: they would
// silently match nobody (or no channel) on a chat platform.
std::vector<std::string> unresolved_names(const config::Config& config) {
    const commands::Directory directory(config.users, config.groups);
    std::vector<std::string> out;
    const auto person = [&](const std::string& where, const std::string& who) {
        if (is_user_id(who) || directory.find(who)) return;
        out.push_back(where + ": '" + who + "' is neither an id nor a name under users: — it matches nobody; add {id: …, name: " +
                      who + "} under users: or write the id");
    };
    for (const auto& [group, members] : config.groups)
        for (const auto& member : members) person("groups." + group, member);
    const bool by_id = config.adapter != "console";  // the console's channels are their names
    for (const auto& command : config.commands)
        for (const auto& rule : command.policy.rules) {
            for (const auto& user : rule.allow.users) person(rule.name + ".allow.users", user);
            for (const auto& channel : rule.allow.channels)
                if (by_id && !is_channel_id(channel))
                    out.push_back(rule.name + ".allow.channels: '" + channel + "' is a name, and " + config.adapter +
                                  " names channels by id — write the channel's id (C… on Slack, !room:server on Matrix)");
        }
    return out;
}

}  // namespace

std::string check_report(const config::Config& config, bool policy) {
    std::string out = config::summary(config);
    for (const auto& command : config.commands)
        for (const auto& shadowed : commands::shadowed_rules(command)) out += "warning: " + shadowed + "\n";
    for (const auto& name : unresolved_names(config)) out += "warning: " + name + "\n";
    if (policy) out += "\n" + commands::policy_table(config.commands, config.users, config.groups);
    return out;
}

}  // namespace platbot::core
