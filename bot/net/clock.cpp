#include "bot/net/clock.hpp"

#include <algorithm>

#include "bot/net/retry.hpp"

namespace platbot::net {

namespace {
constexpr std::chrono::hours longest_sleep{6};
}

boost::asio::awaitable<bool> SystemClock::sleep_until(TimePoint due, CancelToken cancel) {
    for (int wake = 0; wake < 100'000; ++wake) {
        const auto left = due - now();
        if (left <= left.zero()) co_return true;
        const auto step = std::min<std::chrono::system_clock::duration>(left, longest_sleep);
        if (!co_await sleep_for(executor_, std::chrono::ceil<std::chrono::milliseconds>(step), cancel)) co_return false;
    }
    co_return false;
}

}  // namespace platbot::net
