#pragma once
// Runs a coroutine on a loop until the loop has nothing left to do, and hands back what the
// coroutine returned (or throws what it threw). For the command-line tools (`export`,
// `check`) that use the bot's awaitable parts without running the bot; the coroutine's own
// waits carry their timeouts.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace platbot::net {

inline void run_to_end(boost::asio::io_context& io, boost::asio::awaitable<void> task) {
    // Shared: the handler may run after this frame when the loop is stopped from outside.
    const auto outcome = std::make_shared<std::pair<bool, std::exception_ptr>>();
    boost::asio::co_spawn(io, std::move(task), [outcome](std::exception_ptr failure) { *outcome = {true, failure}; });
    io.restart();
    io.run();
    if (outcome->second) std::rethrow_exception(outcome->second);
    if (!outcome->first) throw std::runtime_error("the loop stopped before the work ended");
}

namespace detail {
template <typename T>
boost::asio::awaitable<void> keep(boost::asio::awaitable<T> task, std::shared_ptr<std::optional<T>> slot) {
    T value = co_await std::move(task);
    slot->emplace(std::move(value));
}
}  // namespace detail

template <typename T>
T run_to_end(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
    const auto slot = std::make_shared<std::optional<T>>();
    run_to_end(io, detail::keep(std::move(task), slot));
    return std::move(**slot);
}

}  // namespace platbot::net
