#pragma once
// Enforces a command's rate limits before anything runs (who may run it is policy::decide).
// The runs are counted in the store (store::RateStore) at the injected wall clock's time, so
// every instance sharing the store counts the same runs: instances' steady clocks differ,
// their wall clocks agree (NTP). A refusal is one line that says when to try again, and the
// engine audits it as denied.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <optional>
#include <string>
#include <vector>

#include "bot/chat/adapter.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/rates.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

class Guard {
public:
    explicit Guard(const net::Clock& clock) : clock_(clock) {}

    // Where runs are counted; it must outlive the guard. Without it a command with a rate
    // limit is refused, saying so.
    void use(store::RateStore& rates) { rates_ = &rates; }

    // Counts one run against the command's limits at the clock's now; none when within them,
    // otherwise the refusal, saying when to try again. A refused run is not counted. Throws
    // what the store throws. Not a coroutine itself: what it needs is copied before it returns,
    // so `spec` and `user` need not outlive the wait.
    chat::Task<std::optional<std::string>> take_rate(const CommandSpec& spec, const chat::User& user) const;

private:
    // The windows asked of the store, and how each one's refusal begins.
    struct Ask {
        std::vector<store::RateWindow> windows;
        std::vector<std::string> refusals;
    };
    static chat::Task<std::optional<std::string>> count(store::RateStore* rates, Ask ask, net::Clock::TimePoint now);

    const net::Clock& clock_;
    store::RateStore* rates_ = nullptr;
};

}  // namespace platbot::commands
