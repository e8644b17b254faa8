#pragma once
// Schema checks over yaml-cpp nodes that report `file:line:column: what was expected`.
// Internal to the config module: every section parser uses these and nothing else.
#include <yaml-cpp/yaml.h>

#include "bot/common/env.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace platbot::config {

using platbot::EnvLookup;

// Thrown inside the loader only; load_config turns it into a one-line error.
struct ConfigException : std::runtime_error {
    ConfigException(const YAML::Mark& mark, const std::string& message);
    int line;    // 1-based, 0 when unknown
    int column;  // 1-based, 0 when unknown
};

class YamlReader {
public:
    explicit YamlReader(EnvLookup env) : env_(std::move(env)) {}

    // Fails unless `node` is a mapping whose keys are all in `known`; duplicate keys fail too.
    void expect_map(const YAML::Node& node, std::string_view where, const std::vector<std::string>& known) const;
    void expect_sequence(const YAML::Node& node, std::string_view where) const;
    // The child under `key`, failing at the map's position when it is required and absent.
    YAML::Node required(const YAML::Node& map, const std::string& key, std::string_view where) const;

    std::string string(const YAML::Node& node, std::string_view what) const;
    std::int64_t integer(const YAML::Node& node, std::string_view what) const;
    bool boolean(const YAML::Node& node, std::string_view what) const;
    // A decimal number within [minimum, maximum]; `meaning` ends the error, e.g. "such as 0.2".
    double number(const YAML::Node& node, std::string_view what, double minimum, double maximum,
                  std::string_view meaning) const;
    std::vector<std::string> string_list(const YAML::Node& node, std::string_view what) const;
    // `90s`, `5m`, `2h`, `1d`, and `250ms` for short test timeouts; between `minimum` and 7 days.
    std::chrono::milliseconds duration(const YAML::Node& node, const std::string& what,
                                       std::chrono::milliseconds minimum) const;

    // `${VAR}` and `${VAR:-default}` from the environment; `$${` is a literal `${`.
    std::string expand(const std::string& raw, const YAML::Mark& mark) const;
    // Every value an expansion took from the environment so far, in order.
    const std::vector<std::string>& expanded() const { return expanded_; }

private:
    EnvLookup env_;
    mutable std::vector<std::string> expanded_;
};

[[noreturn]] void fail_at(const YAML::Node& node, const std::string& message);

}  // namespace platbot::config
