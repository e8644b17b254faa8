#include "commands/template.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

using platbot::commands::Template;
using Catch::Matchers::Contains;

namespace {

const std::set<std::string> known{"args.service", "args.env", "user.id", "user.name", "channel.id"};
const std::map<std::string, std::string> bindings{
    {"args.service", "api"}, {"args.env", "prod"}, {"user.id", "U001"}, {"user.name", "dev"}, {"channel.id", "C9"}};

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
    CHECK(compiled->render({{"args.service", "{{ user.id }}"}}) == "[{{ user.id }}|]");
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
