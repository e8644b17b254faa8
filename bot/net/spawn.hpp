#pragma once
// Starts background work on the loop. spawn_guarded is for a service that may be gone by
// the time it runs (co_spawn begins on a later turn): the work starts only while `*alive`
// is true. Either way a failure is logged with `what` instead of escaping or vanishing.
#include <exception>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

namespace platbot::net {

namespace detail {
inline boost::asio::awaitable<void> run_if_alive(std::shared_ptr<bool> alive, boost::asio::awaitable<void> work) {
    if (*alive) co_await std::move(work);
}
}  // namespace detail

// Every background coroutine starts here (or through spawn_guarded): what it throws is
// logged with `what`, never dropped as asio::detached would.
inline void spawn_reported(const boost::asio::any_io_executor& executor, boost::asio::awaitable<void> work,
                           std::string what) {
    boost::asio::co_spawn(executor, std::move(work), [what = std::move(what)](std::exception_ptr failure) {
        if (!failure) return;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            spdlog::error("{} failed: {}", what, e.what());
        } catch (...) {
            spdlog::error("{} failed with an unknown exception", what);
        }
    });
}

inline void spawn_guarded(const boost::asio::any_io_executor& executor, std::shared_ptr<bool> alive,
                          boost::asio::awaitable<void> work, std::string what) {
    spawn_reported(executor, detail::run_if_alive(std::move(alive), std::move(work)), std::move(what));
}

}  // namespace platbot::net
