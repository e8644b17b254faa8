#include "bot/core/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace platbot::core {

Result<bool> setup_logging(const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
    if (parsed == spdlog::level::off && level != "off")
        return fail("unknown log level '" + level + "' — use trace, debug, info, warn, error or off");
    auto logger = spdlog::stderr_logger_st("platbot");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(parsed);
    spdlog::set_default_logger(logger);
    return true;
}

}  // namespace platbot::core
