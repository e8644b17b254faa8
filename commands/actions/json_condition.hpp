#pragma once
// A condition on a JSON document, written in config as `/state == "ok"`,
// `/progress >= 100`, `/errors != []`, or a bare pointer (`/ready`: present and truthy).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/common/result.hpp"

namespace platbot::commands {

// What `pointer` names in `document`, or null when it names nothing there.
const nlohmann::json* find_pointer(const nlohmann::json& document, const nlohmann::json::json_pointer& pointer);

class JsonCondition {
public:
    enum class Op { truthy, eq, ne, lt, le, gt, ge };

    static Result<JsonCondition> parse(std::string_view source);
    bool holds(const nlohmann::json& document) const;
    const std::string& source() const { return source_; }

private:
    std::string source_;
    nlohmann::json::json_pointer pointer_;
    Op op_ = Op::truthy;
    nlohmann::json operand_;
};

}  // namespace platbot::commands
