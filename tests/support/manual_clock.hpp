#pragma once
// A wall clock the test moves by hand: two weeks of onboarding pass in milliseconds.
// advance_to() stops at every sleeper's due time on the way, and at each stop runs the
// loop until nothing is ready, so that every wake-up sees the time it asked for.
#include <utility>

#include <algorithm>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bot/net/clock.hpp"

namespace platbot::testing {

class ManualClock final : public net::Clock {
public:
    ManualClock(boost::asio::io_context& io, TimePoint start) : io_(io), now_(start) {}

    TimePoint now() const override { return now_; }

    boost::asio::awaitable<bool> sleep_until(TimePoint due, CancelToken cancel) override {
        auto sleeper = std::make_shared<Sleeper>(io_, due);
        for (int wake = 0; wake < 100'000 && now_ < due; ++wake) {
            if (cancel.cancelled()) co_return false;
            sleepers_.push_back(sleeper);
            auto guard = cancel.on_cancel([sleeper] { sleeper->timer.cancel(); });
            sleeper->timer.expires_at(boost::asio::steady_timer::time_point::max());
            boost::system::error_code ignored;
            co_await sleeper->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
        }
        co_return !cancel.cancelled() && now_ >= due;
    }

    // Runs the loop until no handler is ready (bounded).
    void settle() {
        for (int round = 0; round < 10'000; ++round) {
            io_.restart();
            if (io_.poll() == 0) break;
        }
    }

    void advance_to(TimePoint until) {
        for (int stop = 0; stop < 100'000; ++stop) {
            settle();
            const auto next = earliest_due();
            if (!next || *next > until) break;
            now_ = std::max(now_, *next);
            wake_due();
        }
        now_ = std::max(now_, until);
        wake_due();
        settle();
    }
    void advance(std::chrono::system_clock::duration by) { advance_to(now_ + by); }

    // Sleeping coroutines, for assertions that a service waits rather than spins.
    std::size_t sleepers() {
        prune();
        return sleepers_.size();
    }

private:
    struct Sleeper {
        Sleeper(boost::asio::io_context& io, TimePoint due) : timer(io), due(due) {}
        boost::asio::steady_timer timer;
        TimePoint due;
    };

    void prune() {
        std::erase_if(sleepers_, [](const std::weak_ptr<Sleeper>& weak) { return weak.expired(); });
    }
    std::optional<TimePoint> earliest_due() {
        prune();
        std::optional<TimePoint> earliest;
        for (const auto& weak : sleepers_)
            if (auto sleeper = weak.lock(); sleeper && (!earliest || sleeper->due < *earliest)) earliest = sleeper->due;
        return earliest;
    }
    void wake_due() {
        auto sleepers = std::move(sleepers_);
        sleepers_.clear();
        for (auto& weak : sleepers) {
            auto sleeper = weak.lock();
            if (!sleeper) continue;
            if (sleeper->due <= now_) sleeper->timer.cancel();
            else sleepers_.push_back(weak);
        }
    }

    boost::asio::io_context& io_;
    TimePoint now_;
    std::vector<std::weak_ptr<Sleeper>> sleepers_;
};

}  // namespace platbot::testing
