#include "bot/config/yaml_reader.hpp"

#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::config {

ConfigException::ConfigException(const YAML::Mark& mark, const std::string& message)
    : std::runtime_error(message), line(mark.is_null() ? 0 : mark.line + 1),
      column(mark.is_null() ? 0 : mark.column + 1) {}

void fail_at(const YAML::Node& node, const std::string& message) { throw ConfigException(node.Mark(), message); }

namespace {

std::string kind_of(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
        case YAML::NodeType::Null: return "nothing";
        default: return "an undefined value";
    }
}

}  // namespace

void YamlReader::expect_map(const YAML::Node& node, std::string_view where,
                            const std::vector<std::string>& known) const {
    if (!node.IsMap()) fail_at(node, std::string(where) + ": expected a mapping, found " + kind_of(node));
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;  // a copy: it-> yields a temporary pair
        if (!key.IsScalar()) fail_at(key, std::string(where) + ": keys must be plain words");
        const std::string& name = key.Scalar();
        if (!seen.insert(name).second) fail_at(key, std::string(where) + ": key '" + name + "' appears twice");
        if (known.empty()) continue;
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            const auto near = text::closest(name, known, 1);
            fail_at(key, "unknown key '" + name + "' in " + std::string(where) +
                             (near.empty() ? " — expected one of: " + text::join(known, ", ")
                                           : " — did you mean '" + near[0] + "'?"));
        }
    }
}

void YamlReader::expect_sequence(const YAML::Node& node, std::string_view where) const {
    if (!node.IsSequence()) fail_at(node, std::string(where) + ": expected a list, found " + kind_of(node));
}

YAML::Node YamlReader::required(const YAML::Node& map, const std::string& key, std::string_view where) const {
    YAML::Node child = map[key];
    if (!child.IsDefined() || child.IsNull()) fail_at(map, std::string(where) + ": missing required key '" + key + "'");
    return child;
}

std::string YamlReader::string(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) fail_at(node, std::string(what) + ": expected text, found " + kind_of(node));
    return expand(node.Scalar(), node.Mark());
}

std::int64_t YamlReader::integer(const YAML::Node& node, std::string_view what) const {
    const std::string raw = string(node, what);
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
    if (raw.empty() || ec != std::errc{} || ptr != raw.data() + raw.size())
        fail_at(node, std::string(what) + ": expected a whole number, found '" + raw + "'");
    return value;
}

namespace {

// 0.5 as "0.5" and 1 as "1", not "1.000000".
std::string shortest(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

}  // namespace

double YamlReader::number(const YAML::Node& node, std::string_view what, double minimum, double maximum,
                         std::string_view meaning) const {
    const std::string raw = string(node, what);
    char* end = nullptr;
    const double value = std::strtod(raw.c_str(), &end);
    if (end == raw.c_str() || *end != '\0' || !(value >= minimum) || !(value <= maximum))
        fail_at(node, std::string(what) + ": expected a number from " + shortest(minimum) + " to " + shortest(maximum) +
                          ", " + std::string(meaning) + " — found '" + raw + "'");
    return value;
}

bool YamlReader::boolean(const YAML::Node& node, std::string_view what) const {
    const std::string raw = text::to_lower(string(node, what));
    if (raw == "true" || raw == "yes" || raw == "on") return true;
    if (raw == "false" || raw == "no" || raw == "off") return false;
    fail_at(node, std::string(what) + ": expected true or false, found '" + raw + "'");
}

std::vector<std::string> YamlReader::string_list(const YAML::Node& node, std::string_view what) const {
    expect_sequence(node, what);
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(string(item, what));
    return out;
}

std::string YamlReader::expand(const std::string& raw, const YAML::Mark& mark) const {
    std::string out;
    std::size_t i = 0;
    while (i < raw.size()) {
        if (raw.compare(i, 3, "$${") == 0) {
            out += "${";
            i += 3;
            continue;
        }
        if (raw.compare(i, 2, "${") != 0) {
            out += raw[i++];
            continue;
        }
        const auto close = raw.find('}', i + 2);
        if (close == std::string::npos)
            throw ConfigException(mark, "unclosed '${' in '" + raw + "' — write ${NAME} or ${NAME:-default}");
        const std::string inner = raw.substr(i + 2, close - i - 2);
        const auto dash = inner.find(":-");
        const std::string name = inner.substr(0, dash);
        if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                                std::string::npos)
            throw ConfigException(mark, "'${" + inner + "}' is not a variable reference — write ${NAME} or ${NAME:-default}");
        const auto value = env_(name);
        if (value && !value->empty()) {
            out += *value;
            expanded_.push_back(*value);
        } else if (dash != std::string::npos) {
            out += inner.substr(dash + 2);
        } else {
            throw ConfigException(mark, "environment variable " + name + " is not set (or empty) — export it, or write ${" +
                                            name + ":-default}");
        }
        i = close + 1;
    }
    return out;
}

std::chrono::milliseconds YamlReader::duration(const YAML::Node& node, const std::string& what,
                                               std::chrono::milliseconds minimum) const {
    using std::chrono::milliseconds;
    const std::string raw = string(node, what);
    milliseconds value{0};
    if (raw.size() > 2 && raw.ends_with("ms") && raw.find_first_not_of("0123456789") == raw.size() - 2) {
        milliseconds::rep count = 0;
        if (std::from_chars(raw.data(), raw.data() + raw.size() - 2, count).ec != std::errc{})
            fail_at(node, what + ": '" + raw + "' is too long");
        value = milliseconds(count);
    } else if (auto parsed = commands::parse_duration(raw)) {
        if (parsed->count() > milliseconds::max().count() / 1000) fail_at(node, what + ": '" + raw + "' is too long");
        value = *parsed;
    } else {
        fail_at(node, what + ": " + parsed.error().message);
    }
    if (value < minimum)
        fail_at(node, what + ": '" + raw + "' is too short — at least " + std::to_string(minimum.count()) + "ms");
    // A week bounds every wait an action declares; longer is a typo, and it keeps
    // deadline arithmetic far from overflow.
    if (value > std::chrono::hours(24 * 7)) fail_at(node, what + ": '" + raw + "' is too long — at most 7d");
    return value;
}

}  // namespace platbot::config
