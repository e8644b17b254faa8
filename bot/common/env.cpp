#include "bot/common/env.hpp"

#include <cstdlib>

namespace platbot {

std::optional<std::string> process_env(const std::string& name) {
    if (const char* value = std::getenv(name.c_str())) return std::string(value);
    return std::nullopt;
}

}  // namespace platbot
