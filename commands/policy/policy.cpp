#include "commands/policy/policy.hpp"

#include <charconv>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

Result<RateLimit> parse_rate_limit(std::string_view text) {
    const std::string source(text::trim(text));
    const auto bad = [&] {
        return fail("rate limit '" + source + "' — write it as COUNT/PERIOD, e.g. 5/min, 20/hour, 1/30s");
    };
    const auto slash = source.find('/');
    if (slash == std::string::npos) return bad();
    RateLimit limit;
    limit.source = source;
    const std::string count = source.substr(0, slash);
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), limit.count);
    if (count.empty() || ec != std::errc{} || end != count.data() + count.size() || limit.count < 1) return bad();
    const std::string period = text::to_lower(source.substr(slash + 1));
    if (period == "s" || period == "sec" || period == "second") limit.window = std::chrono::seconds(1);
    else if (period == "m" || period == "min" || period == "minute") limit.window = std::chrono::minutes(1);
    else if (period == "h" || period == "hour") limit.window = std::chrono::hours(1);
    else if (period == "d" || period == "day") limit.window = std::chrono::hours(24);
    else if (auto parsed = parse_duration(period); parsed && parsed->count() > 0) limit.window = *parsed;
    else return bad();
    return limit;
}

}  // namespace platbot::commands
