#pragma once
// Reading payloads that arrive from outside (Slack envelopes, the inbox's stored events):
// a missing key, a non-object or a value of another type reads as empty (or false), never throws.
#include <string>

#include <nlohmann/json.hpp>

namespace platbot {

inline std::string string_field(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return {};
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// True only for a JSON true under `key`.
inline bool true_field(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return false;
    const auto it = object.find(key);
    return it != object.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace platbot
