#pragma once
// spdlog on stderr, so stdout stays the console conversation.
#include <string>

#include "bot/common/result.hpp"

namespace platbot::core {

// level: trace, debug, info, warn, error or off.
Result<bool> setup_logging(const std::string& level);

}  // namespace platbot::core
