#include "bot/net/in_flight.hpp"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::net {

namespace asio = boost::asio;

InFlight::InFlight(asio::any_io_executor executor) : executor_(std::move(executor)) {}

InFlight::Ticket::~Ticket() {
    if (!state_) return;  // moved from
    if (--state_->count > 0) return;
    for (auto* waiter : state_->waiters) waiter->cancel();
}

InFlight::Ticket InFlight::enter() {
    ++state_->count;
    return Ticket(state_);
}

std::size_t InFlight::count() const { return state_->count; }

asio::awaitable<bool> InFlight::idle(std::chrono::milliseconds limit) {
    if (state_->count == 0) co_return true;
    const auto until = asio::steady_timer::clock_type::now() + limit;
    asio::steady_timer deadline(executor_, until);
    // Registered only while this wait is suspended, so a ticket never wakes a timer that is gone.
    struct Registration {
        State& state;
        asio::steady_timer* timer;
        ~Registration() { state.waiters.erase(std::remove(state.waiters.begin(), state.waiters.end(), timer), state.waiters.end()); }
    };
    const auto state = state_;
    state->waiters.push_back(&deadline);
    const Registration registered{*state, &deadline};
    // New work may start between the wake-up and this coroutine running again: wait on.
    while (state->count > 0 && asio::steady_timer::clock_type::now() < until) {
        boost::system::error_code ignored;
        co_await deadline.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        deadline.expires_at(until);
    }
    co_return state->count == 0;
}

}  // namespace platbot::net
