#include "commands/policy/guard.hpp"

#include <algorithm>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::string retry_in(Guard::Clock::duration wait) {
    const auto seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    return format_duration(std::chrono::seconds(seconds));
}

}  // namespace

std::optional<std::string> Guard::check_access(const CommandSpec& spec, const chat::User& user,
                                               const std::string& channel) const {
    const AccessRule& allow = spec.policy.allow;
    if (allow.empty()) return std::nullopt;  // config refuses a sensitive command without a rule
    const chat::User who = directory_.resolve(user);
    if (contains(allow.users, who.id)) return std::nullopt;
    // A name counts only when it is the directory's name for this id: display names are
    // chosen by the users themselves.
    if (const std::string name = directory_.name_of(who.id); !name.empty() && contains(allow.users, name))
        return std::nullopt;
    if (contains(allow.channels, channel)) return std::nullopt;
    const auto groups = directory_.groups_of(who);
    for (const auto& group : allow.groups)
        if (contains(groups, group)) return std::nullopt;
    std::vector<std::string> ways;
    if (!allow.groups.empty()) ways.push_back("members of " + text::join(allow.groups, ", "));
    if (!allow.users.empty()) ways.push_back("listed users");
    if (!allow.channels.empty()) ways.push_back("anyone in " + text::join(allow.channels, ", "));
    return "you may not run " + spec.name + " here — it is open to " + text::join(ways, " or ") +
           "; ask the platform team for access";
}

std::optional<Guard::Clock::duration> Guard::wait_needed(Window& window, const RateLimit& limit, Clock::time_point now) {
    while (!window.runs.empty() && now - window.runs.front() >= limit.window) window.runs.pop_front();
    if (window.runs.size() < static_cast<std::size_t>(limit.count)) return std::nullopt;
    return window.runs.front() + limit.window - now;
}

std::optional<std::string> Guard::take_rate(const CommandSpec& spec, const chat::User& user, Clock::time_point now) {
    const Policy& policy = spec.policy;
    Window* user_window = policy.per_user ? &per_user_[spec.name + '\n' + user.id] : nullptr;
    Window* command_window = policy.per_command ? &per_command_[spec.name] : nullptr;
    if (user_window)
        if (auto wait = wait_needed(*user_window, *policy.per_user, now))
            return "you ran " + spec.name + " " + std::to_string(policy.per_user->count) + " times already (limit " +
                   policy.per_user->source + ") — try again in " + retry_in(*wait);
    if (command_window)
        if (auto wait = wait_needed(*command_window, *policy.per_command, now))
            return spec.name + " is busy: it ran " + std::to_string(policy.per_command->count) + " times (limit " +
                   policy.per_command->source + ") — try again in " + retry_in(*wait);
    if (user_window) user_window->runs.push_back(now);
    if (command_window) command_window->runs.push_back(now);
    return std::nullopt;
}

}  // namespace platbot::commands
