#include "commands/values.hpp"

#include <charconv>
#include <limits>
#include <regex>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

std::string quoted(std::string_view raw) { return "'" + std::string(raw) + "'"; }

Result<Value> parse_integer(const ParamSpec& param, std::string_view raw) {
    std::int64_t value = 0;
    const auto* end = raw.data() + raw.size();
    const auto [ptr, ec] = std::from_chars(raw.data(), end, value);
    if (ec == std::errc::result_out_of_range)
        return fail(param.name + " is out of range (got " + quoted(raw) + ")");
    if (raw.empty() || ec != std::errc{} || ptr != end)
        return fail(param.name + " must be a whole number (got " + quoted(raw) + ")");
    if ((param.min && value < *param.min) || (param.max && value > *param.max)) {
        std::string range;
        if (param.min && param.max)
            range = "between " + std::to_string(*param.min) + " and " + std::to_string(*param.max);
        else if (param.min)
            range = "at least " + std::to_string(*param.min);
        else
            range = "at most " + std::to_string(*param.max);
        return fail(param.name + " must be " + range + " (got " + std::to_string(value) + ")");
    }
    return Value{value};
}

Result<Value> parse_boolean(const ParamSpec& param, std::string_view raw) {
    const std::string v = text::to_lower(raw);
    if (v == "true" || v == "yes" || v == "on" || v == "1") return Value{true};
    if (v == "false" || v == "no" || v == "off" || v == "0") return Value{false};
    return fail(param.name + " must be yes or no (got " + quoted(raw) + ")");
}

Result<Value> parse_string(const ParamSpec& param, std::string_view raw) {
    if (raw.size() > param.max_length)
        return fail(param.name + " is " + std::to_string(raw.size()) + " bytes long; the limit is " +
                    std::to_string(param.max_length));
    if (param.pattern) {
        const std::regex re(*param.pattern, std::regex::ECMAScript);
        if (!std::regex_match(raw.begin(), raw.end(), re))
            return fail(param.name + " must match " + *param.pattern + " (got " + quoted(raw) + ")");
    }
    return Value{std::string(raw)};
}

Result<Value> parse_enumeration(const ParamSpec& param, std::string_view raw) {
    for (const auto& choice : param.choices)
        if (text::iequals(choice, raw)) return Value{choice};
    std::string message = param.name + " must be one of " + text::join(param.choices, ", ") + " (got " +
                          quoted(raw) + ")";
    return fail(std::move(message));
}

// The platform's mention (the adapter listed it), or `@name` as people type it anywhere.
Result<Value> parse_user(const ParamSpec& param, std::string_view raw, const chat::References& references) {
    for (const auto& reference : references)
        if (reference.kind == chat::Reference::Kind::person && reference.word == raw) return Value{chat::User{reference.id, ""}};
    if (raw.size() > 1 && raw.front() == '@') return Value{chat::User{"", std::string(raw.substr(1))}};
    if (param.bare_names && !raw.empty()) return Value{chat::User{"", std::string(raw)}};
    return fail(param.name + " must mention a user, like @alice (got " + quoted(raw) + ")");
}

Result<Value> parse_channel(const ParamSpec& param, std::string_view raw, const chat::References& references) {
    for (const auto& reference : references)
        if (reference.kind == chat::Reference::Kind::conversation && reference.word == raw) return Value{ChannelRef{reference.id, ""}};
    if (raw.size() > 1 && raw.front() == '#') return Value{ChannelRef{"", std::string(raw.substr(1))}};
    return fail(param.name + " must name a channel, like #ops (got " + quoted(raw) + ")");
}

Result<Value> parse_bounded_duration(const ParamSpec& param, std::string_view raw) {
    auto d = parse_duration(raw);
    if (!d) return fail(param.name + ": " + d.error().message);
    if ((param.min && d->count() < *param.min) || (param.max && d->count() > *param.max)) {
        const auto bound = [](std::optional<std::int64_t> s, const char* none) {
            return s ? format_duration(std::chrono::seconds{*s}) : std::string(none);
        };
        return fail(param.name + " must be between " + bound(param.min, "0s") + " and " + bound(param.max, "any length") +
                    " (got " + quoted(raw) + ")");
    }
    return Value{*d};
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view raw) {
    const auto bad = [&] {
        return fail("expected a duration such as 90s, 15m, 2h or 1d (got " + quoted(raw) + ")");
    };
    if (raw.empty()) return bad();
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < raw.size()) {
        std::int64_t amount = 0;
        const auto [ptr, ec] = std::from_chars(raw.data() + i, raw.data() + raw.size(), amount);
        if (ec != std::errc{} || amount < 0) return bad();
        i = static_cast<std::size_t>(ptr - raw.data());
        if (i >= raw.size()) return bad();
        std::int64_t unit = 0;
        switch (raw[i]) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 7 * 86400; break;
            default: return bad();
        }
        ++i;
        if (amount > std::numeric_limits<std::int64_t>::max() / unit - total / unit) return bad();
        total += amount * unit;
    }
    return std::chrono::seconds{total};
}

std::string format_duration(std::chrono::seconds value) {
    std::int64_t s = value.count();
    if (s == 0) return "0s";
    std::string out;
    for (const auto& [unit, suffix] : {std::pair<std::int64_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}) {
        if (s >= unit) {
            out += std::to_string(s / unit) + suffix;
            s %= unit;
        }
    }
    return out;
}

Result<Value> parse_value(const ParamSpec& param, std::string_view raw, const chat::References& references) {
    switch (param.type) {
        case ParamType::string: return parse_string(param, raw);
        case ParamType::integer: return parse_integer(param, raw);
        case ParamType::boolean: return parse_boolean(param, raw);
        case ParamType::enumeration: return parse_enumeration(param, raw);
        case ParamType::duration: return parse_bounded_duration(param, raw);
        case ParamType::user: return parse_user(param, raw, references);
        case ParamType::channel: return parse_channel(param, raw, references);
    }
    return fail(param.name + ": unsupported type");
}

std::string to_text(const Value& value) {
    struct Visitor {
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(bool b) const { return b ? "yes" : "no"; }
        std::string operator()(std::chrono::seconds d) const { return format_duration(d); }
        std::string operator()(const chat::User& u) const { return u.name.empty() ? u.id : "@" + u.name; }
        std::string operator()(const ChannelRef& c) const { return c.name.empty() ? c.id : "#" + c.name; }
        std::string operator()(const std::vector<std::string>& words) const { return text::join(words, ", "); }
    };
    return std::visit(Visitor{}, value);
}

}  // namespace platbot::commands
