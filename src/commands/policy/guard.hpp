#pragma once
// Enforces a command's access rule and rate limits before anything runs. A refusal is
// one line that says why and what to do, and the engine audits it as denied.
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "bot/chat/chat.hpp"
#include "commands/directory.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

class Guard {
public:
    using Clock = std::chrono::steady_clock;

    explicit Guard(const Directory& directory) : directory_(directory) {}

    // nullopt when `user` may run `spec` in `channel`; otherwise the reason.
    std::optional<std::string> check_access(const CommandSpec& spec, const chat::User& user,
                                            const std::string& channel) const;

    // Counts one run against the command's limits; nullopt when within them, otherwise
    // when to try again. A refused run is not counted.
    std::optional<std::string> take_rate(const CommandSpec& spec, const chat::User& user,
                                         Clock::time_point now = Clock::now());

private:
    struct Window {
        std::deque<Clock::time_point> runs;
    };
    static std::optional<Clock::duration> wait_needed(Window& window, const RateLimit& limit, Clock::time_point now);

    const Directory& directory_;
    std::map<std::string, Window> per_user_;     // command + '\n' + user id
    std::map<std::string, Window> per_command_;
};

}  // namespace platbot::commands
