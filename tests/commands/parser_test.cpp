#include "commands/parser.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/param_spec.hpp"

using namespace platbot::commands;
using platbot::testing::param;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr const char* prefix = "/platform";
constexpr const char* deploy_usage =
    "Usage: /platform deploy <service> [env=staging] [replicas] [--dry_run] [within]";

CommandSpec deploy_spec() {
    CommandSpec spec;
    spec.name = "deploy";
    spec.description = "Deploy a service";
    spec.params = {
        param("service", ParamType::string, {.required = true, .pattern = "^[a-z][a-z0-9-]*$"}),
        param("env", ParamType::enumeration, {.default_value = "staging", .choices = {"dev", "staging", "prod"}}),
        param("replicas", ParamType::integer, {.min = 1, .max = 20}),
        param("dry_run", ParamType::boolean),
        param("within", ParamType::duration),
    };
    return spec;
}

std::vector<Token> tokens_of(std::string_view line) {
    auto tokens = tokenize(line);
    REQUIRE(tokens.ok());
    return std::move(*tokens);
}

// What a successful bind produced: name -> to_text(value), with a '*' for defaulted ones.
std::map<std::string, std::string> bound(const Invocation& invocation) {
    std::map<std::string, std::string> out;
    for (const auto& arg : invocation.args) out[arg.name] = to_text(arg.value) + (arg.defaulted ? "*" : "");
    return out;
}

using Bound = std::map<std::string, std::string>;

struct BindCase {
    const char* line;
    Bound args;
};

struct BindErrorCase {
    const char* line;
    std::vector<std::string> fragments;
};

}  // namespace

TEST_CASE("usage_line shows required, defaulted, optional and flag parameters", "[parser]") {
    CHECK(usage_line(deploy_spec(), prefix) ==
          "/platform deploy <service> [env=staging] [replicas] [--dry_run] [within]");
}

TEST_CASE("bind_arguments binds positional, key=value and option arguments", "[parser]") {
    const CommandSpec spec = deploy_spec();
    const auto c = GENERATE(values<BindCase>({
        {"api", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no*"}}},
        {"api prod 3", {{"service", "api"}, {"env", "prod"}, {"replicas", "3"}, {"dry_run", "no*"}}},
        {"api prod 3 yes 1h30m",
         {{"service", "api"}, {"env", "prod"}, {"replicas", "3"}, {"dry_run", "yes"}, {"within", "1h30m"}}},
        {"service=api env=prod replicas=5",
         {{"service", "api"}, {"env", "prod"}, {"replicas", "5"}, {"dry_run", "no*"}}},
        {"env=PROD api", {{"service", "api"}, {"env", "prod"}, {"dry_run", "no*"}}},
        {"api --dry-run", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "yes"}}},
        {"api --dry_run", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "yes"}}},
        {"api --no-dry-run", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no"}}},
        {"api --dry-run=no", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no"}}},
        {"api --env prod --replicas 2",
         {{"service", "api"}, {"env", "prod"}, {"replicas", "2"}, {"dry_run", "no*"}}},
        {"--env=dev --service=web", {{"service", "web"}, {"env", "dev"}, {"dry_run", "no*"}}},
        {"api within=15m", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no*"}, {"within", "15m"}}},
        {"\"api\" 'dev'", {{"service", "api"}, {"env", "dev"}, {"dry_run", "no*"}}},
    }));
    INFO(c.line);
    const auto invocation = bind_arguments(spec, tokens_of(c.line), prefix);
    REQUIRE(invocation.ok());
    CHECK(invocation->command == &spec);
    CHECK(bound(*invocation) == c.args);
}

TEST_CASE("bind_arguments keeps declared order, types and the defaulted mark", "[parser]") {
    const CommandSpec spec = deploy_spec();
    const auto invocation = bind_arguments(spec, tokens_of("--dry-run replicas=4 api"), prefix);
    REQUIRE(invocation.ok());
    REQUIRE(invocation->args.size() == 4);
    CHECK(invocation->args[0].name == "service");
    CHECK(invocation->args[1].name == "env");
    CHECK(invocation->args[2].name == "replicas");
    CHECK(invocation->args[3].name == "dry_run");
    CHECK_FALSE(invocation->args[0].defaulted);
    CHECK(invocation->args[1].defaulted);
    CHECK_FALSE(invocation->args[2].defaulted);
    CHECK_FALSE(invocation->args[3].defaulted);
    REQUIRE(invocation->arg("replicas") != nullptr);
    CHECK(std::get<std::int64_t>(*invocation->arg("replicas")) == 4);
    CHECK(std::get<bool>(*invocation->arg("dry_run")) == true);
    CHECK(std::get<std::string>(*invocation->arg("env")) == "staging");
    CHECK(invocation->arg("within") == nullptr);
    CHECK(invocation->arg("nope") == nullptr);
}

