#pragma once
// Enforces a command's rate limits before anything runs (who may run it is policy::decide).
// A refusal is one line that says when to try again, and the engine audits it as denied.
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "bot/chat/chat.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

class Guard {
public:
    using Clock = std::chrono::steady_clock;

    // Counts one run against the command's limits; nullopt when within them, otherwise
    // when to try again. A refused run is not counted.
    std::optional<std::string> take_rate(const CommandSpec& spec, const chat::User& user,
                                         Clock::time_point now = Clock::now());

    // Windows held in memory; a window whose runs have all left it is forgotten within
    // `sweep_every` takes, so anyone sending commands cannot grow this without bound.
    std::size_t windows() const { return per_user_.size() + per_command_.size(); }
    static constexpr unsigned sweep_every = 1024;

private:
    struct Window {
        std::deque<Clock::time_point> runs;
        Clock::duration span{};  // the limit's window when it was last counted
    };
    static std::optional<Clock::duration> wait_needed(Window& window, const RateLimit& limit, Clock::time_point now);
    void forget_idle(Clock::time_point now);

    std::map<std::string, Window> per_user_;     // command + '\n' + user id
    std::map<std::string, Window> per_command_;
    unsigned takes_ = 0;
};

}  // namespace platbot::commands
