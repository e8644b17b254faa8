#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "commands/policy/guard.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "commands/values.hpp"

namespace platbot::commands {

namespace {

std::string retry_in(std::chrono::milliseconds wait) {
    const auto seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    return format_duration(std::chrono::seconds(seconds));
}

}  // namespace

// The person's window first: when both are full, the refusal is about their own runs.
chat::Task<std::optional<std::string>> Guard::take_rate(const CommandSpec& spec, const chat::User& user) const {
    Ask ask;
    const Policy& policy = spec.policy;
    if (policy.per_user) {
        const RateLimit& limit = *policy.per_user;
        ask.windows.push_back({"user\n" + spec.name + "\n" + user.id, limit.count, limit.window});
        ask.refusals.push_back("you ran " + spec.name + " " + std::to_string(limit.count) + " times already (limit " +
                               limit.source + ")");
    }
    if (policy.per_command) {
        const RateLimit& limit = *policy.per_command;
        ask.windows.push_back({"command\n" + spec.name, limit.count, limit.window});
        ask.refusals.push_back(spec.name + " is busy: it ran " + std::to_string(limit.count) + " times (limit " +
                               limit.source + ")");
    }
    return count(rates_, std::move(ask), clock_.now());
}

chat::Task<std::optional<std::string>> Guard::count(store::RateStore* rates, Ask ask, net::Clock::TimePoint now) {
    if (ask.windows.empty()) co_return std::nullopt;
    if (!rates) co_return std::optional<std::string>("rate limits are not counted in this process");
    const std::optional<store::RateRefusal> refused = co_await rates->take(std::move(ask.windows), now);
    if (!refused) co_return std::nullopt;
    std::string refusal = ask.refusals.at(refused->window) + " — try again in " + retry_in(refused->wait);
    co_return std::optional<std::string>(std::move(refusal));
}

}  // namespace platbot::commands