TEST_CASE("bind_arguments explains what is wrong in one line with the usage", "[parser]") {
    const CommandSpec spec = deploy_spec();
    const auto c = GENERATE(values<BindErrorCase>({
        {"api service=web", {"service given twice ('api' and service=web) — give it once"}},
        {"api --env prod env=dev", {"env given twice (--env and env=dev)"}},
        {"api --dry-run --no-dry-run", {"dry_run given twice (--dry-run and --no-dry-run)"}},
        {"api --force", {"unknown option --force."}},
        {"api --dry-rn", {"unknown option --dry-rn (did you mean --dry_run?)"}},
        {"api --no-env", {"unknown option --no-env"}},
        {"api --no-dry-run=yes", {"unknown option --no-dry-run (did you mean --dry_run?)"}},
        {"api serivce=web", {"unknown parameter serivce (did you mean service?)"}},
        {"api replica=3", {"unknown parameter replica (did you mean replicas?)"}},
        {"api colour=blue", {"unknown parameter colour."}},
        {"api replicas=50", {"replicas must be between 1 and 20 (got 50)"}},
        {"api replicas=0", {"replicas must be between 1 and 20 (got 0)"}},
        {"api replicas=many", {"replicas must be a whole number (got 'many')"}},
        {"api env=qa", {"env must be one of dev, staging, prod (got 'qa')"}},
        {"API", {"service must match"}},
        {"api within=soon", {"within: expected a duration"}},
        {"", {"missing service"}},
        {"env=prod --dry-run", {"missing service"}},
        {"api prod 3 yes 1h extra", {"unexpected argument 'extra'"}},
        {"api --replicas", {"--replicas needs a value"}},
        {"api --replicas --dry-run", {"--replicas needs a value"}},
    }));
    INFO(c.line);
    const auto invocation = bind_arguments(spec, tokens_of(c.line), prefix);
    REQUIRE_FALSE(invocation.ok());
    const std::string& message = invocation.error().message;
    CHECK_THAT(message, StartsWith("deploy: "));
    for (const auto& fragment : c.fragments) CHECK_THAT(message, Contains(fragment));
    CHECK_THAT(message, Contains(deploy_usage));
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("a default that fails validation is reported as such", "[parser]") {
    CommandSpec spec = deploy_spec();
    spec.params[1].default_value = "qa";  // not one of the choices
    const auto invocation = bind_arguments(spec, tokens_of("api"), prefix);
    REQUIRE_FALSE(invocation.ok());
    CHECK_THAT(invocation.error().message, StartsWith("deploy: default of env must be one of"));
}

TEST_CASE("parse_alias reads words and {param} placeholders", "[parser][alias]") {
    const CommandSpec spec = deploy_spec();

    SECTION("a placeholder takes the alias default, else the parameter's") {
        const auto alias = parse_alias("Deploy {service} to {env=prod}", spec);
        REQUIRE(alias.ok());
        CHECK(alias->source == "Deploy {service} to {env=prod}");
        REQUIRE(alias->parts.size() == 4);
        CHECK_FALSE(alias->parts[0].placeholder);
        CHECK(alias->parts[0].text == "deploy");  // literal words are lower-cased
        CHECK(alias->parts[1].placeholder);
        CHECK(alias->parts[1].text == "service");
        CHECK_FALSE(alias->parts[1].default_value.has_value());
        CHECK(alias->parts[2].text == "to");
        CHECK(alias->parts[3].placeholder);
        CHECK(alias->parts[3].text == "env");
        CHECK(alias->parts[3].default_value == std::optional<std::string>("prod"));

        const auto inherited = parse_alias("deploy {service} to {env}", spec);
        REQUIRE(inherited.ok());
        CHECK(inherited->parts[3].default_value == std::optional<std::string>("staging"));
    }

    SECTION("bad patterns are rejected with the reason") {
        struct BadAlias {
            const char* source;
            const char* fragment;
        };
        const auto c = GENERATE(values<BadAlias>({
            {"deploy {svc}", "placeholder {svc} does not name a parameter of deploy"},
            {"deploy {}", "placeholder {} does not name a parameter"},
            {"deploy {service", "malformed placeholder '{service'"},
            {"deploy service}", "malformed placeholder 'service}'"},
            {"deploy {ser}vice}", "placeholder {ser}vice} does not name a parameter"},
            {"deploy x{service}", "malformed placeholder 'x{service}'"},
            {"{service} deploy", "an alias must start with a word, not a placeholder"},
            {"deploy {env=qa}", "placeholder default: env must be one of dev, staging, prod (got 'qa')"},
            {"deploy --now", "alias words are plain words or {param} placeholders"},
            {"deploy env={env}", "alias words are plain words or {param} placeholders"},
            {"deploy \"{service}", "unterminated"},
            {"", "an alias needs at least one word"},
        }));
        INFO(c.source);
        const auto alias = parse_alias(c.source, spec);
        REQUIRE_FALSE(alias.ok());
        CHECK_THAT(alias.error().message, Contains(c.fragment));
    }
}

TEST_CASE("match_alias binds natural-language lines", "[parser][alias]") {
    CommandSpec spec = deploy_spec();
    auto alias = parse_alias("deploy {service} to {env=staging}", spec);
    REQUIRE(alias.ok());
    spec.aliases.push_back(std::move(*alias));

    const auto c = GENERATE(values<BindCase>({
        {"deploy api to prod", {{"service", "api"}, {"env", "prod"}, {"dry_run", "no*"}}},
        {"DEPLOY api TO prod", {{"service", "api"}, {"env", "prod"}, {"dry_run", "no*"}}},
        {"deploy api", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no*"}}},
        {"deploy api to", {{"service", "api"}, {"env", "staging*"}, {"dry_run", "no*"}}},
        {"deploy api to prod --dry-run", {{"service", "api"}, {"env", "prod"}, {"dry_run", "yes"}}},
        {"deploy api to dev replicas=3",
         {{"service", "api"}, {"env", "dev"}, {"replicas", "3"}, {"dry_run", "no*"}}},
        // an alias default can still be overridden with key=value
        {"deploy api env=prod", {{"service", "api"}, {"env", "prod"}, {"dry_run", "no*"}}},
        {"deploy \"api\" to 'prod'", {{"service", "api"}, {"env", "prod"}, {"dry_run", "no*"}}},
    }));
    INFO(c.line);
    const auto matched = match_alias(spec, tokens_of(c.line), prefix);
    REQUIRE(matched.has_value());
    REQUIRE(matched->ok());
    CHECK(matched->value().command == &spec);
    CHECK(bound(matched->value()) == c.args);
}

TEST_CASE("an alias default replaces the parameter default when that part is left out", "[parser][alias]") {
    CommandSpec spec = deploy_spec();  // env defaults to staging
    auto alias = parse_alias("ship {service} to {env=prod}", spec);
    REQUIRE(alias.ok());
    spec.aliases.push_back(std::move(*alias));

    const auto matched = match_alias(spec, tokens_of("ship api"), prefix);
    REQUIRE(matched.has_value());
    REQUIRE(matched->ok());
    CHECK(bound(matched->value()) == Bound{{"service", "api"}, {"env", "prod*"}, {"dry_run", "no*"}});
}

TEST_CASE("match_alias leaves lines that do not fit the alias alone", "[parser][alias]") {
    CommandSpec spec = deploy_spec();
    auto alias = parse_alias("deploy {service} to {env=staging}", spec);
    REQUIRE(alias.ok());
    spec.aliases.push_back(std::move(*alias));

    const char* line = GENERATE("rollback api", "deploy", "deploy service=api", "deploy --dry-run api",
                                "\"deploy\" api to prod", "to api");
    INFO(line);
    CHECK_FALSE(match_alias(spec, tokens_of(line), prefix).has_value());
}

TEST_CASE("match_alias reports invalid values once an alias matched", "[parser][alias]") {
    CommandSpec spec = deploy_spec();
    auto alias = parse_alias("deploy {service} to {env=staging}", spec);
    REQUIRE(alias.ok());
    spec.aliases.push_back(std::move(*alias));

    const auto c = GENERATE(values<BindErrorCase>({
        {"deploy api to qa", {"env must be one of dev, staging, prod (got 'qa')"}},
        {"deploy API to prod", {"service must match"}},
        {"deploy api to prod env=dev", {"env given twice ('prod' and env=dev)"}},
        {"deploy api to prod --force", {"unknown option --force"}},
    }));
    INFO(c.line);
    const auto matched = match_alias(spec, tokens_of(c.line), prefix);
    REQUIRE(matched.has_value());
    REQUIRE_FALSE(matched->ok());
    for (const auto& fragment : c.fragments) CHECK_THAT(matched->error().message, Contains(fragment));
    CHECK_THAT(matched->error().message, Contains(deploy_usage));
}

TEST_CASE("an alias requires a word of its own only when no matching line can leave that word out", "[parser][alias]") {
    const CommandSpec spec = deploy_spec();
    struct Case {
        const char* source;
        bool requires_own_word;
    };
    const auto c = GENERATE(values<Case>({
        {"deploy {service} to production", true},     // ends in a word: the line must say it
        {"deploy {service} to {replicas}", true},     // replicas has no default: "to" always comes before it
        {"deploy now {service}", true},               // a required value follows "now"
        {"deploy {service} to {env=staging}", false},  // "deploy api" matches, with no word of its own
        {"deploy {service} to {env}", false},          // env's own default lets "to" go too
        {"deploy now {service=api}", false},           // bare "deploy" matches
        {"deploy {service}", false},
    }));
    INFO(c.source);
    const auto alias = parse_alias(c.source, spec);
    REQUIRE(alias.ok());
    CHECK(alias_requires_own_word(*alias) == c.requires_own_word);
}
