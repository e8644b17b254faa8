#include "commands/actions/json_condition.hpp"

#include <array>
#include <utility>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

bool truthy(const nlohmann::json& value) {
    if (value.is_null()) return false;
    if (value.is_boolean()) return value.get<bool>();
    if (value.is_number()) return value.get<double>() != 0;
    // nlohmann's empty() is false for every string, so a string is asked for its own size.
    if (value.is_string()) return !value.get_ref<const std::string&>().empty();
    if (value.is_array() || value.is_object()) return !value.empty();
    return true;
}

}  // namespace

const nlohmann::json* find_pointer(const nlohmann::json& document, const nlohmann::json::json_pointer& pointer) {
    // contains() throws instead of answering for an array index too large to count
    // (`/items/99999999999999999999`), and a server decides what the document holds.
    try {
        return document.contains(pointer) ? &document.at(pointer) : nullptr;
    } catch (const nlohmann::json::exception&) {
        return nullptr;
    }
}

Result<JsonCondition> JsonCondition::parse(std::string_view source) {
    JsonCondition condition;
    condition.source_ = std::string(text::trim(source));
    const std::string_view s = condition.source_;
    if (s.empty() || s.front() != '/')
        return fail("condition '" + condition.source_ + "' must start with a JSON pointer such as /state == \"ok\"");
    // Longest operators first, so `>=` is not read as `>`.
    static const std::array<std::pair<std::string_view, Op>, 6> ops{
        {{"==", Op::eq}, {"!=", Op::ne}, {"<=", Op::le}, {">=", Op::ge}, {"<", Op::lt}, {">", Op::gt}}};
    std::size_t at = std::string_view::npos;
    std::size_t length = 0;
    for (const auto& [token, op] : ops) {
        const auto found = s.find(token);
        if (found != std::string_view::npos && (at == std::string_view::npos || found < at)) {
            at = found;
            length = token.size();
            condition.op_ = op;
        }
    }
    const std::string pointer(text::trim(s.substr(0, at)));
    try {
        condition.pointer_ = nlohmann::json::json_pointer(pointer);
    } catch (const nlohmann::json::exception&) {
        return fail("condition '" + condition.source_ + "': '" + pointer + "' is not a valid JSON pointer");
    }
    if (at == std::string_view::npos) {
        // `/state = "ok"` would otherwise read as a pointer to a key named `state = "ok"`.
        if (s.find('=') != std::string_view::npos || s.find(' ') != std::string_view::npos)
            return fail("condition '" + condition.source_ + "': compare with ==, !=, <, <=, > or >= (e.g. /state == \"ok\")");
        return condition;
    }
    const std::string operand(text::trim(s.substr(at + length)));
    try {
        condition.operand_ = nlohmann::json::parse(operand);
    } catch (const nlohmann::json::exception&) {
        return fail("condition '" + condition.source_ + "': the value '" + operand +
                    "' is not JSON — quote strings (\"ok\"), write numbers and true/false/null bare");
    }
    const bool ordered = condition.op_ == Op::lt || condition.op_ == Op::le || condition.op_ == Op::gt || condition.op_ == Op::ge;
    if (ordered && !condition.operand_.is_number())
        return fail("condition '" + condition.source_ + "': <, <=, > and >= compare numbers only");
    return condition;
}

bool JsonCondition::holds(const nlohmann::json& document) const {
    const nlohmann::json* found = find_pointer(document, pointer_);
    if (found == nullptr) return op_ == Op::ne;
    const nlohmann::json& value = *found;
    switch (op_) {
        case Op::truthy: return truthy(value);
        case Op::eq: return value == operand_;
        case Op::ne: return value != operand_;
        default: break;
    }
    if (!value.is_number()) return false;
    const double left = value.get<double>();
    const double right = operand_.get<double>();
    switch (op_) {
        case Op::lt: return left < right;
        case Op::le: return left <= right;
        case Op::gt: return left > right;
        case Op::ge: return left >= right;
        default: return false;
    }
}

}  // namespace platbot::commands
