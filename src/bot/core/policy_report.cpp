// `platbot policy` and `platbot check`: the policy read from the config alone.
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

std::string check_report(const config::Config& config, bool policy) {
    std::string out = config::summary(config);
    for (const auto& command : config.commands)
        for (const auto& shadowed : commands::shadowed_rules(command)) out += "warning: " + shadowed + "\n";
    if (policy) out += "\n" + commands::policy_table(config.commands, config.users, config.groups);
    return out;
}

}  // namespace platbot::core
