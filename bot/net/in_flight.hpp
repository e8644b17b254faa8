#pragma once
// Work started on the loop and not yet finished (event handlers, connection loops), counted
// so that a stop can wait for it: idle() wakes when the count reaches zero instead of
// polling it.
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace platbot::net {

class InFlight {
    struct State;

public:
    explicit InFlight(boost::asio::any_io_executor executor);

    // Held for as long as one piece of work runs (move it into the coroutine doing the work).
    class Ticket {
    public:
        Ticket(Ticket&& other) noexcept : state_(std::move(other.state_)) {}
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket();

    private:
        friend class InFlight;
        explicit Ticket(std::shared_ptr<State> state) : state_(std::move(state)) {}
        std::shared_ptr<State> state_;
    };

    Ticket enter();
    std::size_t count() const;
    // Returns once nothing is in flight (true) or `limit` has passed (false).
    boost::asio::awaitable<bool> idle(std::chrono::milliseconds limit);

private:
    // Shared with the tickets: work still suspended when the loop is torn down may end
    // after its owner.
    struct State {
        std::size_t count = 0;
        std::vector<boost::asio::steady_timer*> waiters;
    };
    boost::asio::any_io_executor executor_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace platbot::net
