#pragma once
// A one-shot event on the loop: wait() returns once fire() has been called, at once when it
// already was. Asio 1.74 has no channels, so a timer that never expires on its own stands in:
// fire() cancels it, which wakes every waiter.
#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::net {

class OneShot {
public:
    explicit OneShot(const boost::asio::any_io_executor& executor)
        : timer_(executor, boost::asio::steady_timer::time_point::max()) {}

    void fire() {
        if (fired_) return;
        fired_ = true;
        timer_.cancel();
    }
    bool fired() const { return fired_; }

    boost::asio::awaitable<void> wait() {
        while (!fired_) {
            boost::system::error_code ignored;
            co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
        }
    }

private:
    boost::asio::steady_timer timer_;
    bool fired_ = false;
};

}  // namespace platbot::net
