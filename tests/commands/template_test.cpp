#include "commands/template.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

using platbot::commands::Escape;
using platbot::commands::Template;
using platbot::commands::TemplateContext;
using platbot::commands::TemplateScope;
using Catch::Matchers::Contains;

namespace {

const TemplateScope known{"args.service", "args.env", "user.id", "user.name", "channel.id"};
const TemplateContext bindings{{"args", {{"service", "api"}, {"env", "prod"}}},
                               {"user", {{"id", "U001"}, {"name", "dev"}}},
                               {"channel", {{"id", "C9"}}}};

struct RenderCase {
    const char* source;
    const char* rendered;
    std::vector<std::string> variables;
};

}  // namespace

TEST_CASE("templates substitute known variables", "[template]") {
    const auto c = GENERATE(values<RenderCase>({
        {"", "", {}},
        {"plain text", "plain text", {}},
        {"Deploying {{ args.service }} to {{ args.env }}", "Deploying api to prod", {"args.service", "args.env"}},
        {"{{args.service}}", "api", {"args.service"}},
        {"{{   user.name\t}}!", "dev!", {"user.name"}},
        {"{{ user.name }} ({{ user.id }}) in {{ channel.id }}", "dev (U001) in C9", {"user.name", "user.id", "channel.id"}},
        {"{{ args.env }}/{{ args.env }}", "prod/prod", {"args.env", "args.env"}},
        {"a lone }} stays", "a lone }} stays", {}},
        {"\xF0\x9F\x9A\x80 {{ args.service }} \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",
         "\xF0\x9F\x9A\x80 api \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", {"args.service"}},
    }));
    INFO(c.source);
    const auto compiled = Template::compile(c.source, known);
    REQUIRE(compiled.ok());
    CHECK(compiled->render(bindings) == c.rendered);
    CHECK(compiled->variables() == c.variables);
}

TEST_CASE("rendering does not expand braces inside values and leaves missing values blank", "[template]") {
    const auto compiled = Template::compile("[{{ args.service }}|{{ args.env }}]", known);
    REQUIRE(compiled.ok());
    CHECK(compiled->render(TemplateContext{{"args", {{"service", "{{ user.id }}"}}}}) == "[{{ user.id }}|]");
}

