#include "bot/net/retry.hpp"

#include <algorithm>
#include <ctime>
#include <random>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bot/common/text.hpp"

namespace platbot::net {

using std::chrono::milliseconds;

// RFC 9110 §10.2.3: delay-seconds, or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT").
std::optional<milliseconds> parse_retry_after(const std::string& value, std::chrono::system_clock::time_point now) {
    const std::string_view trimmed = text::trim(value);
    if (trimmed.empty()) return std::nullopt;
    if (trimmed.find_first_not_of("0123456789") == std::string_view::npos) {
        if (trimmed.size() > 6) return std::nullopt;
        return std::chrono::seconds(std::stoll(std::string(trimmed)));
    }
    std::tm tm{};
    const std::string date(trimmed);
    const char* end = ::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
    if (at <= now) return milliseconds(0);
    return std::chrono::duration_cast<milliseconds>(at - now);
}

milliseconds jittered_backoff(int attempt, milliseconds first, milliseconds max) {
    static thread_local std::mt19937 random{std::random_device{}()};
    const milliseconds ceiling = std::min<milliseconds>(max, first * (1LL << std::clamp(attempt - 1, 0, 20)));
    std::uniform_int_distribution<long long> pick(ceiling.count() / 2, ceiling.count());
    return milliseconds(pick(random));
}

boost::asio::awaitable<bool> sleep_for(boost::asio::any_io_executor executor, milliseconds duration, CancelToken cancel) {
    // Cancelled already: an armed cancel runs before the wait starts and would not stop it.
    if (cancel.cancelled()) co_return false;
    boost::asio::steady_timer timer(executor, duration);
    auto guard = cancel.on_cancel([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return !cancel.cancelled();
}

}  // namespace platbot::net
