#include "commands/template.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

const std::vector<std::string> filter_names{"default", "json", "lower", "upper"};

bool in_scope(const std::string& name, const TemplateScope& scope) {
    if (scope.contains(name)) return true;
    for (const auto& entry : scope)
        if (!entry.empty() && entry.back() == '.' && name.size() > entry.size() && name.starts_with(entry) &&
            name[entry.size()] == '/')
            return true;
    return false;
}

Error unknown_variable(const std::string& name, const TemplateScope& scope) {
    std::vector<std::string> candidates;
    for (const auto& entry : scope) candidates.push_back(entry.back() == '.' ? entry + "/..." : entry);
    const auto near = text::closest(name, candidates, 1);
    return fail("unknown variable '" + name + "'" +
                (near.empty() ? " — known: " + text::join(candidates, ", ") : " — did you mean '" + near[0] + "'?"));
}

// `default("x")`, `default('x')`, `lower`; returns the filter or an error.
Result<std::pair<std::string, std::string>> parse_filter(std::string_view raw) {
    const std::string_view spec = text::trim(raw);
    const auto open = spec.find('(');
    const std::string name(text::trim(spec.substr(0, open)));
    if (std::find(filter_names.begin(), filter_names.end(), name) == filter_names.end()) {
        const auto near = text::closest(name, filter_names, 1);
        return fail("unknown filter '" + name + "'" +
                    (near.empty() ? " — filters: " + text::join(filter_names, ", ") : " — did you mean '" + near[0] + "'?"));
    }
    if (open == std::string_view::npos) {
        if (name == "default") return fail("filter 'default' needs a value: default(\"none\")");
        return std::pair{name, std::string()};
    }
    if (name != "default") return fail("filter '" + name + "' takes no argument");
    const std::string_view rest = text::trim(spec.substr(open + 1));
    if (rest.size() < 3 || rest.back() != ')' ) return fail("filter 'default' needs a closing ')'");
    const std::string_view quoted = text::trim(rest.substr(0, rest.size() - 1));
    if (quoted.size() < 2 || (quoted.front() != '"' && quoted.front() != '\'') || quoted.back() != quoted.front())
        return fail("default's value must be quoted: default(\"none\")");
    return std::pair{name, std::string(quoted.substr(1, quoted.size() - 2))};
}

}  // namespace

std::string json_text(const nlohmann::json& value) {
    if (value.is_null()) return "";
    if (value.is_string()) return value.get<std::string>();
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json lookup(const TemplateContext& context, std::string_view name) {
    const auto pointer_at = name.find("./");
    const std::string_view path = pointer_at == std::string_view::npos ? name : name.substr(0, pointer_at);
    const nlohmann::json* node = &context;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto dot = path.find('.', start);
        const std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (!node->is_object()) return nullptr;
        const auto it = node->find(key);
        if (it == node->end()) return nullptr;
        node = &*it;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (pointer_at == std::string_view::npos) return *node;
    try {
        const nlohmann::json::json_pointer pointer(std::string(name.substr(pointer_at + 1)));
        return node->contains(pointer) ? node->at(pointer) : nlohmann::json();
    } catch (const nlohmann::json::exception&) {
        return nullptr;
    }
}

Result<Template> Template::compile(std::string_view source, const TemplateScope& scope) {
    Template result;
    result.source_ = std::string(source);
    std::size_t i = 0;
    while (i < source.size()) {
        const auto open = source.find("{{", i);
        if (open == std::string_view::npos) {
            result.pieces_.push_back({false, std::string(source.substr(i)), {}});
            break;
        }
        if (open > i) result.pieces_.push_back({false, std::string(source.substr(i, open - i)), {}});
        const auto close = source.find("}}", open + 2);
        if (close == std::string_view::npos)
            return fail("unclosed '{{' at offset " + std::to_string(open) + " — close it with '}}'");
        const std::string_view expression = source.substr(open + 2, close - open - 2);
        Piece piece{true, "", {}};
        std::size_t bar = expression.find('|');
        piece.text = std::string(text::trim(expression.substr(0, bar)));
        if (piece.text.empty()) return fail("empty '{{ }}' at offset " + std::to_string(open) + " — name a variable");
        if (!in_scope(piece.text, scope)) return unknown_variable(piece.text, scope);
        if (const auto pointer_at = piece.text.find("./"); pointer_at != std::string::npos) {
            try {
                (void)nlohmann::json::json_pointer(piece.text.substr(pointer_at + 1));
            } catch (const nlohmann::json::exception&) {
                return fail("'" + piece.text + "' is not a valid JSON pointer — write it like response.json./items/0/id");
            }
        }
        while (bar != std::string_view::npos) {
            const auto next = expression.find('|', bar + 1);
            auto filter = parse_filter(expression.substr(bar + 1, next == std::string_view::npos ? std::string_view::npos : next - bar - 1));
            if (!filter) return filter.error();
            piece.filters.push_back({filter->first, filter->second});
            bar = next;
        }
        result.variables_.push_back(piece.text);
        result.pieces_.push_back(std::move(piece));
        i = close + 2;
    }
    return result;
}

Template Template::literal(std::string text) {
    Template result;
    result.source_ = text;
    if (!text.empty()) result.pieces_.push_back({false, std::move(text), {}});
    return result;
}

nlohmann::json Template::evaluate(const Piece& piece, const TemplateContext& context) const {
    nlohmann::json value = lookup(context, piece.text);
    for (const auto& filter : piece.filters) {
        if (filter.name == "default") {
            if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) value = filter.argument;
        } else if (filter.name == "lower") {
            value = text::to_lower(json_text(value));
        } else if (filter.name == "upper") {
            std::string upper = json_text(value);
            for (auto& c : upper)
                if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            value = upper;
        } else if (filter.name == "json") {
            value = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    }
    return value;
}

std::string Template::render(const TemplateContext& context, Escape escape) const {
    std::string out;
    for (const auto& piece : pieces_) {
        if (!piece.variable) {
            out += piece.text;
            continue;
        }
        const std::string value = json_text(evaluate(piece, context));
        if (escape == Escape::text) out += value;
        // A value of `.` or `..` would be a dot segment, which curl resolves away
        // (/a/../b becomes /b); its dots encoded, it stays a value.
        else if (value == "." || value == "..") out += value == "." ? "%2E" : "%2E%2E";
        else out += text::percent_encode(value);
    }
    return out;
}

nlohmann::json Template::render_json(const TemplateContext& context) const {
    if (pieces_.size() == 1 && pieces_.front().variable && !pieces_.front().filters.empty() &&
        pieces_.front().filters.back().name == "json") {
        Piece typed = pieces_.front();
        typed.filters.pop_back();
        return evaluate(typed, context);
    }
    return render(context);
}

}  // namespace platbot::commands