TEST_CASE("templates reject unknown variables and unclosed braces", "[template]") {
    struct BadTemplate {
        const char* source;
        const char* message;
    };
    const auto c = GENERATE(values<BadTemplate>({
        {"Deploying {{ args.servce }}", "unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"hi {{ user.nmae }}", "unknown variable 'user.nmae' — did you mean 'user.name'?"},
        {"{{ service }}",
         "unknown variable 'service' — known: args.env, args.service, channel.id, user.id, user.name"},
        {"Hello {{ user.name", "unclosed '{{' at offset 6 — close it with '}}'"},
        {"{{ user.name }} and {{", "unclosed '{{' at offset 20 — close it with '}}'"},
    }));
    INFO(c.source);
    const auto compiled = Template::compile(c.source, known);
    REQUIRE_FALSE(compiled.ok());
    CHECK(compiled.error().message == c.message);
}

TEST_CASE("filters transform values and default fills blanks", "[template]") {
    const TemplateScope scope{"args.service", "args.note", "args.count"};
    const TemplateContext context{{"args", {{"service", "Billing-API"}, {"note", ""}, {"count", 3}}}};
    struct FilterCase {
        const char* source;
        const char* rendered;
    };
    const auto c = GENERATE(values<FilterCase>({
        {"{{ args.service | lower }}", "billing-api"},
        {"{{ args.service | upper }}", "BILLING-API"},
        {"{{ args.note | default(\"none\") }}", "none"},
        {"{{ args.note | default('n/a') | upper }}", "N/A"},
        {"{{ args.service | default(\"none\") }}", "Billing-API"},
        {"{{ args.service | json }}", "\"Billing-API\""},
        {"{{ args.count | json }}", "3"},
        {"{{ args.count }}", "3"},
    }));
    INFO(c.source);
    const auto compiled = Template::compile(c.source, scope);
    REQUIRE(compiled.ok());
    CHECK(compiled->render(context) == c.rendered);
}

TEST_CASE("response values are read by JSON pointer under a prefix scope", "[template]") {
    const TemplateScope scope{"response.status", "response.json."};
    const TemplateContext context{
        {"response", {{"status", 201}, {"json", {{"run", {{"id", 42}, {"url", "https://ci/run/42"}}}, {"a.b", "dot"}}}}}};
    const auto url = Template::compile("{{ response.status }}: {{ response.json./run/url }} #{{ response.json./run/id }}", scope);
    REQUIRE(url.ok());
    CHECK(url->render(context) == "201: https://ci/run/42 #42");
    const auto dotted = Template::compile("{{ response.json./a.b }}", scope);
    REQUIRE(dotted.ok());
    CHECK(dotted->render(context) == "dot");
    const auto missing = Template::compile("[{{ response.json./nope/0 }}]", scope);
    REQUIRE(missing.ok());
    CHECK(missing->render(context) == "[]");

    const auto bad_pointer = Template::compile("{{ response.json./a/~9 }}", scope);
    REQUIRE_FALSE(bad_pointer.ok());
    CHECK_THAT(bad_pointer.error().message, Contains("not a valid JSON pointer"));
    const auto no_pointer = Template::compile("{{ response.json }}", scope);
    REQUIRE_FALSE(no_pointer.ok());
    CHECK_THAT(no_pointer.error().message, Contains("unknown variable 'response.json'"));
}

TEST_CASE("values landing in a URL are percent-encoded so they stay one segment", "[template]") {
    const TemplateScope scope{"args.service", "args.ref"};
    const auto compiled = Template::compile("http://127.0.0.1/api/{{ args.service }}/deploy?ref={{ args.ref }}", scope);
    REQUIRE(compiled.ok());
    const TemplateContext context{{"args", {{"service", "../../etc/passwd"}, {"ref", "main&admin=1#x y"}}}};
    CHECK(compiled->render(context, Escape::url) ==
          "http://127.0.0.1/api/..%2F..%2Fetc%2Fpasswd/deploy?ref=main%26admin%3D1%23x%20y");
    CHECK(compiled->render(context) == "http://127.0.0.1/api/../../etc/passwd/deploy?ref=main&admin=1#x y");
}

TEST_CASE("render_json keeps the type of a lone json-filtered value", "[template]") {
    const TemplateScope scope{"args.count", "args.service"};
    const TemplateContext context{{"args", {{"count", 3}, {"service", "api"}}}};
    const auto typed = Template::compile("{{ args.count | json }}", scope);
    REQUIRE(typed.ok());
    CHECK(typed->render_json(context) == nlohmann::json(3));
    const auto text = Template::compile("n={{ args.count }}", scope);
    REQUIRE(text.ok());
    CHECK(text->render_json(context) == nlohmann::json("n=3"));
}

TEST_CASE("filters are checked when the template compiles", "[template]") {
    struct BadFilter {
        const char* source;
        const char* message;
    };
    const auto c = GENERATE(values<BadFilter>({
        {"{{ args.service | lowr }}", "unknown filter 'lowr' — did you mean 'lower'?"},
        {"{{ args.service | shout }}", "unknown filter 'shout' — filters: default, json, lower, upper"},
        {"{{ args.service | default }}", "filter 'default' needs a value"},
        {"{{ args.service | default(none) }}", "default's value must be quoted"},
        {"{{ args.service | upper(1) }}", "filter 'upper' takes no argument"},
        {"{{ }}", "empty '{{ }}' at offset 0"},
    }));
    INFO(c.source);
    const auto compiled = Template::compile(c.source, TemplateScope{"args.service"});
    REQUIRE_FALSE(compiled.ok());
    CHECK_THAT(compiled.error().message, Contains(c.message));
}
