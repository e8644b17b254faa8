#pragma once
// Reading the environment through a function, so config loading and exec actions take
// their variables from the process in production and from a map in tests.
#include <functional>
#include <optional>
#include <string>

namespace platbot {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment; nullopt when the variable is not set.
std::optional<std::string> process_env(const std::string& name);

// The machine's host name (gethostname); nullopt when it has none.
std::optional<std::string> host_name();

}  // namespace platbot
