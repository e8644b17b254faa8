#pragma once
// Reading payloads that arrive from outside (Slack envelopes, the inbox's stored events):
// a missing key, a non-object or a value of another type reads as empty (or false), never throws.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace platbot {

// JSON that arrives from outside, or a discarded value (is_discarded()) when the text is not
// JSON or nests deeper than `max_depth`: copying, printing or walking a document like
// [[[[…]]]] recurses once per level, and a megabyte of it overflows the stack.
nlohmann::json parse_outside_json(std::string_view text, std::size_t max_depth = 128);

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

// The integer under `key`, or 0.
inline long long integer_field(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return 0;
    const auto it = object.find(key);
    return it != object.end() && it->is_number_integer() ? it->get<long long>() : 0;
}

}  // namespace platbot
