#include "commands/policy/guard.hpp"

#include <algorithm>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace {

std::string retry_in(Guard::Clock::duration wait) {
    const auto seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    return format_duration(std::chrono::seconds(seconds));
}

}  // namespace

std::optional<Guard::Clock::duration> Guard::wait_needed(Window& window, const RateLimit& limit, Clock::time_point now) {
    window.span = limit.window;
    while (!window.runs.empty() && now - window.runs.front() >= limit.window) window.runs.pop_front();
    if (window.runs.size() < static_cast<std::size_t>(limit.count)) return std::nullopt;
    return window.runs.front() + limit.window - now;
}

void Guard::forget_idle(Clock::time_point now) {
    for (auto* windows : {&per_user_, &per_command_})
        std::erase_if(*windows, [now](const auto& entry) {
            const Window& window = entry.second;
            return window.runs.empty() || now - window.runs.back() >= window.span;
        });
}

std::optional<std::string> Guard::take_rate(const CommandSpec& spec, const chat::User& user, Clock::time_point now) {
    if (++takes_ % sweep_every == 0) forget_idle(now);
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
