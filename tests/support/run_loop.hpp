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

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "bot/net/run_to_end.hpp"

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

// A task started on a test's loop, for the test to check on as it runs.
struct Started {
    bool done = false;
    std::exception_ptr failure;  // what it threw, once done
};

// Shared: a task that outlives its test must not write into a frame that is gone.
inline std::shared_ptr<Started> start_task(boost::asio::io_context& io, boost::asio::awaitable<void> task) {
    auto started = std::make_shared<Started>();
    boost::asio::co_spawn(io, std::move(task), [started](std::exception_ptr failure) {
        started->failure = failure;
        started->done = true;
    });
    return started;
}

// Runs `task` on `io` until it ends (at most `limit`) and returns what it returned; what it
// threw is thrown here. The one way a test waits for a coroutine.
inline void await(boost::asio::io_context& io, boost::asio::awaitable<void> task,
                  std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto outcome = start_task(io, std::move(task));
    if (!run_until(io, [&] { return outcome->done; }, limit)) throw std::runtime_error("the awaited task did not finish in time");
    if (outcome->failure) std::rethrow_exception(outcome->failure);
}

// Through a task of its own: co_spawn hands its handler a default T when the task threw, and
// a result such as HttpOutcome has none.
template <typename T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> task, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto value = std::make_shared<std::optional<T>>();
    await(io, net::detail::keep(std::move(task), value), limit);
    return std::move(**value);
}

// Runs `tasks` at the same time on the caller's executor and returns what each returned, in
// their order, once all have ended; then the first failure, if any, is thrown. Boost 1.74 has
// no parallel_group for a vector of tasks.
template <typename T>
boost::asio::awaitable<std::vector<T>> together(std::vector<boost::asio::awaitable<T>> tasks) {
    struct Gathered {
        Gathered(const boost::asio::any_io_executor& executor, std::size_t count)
            : all_ended(executor, boost::asio::steady_timer::time_point::max()), values(count), left(count) {}
        boost::asio::steady_timer all_ended;
        std::vector<std::optional<T>> values;
        std::size_t left;
        std::exception_ptr failure;
    };
    const auto executor = co_await boost::asio::this_coro::executor;
    // Shared: a test that fails mid-wait destroys this frame while the tasks still run.
    const auto gathered = std::make_shared<Gathered>(executor, tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
        boost::asio::co_spawn(executor, std::move(tasks[i]), [gathered, i](std::exception_ptr failure, T value) {
            if (failure && !gathered->failure) gathered->failure = failure;
            if (!failure) gathered->values[i].emplace(std::move(value));
            if (--gathered->left == 0) gathered->all_ended.cancel();
        });
    if (gathered->left > 0) {
        boost::system::error_code woken;  // the cancel is the signal, not an error
        co_await gathered->all_ended.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
    }
    if (gathered->failure) std::rethrow_exception(gathered->failure);
    std::vector<T> out;
    for (auto& value : gathered->values) out.push_back(std::move(*value));
    co_return out;
}

// A void task has nothing to gather: it ends with a flag instead.
inline boost::asio::awaitable<bool> ended(boost::asio::awaitable<void> task) {
    co_await std::move(task);
    co_return true;
}

inline boost::asio::awaitable<void> together(std::vector<boost::asio::awaitable<void>> tasks) {
    std::vector<boost::asio::awaitable<bool>> flagged;
    for (auto& task : tasks) flagged.push_back(ended(std::move(task)));
    auto all = together(std::move(flagged));
    co_await std::move(all);
}

// What a store call that answers at once (SQLite's) returned, on a loop of its own.
template <typename T>
T answered(boost::asio::awaitable<T> call) {
    boost::asio::io_context io;
    return await(io, std::move(call));
}

}  // namespace platbot::testing
