#pragma once
// Wall-clock time for everything that happens on a calendar: onboarding drips, working
// hours, cron schedules, survey rounds. Features take a Clock so that tests can live through
// two weeks in milliseconds (tests/support/manual_clock.hpp); the bot runs on SystemClock.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/cancel.hpp"

namespace platbot::net {

class Clock {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
    // Returns true once now() has reached `due`, false as soon as `cancel` fires.
    virtual boost::asio::awaitable<bool> sleep_until(TimePoint due, CancelToken cancel) = 0;
};

// The system's wall clock. Long sleeps wake now and then to follow changes of the clock
// (NTP steps, a suspended laptop), since the loop's timers run on the steady clock.
class SystemClock final : public Clock {
public:
    explicit SystemClock(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
    TimePoint now() const override { return std::chrono::system_clock::now(); }
    boost::asio::awaitable<bool> sleep_until(TimePoint due, CancelToken cancel) override;

private:
    boost::asio::any_io_executor executor_;
};

}  // namespace platbot::net
