#pragma once
// Typed parameter values: raw text from the command line becomes one of these only
// through parse_value, so everything downstream sees validated, typed values.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bot/chat/chat.hpp"
#include "bot/common/result.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

struct ChannelRef {
    std::string id;    // platform id when the platform marked the channel up
    std::string name;  // without the '#': as written, or the directory's name for the id
    bool operator==(const ChannelRef&) const = default;
};

// A repeated parameter's words are a list of strings (a poll's options).
using Value = std::variant<std::string, std::int64_t, bool, std::chrono::seconds, chat::User, ChannelRef, std::vector<std::string>>;

// `references`: the people and conversations the platform marked up in the line; a user or
// channel parameter takes one of their words as that id.
Result<Value> parse_value(const ParamSpec& param, std::string_view raw, const chat::References& references = {});

// `90s`, `15m`, `2h`, `1d`, and combinations such as `1h30m`.
Result<std::chrono::seconds> parse_duration(std::string_view raw);
std::string format_duration(std::chrono::seconds value);

// How a value reads in replies, audit rows and templates.
std::string to_text(const Value& value);

}  // namespace platbot::commands
