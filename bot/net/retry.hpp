#pragma once
// Shared pieces of retry policy for everything that calls out (platform actions, chat APIs,
// reconnecting sockets), so they all back off the same way.
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/cancel.hpp"

namespace platbot::net {

// How long a `Retry-After` header asks to wait: seconds or an HTTP-date; nullopt when it
// says neither.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           std::chrono::system_clock::time_point now);

// Full jitter over an exponential ceiling: a random pause between half and all of
// first × 2^(attempt-1), capped at `max`. Attempts count from 1.
std::chrono::milliseconds jittered_backoff(int attempt, std::chrono::milliseconds first, std::chrono::milliseconds max);

// Waits `duration` on the loop; false when `cancel` fired first (or had already).
boost::asio::awaitable<bool> sleep_for(boost::asio::any_io_executor executor, std::chrono::milliseconds duration,
                                       CancelToken cancel);

}  // namespace platbot::net
