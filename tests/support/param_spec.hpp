#pragma once
// The one way a test declares a command parameter: name and type, which every parameter has,
// then only what the test is about, by designated initializer:
//   param("env", ParamType::enumeration, {.required = true, .choices = {"dev", "prod"}})
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands/spec.hpp"

namespace platbot::testing {

// In ParamSpec's order, as designated initializers must be. Every member has an initializer:
// g++ 12 warns about members a designated initializer skips unless they do. What is left
// unset keeps ParamSpec's own default.
struct ParamExtras {
    std::string description{};
    bool required = false;
    std::optional<std::string> default_value{};
    std::optional<std::string> pattern{};
    std::optional<std::size_t> max_length{};
    std::optional<std::int64_t> min{};
    std::optional<std::int64_t> max{};
    std::vector<std::string> choices{};
    bool rest = false;
};

inline commands::ParamSpec param(std::string name, commands::ParamType type, ParamExtras extras = {}) {
    commands::ParamSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.description = std::move(extras.description);
    spec.required = extras.required;
    spec.default_value = std::move(extras.default_value);
    spec.pattern = std::move(extras.pattern);
    if (extras.max_length) spec.max_length = *extras.max_length;
    spec.min = extras.min;
    spec.max = extras.max;
    spec.choices = std::move(extras.choices);
    spec.rest = extras.rest;
    return spec;
}

}  // namespace platbot::testing
