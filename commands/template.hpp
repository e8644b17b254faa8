#pragma once
// One small template engine for replies, URLs, headers, bodies and argv:
// `{{ args.service }}`, `{{ user.name | upper }}`, `{{ response.json./items/0/url }}`,
// `{{ args.note | default("none") }}`. Filters: default, lower, upper, json.
// Variables are checked when the config loads, so a typo is a config error and never a
// silent blank at run time. Escaping depends on where the value lands (see Escape);
// JSON bodies and argv are built structurally by the action code, one value per slot.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/common/result.hpp"

namespace platbot::commands {

// The names a template may use. A name ending in '.' is a prefix: `response.json.`
// admits any JSON pointer after it (`response.json./state`).
using TemplateScope = std::set<std::string>;

// Values for rendering: nested objects, `{"args": {"service": "api"}, "user": {...}}`.
using TemplateContext = nlohmann::json;

enum class Escape {
    text,  // chat text and header values: inserted as they are
    url,   // URL path segments and query values: percent-encoded, so `../x?y` stays one value
};

class Template {
public:
    static Result<Template> compile(std::string_view source, const TemplateScope& scope);
    // A template that is only literal text.
    static Template literal(std::string text);

    std::string render(const TemplateContext& context, Escape escape = Escape::text) const;
    // When the whole template is one `{{ ... | json }}` expression, its typed value
    // (so a JSON body can carry a number or a list); otherwise the rendered text.
    nlohmann::json render_json(const TemplateContext& context) const;

    const std::vector<std::string>& variables() const { return variables_; }
    const std::string& source() const { return source_; }
    bool empty() const { return source_.empty(); }

private:
    struct Filter {
        std::string name;
        std::string argument;  // default's fallback text
    };
    struct Piece {
        bool variable = false;
        std::string text;  // literal text, or the variable name
        std::vector<Filter> filters;
    };
    nlohmann::json evaluate(const Piece& piece, const TemplateContext& context) const;

    std::string source_;
    std::vector<Piece> pieces_;
    std::vector<std::string> variables_;
};

// A JSON value as template text: strings as they are, null as empty, others as JSON.
std::string json_text(const nlohmann::json& value);

// Looks `name` up in the context (`args.service`, `response.json./a/b`); null when absent.
nlohmann::json lookup(const TemplateContext& context, std::string_view name);

}  // namespace platbot::commands
