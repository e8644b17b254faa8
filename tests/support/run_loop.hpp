#pragma once
// Runs a test's io_context in short slices until `done()` holds or `limit` passes. Slices,
// not one long run: the condition may change on a fake server's thread.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace platbot::testing {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int slice = 0; slice < 100'000 && !done() && std::chrono::steady_clock::now() < deadline; ++slice) {
        io.run_for(std::chrono::milliseconds(10));
        if (io.stopped()) {  // out of work: nothing here can change until another thread acts
            io.restart();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    return done();
}

// Runs `task` on `io` until it ends (at most `limit`) and returns what it returned; what it
// threw is thrown here. The one way a test waits for a coroutine.
inline void await(boost::asio::io_context& io, boost::asio::awaitable<void> task,
                  std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    // Shared: a task that outlives the wait must not write into this frame.
    const auto outcome = std::make_shared<std::pair<bool, std::exception_ptr>>();
    boost::asio::co_spawn(io, std::move(task), [outcome](std::exception_ptr failure) { *outcome = {true, failure}; });
    if (!run_until(io, [&] { return outcome->first; }, limit)) throw std::runtime_error("the awaited task did not finish in time");
    if (outcome->second) std::rethrow_exception(outcome->second);
}

namespace detail {

template <typename T>
boost::asio::awaitable<void> keep_value(boost::asio::awaitable<T> task, std::shared_ptr<std::optional<T>> slot) {
    T value = co_await std::move(task);
    slot->emplace(std::move(value));
}

}  // namespace detail

// Through a task of its own: co_spawn hands its handler a default T when the task threw, and
// a result such as HttpOutcome has none.
template <typename T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> task, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto value = std::make_shared<std::optional<T>>();
    await(io, detail::keep_value(std::move(task), value), limit);
    return std::move(**value);
}

}  // namespace platbot::testing
